#!/usr/bin/env bash
# Start-up time: from spawn to the `started` log line, for condure 1.9.1 and zgate (from source
# with the prebuilt shim, and the compiled dist/zgate), each with one stream listener and the
# same ipc spec, defaults otherwise. The gateways take turns in every round so machine noise is
# shared. Prints per gateway the median and range of the wall time, and the median CPU time
# the process (all its threads) had used by then (/proc/PID/task/*/schedstat), which a loaded
# machine distorts less.
#   bench/startup.sh                 # RUNS=10
#   RUNS=3 bench/startup.sh          # quick look
#   BEFORE=/path/to/checkout bench/startup.sh   # also zgate from another checkout's sources
#   RT=1 bench/startup.sh            # as root on a busy machine: both gateways run under
#                                    # SCHED_FIFO (chrt -f 10), ahead of the other load, so wall
#                                    # times approach idle ones (the kernel's RT throttling still
#                                    # leaves others 5 %; each run lasts well under a second)
# Needs condure on PATH; builds the shim (`bun run build:native`) and dist/zgate (`bun run
# build`) when they are missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
work=$(mktemp -d /tmp/zgate-startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v condure >/dev/null || { echo "condure is not installed (apt-get install condure)"; exit 2; }
(cd "$root" && bun scripts/build-native.ts >/dev/null)
binary=${ZGATE_BINARY:-$root/dist/zgate}
[ -x "$binary" ] || (cd "$root" && bun scripts/build.ts >/dev/null)
# The binary copies its libraries into the cache on its first run: do that run outside the
# measurement (the first start of a new build pays ~10 ms more).
export XDG_CACHE_HOME=$work/cache
prio=(env)
[ "${RT:-0}" = 1 ] && prio=(chrt -f 10)

# One start: prints "WALL_US CPU_US" from spawn to the `started` line, then stops the gateway.
# A gateway that exits first (its random port taken) is started again, up to 3 times.
one() {
  local dir port line start end pid cpu t attempt
  for attempt in 1 2 3; do
    dir=$(mktemp -d "$work/run.XXXXXX")
    mkfifo "$dir/log"
    port=$(( 20000 + RANDOM % 20000 ))
    start=${EPOCHREALTIME/./}
    "${prio[@]}" "$@" --listen "127.0.0.1:$port" --zclient-stream "ipc://$dir/zs" >"$dir/log" 2>&1 &
    pid=$!
    line=
    while IFS= read -r line; do
      case $line in *"] started") break ;; esac
    done <"$dir/log"
    end=${EPOCHREALTIME/./}
    cpu=0
    for t in /proc/"$pid"/task/*/schedstat; do
      [ -r "$t" ] && cpu=$(( cpu + $(cut -d' ' -f1 "$t") ))
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    case $line in *"] started") echo "$(( end - start )) $(( cpu / 1000 ))"; return ;; esac
  done
  echo "$* never logged started" >&2
  exit 1
}

# Median of the numbers in $1 (space separated), then min and max.
stats() {
  local -a xs
  read -r -a xs <<<"$(tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | tr '\n' ' ')"
  local n=${#xs[@]} med
  if (( n % 2 )); then med=${xs[n / 2]}; else med=$(( (xs[n / 2 - 1] + xs[n / 2]) / 2 )); fi
  echo "$med ${xs[0]} ${xs[n - 1]}"
}

declare -A cmd=(
  [condure]="condure"
  [zgate-source]="bun $root/src/main.ts serve"
  [zgate-binary]="$binary serve"
)
order=(condure zgate-source zgate-binary)
if [ -n "${BEFORE:-}" ]; then
  cmd[zgate-before]="bun $BEFORE/src/main.ts serve"
  order+=(zgate-before)
fi
declare -A wall cpu
one "$binary" serve >/dev/null # fills the cache (see above)
for ((r = 1; r <= runs; r++)); do
  for name in "${order[@]}"; do
    # shellcheck disable=SC2086 # the commands are word lists
    read -r w c <<<"$(one ${cmd[$name]})"
    wall[$name]+="$w "
    cpu[$name]+="$c "
  done
done

printf '%-14s %10s %22s %12s   (%s runs, %s cores, load %s)\n' gateway wall_ms wall_range_ms cpu_ms "$runs" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for name in "${order[@]}"; do
  read -r med lo hi <<<"$(stats "${wall[$name]}")"
  read -r cmed _ _ <<<"$(stats "${cpu[$name]}")"
  awk -v n="$name" -v m="$med" -v lo="$lo" -v hi="$hi" -v c="$cmed" \
    'BEGIN { printf "%-14s %10.1f %10.1f – %9.1f %12.1f\n", n, m / 1000, lo / 1000, hi / 1000, c / 1000 }'
done
