#!/usr/bin/env bash
# Resident memory of `crm serve` once its read models are ready, on demo data sets of the same
# customers and different lengths of history (issue #12: memory per customer must not grow with
# history; RSS at 250 days within 1.2x of RSS at 25 days).
#
# Usage: bash benches/memory.sh CRM_BINARY WORK_DIR [CUSTOMERS] [DAYS...]
#   e.g. bash benches/memory.sh target/release/crm /var/tmp/crm-mem 10000 25 250
# The demo directories are made once with the given binary (`crm demo`) and kept in WORK_DIR, so
# a second binary (the previous build) can be measured over the same logs: the read models are
# folded from the log on its first start when the stored fold format differs.
# Prints two lines per data set (first and second start): seconds to /readyz, VmRSS and VmHWM.
set -euo pipefail
bin=$(realpath "$1")
work=$2
customers=${3:-10000}
shift $(( $# < 3 ? $# : 3 ))
days=${*:-25 250}
mkdir -p "$work"
port=18931
for d in $days; do
  dir="$work/c${customers}-d${d}"
  if [ ! -f "$dir/.demo-made" ]; then
    rm -rf "$dir"
    "$bin" --data-dir "$dir" demo --customers "$customers" --days "$d" >/dev/null
    touch "$dir/.demo-made"
  fi
  # Twice: the first start may fold the log (another build's stored format), the second
  # opens the read models this binary stored.
  for start in first second; do
  started=$(date +%s.%N)
  "$bin" --data-dir "$dir" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "server exited; see $work/serve.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  ready=$(echo "$(date +%s.%N) - $started" | bc)
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -INT "$pid"
  wait "$pid" || true
  printf 'customers %s days %s (%s start) ready %.1f s rss %d MB hwm %d MB\n' \
    "$customers" "$d" "$start" "$ready" $((rss / 1024)) $((hwm / 1024))
  done
done
