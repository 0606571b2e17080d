#!/usr/bin/env bash
# zgate/handler against the C handlers, behind zgate: hello world with wrk (the shared C stream
# handler, bench/harness/handlers/zhttp_stream_handler.c) and WebSocket echo with
# bench/clients/wsecho.c (bench/handlers/zhttp_ws_echo_handler.c), beside the library's
# bench/handlers/hello-lib.mjs under Bun and under Node. Rounds are interleaved (every handler
# at every size in every round, fresh gateway + handler per run); prints each run and medians
# with the ratio to the C handler, and the handler's CPU per request / message.
#   bench/handler-lib.sh              # ROUNDS=3 CONNS="50 1000" HANDLERS="c lib-bun lib-node"
#   ROUNDS=1 DURATION=3s WS_SIZES= bench/handler-lib.sh          # quick look, HTTP only
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=$root/bench/harness
"$root/scripts/install-deps.sh" bench
export RUNROOT=${RUNROOT:-/tmp/anchorA/hlbench} PORT=${PORT:-18240}
DURATION=${DURATION:-10s} WARMUP=${WARMUP:-2s}
. "$root/bench/compare-lib.sh" # show_progress
# shellcheck source=/dev/null
. "$harness/lib.sh"
ROUNDS=${ROUNDS:-3} CONNS_LIST=${CONNS:-50 1000} HANDLERS=${HANDLERS:-c lib-bun lib-node}
WS_SIZES=${WS_SIZES-64} WS_CONNS=${WS_CONNS:-1000}
WSBIN=${WS_BENCH_BIN:-/tmp/zgate-bench/ws-bin}
ZGATE_CMD="bun $root/src/main.ts serve --listen 127.0.0.1:\$PORT --zclient-stream \$ZBASE --stream-maxconn 20000"
ensure_built
mkdir -p "$WSBIN" "$RESULTS_DIR/raw"
gcc -O2 -std=gnu11 -I"$harness/handlers" -o "$WSBIN/zhttp_ws_echo_handler" "$root/bench/handlers/zhttp_ws_echo_handler.c" -lzmq || exit 1
gcc -O2 -std=gnu11 -o "$WSBIN/wsecho" "$root/bench/clients/wsecho.c" || exit 1
(cd "$root" && bun run build:handler >/dev/null) || exit 1
trap 'cleanup_all' EXIT
trap 'cleanup_all; exit 130' INT TERM

# start_handler KIND WS: the handler for $ZBASE in the background; sets HPID
start_handler() {
  case $1 in
    c) if [ "$2" = ws ]; then "$WSBIN/zhttp_ws_echo_handler" "$ZBASE"; else "$BIN/zhttp_stream_handler" "$ZBASE"; fi ;;
    lib-bun) bun "$root/bench/handlers/hello-lib.mjs" "$ZBASE" ;;
    lib-node) node "$root/bench/handlers/hello-lib.mjs" "$ZBASE" ;;
  esac > "$RUNDIR/handler.log" 2>&1 &
  HPID=$!
}

per() { awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN {printf "%.2f", (n > 0 ? t / hz * 1e6 / n : -1)}'; }

# run_http HANDLER CONNS -> one "HL ..." line
run_http() {
  local h=$1 c=$2
  GATEWAY_CMD=$ZGATE_CMD GATEWAY_NAME=zgate HANDLER=none gw_setup custom || return 1
  HANDLER_KIND=none
  start_handler "$h" http
  if ! gw_start; then gw_stop; stop_pid "$HPID"; echo "HL kind=http handler=$h conns=$c status=startfail"; return 1; fi
  H_PID=$HPID
  run_wrk "$c" "$WARMUP" "$RUNDIR/warmup.wrk"
  local raw=$RESULTS_DIR/raw/$(date +%Y%m%d-%H%M%S)-hl-$h-c$c.wrk g0 h0 g1 h1
  g0=$(cpu_ticks "$GW_PID"); h0=$(cpu_ticks "$H_PID")
  run_wrk "$c" "$DURATION" "$raw"
  g1=$(cpu_ticks "$GW_PID"); h1=$(cpu_ticks "$H_PID")
  local hrss; hrss=$(status_kb "$H_PID" VmHWM)
  gw_stop
  parse_wrk "$raw"
  local line="HL kind=http handler=$h conns=$c rps=$W_RPS p50_ms=$W_P50 p99_ms=$W_P99 requests=$W_REQS"
  line+=" gw_us_per_req=$(per $((g1 - g0)) "$W_REQS") handler_us_per_req=$(per $((h1 - h0)) "$W_REQS")"
  line+=" handler_rss_peak_kb=$hrss errors=$W_ERRS non2xx=$W_NON2XX"
  echo "$line"
  echo "$(date -Is) $line" >> "$RESULTS_DIR/handler-lib.log"
}

# run_ws HANDLER SIZE -> one "HL kind=ws ..." line
run_ws() {
  local h=$1 size=$2
  GATEWAY_CMD=$ZGATE_CMD GATEWAY_NAME=zgate HANDLER=none gw_setup custom || return 1
  HANDLER_KIND=none
  start_handler "$h" ws
  if ! gw_start; then gw_stop; stop_pid "$HPID"; echo "HL kind=ws handler=$h size=$size status=startfail"; return 1; fi
  H_PID=$HPID
  local out d=${DURATION%s} wu=${WARMUP%s}
  out=$(timeout -k 5 $((wu + d + 60)) "$WSBIN/wsecho" --port "$PORT" -n "$WS_CONNS" --size "$size" \
    --duration "$d" --warmup "$wu" --pid "$GW_PID" --pid "$H_PID")
  gw_stop
  local msgs ticks; msgs=$(field msgs "$out"); ticks=$(field pid_ticks "$out")
  local line="HL kind=ws handler=$h size=$size conns=$WS_CONNS msgs_per_s=$(field msgs_per_s "$out")"
  line+=" p50_us=$(field p50_us "$out") p99_us=$(field p99_us "$out") msgs=$msgs"
  line+=" handler_us_per_msg=$(per "${ticks#*,}" "$msgs") errors=$(field errors "$out") mismatch=$(field mismatch "$out")"
  echo "$line"
  echo "$(date -Is) $line" >> "$RESULTS_DIR/handler-lib.log"
}

results=$(for r in $(seq 1 "$ROUNDS"); do
  for c in $CONNS_LIST; do
    for h in $HANDLERS; do log "round $r/$ROUNDS http c=$c $h"; echo "round=$r $(run_http "$h" "$c")"; done
  done
  for s in $WS_SIZES; do
    for h in $HANDLERS; do log "round $r/$ROUNDS ws size=$s $h"; echo "round=$r $(run_ws "$h" "$s")"; done
  done
done | show_progress)

med() { grep -E "$1" <<<"$results" | while read -r l; do field "$2" "$l"; done | grep -E '^[0-9.]+$' | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print "nan"; else printf "%.2f\n", a / b}'; }
echo
echo "| test | handler | req/s or msgs/s (median) | ÷ C | handler CPU µs per req/msg | p99 ms |"
echo "|---|---|---:|---:|---:|---:|"
for c in $CONNS_LIST; do
  ref=$(med "kind=http handler=c conns=$c " rps)
  for h in $HANDLERS; do
    m=$(med "kind=http handler=$h conns=$c " rps)
    printf '| hello c=%s | %s | %.0f | %s | %s | %s |\n' "$c" "$h" "$m" "$(ratio "$m" "$ref")" \
      "$(med "kind=http handler=$h conns=$c " handler_us_per_req)" "$(med "kind=http handler=$h conns=$c " p99_ms)"
  done
done
for s in $WS_SIZES; do
  ref=$(med "kind=ws handler=c size=$s " msgs_per_s)
  for h in $HANDLERS; do
    m=$(med "kind=ws handler=$h size=$s " msgs_per_s)
    printf '| ws echo %s B c=%s | %s | %.0f | %s | %s | %s |\n' "$s" "$WS_CONNS" "$h" "$m" "$(ratio "$m" "$ref")" \
      "$(med "kind=ws handler=$h size=$s " handler_us_per_msg)" \
      "$(awk -v v="$(med "kind=ws handler=$h size=$s " p99_us)" 'BEGIN {print v / 1000}')"
  done
done
