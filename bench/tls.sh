#!/usr/bin/env bash
# TLS comparison: zgate beside condure 1.9.1 (1 worker) on a `tls` listener with the test
# identities (test/fixtures/tls, default-cert=default, ECDSA P-256), behind the harness's C
# hello-world stream handler. Two cases, 50 connections each:
#   keepalive  wrk over kept-alive TLS connections (the handshake amortized): requests/s
#   handshake  wrk with `Connection: close`: one full TLS handshake per request
# Rounds are interleaved; prints each run, then the medians with zgate/condure ratios and the
# gateway's CPU per request (utime+stime from /proc).
#   bench/tls.sh            # ROUNDS=3 DURATION=8s CONNS=50 PORT=18190
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=$root/bench/harness
BIN=${BENCH_BIN:-/tmp/zgate-bench/bin}
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8s} CONNS=${CONNS:-50} PORT=${PORT:-18190}
"$root/scripts/install-deps.sh" bench
[ -x "$BIN/zhttp_stream_handler" ] || { mkdir -p "$BIN" && make -s -C "$harness" BIN="$BIN"; }
ids="$root/test/fixtures/tls/identities"
work=$(mktemp -d /tmp/zgate-tls-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
url="https://127.0.0.1:$PORT/"

. "$root/bench/compare-lib.sh"

run() { # gateway case
  local gw=$1 kind=$2 dir="$work/$1-$2" hpid
  mkdir -p "$dir"
  start_gateway "$gw" "$dir" "127.0.0.1:$PORT,stream,tls,default-cert=default" --tls-identities-dir "$ids"
  sleep 0.7
  "$BIN/zhttp_stream_handler" "ipc://$dir/zs" >"$dir/h.log" 2>&1 &
  hpid=$!
  wait_ready "$url" -k
  local hdr=()
  [ "$kind" = handshake ] && hdr=(-H "Connection: close")
  local m; m=$(measure "$GPID" "${hdr[@]}" "$url")
  kill "$hpid" "$GPID"; wait "$hpid" "$GPID" 2>/dev/null || true
  echo "TLS gw=$gw case=$kind $m"
}

results=$(for r in $(seq 1 "$ROUNDS"); do
  for kind in keepalive handshake; do for gw in zgate condure; do run "$gw" "$kind"; done; done
done | show_progress)
echo
median_table "$results" keepalive handshake
