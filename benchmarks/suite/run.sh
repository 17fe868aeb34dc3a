#!/usr/bin/env bash
# Benchmark: the wall time of the whole test suite, partitioned (scripts/run-tests: several processes in phases, see
# scripts/test-groups) against one serial process (SWIFTDEPLOY_TEST_SERIAL=1), in the same run on the same machine
# state (issue 15, finding 2: the partitioned run takes at most half the serial one). Prints both, the load average
# at each start and end, the partitioned run's per-process and per-phase times, and the ratio beside the target.
#
# Usage: benchmarks/suite/run.sh [serial-first|partitioned-first]   (default serial-first)
# Needs the suite built (`swift build --build-tests`) and the images of scripts/bootstrap; runs the Docker tests
# (SWIFTDEPLOY_DOCKER_TESTS=1) and takes the engine for about three quarters of an hour: on a shared engine, hold its
# lock exclusively around this script. A failing test is reported but does not stop the comparison.
# Writes the two logs into benchmarks/results/suite/ (git-ignored).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="benchmarks/results/suite"
mkdir -p "$OUT"
export SWIFTDEPLOY_DOCKER_TESTS=1
if [ -z "${SWIFTDEPLOY_SHARED_DIR:-}" ] && [ -d ../shared ]; then SWIFTDEPLOY_SHARED_DIR="$(cd ../shared && pwd)"; fi
export SWIFTDEPLOY_SHARED_DIR="${SWIFTDEPLOY_SHARED_DIR:-}"

load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime | sed 's/.*average[s]*: //'; }

# run NAME ENV…: one whole-suite run; sets the global `seconds` and prints its status.
run() {
  local name=$1; shift
  echo "== $name: start $(date -u +%H:%M:%S), load $(load)"
  local t0=$(date +%s) status=0
  env "$@" scripts/run-tests >"$OUT/$name.log" 2>&1 || status=$?
  seconds=$(( $(date +%s) - t0 ))
  echo "== $name: $seconds s, exit $status, load at the end $(load)"
  if [ "$status" -ne 0 ]; then grep -a '✘ Test .* failed\|FAILED' "$OUT/$name.log" | head -20; fi
}

order=${1:-serial-first}
case "$order" in
  serial-first) run serial SWIFTDEPLOY_TEST_SERIAL=1; serial=$seconds; run partitioned SWIFTDEPLOY_TEST_SERIAL=0; partitioned=$seconds ;;
  partitioned-first) run partitioned SWIFTDEPLOY_TEST_SERIAL=0; partitioned=$seconds; run serial SWIFTDEPLOY_TEST_SERIAL=1; serial=$seconds ;;
  *) echo "usage: benchmarks/suite/run.sh [serial-first|partitioned-first]" >&2; exit 2 ;;
esac
grep -a '^run-tests: time:' "$OUT/partitioned.log" | sed 's/^run-tests: time: /  partitioned: /'
awk -v s="$serial" -v p="$partitioned" 'BEGIN {
  printf "serial %d s, partitioned %d s: partitioned/serial = %.2f (target: at most 0.50)\n", s, p, (s > 0 ? p / s : 0)
}'
