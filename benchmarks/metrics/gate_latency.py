#!/usr/bin/env python3
"""End-to-end `swiftdeploy gate canary` latency, excluding the metrics window.

Starts, on 127.0.0.1 only: a metrics endpoint whose counters move on every scrape, and (for engine opa)
`opa-ref serve` over the default policies. Runs the built binary N times with a short --window and reports
the wall time of the process minus the window, and the gate's own timings from --format json.

Usage: benchmarks/metrics/gate_latency.py [--binary PATH] [--runs N] [--window-ms W] [--engine opa|embedded]
The OPA reference server is found via $SWIFTDEPLOY_SHARED_DIR or ../shared beside the repository.
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BOUNDS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "+Inf"]


class Moving:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 1000
        self.errors = 0

    def scrape(self):
        with self.lock:
            ok, errors = self.ok, self.errors
            self.ok += 99
            self.errors += 1
        total = ok + errors
        lines = ["# TYPE http_requests_total counter",
                 f'http_requests_total{{method="GET",path="/",status_code="200"}} {ok}',
                 f'http_requests_total{{method="GET",path="/",status_code="500"}} {errors}',
                 "# TYPE http_request_duration_seconds histogram"]
        for b in BOUNDS:
            count = total if b not in ("0.005", "0.01") else 0
            lines.append(f'http_request_duration_seconds_bucket{{method="GET",path="/",le="{b}"}} {count}')
        lines.append(f'http_request_duration_seconds_sum{{method="GET",path="/"}} {total * 0.02}')
        lines.append(f'http_request_duration_seconds_count{{method="GET",path="/"}} {total}')
        return ("\n".join(lines) + "\n").encode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "swiftdeploy"))
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--window-ms", type=int, default=100)
    parser.add_argument("--engine", default="opa", choices=["opa", "embedded"])
    args = parser.parse_args()

    moving = Moving()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = moving.scrape()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    metrics_url = f"http://127.0.0.1:{server.server_address[1]}/metrics"

    work = tempfile.mkdtemp(prefix="swiftdeploy-bench-")
    opa = None
    try:
        shutil.copytree(os.path.join(ROOT, "policies"), os.path.join(work, "policies"))
        shutil.copy(os.path.join(ROOT, "thresholds.json"), os.path.join(work, "thresholds.json"))
        policy = "  engine: embedded\n"
        if args.engine == "opa":
            shared = os.environ.get("SWIFTDEPLOY_SHARED_DIR") or os.path.join(os.path.dirname(ROOT), "shared")
            tool = os.path.join(shared, "tools", "opa-ref", "opa-ref")
            port = free_port()
            opa = subprocess.Popen([tool, "serve", "--addr", f"127.0.0.1:{port}", "-d", os.path.join(work, "policies"),
                                    "-d", "thresholds:" + os.path.join(work, "thresholds.json")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                    break
                except Exception:
                    time.sleep(0.1)
            policy = f"  engine: opa\n  opa:\n    url: http://127.0.0.1:{port}\n"
        with open(os.path.join(work, "manifest.yaml"), "w") as f:
            f.write("version: 1\nproject: bench\nservices:\n  image: demo-app:1.0.0\n  port: 8080\n"
                    "nginx:\n  image: nginx:1.25\n  port: 8088\nnetwork:\n  name: bench-net\n  driver_type: bridge\n"
                    f"policy:\n{policy}metrics:\n  min_requests: 20\n")
        wall, internal, collect, evaluate, verdicts = [], [], [], [], set()
        window_s = args.window_ms / 1000
        for _ in range(args.runs):
            start = time.perf_counter()
            run = subprocess.run([args.binary, "gate", "canary", "--manifest", os.path.join(work, "manifest.yaml"),
                                  "--metrics-url", metrics_url, "--window", f"{args.window_ms}ms", "--format", "json"],
                                 capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            report = json.loads(run.stdout)
            decision = report["decisions"][0]
            verdicts.add(f'{decision["verdict"]} (exit {run.returncode})')
            window = decision["input"]["metrics"]["window_seconds"] or window_s
            wall.append((elapsed - window) * 1000)
            internal.append(report["timings_ms"]["total"] - window * 1000)
            collect.append(decision["timings_ms"].get("collect_metrics", 0) - window * 1000)
            evaluate.append(decision["timings_ms"].get("evaluate", 0))

        def show(name, values):
            values = sorted(values)
            p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
            print(f"  {name:<44} median {statistics.median(values):8.1f} ms   p90 {p90:8.1f} ms   min {values[0]:8.1f} ms")

        print(f"swiftdeploy gate canary, engine {args.engine}, {args.runs} runs, window {args.window_ms} ms excluded")
        print(f"  binary: {os.path.relpath(args.binary, ROOT)}; verdicts: {', '.join(sorted(verdicts))}")
        show("process wall time minus window", wall)
        show("gate total (in-process) minus window", internal)
        show("two scrapes + parse + window math", collect)
        show("policy evaluation", evaluate)
    finally:
        server.shutdown()
        if opa:
            opa.terminate()
            opa.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
