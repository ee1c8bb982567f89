-- Row 3: refresh-token rotation. Each refresh token is presented exactly once: request()
-- takes one from the queue, response() puts the new one from the answer back. The queue is
-- seeded from BENCH_TOKENS (one token per line, at least as many as connections); when it
-- runs dry the request carries a token that cannot be valid, so it fails and is counted.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local queue, head, tail = {}, 1, 0
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then
    tail = tail + 1
    queue[tail] = line
  end
end

local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = os.getenv("BENCH_BASIC"),
}

function request()
  local token
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  else
    dry = dry + 1
    token = "queue-ran-dry"
  end
  return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = string.match(body, '"refresh_token":"([^"]+)"')
  if status ~= 200 or not token or not string.find(body, '"access_token":"', 1, true) then
    bad = bad + 1
    return
  end
  tail = tail + 1
  queue[tail] = token
end
