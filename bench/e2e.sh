#!/usr/bin/env bash
# End-to-end load comparison: zgate beside condure 1.9.1 (one worker) and mongrel2, behind
# the same C handlers, with the harness in bench/harness (wrk keep-alive hello
# world; gateway and handler restarted per run; every gateway runs in every round so noise is
# shared). Prints the medians table with req/s ratios against condure, plus idle memory.
#   bench/e2e.sh                                  # ROUNDS=3 CONNS="50 1000" IDLE_N="10000 19000"
#   ROUNDS=1 CONNS=50 IDLE_N= bench/e2e.sh        # quick look
# Installs what it needs from Debian when missing (scripts/install-deps.sh bench).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=$root/bench/harness
"$root/scripts/install-deps.sh" bench
export RESULTS_DIR=${RESULTS_DIR:-/tmp/zgate-bench/results}
export ROUNDS=${ROUNDS:-3} CONNS=${CONNS:-50 1000} IDLE_N=${IDLE_N-10000 19000}
export DURATION=${DURATION:-10s} WARMUP=${WARMUP:-2s} CONDURE_MAXCONN=${CONDURE_MAXCONN:-20000}
export GATEWAY_CMD="bun $root/src/main.ts serve --listen 127.0.0.1:\$PORT --zclient-stream \$ZBASE --stream-maxconn 20000"
export HANDLER=stream GATEWAY_NAME=zgate-stream REF=condure-stream-w1
export GATEWAYS=${GATEWAYS:-custom condure-stream-w1 mongrel2}
(cd "$harness" && ./suite.sh)
"$root/bench/streaming.sh"
