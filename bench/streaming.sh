#!/usr/bin/env bash
# Streaming comparison: 64 KiB responses (GET) and 16 KiB request bodies (POST), 50
# connections, zgate beside condure 1.9.1 (1 worker) behind the same credit-driven handler
# (bench/handlers/stream-handler.ts). Rounds are interleaved; prints each run and the medians.
#   bench/streaming.sh            # ROUNDS=3 DURATION=8s CONNS=50 PORT=18170
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8s} CONNS=${CONNS:-50} PORT=${PORT:-18170}
for tool in wrk condure; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 2; }; done
work=$(mktemp -d /tmp/zgate-streaming-XXXXXX)
trap 'rm -rf "$work"' EXIT
printf 'wrk.method = "POST"\nwrk.body = string.rep("x", 16384)\n' > "$work/post.lua"

. "$root/bench/compare-lib.sh"

run() { # gateway case
  local gw=$1 kind=$2 dir="$work/$1-$2" gpid hpid
  mkdir -p "$dir"
  if [ "$gw" = zgate ]; then
    bun "$root/src/main.ts" serve --listen "127.0.0.1:$PORT" --zclient-stream "ipc://$dir/zs" >"$dir/gw.log" 2>&1 &
  else
    condure --workers 1 --listen "127.0.0.1:$PORT,stream" --zclient-stream "ipc://$dir/zs" \
      --zclient-req "ipc://$dir/zr" --stream-maxconn 20000 >"$dir/gw.log" 2>&1 &
  fi
  gpid=$!
  sleep 0.7
  bun "$root/bench/handlers/stream-handler.ts" --base "ipc://$dir/zs" >"$dir/h.log" 2>&1 &
  hpid=$!
  for _ in $(seq 1 50); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$PORT/" && break; sleep 0.2; done
  local script=()
  [ "$kind" = post16k ] && script=(-s "$work/post.lua")
  local m; m=$(measure "$gpid" "${script[@]}" "http://127.0.0.1:$PORT/")
  kill "$hpid" "$gpid"; wait "$hpid" "$gpid" 2>/dev/null || true
  echo "STREAM gw=$gw case=$kind $m"
}

results=$(for r in $(seq 1 "$ROUNDS"); do
  for kind in get64k post16k; do for gw in zgate condure; do run "$gw" "$kind"; done; done
done | tee /dev/stderr)
echo
median_table "$results" get64k post16k
