#!/usr/bin/env bash
# WebSocket echo comparison: zgate beside condure 1.9.1 (1 and 2 workers) behind the same C
# echo handler (bench/handlers/zhttp_ws_echo_handler.c) and the same C epoll client
# (bench/clients/wsecho.c). Every connection upgrades, then sends one text message, waits for
# the whole echo and repeats. Default --buffer-size (8192) everywhere, so a 16 KiB message is
# split into packets under credits both ways. Rounds are interleaved (every gateway and size in
# every round), each run a fresh gateway + handler; prints each run and a medians table.
#   bench/ws-echo.sh                          # ROUNDS=3 CONNS=1000 SIZES="64 16384" DURATION=8
#   ROUNDS=1 DURATION=3 GATEWAYS=zgate bench/ws-echo.sh      # quick look
#   GATEWAYS="zgate zgate-base" REF=zgate-base ZGATE_BASE_CMD='bun /old/src/main.ts serve \
#     --listen 127.0.0.1:$PORT --zclient-stream $ZBASE' bench/ws-echo.sh   # before/after a change
# Gateway start/stop (by PID), /proc readings and condure's command line come from the shared
# harness (bench/harness/lib.sh). Installs what it needs from Debian when missing
# (scripts/install-deps.sh bench).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=$root/bench/harness
"$root/scripts/install-deps.sh" bench || exit 1

export RUNROOT=${RUNROOT:-/tmp/anchorA/wsbench} PORT=${PORT:-18230}
# seconds; set before lib.sh, whose wrk defaults ("10s", "2s") have a unit
DURATION=${DURATION:-8} WARMUP=${WARMUP:-2}
DURATION=${DURATION%s} WARMUP=${WARMUP%s}
. "$root/bench/compare-lib.sh" # show_progress (lib.sh, sourced after, keeps its own cpu_ticks)
# shellcheck source=/dev/null
. "$harness/lib.sh"
ROUNDS=${ROUNDS:-3} CONNS=${CONNS:-1000} SIZES=${SIZES:-64 16384}
GATEWAYS=${GATEWAYS:-zgate condure-stream-w1 condure-stream-w2}
REF=${REF:-condure-stream-w1}
WSBIN=${WS_BENCH_BIN:-/tmp/zgate-bench/ws-bin}
ZGATE_CMD=${ZGATE_CMD:-bun $root/src/main.ts serve --listen 127.0.0.1:\$PORT --zclient-stream \$ZBASE}

build() { # name source [cflags]
  local out=$WSBIN/$1
  if [ ! -x "$out" ] || [ "$2" -nt "$out" ] || [ "$harness/handlers/common.h" -nt "$out" ]; then
    mkdir -p "$WSBIN"
    gcc -O2 -Wall -Wextra -std=gnu11 -I"$harness/handlers" -o "$out" "$2" ${3:-} || exit 1
  fi
}
build zhttp_ws_echo_handler "$root/bench/handlers/zhttp_ws_echo_handler.c" -lzmq
build wsecho "$root/bench/clients/wsecho.c"
mkdir -p "$RESULTS_DIR"
trap 'cleanup_all' EXIT
trap 'cleanup_all; exit 130' INT TERM

# run_ws GATEWAY SIZE -> one "WS ..." line
run_ws() {
  local gw=$1 size=$2 hpid
  if [ "$gw" = zgate ] || [ "$gw" = zgate-base ]; then
    local cmd=$ZGATE_CMD
    [ "$gw" = zgate-base ] && cmd=${ZGATE_BASE_CMD:?set ZGATE_BASE_CMD for zgate-base}
    GATEWAY_CMD=$cmd GATEWAY_NAME=$gw HANDLER=none gw_setup custom || return 1
  else
    gw_setup "$gw" || return 1
  fi
  # our handler instead of the harness's; it answers the readiness probe's plain GET with 200
  HANDLER_KIND=none
  "$WSBIN/zhttp_ws_echo_handler" "$ZBASE" > "$RUNDIR/ws-handler.log" 2>&1 &
  hpid=$!
  if ! gw_start; then
    gw_stop; stop_pid "$hpid"
    echo "WS gw=$GW_LABEL size=$size conns=$CONNS status=startfail"
    return 1
  fi
  H_PID=$hpid
  local out hwm alive=yes
  out=$(timeout -k 5 $((WARMUP + DURATION + 60)) "$WSBIN/wsecho" --port "$PORT" -n "$CONNS" \
    --size "$size" --duration "$DURATION" --warmup "$WARMUP" --pid "$GW_PID" --pid "$H_PID")
  if [ -z "$out" ]; then
    gw_stop
    echo "WS gw=$GW_LABEL size=$size conns=$CONNS status=clientfail"
    return 1
  fi
  hwm=$(status_kb "$GW_PID" VmHWM)
  kill -0 "$GW_PID" 2>/dev/null || alive=no
  gw_stop
  local hstats; hstats=$(tail -1 "$RUNDIR/ws-handler.log")
  local msgs ticks gt ht
  msgs=$(field msgs "$out"); ticks=$(field pid_ticks "$out")
  gt=${ticks%,*}; ht=${ticks#*,}
  local per='BEGIN {printf "%.2f", (n > 0 && t >= 0) ? t / hz * 1e6 / n : -1}'
  local line="WS gw=$GW_LABEL size=$size conns=$CONNS dur=$DURATION"
  line+=" msgs_per_s=$(field msgs_per_s "$out") p50_us=$(field p50_us "$out") p99_us=$(field p99_us "$out")"
  line+=" gw_cpu_s=$(ticks_to_s "$gt") gw_us_per_msg=$(awk -v t="$gt" -v hz="$CLK_TCK" -v n="$msgs" "$per")"
  line+=" handler_us_per_msg=$(awk -v t="$ht" -v hz="$CLK_TCK" -v n="$msgs" "$per") gw_rss_peak_kb=$hwm"
  line+=" msgs=$msgs open=$(field open "$out") errors=$(field errors "$out") timeouts=$(field timeouts "$out")"
  line+=" mismatch=$(field mismatch "$out") closed_early=$(field closed_early "$out") close_ok=$(field close_ok "$out")"
  line+=" handler_seq_errors=$(field seq_errors "$hstats") handler_dropped=$(field dropped "$hstats") gw_alive=$alive"
  echo "$line"
  echo "$(date -Is) $line" >> "$RESULTS_DIR/ws.log"
}

results=$(for r in $(seq 1 "$ROUNDS"); do
  for size in $SIZES; do
    for gw in $GATEWAYS; do
      log "round $r/$ROUNDS size=$size $gw"
      echo "round=$r $(run_ws "$gw" "$size")"
    done
  done
done | show_progress)

med() { grep -E "gw=$1 size=$2 " <<<"$results" | while read -r l; do field "$3" "$l"; done | grep -E '^[0-9.]+$' | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print "nan"; else printf "%.2f\n", a / b}'; }
echo
echo "| gateway | size B | msgs/s | p50 ms | p99 ms | gateway CPU µs/msg | peak RSS MB | errors | msgs/s ÷ $REF |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for size in $SIZES; do
  ref=$(med "$REF" "$size" msgs_per_s)
  for gw in $GATEWAYS; do
    label=$gw
    m=$(med "$label" "$size" msgs_per_s)
    printf '| %s | %s | %.0f | %.2f | %.2f | %.1f | %.1f | %s | %s |\n' "$label" "$size" "$m" \
      "$(awk -v v="$(med "$label" "$size" p50_us)" 'BEGIN {print v / 1000}')" \
      "$(awk -v v="$(med "$label" "$size" p99_us)" 'BEGIN {print v / 1000}')" \
      "$(med "$label" "$size" gw_us_per_msg)" \
      "$(awk -v v="$(med "$label" "$size" gw_rss_peak_kb)" 'BEGIN {print v / 1024}')" \
      "$(grep -E "gw=$label size=$size " <<<"$results" | while read -r l; do field errors "$l"; done | awk '{s += $1} END {print s + 0}')" \
      "$(ratio "$m" "$ref")"
  done
done
# per-round ratios zgate / each condure (paired by round)
for size in $SIZES; do
  for gw in $GATEWAYS; do
    [ "$gw" = zgate ] && continue
    rr=$(for r in $(seq 1 "$ROUNDS"); do
      a=$(grep -E "^round=$r WS gw=zgate size=$size " <<<"$results" | while read -r l; do field msgs_per_s "$l"; done)
      b=$(grep -E "^round=$r WS gw=$gw size=$size " <<<"$results" | while read -r l; do field msgs_per_s "$l"; done)
      [ -n "$a" ] && [ -n "$b" ] && ratio "$a" "$b"
    done)
    echo "RATIO size=$size zgate/$gw per round: $(echo $rr) -> median $(echo "$rr" | median)"
  done
done
