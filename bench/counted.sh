#!/usr/bin/env bash
# onetable against hand-written SDK code, operation by operation, counted rather than
# timed by criterion (`benches/overhead.rs` run with OVERHEAD_ONLY/OVERHEAD_RUNS):
#
#   bench/counted.sh [group ...]         instructions per operation, by valgrind's
#                                        cachegrind: a count a noisy, shared host cannot
#                                        move. Each side runs 100 and then 600 times in
#                                        a fresh process; the difference over 500 is one
#                                        operation, setup and warm-up aside.
#   bench/counted.sh --cpu [group ...]   CPU time of 10,000 operations (perf stat
#                                        task-clock), the two sides alternating 8 times;
#                                        the medians and their ratio.
#
# Groups: create get find_100 update batch_write_100 (default: all).
# Needs valgrind, or perf for --cpu (`apt-get install valgrind linux-perf`).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
mode=instructions
groups=()
for arg in "$@"; do
  case $arg in
    --cpu) mode=cpu ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) groups+=("$arg") ;;
  esac
done
[ ${#groups[@]} -gt 0 ] || groups=(create get find_100 update batch_write_100)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cargo bench --bench overhead --no-run --message-format=json >"$log" 2>&1; then
  cat "$log" >&2; exit 1
fi
binary=$(sed -n 's/.*"executable":"\([^"]*overhead[^"]*\)".*/\1/p' "$log" | tail -1)
[ -x "$binary" ] || { echo "no overhead bench binary" >&2; exit 1; }

# Runs "$@" with its output in $log, and prints the number `pattern` (sed) finds in
# it; shows that output and stops when the run fails or there is no number.
number() {
  local pattern=$1; shift
  local value
  value=
  if "$@" >"$log" 2>&1; then
    value=$(sed -n "$pattern" "$log" | tr -d , | tail -1)
  fi
  if ! [[ $value =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "no figure from: $*" >&2; cat "$log" >&2; exit 1
  fi
  echo "$value"
}

instructions() { # of $2 runs of operation $1
  OVERHEAD_ONLY=$1 OVERHEAD_RUNS=$2 number 's/.*I *refs: *\([0-9,]*\).*/\1/p' \
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$binary"
}

milliseconds() { # of CPU for 10,000 runs of operation $1
  OVERHEAD_ONLY=$1 OVERHEAD_RUNS=10000 number 's/^\([0-9.]*\),.*task-clock.*/\1/p' \
    perf stat -x, -e task-clock "$binary"
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

if [ $mode = instructions ]; then
  printf '%-16s %14s %14s %9s\n' operation onetable raw_sdk ratio
else
  printf '%-16s %14s %14s %9s\n' operation 'onetable ms' 'raw_sdk ms' ratio
fi
for group in "${groups[@]}"; do
  if [ $mode = instructions ]; then
    declare -A per=()
    for side in onetable raw_sdk; do
      low=$(instructions "$group/$side" 100)
      high=$(instructions "$group/$side" 600)
      per[$side]=$(( (high - low) / 500 ))
    done
    a=${per[onetable]} b=${per[raw_sdk]}
  else
    ones=() raws=()
    for _ in 1 2 3 4 5 6 7 8; do
      ones+=("$(milliseconds "$group/onetable")")
      raws+=("$(milliseconds "$group/raw_sdk")")
    done
    a=$(printf '%s\n' "${ones[@]}" | median) b=$(printf '%s\n' "${raws[@]}" | median)
  fi
  printf '%-16s %14s %14s %8.3fx\n' "$group" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {print a / b}')"
done
