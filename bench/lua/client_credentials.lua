-- Row 1: client_credentials with client_secret_basic; the same request every time.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BENCH_BASIC")

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"access_token":"', 1, true) then
    bad = bad + 1
  end
end
