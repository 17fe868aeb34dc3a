#!/usr/bin/env python3
"""Writes a deterministic Prometheus text exposition with exactly N series (default 100,000).

The shape is the demo service's, scaled up: http_requests_total{method,path,status_code} counters and
http_request_duration_seconds{method,path} histograms (12 buckets + _sum + _count per method/path), with
HELP/TYPE lines and escaped label values, so both parsers do the work a real scrape asks of them.
"""
import sys

def main():
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    out = sys.argv[2] if len(sys.argv) > 2 else "payload.prom"
    bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "+Inf"]
    methods = ["GET", "POST", "PUT", "DELETE"]
    statuses = ["200", "201", "400", "404", "500", "503"]
    lines = []
    series = 0
    lines.append("# HELP http_requests_total Requests answered, by method, path and status code.")
    lines.append("# TYPE http_requests_total counter")
    counters = []
    hist = []
    i = 0
    # Each route gives 4 methods x 6 statuses = 24 counter series and 4 x 14 = 56 histogram series.
    while series < target:
        path = f"/api/v1/items/{i}/\\\"detail\\\""  # escaped quotes inside the label value
        for m in methods:
            for s in statuses:
                if series >= target:
                    break
                counters.append(f'http_requests_total{{method="{m}",path="{path}",status_code="{s}"}} {(i * 31 + len(m) * 7 + int(s)) % 100000}')
                series += 1
        for m in methods:
            cumulative = 0
            for b in bounds:
                if series >= target:
                    break
                cumulative += (i + len(b)) % 13
                hist.append(f'http_request_duration_seconds_bucket{{method="{m}",path="{path}",le="{b}"}} {cumulative}')
                series += 1
            if series < target:
                hist.append(f'http_request_duration_seconds_sum{{method="{m}",path="{path}"}} {cumulative * 0.0123:.6f}')
                series += 1
            if series < target:
                hist.append(f'http_request_duration_seconds_count{{method="{m}",path="{path}"}} {cumulative}')
                series += 1
        i += 1
    lines.extend(counters)
    lines.append("# HELP http_request_duration_seconds Request latency in seconds.")
    lines.append("# TYPE http_request_duration_seconds histogram")
    lines.extend(hist)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out}: {series} series")

if __name__ == "__main__":
    main()
