#!/usr/bin/env python3
"""Crash soak of the real server (issue #14): N rounds of `crm serve` under concurrent
mutations, killed with SIGKILL at a random moment, restarted; after each restart every
mutation ever sent (acknowledged or in flight at the kill) is sent again with its commandId,
and the store must hold each exactly once:

- an acknowledged mutation answers `alreadyHandled: true` when resent (it survived the kill);
- every resend succeeds (an unacknowledged one may or may not have landed: the resend settles it);
- the number of tickets equals the number of distinct commandIds ever sent (none twice);
- `crm verify` passes after every round.

Not part of CI (`just soak ROUNDS`). Standard library only.

Usage: python3 benches/soak.py CRM_BINARY [ROUNDS] [--dir DIR] [--clients N]
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

OPEN = """mutation($c: ID!, $s: String!) { openTicket(commandId: $c, kind: INQUIRY,
  priority: NORMAL, channel: PHONE, subject: $s, description: "soak") {
  alreadyHandled position } }"""
COUNT = "{ tickets(first: 1) { totalCount } }"


def post(url, token, query, variables=None, timeout=10):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(
        url,
        data=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def crm(binary, data_dir, *args):
    return subprocess.run(
        [binary, "--data-dir", data_dir, *args], capture_output=True, text=True
    )


def start(binary, data_dir, port):
    log = open(os.path.join(os.path.dirname(data_dir), f"serve-{port}.log"), "ab")
    proc = subprocess.Popen(
        [binary, "--data-dir", data_dir, "serve", "--listen", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=log,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return proc
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    proc.kill()
    sys.exit("the server was not ready within 60 s")


def load(url, token, sent, acked, lock, stop, pace):
    """Sends new mutations until `stop`, one every `pace` seconds at most; records each
    commandId before sending (sent) and after its answer (acked)."""
    while not stop.is_set():
        time.sleep(pace)
        c = str(uuid.uuid4())
        with lock:
            sent.append(c)
        try:
            r = post(url, token, OPEN, {"c": c, "s": f"soak {c}"}, timeout=5)
        except Exception:
            # Killed mid-request: in flight, settled by the resend. Back off as a client
            # would, rather than filling `sent` with requests no server ever saw.
            time.sleep(0.05)
            continue
        if r.get("data") and r["data"].get("openTicket"):
            with lock:
                acked.add(c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("rounds", type=int, nargs="?", default=20)
    ap.add_argument("--dir")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="seconds each client waits between mutations (bounds the log's growth, and so "
        "the time of each round's crm verify, over long runs)",
    )
    ap.add_argument(
        "--load-max", type=float, default=2.0, help="longest load before the kill, seconds"
    )
    a = ap.parse_args()
    random.seed(a.seed)
    binary = os.path.realpath(a.binary)
    root = a.dir or tempfile.mkdtemp(prefix="crm-soak-")
    os.makedirs(root, exist_ok=True)
    data_dir = os.path.join(root, "data")
    port = 19000 + random.randrange(500)
    url = f"http://127.0.0.1:{port}/graphql"
    sent, acked, lock = [], set(), threading.Lock()
    settled = []  # confirmed present after a restart
    started = time.time()

    def settle(rnd, proc, token):
        """Resends what is not yet settled and a sample of what is: each resend succeeds, an
        acknowledged one answers alreadyHandled; then the ticket count equals the distinct
        commandIds ever sent."""
        done = set(settled)
        todo = [c for c in dict.fromkeys(sent) if c not in done]
        todo += random.sample(settled, min(50, len(settled)))
        for c in todo:
            r = post(url, token, OPEN, {"c": c, "s": f"soak {c}"}, timeout=30)
            res = (r.get("data") or {}).get("openTicket")
            if res is None:
                proc.kill()
                sys.exit(f"round {rnd}: resending {c} failed: {r}")
            if c in acked and not res["alreadyHandled"]:
                proc.kill()
                sys.exit(f"round {rnd}: acknowledged {c} was lost (resend wrote it anew)")
            if c not in done:
                acked.add(c)
                settled.append(c)
                done.add(c)
        distinct = len(set(sent))
        count = None
        for _ in range(100):  # the read models follow the log within milliseconds
            count = post(url, token, COUNT)["data"]["tickets"]["totalCount"]
            if count == distinct:
                return
            time.sleep(0.1)
        proc.kill()
        sys.exit(f"round {rnd}: {count} tickets for {distinct} distinct commandIds")

    # One staff member throughout: only the first sender of a commandId gets its result back.
    staff = str(uuid.UUID(int=random.getrandbits(128)))

    def hq_token():
        return crm(binary, data_dir, "token", "--role", "hq", "--staff", staff).stdout.strip()

    for rnd in range(1, a.rounds + 1):
        t0 = time.time()
        proc = start(binary, data_dir, port)
        token = hq_token()
        t1 = time.time()
        settle(rnd, proc, token)
        t2 = time.time()
        # Load, then kill at a random moment.
        stop = threading.Event()
        workers = [
            threading.Thread(target=load, args=(url, token, sent, acked, lock, stop, a.pace))
            for _ in range(a.clients)
        ]
        for w in workers:
            w.start()
        time.sleep(random.uniform(0.2, a.load_max))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for w in workers:
            w.join()
        t3 = time.time()
        v = crm(binary, data_dir, "verify")
        if v.returncode != 0:
            sys.exit(f"round {rnd}: crm verify failed:\n{v.stdout}\n{v.stderr}")
        t4 = time.time()
        print(
            f"round {rnd}: {len(acked)} acknowledged, {len(set(sent))} sent, verify ok "
            f"(start {t1 - t0:.1f} s, resend {t2 - t1:.1f} s, load {t3 - t2:.1f} s, "
            f"verify {t4 - t3:.1f} s)",
            flush=True,
        )
    # The last round's in-flight mutations are settled by one more start.
    proc = start(binary, data_dir, port)
    token = hq_token()
    settle("final", proc, token)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    print(
        f"{a.rounds} rounds in {time.time() - started:.0f} s: {len(acked)} acknowledged "
        f"mutations, none lost, none twice; crm verify passed every round"
    )


if __name__ == "__main__":
    main()
