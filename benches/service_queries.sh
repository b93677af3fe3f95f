#!/bin/bash
# Times serviceQuality and a branch's service compliance on a data directory, one request at a
# time. usage: benches/service_queries.sh BINARY DATA_DIR REQUESTS
# (tokens are not checked against the staff directory here: directory_check = false).
set -euo pipefail
bin=$1; dir=$2; n=$3; port=${PORT:-18952}
conf=$(mktemp); printf 'directory_check = false\n' > "$conf"
log=$(mktemp)
"$bin" --data-dir "$dir" serve --listen 127.0.0.1:$port --config "$conf" > "$log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$conf" "$log"' EXIT
until curl -fs http://127.0.0.1:$port/readyz >/dev/null 2>&1; do kill -0 $pid 2>/dev/null || { echo died; tail -5 "$log"; exit 1; }; sleep 0.2; done
tok=$("$bin" --data-dir "$dir" token --role hq)
branch=$(curl -s -H "authorization: Bearer $tok" -H 'content-type: application/json' -d '{"query":"{ branches { id } }"}' http://127.0.0.1:$port/graphql | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["branches"][0]["id"])')
python3 "$(dirname "$0")/query_latency.py" $port "$tok" "$n" \
  "serviceQuality(company)={ serviceQuality { slaBreaches openNow byKind { kind opened resolved } } }" \
  "serviceQuality(branch)={ serviceQuality(branchId: \"$branch\") { slaBreaches openNow } }" \
  "branchServiceCompliance={ branchServiceCompliance(branchId: \"$branch\") { tickets { due met breached pending } } }"
