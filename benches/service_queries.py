# The timing half of benches/service_queries.sh: PORT TOKEN REQUESTS [BRANCH_ID].
import http.client, json, sys, time, statistics
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
queries = {
 "serviceQuality(company)": "{ serviceQuality { slaBreaches openNow byKind { kind opened resolved } } }",
}
branch = sys.argv[4] if len(sys.argv) > 4 else None
if branch:
    queries["serviceQuality(branch)"] = '{ serviceQuality(branchId: "%s") { slaBreaches openNow } }' % branch
    queries["branchServiceCompliance"] = '{ branchServiceCompliance(branchId: "%s") { tickets { due met breached pending } } }' % branch
c = http.client.HTTPConnection("127.0.0.1", port)
for name, q in queries.items():
    body = json.dumps({"query": q})
    lat = []
    first = None
    for i in range(n):
        t = time.perf_counter()
        c.request("POST", "/graphql", body, {"content-type": "application/json", "authorization": "Bearer " + token})
        r = c.getresponse(); data = r.read()
        lat.append((time.perf_counter() - t) * 1000)
        if first is None: first = data[:300]
    lat.sort()
    print(f"{name}: n={n} p50={statistics.median(lat):.2f} ms p99={lat[int(n*0.99)-1]:.2f} ms  {first.decode()[:200]}")
