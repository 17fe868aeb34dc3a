#!/usr/bin/env bash
# Exposition parsing throughput: swiftdeploy's parser beside prometheus_client's, on the same bytes, same run.
# Usage: benchmarks/metrics/run.sh [series=100000] [runs=5]
# Needs: swiftc, python3 with prometheus_client (pip install prometheus_client).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
series="${1:-100000}"
runs="${2:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 "$here/generate_payload.py" "$series" "$work/payload.prom"
ls -l "$work/payload.prom" | awk '{printf "payload: %.1f MB\n", $5/1e6}'

swiftc -O -parse-as-library -module-name ParseBench \
  "$here/ParseBench.swift" \
  "$root/Sources/SwiftDeployKit/Metrics/ExpositionParser.swift" \
  "$root/Sources/SwiftDeployKit/Metrics/MetricModel.swift" \
  "$root/Sources/SwiftDeployKit/Support/ExitStatus.swift" \
  -o "$work/parse-bench"

echo "best of $runs runs each:"
"$work/parse-bench" "$work/payload.prom" "$runs"
python3 "$here/parse_python.py" "$work/payload.prom" "$runs"
