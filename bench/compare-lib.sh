# Shared by bench/streaming.sh and bench/tls.sh (sourced, with $root set): starting a gateway,
# one measured wrk run against its PID, and the medians table of interleaved rounds.

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start_gateway GW DIR LISTEN [ARG...]: zgate, or condure with one worker, listening on LISTEN
# with the ZHTTP stream base ipc://DIR/zs (log in DIR/gw.log); sets GPID.
start_gateway() {
  local gw=$1 dir=$2 listen=$3; shift 3
  if [ "$gw" = zgate ]; then
    bun "$root/src/main.ts" serve --listen "$listen" --zclient-stream "ipc://$dir/zs" \
      --stream-maxconn 20000 "$@" >"$dir/gw.log" 2>&1 &
  else
    condure --workers 1 --listen "$listen" --zclient-stream "ipc://$dir/zs" \
      --zclient-req "ipc://$dir/zr" --stream-maxconn 20000 "$@" >"$dir/gw.log" 2>&1 &
  fi
  GPID=$!
}

# wait_ready URL [CURL_ARG...]: until one request succeeds (bounded: 50 tries, ~10 s).
wait_ready() {
  local url=$1; shift
  for _ in $(seq 1 50); do curl -s -o /dev/null -m 1 "$@" "$url" && return 0; sleep 0.2; done
  return 0
}

# Copies each line to stderr as it comes (progress) and to stdout (the caller's results).
# Not `tee /dev/stderr`: reopening the caller's log file through it truncates and overwrites it.
show_progress() { while IFS= read -r l; do printf '%s\n' "$l" >&2; printf '%s\n' "$l"; done; }

# measure GPID WRK_ARGS... : a 2 s warm-up, then the measured run (2 threads, $CONNS
# connections, $DURATION); prints `rps=N p99=T gw_us_per_req=N [errors="..."]`, the CPU being
# the gateway's utime+stime during the measured run.
measure() {
  local gpid=$1; shift
  wrk -t2 -c"$CONNS" -d2s "$@" >/dev/null
  local t0; t0=$(cpu_ticks "$gpid")
  local out; out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$@")
  local t1; t1=$(cpu_ticks "$gpid")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local reqs; reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  local p99; p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local errs; errs=$(awk '/Socket errors|Non-2xx/ {print}' <<<"$out" | tr '\n' ' ')
  local us; us=$(awk -v t=$((t1 - t0)) -v n="$reqs" 'BEGIN {printf "%.1f", t * 10000 / n}')
  echo "rps=$rps p99=$p99 gw_us_per_req=$us ${errs:+errors=\"$errs\"}"
}

# median_table RESULTS CASE... : zgate against condure per case, from `gw=G case=C rps=...` lines.
median_table() {
  local results=$1; shift
  med() { grep "gw=$1 case=$kind " <<<"$results" | sed -E "s/.*$2=([0-9.]+).*/\1/" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
  echo "| case | zgate req/s | condure req/s | ratio | zgate µs/req | condure µs/req |"
  echo "|---|---:|---:|---:|---:|---:|"
  local kind zr cr zu cu
  for kind in "$@"; do
    zr=$(med zgate rps); cr=$(med condure rps); zu=$(med zgate gw_us_per_req); cu=$(med condure gw_us_per_req)
    echo "| $kind | $zr | $cr | $(awk -v a="$zr" -v b="$cr" 'BEGIN {printf "%.2f", a / b}') | $zu | $cu |"
  done
}
