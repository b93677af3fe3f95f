#!/usr/bin/env python3
"""Times the `todos` query (a staff member's reminders) against a running `crm serve`.

    python3 benches/todos_latency.py BINARY DATA_DIR [--requests N]

Starts `BINARY --data-dir DATA_DIR serve --dev-tokens` on a free port, waits for /readyz, then
for the printed customer-manager and branch-manager tokens sends `{ todos { kind due text } }`
N times one after another (after 5 unmeasured ones) and prints the median, p90 and max latency
in milliseconds and the number of to-dos returned. Used for issue #12's "todos scans every
customer" figures in docs/PERFORMANCE.md."""
import argparse, json, statistics, subprocess, sys, time, urllib.request

ROLES = ["customer-manager", "branch-manager"]
QUERY = "{ todos { kind due text } }"


def post(url, token, query):
    req = urllib.request.Request(
        url + "/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + token},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("data_dir")
    ap.add_argument("--requests", type=int, default=50)
    a = ap.parse_args()
    t0 = time.time()
    p = subprocess.Popen(
        [a.binary, "--data-dir", a.data_dir, "serve", "--dev-tokens", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    url, tokens, role = None, {}, None
    try:
        for line in p.stdout:
            if "serving on" in line:
                url = line.split()[-1]
            elif line.startswith("More:"):
                break
            elif role:
                tokens[role] = line.strip()
                role = None
            else:
                for r in ROLES:
                    if line.strip().startswith(r + " "):
                        role = r
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=5) as r:
                    if r.status == 200:
                        break
            except Exception:
                time.sleep(0.2)
        print(f"ready after {time.time() - t0:.1f} s")
        for r in ROLES:
            for _ in range(5):
                body = post(url, tokens[r], QUERY)
            if "errors" in body:
                sys.exit(f"{r}: {body}")
            n = len(body["data"]["todos"])
            times = []
            for _ in range(a.requests):
                s = time.perf_counter()
                post(url, tokens[r], QUERY)
                times.append((time.perf_counter() - s) * 1000)
            times.sort()
            print(f"{r}: {n} to-dos; median {statistics.median(times):.2f} ms, "
                  f"p90 {times[int(len(times) * 0.9) - 1]:.2f} ms, max {times[-1]:.2f} ms "
                  f"over {a.requests} requests")
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    main()
