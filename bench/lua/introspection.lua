-- Row 4: introspection (RFC 7662) of a valid JWT access token by a confidential client with
-- client_secret_basic; the same request every time (BENCH_ACCESS_TOKEN, minted by the seeding
-- fixture). The answer must say active.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.body = "token=" .. os.getenv("BENCH_ACCESS_TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BENCH_BASIC")

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"active":true', 1, true) then
    bad = bad + 1
  end
end
