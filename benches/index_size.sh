#!/usr/bin/env bash
# index/ against log/ for two builds on the same demo data set: after `crm demo`, after
# `crm rebuild` (the read models folded), and after `crm compact` (build A only).
#
#   bash benches/index_size.sh A_BIN B_BIN WORK_DIR [CUSTOMERS] [DAYS]
#
# Sizes are `du -sb`; the times are one run each (use farm-bench for paired timings).
set -euo pipefail
a=$1; b=$2; work=$3; customers=${4:-10000}; days=${5:-250}
mkdir -p "$work"; cd "$work"
size() { echo "index $(du -sb "$1/index" | cut -f1) log $(du -sb "$1/log" | cut -f1)"; }
timed() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
for side in a b; do
  bin=${!side}
  rm -rf "demo-$side" "rebuilt-$side"
  t=$(timed "$bin" demo --data-dir "demo-$side" --customers "$customers" --days "$days" --until 2026-12-01)
  echo "$side demo ${t} s; $(size "demo-$side")"
  cp -r "demo-$side" "rebuilt-$side"
  t=$(timed "$bin" rebuild --data-dir "rebuilt-$side")
  echo "$side rebuild ${t} s; $(size "rebuilt-$side")"
done
for dir in demo-a rebuilt-a; do
  t=$(timed "$a" compact --data-dir "$dir")
  echo "a compact $dir ${t} s; $(size "$dir")"
  "$a" verify --data-dir "$dir" >/dev/null && echo "a verify $dir: ok"
done
