#!/usr/bin/env bash
# onetable against hand-written SDK code, operation by operation, counted rather than
# timed by criterion (`benches/overhead.rs` run with OVERHEAD_ONLY/OVERHEAD_RUNS):
#
#   bench/counted.sh [group ...]         instructions per operation, by valgrind's
#                                        cachegrind: a count a noisy, shared host cannot
#                                        move. Each side runs 100 and then 600 times in
#                                        a fresh process; the difference over 500 is one
#                                        operation, setup and warm-up aside.
#   bench/counted.sh --cpu [group ...]   CPU time per operation, the two sides in one
#                                        process alternating in blocks of 50, 200 blocks
#                                        each (the bench's OVERHEAD_PAIRED mode): the
#                                        host's other load falls on both alike. The
#                                        ratio is of the means; the median of the
#                                        blocks' ratios is printed beside it. Also
#                                        takes two operations, `<group>/<side>,<group>/<side>`
#                                        (get/raw_sdk_absent: a get of no item, the floor
#                                        of the SDK's pipeline).
#
# Groups: create get find_100 update batch_write_100 (the default), and mixed (a get,
# a create and an update in turn).
# Needs valgrind for instructions (`apt-get install valgrind`).
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

if [ $mode = instructions ]; then
  printf '%-16s %14s %14s %9s\n' operation onetable raw_sdk ratio
else
  printf '%-16s %14s %14s %9s %13s\n' operation 'onetable us' 'raw_sdk us' ratio 'median block'
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
    OVERHEAD_PAIRED=$group "$binary" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    read -r a b ratio median < <(sed -n 's/^paired .* \([0-9.]*\) us\/op, .* \([0-9.]*\) us\/op, ratio \([0-9.]*\), median block ratio \([0-9.]*\)$/\1 \2 \3 \4/p' "$log")
    [ -n "${median:-}" ] || { echo "no figures from the paired run" >&2; cat "$log" >&2; exit 1; }
    printf '%-16s %14s %14s %8.3fx %12.3fx\n' "$group" "$a" "$b" "$ratio" "$median"
    continue
  fi
  printf '%-16s %14s %14s %8.3fx\n' "$group" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {print a / b}')"
done
