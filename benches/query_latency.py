# Times GraphQL queries one request at a time: PORT TOKEN REQUESTS NAME=QUERY [NAME=QUERY ...].
# Prints p50 and p99 per query and the start of its first answer (used by the benches/*.sh).
import http.client, json, statistics, sys, time

port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port)
for arg in sys.argv[4:]:
    name, query = arg.split("=", 1)
    body = json.dumps({"query": query})
    headers = {"content-type": "application/json", "authorization": "Bearer " + token}
    lat, first = [], None
    for _ in range(n):
        t = time.perf_counter()
        c.request("POST", "/graphql", body, headers)
        data = c.getresponse().read()
        lat.append((time.perf_counter() - t) * 1000)
        first = first or data[:160].decode(errors="replace")
    lat.sort()
    p99 = lat[max(0, int(n * 0.99) - 1)]
    print(f"{name}: n={n} p50={statistics.median(lat):.2f} ms p99={p99:.2f} ms  {first}")
