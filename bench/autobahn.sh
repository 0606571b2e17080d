#!/usr/bin/env bash
# Autobahn|Testsuite (WebSocket conformance, its stock handshake) against zgate with
# --compression plus a WebSocket echo handler, over loopback. Prints the count of cases per
# behaviour (OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED, ..., did not finish) and the
# cases that are neither OK, NON-STRICT, INFORMATIONAL nor UNIMPLEMENTED; exits 1 if any is
# FAILED (or another failing behaviour) or did not finish, 2 if it could not run.
#
#   bench/autobahn.sh                      # all 517 cases against zgate (~15-40 min)
#   bench/autobahn.sh --condure            # the same against condure, for comparison
#   CASES='1.*,12.1.*' bench/autobahn.sh   # some cases (comma-separated wstest patterns)
#
# The echo handler is test/helpers/zhttp-ws-echo.mjs (Node, credit-exact both ways). Only the
# processes started here are stopped, by PID. Environment: AUTOBAHN (the suite's directory,
# default ../shared/tools/autobahn beside the repository), PORT (default 19001), CASES,
# AUTOBAHN_TIMEOUT (seconds for the whole run, default 14400), OUT (report directory, default a
# fresh one under /tmp), ZGATE_ARGS (extra gateway flags).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

target=zgate
for a in "$@"; do
  case $a in
    --condure) target=condure ;;
    -h | --help)
      sed -n '2,16p' "$0"
      exit 0
      ;;
    *)
      echo "unknown argument $a" >&2
      exit 2
      ;;
  esac
done

autobahn=${AUTOBAHN:-}
if [ -z "$autobahn" ]; then
  for d in "$root/../shared/tools/autobahn" "$root/../../shared/tools/autobahn"; do
    [ -x "$d/wstest" ] && autobahn=$(cd "$d" && pwd) && break
  done
fi
[ -n "$autobahn" ] && [ -x "$autobahn/wstest" ] || { echo "no Autobahn|Testsuite found: set AUTOBAHN" >&2; exit 2; }
# Debian's python3 (wstest runs it too), not another one earlier on PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" -c 'import autobahn, twisted, future, jinja2' 2>/dev/null || { echo "needs Debian's python3-autobahn, python3-twisted, python3-future and python3-jinja2 (apt-get install -y python3-autobahn python3-twisted python3-future python3-jinja2)" >&2; exit 2; }
command -v node >/dev/null || { echo "needs node" >&2; exit 2; }
command -v curl >/dev/null || { echo "needs curl" >&2; exit 2; }
[ "$target" = zgate ] || command -v condure >/dev/null || { echo "needs condure" >&2; exit 2; }

port=${PORT:-19001}
cases=${CASES:-*}
run_timeout=${AUTOBAHN_TIMEOUT:-14400}
work=$(mktemp -d /tmp/zgate-autobahn.XXXXXX)
out=${OUT:-$work/report}
base="ipc://$work/zs"
gw_pid=''
handler_pid=''

stop_pid() { # pid: TERM, then KILL after 5 s
  local pid=$1 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}
finish() {
  stop_pid "$handler_pid"
  stop_pid "$gw_pid"
}
trap finish EXIT
trap 'finish; exit 130' INT TERM

if [ "$target" = zgate ]; then
  # shellcheck disable=SC2086
  bun "$root/src/main.ts" serve --listen "127.0.0.1:$port" --zclient-stream "$base" --compression ${ZGATE_ARGS:-} >"$work/gateway.log" 2>&1 &
else
  condure --listen "127.0.0.1:$port" --zclient-stream "$base" --compression >"$work/gateway.log" 2>&1 &
fi
gw_pid=$!
node "$root/test/helpers/zhttp-ws-echo.mjs" --base "$base" >"$work/handler.log" 2>&1 &
handler_pid=$!

# Ready once a plain request goes through the gateway to the handler (it answers 200).
ready=''
for _ in $(seq 200); do
  if [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$port/")" = 200 ]; then
    ready=yes
    break
  fi
  kill -0 "$gw_pid" 2>/dev/null && kill -0 "$handler_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "$target or the echo handler did not come up; logs in $work" >&2
  tail -5 "$work/gateway.log" "$work/handler.log" >&2
  exit 2
fi

patterns=$("$py" -c 'import json, sys; print(json.dumps([c.strip() for c in sys.argv[1].split(",") if c.strip()]))' "$cases")
cat >"$work/spec.json" <<EOF
{"outdir": "$out",
 "servers": [{"agent": "$target", "url": "ws://127.0.0.1:$port"}],
 "cases": $patterns, "exclude-cases": [], "exclude-agent-cases": {}}
EOF
echo "autobahn: $target on 127.0.0.1:$port, cases $cases, report in $out (logs in $work)"
started=$(date +%s)
(cd "$work" && timeout -k 10 "$run_timeout" "$autobahn/wstest" -m fuzzingclient -s "$work/spec.json" >"$work/wstest.log" 2>&1)
rc=$?
elapsed=$(($(date +%s) - started))
[ "$rc" = 0 ] || echo "wstest exited with status $rc after ${elapsed}s (124: the run timed out); see $work/wstest.log"

# Counts per behaviour; a selected case missing from the report did not finish.
PYTHONPATH="$autobahn" "$py" - "$work/spec.json" "$out/index.json" "$target" "$elapsed" <<'PY'
import json, sys
from autobahntestsuite.caseset import CaseSet
from autobahntestsuite.case import Cases, CaseSetname, CaseBasename, CaseCategories, CaseSubCategories

spec_path, index_path, agent, elapsed = sys.argv[1:5]
spec = json.load(open(spec_path))
selected = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories).parseSpecCases(spec)
try:
    results = json.load(open(index_path)).get(agent, {})
except (OSError, ValueError):
    results = {}
counts = {}
bad = []
passing = ('OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED')
for case in selected:
    r = results.get(case)
    behavior = r['behavior'] if r else 'did not finish'
    counts[behavior] = counts.get(behavior, 0) + 1
    if behavior not in passing:
        bad.append(f"  {case}: {behavior}" + (f" (close: {r['behaviorClose']})" if r else ''))
order = list(passing) + ['FAILED'] + sorted(k for k in counts if k not in passing + ('FAILED', 'did not finish')) + ['did not finish']
print(f"autobahn {agent}: {len(selected)} cases in {elapsed}s: " + ', '.join(f"{k} {counts.get(k, 0)}" for k in order))
if bad:
    print(f"not passing ({len(bad)}):")
    print('\n'.join(bad[:30]) + ('\n  ...' if len(bad) > 30 else ''))
sys.exit(1 if bad else 0)
PY
