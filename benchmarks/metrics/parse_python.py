#!/usr/bin/env python3
"""Parses a payload with prometheus_client's text parser; prints best-of-N throughput as JSON."""
import json, os, sys, time
from prometheus_client.parser import text_string_to_metric_families

def main():
    path, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    data = open(path, "rb").read()
    best = None
    samples = 0
    for _ in range(runs):
        start = time.perf_counter()
        text = data.decode("utf-8")
        samples = sum(len(f.samples) for f in text_string_to_metric_families(text))
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    mb = len(data) / 1e6
    from importlib.metadata import version
    print(json.dumps({"parser": "prometheus_client " + version("prometheus_client") + " (Python " + sys.version.split()[0] + ")",
                      "bytes": len(data), "series": samples, "best_seconds": round(best, 4),
                      "mb_per_s": round(mb / best, 1), "series_per_s": round(samples / best)}))

if __name__ == "__main__":
    main()
