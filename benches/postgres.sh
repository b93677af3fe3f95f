#!/usr/bin/env bash
# Side-by-side baseline for the event-store benchmark: PostgreSQL 15 used as an event store
# (one row per event, unique (stream, revision), the head read and the insert in one
# transaction, synchronous_commit on), driven by pgbench with 1, 16 and 128 clients appending
# one ~200-byte event each, each client to its own stream — the same workload as
# `cargo bench --bench eventstore`. Prints a table in the same format.
#
# Usage: bash benches/postgres.sh [seconds]   (installs PostgreSQL from Debian if missing)
set -euo pipefail
seconds=${1:-5}
if ! command -v pgbench >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
work=$(mktemp -d /var/tmp/crm-pgbench.XXXXXX)
trap 'su postgres -c "$bin/pg_ctl -D $work/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
chown postgres "$work"
su postgres -c "$bin/initdb -D $work/data -A trust" >/dev/null
su postgres -c "$bin/pg_ctl -D $work/data -l $work/log -o '-k $work -p 55432 -c listen_addresses= -c max_connections=200 -c shared_buffers=256MB' -w start" >/dev/null
psql="psql -h $work -p 55432 -U postgres -q -v ON_ERROR_STOP=1"
$psql -c "create table events (
  position bigserial primary key, stream text not null, revision bigint not null,
  event_id uuid not null unique, event_type text not null, payload bytea not null,
  recorded_at timestamptz not null default now(), unique (stream, revision))"
cat > "$work/append.sql" <<'SQL'
BEGIN;
INSERT INTO events (stream, revision, event_id, event_type, payload)
SELECT 'customer-' || :client_id,
       coalesce((SELECT max(revision) FROM events WHERE stream = 'customer-' || :client_id), -1) + 1,
       gen_random_uuid(), 'InteractionRecorded', convert_to(repeat('x', 120), 'UTF8');
COMMIT;
SQL
echo "| workload | clients | appends/s | p50 | p99 |"
echo "|---|---|---|---|---|"
for clients in 1 16 128; do
  rm -f "$work"/pgbench_log.*
  (cd "$work" && pgbench -h "$work" -p 55432 -U postgres -n -M prepared -c "$clients" -j 2 \
     -T "$seconds" -f append.sql -l postgres >"$work/out" 2>&1)
  tps=$(grep -E '^tps' "$work/out" | head -n 1 | awk '{print $3}')
  # pgbench logs one line per transaction; the third field is its latency in microseconds.
  cat "$work"/pgbench_log.* | awk '{print $3}' | sort -n > "$work/lat"
  n=$(wc -l < "$work/lat")
  p50=$(awk -v n="$n" 'NR==int(n*0.5)+1 {printf "%.2f", $1/1000}' "$work/lat")
  p99=$(awk -v n="$n" 'NR==int(n*0.99)+1 {printf "%.2f", $1/1000}' "$work/lat")
  printf "| PostgreSQL append, 1 event | %s | %.0f | %s ms | %s ms |\n" "$clients" "$tps" "$p50" "$p99"
done
