#!/usr/bin/env python3
"""Driver for benchmarks/rollout/run.sh (see there). Prints figures; asserts nothing."""
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

binary, steps, interval, clients = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
root = os.getcwd()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, check=True):
    result = subprocess.run([binary] + args + ["--manifest", manifest, "--no-color"], capture_output=True, text=True)
    if check and result.returncode not in (0,):
        print(result.stdout, result.stderr, file=sys.stderr)
        raise SystemExit(f"swiftdeploy {' '.join(args)} exited {result.returncode}")
    return result


def seconds(text):
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text.rstrip("s"))


work = tempfile.mkdtemp(prefix="rollout-bench-")
manifest = os.path.join(work, "manifest.yaml")
project = f"sdbench{os.getpid()}"
public, admin = free_port(), free_port()
open(manifest, "w").write(f"""version: 1
project: {project}
services:
  image: swiftdeploy/api:0.1.0
  port: 3000
  version: "0.1.0"
  healthcheck: {{path: /healthz, interval: 2s, timeout: 2s, retries: 3}}
nginx: {{image: "swiftdeploy/nginx:bookworm", port: {public}, admin_port: {admin}, proxy_timeout: 10s}}
network: {{name: bench-net, driver_type: bridge}}
metrics: {{window: 3s, min_requests: 10}}
""")
shutil.copytree(os.path.join(root, "policies"), os.path.join(work, "policies"))
thresholds = json.load(open(os.path.join(root, "thresholds.json")))
# A loaded shared machine makes every request slower: only the latency bounds are relaxed.
thresholds["canary"].update({"max_p99_ms": 60000, "warn_p95_ms": 30000})
json.dump(thresholds, open(os.path.join(work, "thresholds.json"), "w"))
subprocess.run(["docker", "tag", "swiftdeploy/api:0.1.0", "swiftdeploy/api:0.2.0-bench"], check=True)

samples = []  # (start wall, end wall, seconds, status)
lock = threading.Lock()
stop = threading.Event()


def client():
    while not stop.is_set():
        start = time.time()
        status = 0
        try:
            conn = http.client.HTTPConnection("127.0.0.1", public, timeout=10)
            conn.request("GET", "/")
            status = conn.getresponse().status
            conn.close()
        except Exception:
            status = 0
        end = time.time()
        with lock:
            samples.append((start, end, end - start, status))
        time.sleep(0.02)


try:
    run(["deploy", "--timeout", "180s", "--override", "benchmark"])
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(3)
    began = time.time()
    result = run(["rollout", "start", "--image", "swiftdeploy/api:0.2.0-bench", "--version", "0.2.0",
                  "--steps", steps, "--interval", interval, "--override", "benchmark"], check=False)
    ended = time.time()
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(15)
    print(result.stderr.strip())
    print(f"rollout start exited {result.returncode}")

    records = []
    step_intents = []  # times of the `rollout step` intents: written just before a weight is set
    for line in open(os.path.join(work, "history.jsonl")):
        entry = json.loads(line)
        t = datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
        if entry.get("event") == "rollout":
            records.append((t, entry["details"].get("phase"), entry["details"]))
        elif entry.get("event") == "intent" and entry["details"].get("action") == "rollout step":
            step_intents.append(t)
    start_t = next(t for t, p, _ in records if p == "start")
    step_ts = [t for t, p, _ in records if p == "step"]
    decision_ts = [t for t, p, _ in records if p == "decision"]
    end_t = next((t for t, p, _ in records if p in ("promoted", "aborted")), ended)
    n = len(step_ts)
    total = ended - began
    intervals = n * seconds(interval)
    print(f"\n== time outside the step intervals ({n} steps of {interval})")
    print(f"rollout wall time         {total:7.2f} s")
    print(f"sum of step intervals     {intervals:7.2f} s")
    print(f"overhead                  {total - intervals:7.2f} s  ({(total - intervals) / total:.0%} of the rollout)")
    print(f"  start (CLI start → first step set)    {step_ts[0] - began:6.2f} s  (policy, candidate up and healthy, first reload)")
    analyses = [d - s - seconds(interval) for s, d in zip(step_ts, decision_ts)]
    print(f"  analysis beyond the interval, per step {statistics.mean(analyses):6.3f} s  (judging in Rego, recording)")
    reloads = [s - d for d, s in zip(decision_ts, step_ts[1:])]
    if reloads:
        print(f"  weight change (decision → next step)   {statistics.mean(reloads):6.3f} s  (render, nginx -t, reload)")
    print(f"  finish (last decision → promoted)      {end_t - decision_ts[-1]:6.2f} s  (manifest, recreate stable, reload, drain, remove)")

    # A weight change is bracketed by its step's intent (written just before the render) and its step record
    # (written once `nginx -s reload` returned); 0.5 s more covers the old workers finishing. A request spans a
    # weight change when it was in flight at any moment of such a window. The finish (recreate stable, two
    # reloads, drain, remove) is reported apart; "other" is every remaining request during the rollout.
    windows = [(a, b + 0.5) for a, b in zip(step_intents, step_ts)]
    finish = (decision_ts[-1], end_t)
    spanning = [s for s in samples if any(s[0] < b and s[1] > a for a, b in windows)]
    during_finish = [s for s in samples if s not in spanning and s[0] < finish[1] and s[1] > finish[0]]
    other = [s for s in samples if s not in spanning and s not in during_finish and began <= s[0] <= ended]

    def describe(name, group):
        if not group:
            print(f"{name:34s} none")
            return
        ms = sorted(x[2] * 1000 for x in group)
        q = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]
        failed = sum(1 for x in group if not 200 <= x[3] < 300)
        print(f"{name:34s} n={len(ms):5d}  p50 {q(0.5):7.1f} ms  p95 {q(0.95):7.1f} ms  p99 {q(0.99):7.1f} ms  max {ms[-1]:7.1f} ms  failed {failed}")

    print(f"\n== request latency through nginx ({clients} clients)")
    print(f"weight-change windows: {len(windows)}, mean {statistics.mean(b - a for a, b in windows):.2f} s each")
    describe("in flight during a weight change", spanning)
    describe("not during a weight change", other)
    describe("during the finish", during_finish)
    if spanning and other:
        p = lambda g, q: sorted(x[2] for x in g)[min(len(g) - 1, int(q * len(g)))]
        print(f"ratio spanning/other: p50 {p(spanning, 0.5) / p(other, 0.5):.2f}  p95 {p(spanning, 0.95) / p(other, 0.95):.2f}  p99 {p(spanning, 0.99) / p(other, 0.99):.2f}")
finally:
    stop.set()
    subprocess.run([binary, "teardown", "--clean", "--manifest", manifest], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
