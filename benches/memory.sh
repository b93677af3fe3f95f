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
. "$(dirname "$0")/serve_ready.sh"
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
  serve_ready "$bin" "$dir" "$port" "$work/serve.log"
  printf 'customers %s days %s (%s start) ready %.1f s rss %d MB hwm %d MB\n' \
    "$customers" "$d" "$start" "$READY" "$RSS_MB" "$HWM_MB"
  done
done
