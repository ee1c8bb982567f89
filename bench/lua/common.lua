-- Shared by every row script: collects per-thread counters and prints one machine-readable
-- line that bench/run.sh parses. A row script defines `bad` and `dry` counters as globals of
-- its thread (0 when it checks nothing beyond the status), and `flows` when one unit of work
-- is several requests (row 2: a flow is /authorize then /token).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

bad = 0
dry = 0
flows = 0

function done(summary, latency, requests)
  local bad_total, dry_total, flows_total = 0, 0, 0
  for _, t in ipairs(threads) do
    bad_total = bad_total + (t:get("bad") or 0)
    dry_total = dry_total + (t:get("dry") or 0)
    flows_total = flows_total + (t:get("flows") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sockerr=%d bad=%d dry=%d flows=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout, bad_total, dry_total, flows_total))
end
