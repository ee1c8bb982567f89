-- Row 5: a GET of a pre-rendered document (JWKS, discovery). The answer must be 200 and contain
-- BENCH_EXPECT.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local expect = os.getenv("BENCH_EXPECT")

function response(status, headers, body)
  if status ~= 200 or not string.find(body, expect, 1, true) then
    bad = bad + 1
  end
end
