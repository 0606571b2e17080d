#!/usr/bin/env bash
# End-to-end load comparison: zgate beside condure 1.9.1 (one worker) and mongrel2, behind
# the same C handlers, with the shared harness in ../shared/bench (wrk keep-alive hello
# world; gateway and handler restarted per run; every gateway runs in every round so noise is
# shared). Prints the medians table with req/s ratios against condure, plus idle memory.
#   bench/e2e.sh                                  # ROUNDS=3 CONNS="50 1000" IDLE_N="10000 19000"
#   ROUNDS=1 CONNS=50 IDLE_N= bench/e2e.sh        # quick look
# Installs wrk, condure, mongrel2-core and libzmq3-dev from Debian when they are missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=${BENCH_HARNESS:-$root/../shared/bench}
[ -x "$harness/suite.sh" ] || { echo "no harness at $harness (set BENCH_HARNESS)"; exit 2; }
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v condure >/dev/null || missing+=(condure)
command -v mongrel2 >/dev/null || missing+=(mongrel2-core)
[ -e /usr/include/zmq.h ] || missing+=(libzmq3-dev)
command -v gcc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export RESULTS_DIR=${RESULTS_DIR:-/tmp/zgate-bench/results}
export ROUNDS=${ROUNDS:-3} CONNS=${CONNS:-50 1000} IDLE_N=${IDLE_N-10000 19000}
export DURATION=${DURATION:-10s} WARMUP=${WARMUP:-2s} CONDURE_MAXCONN=${CONDURE_MAXCONN:-20000}
export GATEWAY_CMD="bun $root/src/main.ts serve --listen 127.0.0.1:\$PORT --zclient-stream \$ZBASE --stream-maxconn 20000"
export HANDLER=stream GATEWAY_NAME=zgate-stream REF=condure-stream-w1
export GATEWAYS=${GATEWAYS:-custom condure-stream-w1 mongrel2}
(cd "$harness" && ./suite.sh)
"$root/bench/streaming.sh"
