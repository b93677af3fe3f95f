#!/bin/bash
# Times the head office's and a region's dashboard, with and without a 12-month series, on a
# data directory, one request at a time (#16: an HQ dashboard with 12 months of series, p99 < 20
# ms). usage: benches/org_dashboard.sh BINARY DATA_DIR REQUESTS
# (tokens are not checked against the staff directory here: directory_check = false).
set -euo pipefail
bin=$1; dir=$2; n=$3; port=${PORT:-18953}
conf=$(mktemp); printf 'directory_check = false\n' > "$conf"
log=$(mktemp)
"$bin" --data-dir "$dir" serve --listen 127.0.0.1:$port --config "$conf" > "$log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$conf" "$log"' EXIT
until curl -fs http://127.0.0.1:$port/readyz >/dev/null 2>&1; do kill -0 $pid 2>/dev/null || { echo died; tail -5 "$log"; exit 1; }; sleep 0.2; done
tok=$("$bin" --data-dir "$dir" token --role hq)
region=$(curl -s -H "authorization: Bearer $tok" -H 'content-type: application/json' -d '{"query":"{ branches { regionId } }"}' http://127.0.0.1:$port/graphql | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["branches"][0]["regionId"])')
figures='figures { customers assets netInflow commission newCustomers churned marketShareBp } customersByTier { key count } ranking { branchId rank rankChange }'
python3 "$(dirname "$0")/query_latency.py" $port "$tok" "$n" \
  "branchRanking={ branchRanking { branchId rank rankChange satisfaction } }" \
  "orgDashboard(company)={ orgDashboard(scope: { company: true }) { $figures } }" \
  "orgDashboard(company)+series(12)={ orgDashboard(scope: { company: true }) { $figures series(months: 12) { period customers assets netInflow commission newCustomers churned } } }" \
  "orgDashboard(region)+series(12)={ orgDashboard(scope: { regionId: \"$region\" }) { $figures series(months: 12) { period customers assets } } }"
