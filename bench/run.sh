#!/usr/bin/env bash
# The benchmark of docs/benchmarks.md: builds the release binary, starts portcullis on
# 127.0.0.1 with a fresh database and registered clients, drives it with wrk, prints a table,
# and stops everything it started (by PID).
#
#   bench/run.sh [--quick] [--postgres] [--mode one-core|two-core] [--row NAME]...
#
#   --quick        BENCH_DURATION=3 BENCH_RUNS=1 unless those are set
#   --postgres     the PostgreSQL mode instead of the SQLite modes (a throwaway cluster)
#   --mode M       only this SQLite mode (default: one-core then two-core)
#   --row NAME     only this row (repeatable; default: every row in ROWS)
#
# Environment: BENCH_DURATION (seconds per run, 15), BENCH_RUNS (runs per row, 3),
# BENCH_CONNECTIONS (64), BENCH_PORT (18080), PG_PORT (PostgreSQL, 54335), BENCH_NO_BUILD=1
# (use the existing target/release/portcullis), BENCH_BIN (another server binary, to compare builds).
#
# Method (issue 9): one-core mode pins the server to core 1 with one worker and wrk to core 0
# (`wrk -t1 -c64 -d15s --latency`); two-core mode runs the server with two workers unpinned.
# Requests per server CPU-second = wrk's request count / the server's utime+stime
# (/proc/PID/stat fields 14+15) over the run; on PostgreSQL the cluster's CPU is added.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LUA_DIR="$ROOT/bench/lua"
BIN="${BENCH_BIN:-$ROOT/target/release/portcullis}"
SEED="$ROOT/target/release/examples/bench_seed"

QUICK=0
BACKEND=sqlite
ONLY_MODE=""
ONLY_ROWS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --postgres) BACKEND=postgres ;;
    --mode) ONLY_MODE="$2"; shift ;;
    --row) ONLY_ROWS+=("$2"); shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  DURATION="${BENCH_DURATION:-3}"
  RUNS="${BENCH_RUNS:-1}"
else
  DURATION="${BENCH_DURATION:-15}"
  RUNS="${BENCH_RUNS:-3}"
fi
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
PORT="${BENCH_PORT:-18080}"
export PG_PORT="${PG_PORT:-54335}"
CLK_TCK="$(getconf CLK_TCK)"
NCPU="$(nproc)"

# --- rows ---------------------------------------------------------------------------------
# A row is a function `row_NAME`, called before each run: it prepares what the run consumes
# and sets LUA (a script in bench/lua/) and URL_PATH. Add a row by writing the function and
# appending its name to ROWS (SQLite) and, if it applies, PG_ROWS.
ROWS=(client_credentials authorization_code_flow refresh_rotation introspection jwks discovery)
PG_ROWS=(client_credentials authorization_code_flow refresh_rotation introspection)

# COUNT is what a run counts: `requests` (wrk's count), or `flows` for rows where one unit of
# work is several requests (the Lua script counts them).
row_client_credentials() {
  export BENCH_BASIC="$CC_BASIC"
  LUA=client_credentials.lua
  URL_PATH=/token
  COUNT=requests
}

# Row 2: /authorize with the session cookie, then /token with the PKCE verifier; the session
# and the remembered consent were seeded once through the library (seed_session).
row_authorization_code_flow() {
  export BENCH_BASIC="$RT_BASIC" BENCH_CLIENT_ID="$RT_ID" BENCH_REDIRECT="$RT_REDIRECT"
  export BENCH_SCOPE="$RT_SCOPE" BENCH_COOKIE="$SESSION_COOKIE"
  export BENCH_VERIFIER="$FLOW_VERIFIER" BENCH_CHALLENGE="$FLOW_CHALLENGE"
  LUA=authorization_code_flow.lua
  URL_PATH=/authorize
  COUNT=flows
}

# Each run needs refresh tokens nobody has used: four per connection, redeemed from codes by
# the seeding fixture through the library (no /authorize involved).
row_refresh_rotation() {
  export BENCH_BASIC="$RT_BASIC"
  export BENCH_TOKENS="$WORK/refresh_tokens"
  "$SEED" refresh "$RT_ID" "$RT_SECRET" $((CONNECTIONS * 4)) >"$BENCH_TOKENS"
  LUA=refresh_rotation.lua
  URL_PATH=/token
  COUNT=requests
}

# Row 4: a JWT access token minted for the web client, introspected by that client (Basic).
row_introspection() {
  export BENCH_BASIC="$RT_BASIC"
  BENCH_ACCESS_TOKEN="$("$SEED" access "$RT_ID" "$RT_SECRET")"
  export BENCH_ACCESS_TOKEN
  LUA=introspection.lua
  URL_PATH=/introspect
  COUNT=requests
}

# Row 5: the pre-rendered documents.
row_jwks() {
  export BENCH_EXPECT='"keys"'
  LUA=get.lua
  URL_PATH=/jwks.json
  COUNT=requests
}

row_discovery() {
  export BENCH_EXPECT='"issuer"'
  LUA=get.lua
  URL_PATH=/.well-known/openid-configuration
  COUNT=requests
}

# --- processes ----------------------------------------------------------------------------
WORK=""
SERVER_PID=""
PG_STARTED=0

cleanup() {
  set +e
  stop_server
  if [ "$PG_STARTED" = 1 ]; then pg_stop; fi
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

healthy() { curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz"; }

# start_server WORKERS PIN: starts portcullis in the background (PIN: a core list or "")
start_server() {
  local workers="$1" pin="$2"
  local cmd=("$BIN" serve)
  if [ -n "$pin" ]; then cmd=(taskset -c "$pin" "${cmd[@]}"); fi
  PORTCULLIS_WORKERS="$workers" "${cmd[@]}" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  local started
  started="$(ms_now)"
  until healthy; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "the server did not start; its log:" >&2
      cat "$WORK/server.log" >&2
      exit 1
    fi
    if [ $(( $(ms_now) - started )) -gt 30000 ]; then
      echo "the server did not answer /healthz within 30 s" >&2
      exit 1
    fi
  done
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

# utime+stime of one process in clock ticks (all its threads).
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# The CPU the measured processes used so far, in ticks: the server, and on PostgreSQL the
# postmaster (with its reaped children) and every live backend.
cpu_ticks() {
  local total
  total="$(proc_ticks "$SERVER_PID")"
  if [ "$BACKEND" = postgres ]; then
    local pm child
    pm="$(head -n1 "$PG_DIR/data/postmaster.pid")"
    total=$(( total + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat") ))
    for child in $(ps -o pid= --ppid "$pm"); do
      if [ -r "/proc/$child/stat" ]; then
        total=$(( total + $(proc_ticks "$child" 2>/dev/null || echo 0) ))
      fi
    done
  fi
  echo "$total"
}

status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

json_field() { grep -o "\"$1\": *\"[^\"]*\"" | head -n1 | sed 's/.*: *"\(.*\)"/\1/'; }

RT_REDIRECT=https://bench.example/cb
RT_SCOPE=api:read

register_clients() {
  local out
  out="$("$BIN" client create --name bench-service --type confidential \
    --grant client_credentials --scope "api:read api:write" --json)"
  CC_BASIC="Basic $(printf '%s:%s' "$(json_field client_id <<<"$out")" \
    "$(json_field client_secret <<<"$out")" | base64 -w0)"
  out="$("$BIN" client create --name bench-web --type confidential \
    --redirect-uri "$RT_REDIRECT" --grant authorization_code \
    --grant refresh_token --scope "$RT_SCOPE" --json)"
  RT_ID="$(json_field client_id <<<"$out")"
  RT_SECRET="$(json_field client_secret <<<"$out")"
  RT_BASIC="Basic $(printf '%s:%s' "$RT_ID" "$RT_SECRET" | base64 -w0)"
  # Row 2's user: a session and a remembered consent for the web client, and a PKCE pair.
  local seeded
  seeded="$("$SEED" session "$RT_ID" "$RT_SCOPE")"
  SESSION_COOKIE="$(sed -n 1p <<<"$seeded")"
  FLOW_VERIFIER="$(sed -n 2p <<<"$seeded")"
  FLOW_CHALLENGE="$(sed -n 3p <<<"$seeded")"
}

# run_row MODE ROW: RUNS runs of one row, one line per run in $WORK/results.tsv.
run_row() {
  local mode="$1" row="$2" i out line before after
  for i in $(seq 1 "$RUNS"); do
    "row_$row"
    before="$(cpu_ticks)"
    local attached=""
    if [ -n "${BENCH_ATTACH:-}" ]; then
      # A profiler attached to the server for this run: {pid} is replaced by its PID.
      sh -c "${BENCH_ATTACH//\{pid\}/$SERVER_PID}" &
      attached=$!
    fi
    out="$(BENCH_LUA_DIR="$LUA_DIR" taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
      --latency -s "$LUA_DIR/$LUA" "http://127.0.0.1:$PORT$URL_PATH")"
    after="$(cpu_ticks)"
    if [ -n "$attached" ]; then wait "$attached" || true; fi
    line="$(grep '^BENCH ' <<<"$out")" || { echo "$out" >&2; exit 1; }
    # shellcheck disable=SC2086
    local $(sed 's/^BENCH //' <<<"$line")
    local cpu_s rps per_cpu count="$requests"
    if [ "$COUNT" = flows ]; then count="$flows"; fi
    cpu_s="$(awk -v t=$((after - before)) -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }')"
    rps="$(awk -v r="$count" -v d="$duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')"
    per_cpu="$(awk -v r="$count" -v c="$cpu_s" 'BEGIN { printf "%.0f", (c > 0 ? r / c : 0) }')"
    local errors=$((non2xx + sockerr + bad + dry))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$row" "$rps" "$p50_us" "$p99_us" \
      "$per_cpu" "$errors" "$count" >>"$WORK/results.tsv"
    printf '  %-10s %-24s run %d: %6s %s/s  p50 %5.2f ms  p99 %6.2f ms  %6s req/CPU-s  errors %s\n' \
      "$mode" "$row" "$i" "$rps" "$([ "$COUNT" = flows ] && echo flows || echo req)" "$(awk -v u="$p50_us" 'BEGIN{print u/1000}')" \
      "$(awk -v u="$p99_us" 'BEGIN{print u/1000}')" "$per_cpu" "$errors"
    if [ "$errors" != 0 ]; then
      echo "  !!! $row: $errors failed requests (non-2xx $non2xx, socket $sockerr," \
        "bad body $bad, queue dry $dry): THIS ROW IS INVALID" >&2
    fi
  done
}

wanted() {
  local row="$1" r
  [ ${#ONLY_ROWS[@]} -eq 0 ] && return 0
  for r in "${ONLY_ROWS[@]}"; do [ "$r" = "$row" ] && return 0; done
  return 1
}

# run_mode MODE WORKERS PIN ROW...
run_mode() {
  local mode="$1" workers="$2" pin="$3" row
  shift 3
  start_server "$workers" "$pin"
  sleep 1
  local idle
  idle="$(status_kib "$SERVER_PID" VmRSS)"
  for row in "$@"; do
    if wanted "$row"; then run_row "$mode" "$row"; fi
  done
  printf '%s\t%s\t%s\n' "$mode" "$idle" "$(status_kib "$SERVER_PID" VmHWM)" >>"$WORK/rss.tsv"
  stop_server
}

# Start-up to the first 200 on /healthz, on the database the runs left (median of 5).
measure_startup() {
  local i t0 times=()
  for i in 1 2 3 4 5; do
    t0="$(date +%s%N)"
    PORTCULLIS_WORKERS=1 "$BIN" serve >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    until healthy; do
      kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    done
    times+=($(( ($(date +%s%N) - t0) / 1000000 )))
    stop_server
  done
  STARTUP_MS="$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)"
  STARTUP_ALL="${times[*]}"
}

print_table() {
  echo
  echo "portcullis $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')," \
    "$BACKEND, $RUNS run(s) of ${DURATION}s, wrk -t1 -c$CONNECTIONS on core 0," \
    "$NCPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
  echo "median (min-max) over the runs; latency in ms"
  echo
  echo "(authorization_code_flow counts flows: /authorize + /token; latency is per request)"
  echo
  printf '| %-9s | %-24s | %-22s | %-6s | %-20s | %-24s | %-6s |\n' mode row "req/s" p50 p99 \
    "req per CPU-second" errors
  printf '|%s|%s|%s|%s|%s|%s|%s|\n' ----------- -------------------------- \
    ------------------------ -------- ---------------------- -------------------------- --------
  awk -F'\t' '
    function stats(list,   n, a, i, j, t) {
      n = split(list, a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return a[int((n + 1) / 2)] " " a[1] " " a[n]
    }
    { key = $1 "\t" $2; if (!(key in seen)) { order[++k] = key; seen[key] = 1 }
      rps[key] = rps[key] " " $3; p50[key] = p50[key] " " $4; p99[key] = p99[key] " " $5
      cpu[key] = cpu[key] " " $6; err[key] += $7 }
    END {
      for (i = 1; i <= k; i++) {
        key = order[i]; split(key, km, "\t")
        split(stats(rps[key]), r, " "); split(stats(p50[key]), a, " ")
        split(stats(p99[key]), b, " "); split(stats(cpu[key]), c, " ")
        printf "| %-9s | %-24s | %6d (%6d-%6d) | %6.2f | %6.2f (%5.2f-%5.2f) | %7d (%7d-%7d) | %-6s |\n",
          km[1], km[2], r[1], r[2], r[3], a[1] / 1000, b[1] / 1000, b[2] / 1000, b[3] / 1000,
          c[1], c[2], c[3], (err[key] ? err[key] " !!!" : "0")
      }
    }' "$WORK/results.tsv"
  echo
  awk -F'\t' '{ printf "RSS %s: idle %.1f MiB, peak %.1f MiB\n", $1, $2 / 1024, $3 / 1024 }' \
    "$WORK/rss.tsv"
  if [ -n "${STARTUP_MS:-}" ]; then
    echo "start-up to the first 200 on /healthz (existing database): median ${STARTUP_MS} ms" \
      "(runs: ${STARTUP_ALL} ms)"
  fi
  if awk -F'\t' '$7 != 0 { found = 1 } END { exit !found }' "$WORK/results.tsv"; then
    echo
    echo "!!! SOME ROWS HAD FAILED REQUESTS: THEIR NUMBERS ARE INVALID !!!"
  fi
}

# --- main ---------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  echo "installing wrk from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --bin portcullis --example bench_seed)
fi

WORK="$(mktemp -d /tmp/portcullis-bench.XXXXXX)"
: >"$WORK/results.tsv"
: >"$WORK/rss.tsv"
export PORTCULLIS_BIND="127.0.0.1:$PORT"
export PORTCULLIS_MASTER_KEY
PORTCULLIS_MASTER_KEY="$(head -c 32 /dev/urandom | base64 -w0)"
export PORTCULLIS_LOG_LEVEL=warn

if [ "$BACKEND" = postgres ]; then
  # shellcheck source=../.ci/postgres.sh
  source "$ROOT/.ci/postgres.sh"
  # With a core to spare PostgreSQL gets its own; on two cores it shares them with the server.
  PG_PIN=""
  if [ "$NCPU" -ge 3 ]; then PG_PIN=2; fi
  if [ -n "$PG_PIN" ]; then taskset -cp "$PG_PIN" $$ >/dev/null; fi
  pg_start
  PG_STARTED=1
  if [ -n "$PG_PIN" ]; then taskset -cp "0-$((NCPU - 1))" $$ >/dev/null; fi
  trap cleanup EXIT # pg_start set its own trap
  # The CI cluster runs with fsync=off; here commits are durable the way SQLite's WAL with
  # synchronous=NORMAL is: fsync on, synchronous_commit off (a power loss may drop the last
  # commits, never corrupt).
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U portcullis postgres \
    -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = off" \
    -c "SELECT pg_reload_conf()" >/dev/null
  export PORTCULLIS_DATABASE_URL="$PG_URL"
  register_clients
  if [ "$NCPU" -ge 3 ]; then
    run_mode postgres 1 1 "${PG_ROWS[@]}"
  else
    run_mode postgres 2 "" "${PG_ROWS[@]}"
  fi
else
  export PORTCULLIS_DATABASE_URL="sqlite://$WORK/portcullis.db"
  register_clients
  if [ -z "$ONLY_MODE" ] || [ "$ONLY_MODE" = one-core ]; then
    run_mode one-core 1 1 "${ROWS[@]}"
  fi
  if [ -z "$ONLY_MODE" ] || [ "$ONLY_MODE" = two-core ]; then
    run_mode two-core 2 "" "${ROWS[@]}"
  fi
  measure_startup
fi
print_table
