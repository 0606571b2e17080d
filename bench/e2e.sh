#!/usr/bin/env bash
# Side-by-side load run: zgate and condure 1.9.1 (one worker) behind the same C stream
# handler, using the shared harness in ../shared/bench (wrk keep-alive hello world; gateway
# and handler restarted per run; A/B interleaved). Usage:
#   bench/e2e.sh                 # ROUNDS=3 CONNS="50 1000" DURATION=10s
#   ROUNDS=1 CONNS=50 bench/e2e.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=${BENCH_HARNESS:-$root/../shared/bench}
[ -x "$harness/compare.sh" ] || { echo "no harness at $harness (set BENCH_HARNESS)"; exit 2; }
for tool in wrk condure gcc; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install wrk condure libzmq3-dev gcc"; exit 2; }
done
export RESULTS_DIR=${RESULTS_DIR:-/tmp/zgate-bench/results}
export ROUNDS=${ROUNDS:-3} CONNS=${CONNS:-50 1000} DURATION=${DURATION:-10s} ABBA=${ABBA:-1}
export GATEWAY_CMD="bun $root/src/main.ts serve --listen 127.0.0.1:\$PORT --zclient-stream \$ZBASE --stream-maxconn 20000"
export HANDLER=stream GATEWAY_NAME=zgate-stream
cd "$harness"
./compare.sh custom condure-stream-w1
