#!/usr/bin/env bash
# #18's benchmark, the PostgreSQL log of record side by side with the segment store, in one
# run (so in the same hour):
#   1. appends at 1, 16 and 128 writers: the segment store (`cargo bench --bench eventstore`),
#      PostgreSQL through crm-eventstore-pg (`--bench pg_appends`: the append lock, the chain
#      hash, idempotency), and plain PostgreSQL rows with a sequence (`benches/postgres.sh`:
#      no lock, no chain), whose difference is the price of gap-free positions;
#   2. a new node's copy of a log from the database (`--bench pg_appends`);
#   3. a node's first start on a demo log: from the data directory's log alone (`crm serve`)
#      and from PostgreSQL into an empty data directory (`crm serve --store`), to /readyz.
# PostgreSQL runs with its defaults (fsync and synchronous_commit on) on this machine's disk.
#
# Usage: bash benches/pg_nodes.sh [CRM-BINARY] [CUSTOMERS] [DAYS]
#   (a release binary; default target/release/crm, 10,000 customers, 20 days)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/crm}
customers=${2:-10000}
days=${3:-20}
seconds=${CRM_BENCH_SECONDS:-5}
source benches/serve_ready.sh
initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
[ -n "$initdb" ] || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; initdb=$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1); }
pgbin=$(dirname "$initdb")
work=$(mktemp -d /var/tmp/crm-pgnodes.XXXXXX)
owner=$(id -un); [ "$(id -u)" = 0 ] && owner=postgres
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chown "$owner" "$work"
trap 'as_owner "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
as_owner "$pgbin/initdb" -D "$work/pg" -A trust -U crm >/dev/null
port=55433
as_owner "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -o "-k $work -p $port -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB" -w start >/dev/null
url="postgres://crm@127.0.0.1:$port/postgres"

echo "## appends (${seconds} s per row)"
CRM_BENCH_SECONDS=$seconds CRM_BENCH_SCAN_EVENTS=1000 cargo bench -q -p crm-eventstore --bench eventstore 2>/dev/null | grep -E '^\| (workload|---|durable)'
CRM_BENCH_PG_URL=$url CRM_BENCH_SECONDS=$seconds cargo bench -q -p crm-eventstore-pg --bench pg_appends 2>/dev/null | grep -E '^\| PostgreSQL|copy'
bash benches/postgres.sh "$seconds" | grep -E '^\| PostgreSQL'

echo
echo "## a node's first start, ${customers} customers x ${days} days"
"$bin" --data-dir "$work/single" demo --customers "$customers" --days "$days" --until 2026-12-01 >/dev/null
events=$("$bin" --data-dir "$work/single" verify | head -n 1 | awk '{print $1}')
"$bin" --data-dir "$work/single" export "$work/log.jsonl" >/dev/null
db="postgres://crm@127.0.0.1:$port/crm_nodes"
as_owner "$pgbin/createdb" -h "$work" -p "$port" -U crm crm_nodes
t0=$(date +%s.%N)
"$bin" import-log --store "$db" "$work/log.jsonl" >/dev/null
import_s=$(echo "$(date +%s.%N) - $t0" | bc)
printf '| crm import-log --store (into PostgreSQL) | %s events | %.1f s |\n' "$events" "$import_s"
# The single node's own first start on its log alone (the read models' trees removed).
rm -rf "$work/single/index"
serve_ready "$bin" "$work/single" 18091 "$work/single.log"
printf '| first start, segment store, log only | %s events | %.1f s to ready | peak %s MB |\n' "$events" "$READY" "$HWM_MB"
mkdir -p "$work/node"
serve_ready "$bin" "$work/node" 18092 "$work/node.log" --store "$db"
printf '| first start, PostgreSQL, empty data directory (copy + fold) | %s events | %.1f s to ready | peak %s MB |\n' "$events" "$READY" "$HWM_MB"
