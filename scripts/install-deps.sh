#!/usr/bin/env bash
# Installs, from Debian packages, what the tests or the benchmarks need and this machine lacks:
#   scripts/install-deps.sh test     # `bun run test:all`: the end-to-end tests' peers
#   scripts/install-deps.sh bench    # `bun run bench`: wrk and the C harness (bench/harness)
# Only missing programs are installed (one apt-get update, one apt-get install); nothing is
# installed when everything is there, so a second run costs a few `command -v` checks.
# Runs apt-get directly as root, through sudo otherwise.
#
# `test`: a package that cannot be installed is named on stderr and the run goes on (exit 0):
# the tests that need it fail with their own message, and the others still run.
# `bench`: the benchmarks cannot run without their tools, so that is exit 1.
set -euo pipefail

group=${1:-}
case "$group" in
  test | bench) ;;
  *) echo "usage: $0 test|bench" >&2; exit 2 ;;
esac

missing=()
# need PACKAGE CHECK...: PACKAGE is missing when any CHECK (a shell test) fails.
need() {
  local pkg=$1; shift
  local check
  for check in "$@"; do
    if ! eval "$check" >/dev/null 2>&1; then
      missing+=("$pkg")
      return 0
    fi
  done
}
has() { command -v "$1"; }
# Debian's python packages serve Debian's interpreter, which may not be the first python3 on
# PATH (pyenv, venvs).
py() { "$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)" -c "import $1"; }

if [ "$group" = test ]; then
  # Node runs the independent handler peers (test/helpers/*.mjs).
  need nodejs 'has node'
  # The reference gateway the e2e tests compare against (test/e2e/cli.test.ts and others).
  need condure 'has condure'
  # test/e2e/pushpin.test.ts runs Debian's pushpin (with zurl) with each manager.
  need pushpin 'has pushpin' 'has pushpin-proxy' 'has pushpin-handler'
  need zurl 'has zurl'
  # The TLS tests' second client (test/e2e/tls.test.ts).
  need curl 'has curl'
  # Python peers: pyzmq, and the WebSocket conformance client (Autobahn on Twisted).
  need python3-zmq 'py zmq'
  need python3-autobahn 'py autobahn'
  need python3-twisted 'py twisted'
  # The native shim (native/zgate-shim.c) is built ahead of time with the system compiler, and
  # test/e2e/binary.test.ts builds dist/zgate, which embeds it.
  need gcc 'has gcc'
  need libc6-dev 'test -e /usr/include/stdio.h'
else
  need wrk 'has wrk'
  need curl 'has curl'
  need condure 'has condure'
  need mongrel2-core 'has mongrel2' 'has m2sh'
  # The harness's C handlers and clients (bench/harness/Makefile): gcc, make, libc and
  # libzmq headers; `ss` checks that the benchmark port is free.
  need gcc 'has gcc'
  need make 'has make'
  need libc6-dev 'test -e /usr/include/stdio.h'
  need libzmq3-dev 'test -e /usr/include/zmq.h'
  need iproute2 'has ss'
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

fail() {
  echo "install-deps: could not install ${missing[*]}: $1" >&2
  if [ "$group" = bench ]; then exit 1; fi
  echo "install-deps: the tests that need them will fail" >&2
  exit 0
}

apt=(apt-get)
if [ "$(id -u)" -ne 0 ]; then
  has sudo >/dev/null 2>&1 || fail "not root and no sudo"
  apt=(sudo apt-get)
fi
has apt-get >/dev/null 2>&1 || fail "no apt-get (not Debian?): install them by hand"

log=/tmp/zgate-install-deps.log
echo "install-deps: installing ${missing[*]} (log: $log)" >&2
if ! { "${apt[@]}" update -qq &&
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 5 "$log" >&2
  fail "apt-get failed (see $log)"
fi
