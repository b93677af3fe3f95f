#!/usr/bin/env bash
# The data set of issue #12 at a chosen size: `crm demo --customers N --days D` loaded by one
# binary, then `crm serve` started twice on it (the first start folds the read models from the
# log, the second opens their stored copy). Prints, for each binary given:
#   demo: events, seconds, events/min, peak RSS;  log/ and index/ sizes;
#   serve first and second start: seconds to /readyz, RSS 2 s after it, and what the server
#   logged about opening the store and the read models.
#
# Usage: bash benches/scale.sh WORK_DIR CUSTOMERS DAYS BINARY [BINARY...]
#   e.g. bash benches/scale.sh /var/tmp/crm-scale 100000 20 /tmp/crm-new /tmp/crm-old
# Each binary gets a data directory of its own (WORK_DIR/NAME-cN-dD), made anew.
set -euo pipefail
. "$(dirname "$0")/serve_ready.sh"
work=$1
customers=$2
days=$3
shift 3
until=${UNTIL:-2026-12-01}
port=18941
mkdir -p "$work"
for bin in "$@"; do
  bin=$(realpath "$bin")
  name=$(basename "$bin")
  dir="$work/$name-c$customers-d$days"
  rm -rf "$dir"
  /usr/bin/time -f '%e %M' -o "$work/time.txt" \
    "$bin" --data-dir "$dir" demo --customers "$customers" --days "$days" --until "$until" \
    >"$work/demo.out" 2>/dev/null
  read -r secs kb <"$work/time.txt"
  events=$(grep -o '[0-9]* events from' "$work/demo.out" | grep -o '^[0-9]*')
  printf '%s demo %s x %s: %s events in %.1f s (%.2fM events/min), peak RSS %d MB\n' \
    "$name" "$customers" "$days" "$events" "$secs" "$(echo "$events / $secs * 60 / 1000000" | bc -l)" $((kb / 1024))
  printf '%s disk: log/ %s MB, index/ %s MB\n' "$name" \
    $(( $(du -sb "$dir/log" | cut -f1) / 1048576 )) $(( $(du -sb "$dir/index" | cut -f1) / 1048576 ))
  for start in first second; do
    serve_ready "$bin" "$dir" "$port" "$work/serve-$start.log"
    printf '%s serve (%s start): ready %.1f s, RSS %d MB, peak %d MB\n' \
      "$name" "$start" "$READY" "$RSS_MB" "$HWM_MB"
    grep -aE 'event store opened|read models loaded|directory caught up|command side and read models opened' \
      "$work/serve-$start.log" | sed 's/\x1b\[[0-9;]*m//g' | sed "s/^/    /" || true
  done
  printf '%s disk after serving: index/ %s MB\n' "$name" $(( $(du -sb "$dir/index" | cut -f1) / 1048576 ))
done
