#!/usr/bin/env bash
# Benchmark: what a rollout costs beside its step intervals, and what a weight change does to requests.
#
# Deploys a throwaway project on the local Docker engine (the repository's images), sends continuous traffic
# through nginx from several clients, and runs `swiftdeploy rollout start` with a candidate that is the same
# api image under another tag. In the same run it reports:
#   - the rollout's wall time against the sum of its step intervals: the overhead (start, reloads, analyses,
#     finish), each part from the history's records;
#   - the latency of requests in flight during a weight change (an nginx reload) against requests that were not.
#
# Usage: benchmarks/rollout/run.sh [STEPS] [INTERVAL] [CLIENTS]   (default 20,50,100 10s 4)
# SWIFTDEPLOY_BIN picks the binary (default: the debug build's, built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS="${1:-20,50,100}"
INTERVAL="${2:-10s}"
CLIENTS="${3:-4}"
BIN="${SWIFTDEPLOY_BIN:-$(swift build --show-bin-path)/swiftdeploy}"
[ -x "$BIN" ] || swift build --product swiftdeploy
docker image inspect swiftdeploy/api:0.1.0 >/dev/null || { echo "swiftdeploy/api:0.1.0 is missing: run scripts/build-images" >&2; exit 2; }
exec python3 benchmarks/rollout/rollout_bench.py "$BIN" "$STEPS" "$INTERVAL" "$CLIENTS"
