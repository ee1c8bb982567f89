-- Row 2: the authorization-code + PKCE flow of a confidential client whose user already has a
-- session and a remembered consent. Two requests make one flow: GET /authorize with the session
-- cookie answers 303 with a code in Location; response() queues the code and the next request()
-- (on whichever connection is ready) redeems it at /token with the verifier. A flow is counted
-- when the token response is 200 with an access token. The PKCE pair is fixed (BENCH_VERIFIER,
-- BENCH_CHALLENGE = its S256); every /authorize carries a fresh state.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local client_id = os.getenv("BENCH_CLIENT_ID")
local redirect = os.getenv("BENCH_REDIRECT")
local verifier = os.getenv("BENCH_VERIFIER")

local function encode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local authorize_prefix = "/authorize?response_type=code&client_id=" .. encode(client_id)
  .. "&redirect_uri=" .. encode(redirect) .. "&scope=" .. encode(os.getenv("BENCH_SCOPE"))
  .. "&code_challenge=" .. os.getenv("BENCH_CHALLENGE") .. "&code_challenge_method=S256&state=s"
local authorize_headers = { ["Cookie"] = "portcullis_session=" .. os.getenv("BENCH_COOKIE") }
local token_headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = os.getenv("BENCH_BASIC"),
}
local token_suffix = "&code_verifier=" .. verifier .. "&redirect_uri=" .. encode(redirect)

local codes, head, tail = {}, 1, 0
local n = 0

function request()
  if head <= tail then
    local code = codes[head]
    codes[head] = nil
    head = head + 1
    return wrk.format("POST", "/token", token_headers,
      "grant_type=authorization_code&code=" .. code .. token_suffix)
  end
  n = n + 1
  return wrk.format("GET", authorize_prefix .. n, authorize_headers)
end

function response(status, headers, body)
  local location = headers["location"] or headers["Location"]
  if location then
    local code = status == 303 and string.match(location, "[?&]code=([^&]+)")
    if not code then
      bad = bad + 1
      return
    end
    tail = tail + 1
    codes[tail] = code
    return
  end
  if status == 200 and string.find(body, '"access_token":"', 1, true) then
    flows = flows + 1
  else
    bad = bad + 1
  end
end
