#!/usr/bin/env bash
# Streaming comparison: 64 KiB responses (GET) and 16 KiB request bodies (POST), 50
# connections, zgate beside condure 1.9.1 (1 worker) behind the same credit-driven handler
# (bench/handlers/stream-handler.ts). Rounds are interleaved; prints each run and the medians.
#   bench/streaming.sh            # ROUNDS=3 DURATION=8s CONNS=50 PORT=18170
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8s} CONNS=${CONNS:-50} PORT=${PORT:-18170}
"$root/scripts/install-deps.sh" bench
work=$(mktemp -d /tmp/zgate-streaming-XXXXXX)
trap 'rm -rf "$work"' EXIT
printf 'wrk.method = "POST"\nwrk.body = string.rep("x", 16384)\n' > "$work/post.lua"

. "$root/bench/compare-lib.sh"

run() { # gateway case
  local gw=$1 kind=$2 dir="$work/$1-$2" hpid
  mkdir -p "$dir"
  start_gateway "$gw" "$dir" "127.0.0.1:$PORT,stream"
  sleep 0.7
  bun "$root/bench/handlers/stream-handler.ts" --base "ipc://$dir/zs" >"$dir/h.log" 2>&1 &
  hpid=$!
  wait_ready "http://127.0.0.1:$PORT/"
  local script=()
  [ "$kind" = post16k ] && script=(-s "$work/post.lua")
  local m; m=$(measure "$GPID" "${script[@]}" "http://127.0.0.1:$PORT/")
  kill "$hpid" "$GPID"; wait "$hpid" "$GPID" 2>/dev/null || true
  echo "STREAM gw=$gw case=$kind $m"
}

results=$(for r in $(seq 1 "$ROUNDS"); do
  for kind in get64k post16k; do for gw in zgate condure; do run "$gw" "$kind"; done; done
done | show_progress)
echo
median_table "$results" get64k post16k
