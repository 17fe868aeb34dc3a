#!/usr/bin/env bash
# Throughput and p99 of swiftdeploy-api at a fixed concurrency, on loopback only.
#
#   benchmarks/api/run.sh            # wrk -t2 -c32 -d10s against GET / on a release binary
#
# Environment:
#   BENCH_THREADS (2) BENCH_CONNECTIONS (32) BENCH_DURATION (10s) BENCH_PATH (/)
#   SWIFTDEPLOY_API_BINARY   benchmark this binary instead of building the release one
# Prints requests/s and the p99 latency from wrk's latency distribution, and keeps the
# raw wrk output under benchmarks/results/ (not committed). Bounded: one 2 s warm-up and
# one measured run; the server is stopped (SIGTERM, by pid) on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
DURATION="${BENCH_DURATION:-10s}"
BENCH_PATH="${BENCH_PATH:-/}"
RESULTS="$ROOT/benchmarks/results"

die() { echo "benchmarks/api: error: $*" >&2; exit 1; }

if ! command -v wrk >/dev/null 2>&1; then
  echo "benchmarks/api: installing wrk (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null 2>&1 \
    || { apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; } \
    || die "wrk is not installed and apt-get install wrk failed; install wrk and re-run"
fi

if [[ -n "${SWIFTDEPLOY_API_BINARY:-}" ]]; then
  BINARY="$SWIFTDEPLOY_API_BINARY"
else
  echo "benchmarks/api: swift build -c release --static-swift-stdlib --product swiftdeploy-api" >&2
  (cd "$ROOT" && swift build -c release --static-swift-stdlib --product swiftdeploy-api >&2) \
    || die "release build of swiftdeploy-api failed"
  BINARY="$(cd "$ROOT" && swift build -c release --static-swift-stdlib --show-bin-path)/swiftdeploy-api"
fi
[[ -x "$BINARY" ]] || die "no executable at $BINARY"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
LOG="$(mktemp "${TMPDIR:-/tmp}/swiftdeploy-api-bench.XXXXXX.log")"
APP_HOST=127.0.0.1 APP_PORT="$PORT" MODE=stable "$BINARY" >/dev/null 2>"$LOG" &
SERVER=$!
cleanup() {
  if kill -0 "$SERVER" 2>/dev/null; then
    kill -TERM "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  rm -f "$LOG"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  "$BINARY" healthcheck --url "http://127.0.0.1:$PORT/healthz" --timeout 1 >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || die "server exited before it was healthy: $(cat "$LOG")"
  sleep 0.1
done
"$BINARY" healthcheck --url "http://127.0.0.1:$PORT/healthz" >/dev/null || die "server never became healthy"

URL="http://127.0.0.1:$PORT$BENCH_PATH"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$URL" >/dev/null   # warm-up
mkdir -p "$RESULTS"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$RESULTS/api-$STAMP.txt"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$URL" | tee "$OUT"

RPS="$(awk '/^Requests\/sec:/ {print $2}' "$OUT")"
P50="$(awk '$1 == "50%" {print $2}' "$OUT")"
P99="$(awk '$1 == "99%" {print $2}' "$OUT")"
ERRORS="$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$OUT")"
echo
echo "swiftdeploy-api GET $BENCH_PATH, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, loopback, $(nproc) cores"
echo "  requests/s: $RPS"
echo "  p50:        $P50"
echo "  p99:        $P99"
echo "  non-2xx:    ${ERRORS:-0}"
echo "  load avg before the run: $LOAD_BEFORE (wrk and the server share these cores)"
echo "  raw output: benchmarks/results/api-$STAMP.txt"
