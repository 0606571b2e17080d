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

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

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
  wrk -t2 -c"$CONNS" -d2s "${script[@]}" "http://127.0.0.1:$PORT/" >/dev/null
  local t0; t0=$(cpu_ticks "$gpid")
  local out; out=$(wrk -t2 -c"$CONNS" -d"$DURATION" "${script[@]}" "http://127.0.0.1:$PORT/")
  local t1; t1=$(cpu_ticks "$gpid")
  kill "$hpid" "$gpid"; wait "$hpid" "$gpid" 2>/dev/null || true
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local reqs; reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  local errs; errs=$(awk '/Socket errors|Non-2xx/ {print}' <<<"$out" | tr '\n' ' ')
  local us; us=$(awk -v t=$((t1 - t0)) -v n="$reqs" 'BEGIN {printf "%.1f", t * 10000 / n}')
  echo "STREAM gw=$gw case=$kind rps=$rps gw_us_per_req=$us ${errs:+errors=\"$errs\"}"
}

results=$(for r in $(seq 1 "$ROUNDS"); do
  for kind in get64k post16k; do for gw in zgate condure; do run "$gw" "$kind"; done; done
done | tee /dev/stderr)
echo
echo "| case | zgate req/s | condure req/s | ratio | zgate µs/req | condure µs/req |"
echo "|---|---:|---:|---:|---:|---:|"
for kind in get64k post16k; do
  med() { grep "gw=$1 case=$kind" <<<"$results" | sed -E "s/.*$2=([0-9.]+).*/\1/" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
  zr=$(med zgate rps); cr=$(med condure rps); zu=$(med zgate gw_us_per_req); cu=$(med condure gw_us_per_req)
  echo "| $kind | $zr | $cr | $(awk -v a="$zr" -v b="$cr" 'BEGIN {printf "%.2f", a / b}') | $zu | $cu |"
done
