#!/usr/bin/env bash
# Soak run (not part of the test suite): one zgate with --stats behind the streaming handler
# (bench/handlers/stream-handler.ts: `?size=N` responses under credits, request bodies read
# under credits, WebSocket echo) takes LOAD_MINUTES of mixed load, then sits idle for
# IDLE_MINUTES:
#   - wrk keep-alive GETs of small responses;
#   - WebSocket echo clients (bench/clients/wsecho.c: every echo checked byte for byte);
#   - slow clients (bench/clients/slow-clients.ts: slowloris heads, slow uploads, slow readers
#     of large responses).
# Every SAMPLE_S seconds it prints a row: zgate's RSS (/proc/PID/status VmRSS), its open fds
# (/proc/PID/fd) and its event-loop lag (zgate_event_loop_lag_seconds). At the end, pass or
# fail against:
#   - RSS after the idle period at most RSS_GROWTH_MAX_PCT above its value after warm-up
#     (the first minute of load, or the first third of a shorter one);
#   - open fds back to the baseline taken before the load;
#   - zero errors: wrk socket errors and non-2xx answers, WebSocket echo errors (connect,
#     upgrade, protocol, mismatch, early close, timeout, missing close handshake), slow-client
#     failures, zgate log lines at WARN or ERR, error responses zgate wrote itself
#     (zgate_client_errors_total), and load samples in which no request was served (a stall).
#
#   bench/soak.sh [LOAD_MINUTES=10] [IDLE_MINUTES=5]
#   WRK_CONNS=50 WS_CONNS=100 WS_SIZE=512 SLOWLORIS=20 UPLOADERS=10 READERS=4 bench/soak.sh 1 1
#
# Loopback only; every process it starts is stopped by PID when it exits. Exit status 0 when
# every check passes, 1 when one fails, 2 when it could not run.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/compare-lib.sh"

LOAD_MIN=${1:-10} IDLE_MIN=${2:-5}
PORT=${PORT:-18260} STATS_PORT=${STATS_PORT:-18261} SAMPLE_S=${SAMPLE_S:-10}
WRK_CONNS=${WRK_CONNS:-50} WS_CONNS=${WS_CONNS:-100} WS_SIZE=${WS_SIZE:-512}
SLOWLORIS=${SLOWLORIS:-20} UPLOADERS=${UPLOADERS:-10} READERS=${READERS:-4} READ_BYTES=${READ_BYTES:-4194304}
RSS_GROWTH_MAX_PCT=${RSS_GROWTH_MAX_PCT:-10}
# Body size of wrk's GETs, and how long load clients may overrun their duration (a slow
# request in flight, the WebSocket close handshakes) before they are stopped.
WRK_BODY_BYTES=100
CLIENT_OVERRUN_S=90
WARMUP_MAX_S=60

"$root/scripts/install-deps.sh" bench || exit 2
command -v bun >/dev/null || { echo "soak: missing bun"; exit 2; }
# Minutes may be fractional (a quick look: bench/soak.sh 0.5 0.5).
load_s=$(awk -v m="$LOAD_MIN" 'BEGIN {printf "%d", m * 60}') idle_s=$(awk -v m="$IDLE_MIN" 'BEGIN {printf "%d", m * 60}')
[ "$load_s" -ge 1 ] || { echo "soak: the load period must be at least one second"; exit 2; }
warm_s=$((load_s / 3 < WARMUP_MAX_S ? load_s / 3 : WARMUP_MAX_S))
work=$(mktemp -d /tmp/zgate-soak-XXXXXX)
bin=${SOAK_BIN:-/tmp/zgate-bench/soak-bin}
if [ ! -x "$bin/wsecho" ] || [ "$root/bench/clients/wsecho.c" -nt "$bin/wsecho" ]; then
  mkdir -p "$bin" && gcc -O2 -Wall -Wextra -std=gnu11 -o "$bin/wsecho" "$root/bench/clients/wsecho.c" || exit 2
fi

# Only this shell's own background jobs still running: a reaped PID may belong to anyone.
stop_all() {
  local p
  for p in $(jobs -pr); do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT TERM

start_gateway zgate "$work" "127.0.0.1:$PORT,stream" --stats "127.0.0.1:$STATS_PORT"
sleep 0.7
bun "$root/bench/handlers/stream-handler.ts" --base "ipc://$work/zs" --size "$WRK_BODY_BYTES" >"$work/handler.log" 2>&1 &
HPID=$!
wait_ready "http://127.0.0.1:$PORT/"
curl -sf -o /dev/null -m 5 "http://127.0.0.1:$PORT/" || { echo "soak: the gateway does not answer (log: $work/gw.log)"; exit 2; }
sleep 1 # the readiness probes' connections close

metrics() { curl -s -m 5 "http://127.0.0.1:$STATS_PORT/metrics"; }
metric() { awk -v k="$1" '$1 == k {v = $2} END {print v + 0}' <<<"$2"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$GPID/status" 2>/dev/null || echo 0; }
fd_count() { find "/proc/$GPID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
max_lag_ms=0
# sample T PHASE: one table row; sets RSS_KB, FDS, REQS and CLIENT_ERRORS.
sample() {
  RSS_KB=$(rss_kb) FDS=$(fd_count)
  local m lag conns reqs
  m=$(metrics)
  CLIENT_ERRORS=$(awk '/^zgate_client_errors_total/ {s += $2} END {print s + 0}' <<<"$m")
  lag=$(awk -v v="$(metric zgate_event_loop_lag_seconds "$m")" 'BEGIN {printf "%.1f", v * 1000}')
  conns=$(metric 'zgate_connections_open{mode="stream"}' "$m")
  reqs=$(( $(metric 'zgate_requests_total{kind="stream"}' "$m") + $(metric 'zgate_requests_total{kind="websocket"}' "$m") ))
  REQS=$reqs
  max_lag_ms=$(awk -v a="$max_lag_ms" -v b="$lag" 'BEGIN {print (b > a) ? b : a}')
  printf '| %5s | %-5s | %8.1f | %5s | %8s | %6s | %9s |\n' "$1" "$2" "$(awk -v k="$RSS_KB" 'BEGIN {print k / 1024}')" \
    "$FDS" "$lag" "$conns" "$reqs"
}

echo "soak: ${LOAD_MIN} min load + ${IDLE_MIN} min idle, warm-up ${warm_s} s; zgate pid $GPID, handler pid $HPID, files in $work"
echo "load: wrk -c$WRK_CONNS, $WS_CONNS WebSocket echo clients ($WS_SIZE B), $SLOWLORIS slowloris, $UPLOADERS slow uploads, $READERS slow readers ($READ_BYTES B)"
echo
echo '|     t | phase |   RSS MB |   fds |   lag ms |  conns |  requests |'
echo '|------:|-------|---------:|------:|---------:|-------:|----------:|'
t0=$(date +%s)
sample 0 base
base_fds=$FDS

wrk -t1 -c"$WRK_CONNS" -d"${load_s}s" --timeout 10s "http://127.0.0.1:$PORT/?size=$WRK_BODY_BYTES" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
"$bin/wsecho" --port "$PORT" -n "$WS_CONNS" --size "$WS_SIZE" --duration "$load_s" --warmup 0 >"$work/wsecho.out" 2>"$work/wsecho.err" &
ws_pid=$!
bun "$root/bench/clients/slow-clients.ts" --port "$PORT" --duration "$load_s" --slowloris "$SLOWLORIS" \
  --uploaders "$UPLOADERS" --readers "$READERS" --read-bytes "$READ_BYTES" >"$work/slow.out" 2>"$work/slow.err" &
slow_pid=$!

# Load: a row every SAMPLE_S until every client has finished (bounded by the overrun).
warm_rss=0 stalls=0 last_reqs=$REQS
next=$SAMPLE_S
running() { local p; for p in "$wrk_pid" "$ws_pid" "$slow_pid"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while running; do
  sleep 1
  t=$(($(date +%s) - t0))
  if [ "$t" -ge $((load_s + CLIENT_OVERRUN_S)) ]; then
    echo "soak: load clients still running ${CLIENT_OVERRUN_S} s after the load period; stopping them"
    kill "$wrk_pid" "$ws_pid" "$slow_pid" 2>/dev/null
    break
  fi
  [ "$t" -lt "$next" ] && continue
  next=$((next + SAMPLE_S))
  sample "$t" load
  # A sample inside the load period without one more request served is a stall.
  if [ "$t" -le "$load_s" ] && [ "$REQS" -le "$last_reqs" ]; then stalls=$((stalls + 1)); fi
  last_reqs=$REQS
  if [ "$warm_rss" = 0 ] && [ "$t" -ge "$warm_s" ]; then warm_rss=$RSS_KB; fi
done
wait "$wrk_pid" "$ws_pid" "$slow_pid" 2>/dev/null
kill -0 "$GPID" 2>/dev/null || { echo "soak: zgate died during the load (log: $work/gw.log)"; exit 1; }
[ "$warm_rss" = 0 ] && warm_rss=$(rss_kb)

# Idle: no client at all for IDLE_MINUTES.
idle_t0=$(date +%s)
next=$(($(date +%s) - t0 + SAMPLE_S))
while [ $(($(date +%s) - idle_t0)) -lt "$idle_s" ]; do
  sleep 1
  t=$(($(date +%s) - t0))
  [ "$t" -lt "$next" ] && continue
  next=$((next + SAMPLE_S))
  sample "$t" idle
done
sample "$(($(date +%s) - t0))" end
end_rss=$RSS_KB end_fds=$FDS

# Errors, by source.
field() { local v; v=$(sed -nE "s/^(.* )?$1=([0-9]+).*/\2/p" <<<"$2" | head -1); echo "${v:-0}"; }
wrk_out=$(cat "$work/wrk.out")
wrk_sock=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$wrk_out")
wrk_non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$wrk_out")
wrk_reqs=$(awk '/requests in/ {print $1}' <<<"$wrk_out")
ws_line=$(grep '^WSECHO' "$work/wsecho.out")
ws_err=$(( $(field errors "$ws_line") + $(field close_missing "$ws_line") ))
slow_line=$(grep '^SLOW' "$work/slow.out")
slow_fail=$(( $(field slowloris_fail "$slow_line") + $(field upload_fail "$slow_line") + $(field read_fail "$slow_line") ))
log_bad=$(grep -cE '^\[(WARN|ERR)\]' "$work/gw.log")
[ -z "$ws_line" ] && ws_err=1
[ -z "$slow_line" ] && slow_fail=1
errors=$(( ${wrk_sock:-0} + ${wrk_non2xx:-0} + ws_err + slow_fail + log_bad + CLIENT_ERRORS + stalls ))

echo
echo "wrk: ${wrk_reqs:-0} requests, socket errors ${wrk_sock:-0}, non-2xx ${wrk_non2xx:-0}"
echo "ws echo: msgs=$(field msgs "$ws_line") errors=$(field errors "$ws_line") mismatch=$(field mismatch "$ws_line") closed_early=$(field closed_early "$ws_line") timeouts=$(field timeouts "$ws_line") close_missing=$(field close_missing "$ws_line")"
echo "slow clients: ${slow_line#SLOW }"
echo "zgate WARN/ERR log lines: $log_bad; error responses zgate wrote itself: $CLIENT_ERRORS; load samples without progress: $stalls"
[ "$log_bad" -gt 0 ] && grep -E '^\[(WARN|ERR)\]' "$work/gw.log" | head -5
[ "$slow_fail" -gt 0 ] && head -5 "$work/slow.err"
echo "event-loop lag: worst sample ${max_lag_ms} ms"

fail=0
verdict() { # name ok detail
  if [ "$2" = 1 ]; then echo "PASS $1: $3"; else echo "FAIL $1: $3"; fail=1; fi
}
growth=$(awk -v a="$warm_rss" -v b="$end_rss" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
verdict rss "$(awk -v g="$growth" -v m="$RSS_GROWTH_MAX_PCT" 'BEGIN {print (g <= m) ? 1 : 0}')" \
  "after warm-up $(awk -v k="$warm_rss" 'BEGIN {printf "%.1f", k / 1024}') MB, after idle $(awk -v k="$end_rss" 'BEGIN {printf "%.1f", k / 1024}') MB (${growth} %, limit +${RSS_GROWTH_MAX_PCT} %)"
verdict fds "$([ "$end_fds" -le "$base_fds" ] && echo 1 || echo 0)" "baseline $base_fds, after idle $end_fds"
verdict errors "$([ "$errors" = 0 ] && echo 1 || echo 0)" "$errors"
exit $fail
