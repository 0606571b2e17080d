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
harness=${BENCH_HARNESS:-$root/../shared/bench}
BIN=${BENCH_BIN:-/tmp/zgate-bench/bin}
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8s} CONNS=${CONNS:-50} PORT=${PORT:-18190}
for tool in wrk condure curl make gcc; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 2; }; done
[ -x "$BIN/zhttp_stream_handler" ] || { mkdir -p "$BIN" && make -s -C "$harness" BIN="$BIN"; }
ids="$root/test/fixtures/tls/identities"
work=$(mktemp -d /tmp/zgate-tls-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
url="https://127.0.0.1:$PORT/"

. "$root/bench/compare-lib.sh"

run() { # gateway case
  local gw=$1 kind=$2 dir="$work/$1-$2" gpid hpid
  mkdir -p "$dir"
  local listen="127.0.0.1:$PORT,stream,tls,default-cert=default"
  if [ "$gw" = zgate ]; then
    bun "$root/src/main.ts" serve --listen "$listen" --tls-identities-dir "$ids" \
      --zclient-stream "ipc://$dir/zs" --stream-maxconn 20000 >"$dir/gw.log" 2>&1 &
  else
    condure --workers 1 --listen "$listen" --tls-identities-dir "$ids" --zclient-stream "ipc://$dir/zs" \
      --zclient-req "ipc://$dir/zr" --stream-maxconn 20000 >"$dir/gw.log" 2>&1 &
  fi
  gpid=$!
  sleep 0.7
  "$BIN/zhttp_stream_handler" "ipc://$dir/zs" >"$dir/h.log" 2>&1 &
  hpid=$!
  for _ in $(seq 1 50); do curl -sk -o /dev/null -m 1 "$url" && break; sleep 0.2; done
  local hdr=()
  [ "$kind" = handshake ] && hdr=(-H "Connection: close")
  local m; m=$(measure "$gpid" "${hdr[@]}" "$url")
  kill "$hpid" "$gpid"; wait "$hpid" "$gpid" 2>/dev/null || true
  echo "TLS gw=$gw case=$kind $m"
}

results=$(for r in $(seq 1 "$ROUNDS"); do
  for kind in keepalive handshake; do for gw in zgate condure; do run "$gw" "$kind"; done; done
done | tee /dev/stderr)
echo
median_table "$results" keepalive handshake
