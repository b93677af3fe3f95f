#!/bin/bash
# Times `crm serve` from start to /readyz on an existing data directory, and its resident
# memory then (#12: ready <= 15 s on reopen). usage: benches/reopen.sh BINARY DATA_DIR
set -euo pipefail
bin=$1; dir=$2; port=18954
conf=$(mktemp); printf 'directory_check = false\n' > "$conf"
start=$(date +%s.%N)
"$bin" --data-dir "$dir" serve --listen 127.0.0.1:$port --config "$conf" > /tmp/ready-serve.log 2>&1 &
pid=$!
until curl -fs http://127.0.0.1:$port/readyz >/dev/null 2>&1; do kill -0 $pid 2>/dev/null || { echo died; tail -5 /tmp/ready-serve.log; exit 1; }; sleep 0.05; done
end=$(date +%s.%N)
rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
echo "$(basename $bin) ready $(echo "$end - $start" | bc) s, RSS $((rss/1024)) MB"
kill -INT $pid; wait $pid 2>/dev/null; rm -f "$conf"
