#!/usr/bin/env bash
# Benchmark: process start-up of a release `swiftdeploy` (static Swift stdlib), the way a CI
# pipeline calls it many times. hyperfine measures, in the same run:
#   /bin/true                               the cost of starting any process here (baseline)
#   swiftdeploy --version                   target: under 10 ms
#   swiftdeploy gate infrastructure         a domain without a metrics window; target: under 30 ms
#   swiftdeploy policy eval (canary policy) the embedded Rego engine on the sample policies
# and prints each mean beside its target, and the ratio to the baseline (the machine may be shared
# and loaded: read the ratios and compare runs made on the same machine state).
#
# Usage: benchmarks/startup/run.sh [RUNS]   (default 50; needs hyperfine, jq)
# Environment: SWIFTDEPLOY_SCRATCH_PATH  build directory of the release build (default .build, as scripts/build-images and scripts/demo)
#              SWIFTDEPLOY_BIN           measure this release binary instead of building one
#              SWIFTDEPLOY_BEFORE_BIN    another release binary (e.g. built from an earlier commit): measured in the same
#                                        hyperfine run as before-version and before-gate-infrastructure, for before/after
# The gate measures the disk of Docker's data root: the first gate after an engine start asks `docker info` (tens
# to hundreds of ms), later ones read it from the cache (DockerDataRoot); the warm-up runs fill it.
# Writes into benchmarks/results/startup/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
RUNS="${1:-50}"
SCRATCH="${SWIFTDEPLOY_SCRATCH_PATH:-$ROOT/.build}"
OUT="benchmarks/results/startup"
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { echo "hyperfine is required (scripts/bootstrap installs it)" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is required (apt-get install jq)" >&2; exit 2; }

if [ -n "${SWIFTDEPLOY_BIN:-}" ]; then
  [ -x "$SWIFTDEPLOY_BIN" ] || { echo "SWIFTDEPLOY_BIN=$SWIFTDEPLOY_BIN is not an executable" >&2; exit 2; }
  BIN="$SWIFTDEPLOY_BIN"
else
  echo "== building swiftdeploy (release, static Swift stdlib) in $SCRATCH"
  swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product swiftdeploy >/dev/null
  BIN="$(swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --show-bin-path)/swiftdeploy"
fi
echo "binary: $BIN ($(du -h "$BIN" | cut -f1)); dynamic libraries: $(ldd "$BIN" 2>/dev/null | grep -c '=>' || true)"

# A project for the gate: the sample manifest, policies and thresholds in a scratch directory
# (the gate appends to its history there, never to the repository's).
PROJECT="$(mktemp -d)"
trap 'rm -rf "$PROJECT"' EXIT
cp manifest.yaml thresholds.json "$PROJECT/"
cp -R policies "$PROJECT/"
echo '{"metrics": {"requests": 100, "error_rate": 0.0, "p99_ms": 20}, "mode": "canary"}' >"$PROJECT/input.json"
"$BIN" gate infrastructure --manifest "$PROJECT/manifest.yaml" >/dev/null 2>&1 || true   # warm the page cache

BEFORE=()
if [ -n "${SWIFTDEPLOY_BEFORE_BIN:-}" ]; then
  [ -x "$SWIFTDEPLOY_BEFORE_BIN" ] || { echo "SWIFTDEPLOY_BEFORE_BIN=$SWIFTDEPLOY_BEFORE_BIN is not an executable" >&2; exit 2; }
  "$SWIFTDEPLOY_BEFORE_BIN" gate infrastructure --manifest "$PROJECT/manifest.yaml" >/dev/null 2>&1 || true
  BEFORE=(-n before-version "$SWIFTDEPLOY_BEFORE_BIN --version"
          -n before-gate-infrastructure "$SWIFTDEPLOY_BEFORE_BIN gate infrastructure --manifest $PROJECT/manifest.yaml --quiet")
fi

hyperfine --warmup 5 --runs "$RUNS" -N --ignore-failure --export-json "$OUT/startup.json" \
  -n baseline '/bin/true' \
  -n version "$BIN --version" \
  -n gate-infrastructure "$BIN gate infrastructure --manifest $PROJECT/manifest.yaml --quiet" \
  -n policy-eval "$BIN policy eval -d $PROJECT/policies -d $PROJECT/thresholds.json -i $PROJECT/input.json data.swiftdeploy" \
  "${BEFORE[@]}" >"$OUT/hyperfine.txt"

echo "== results (mean ± σ wall; CPU = user + system, less sensitive to a loaded machine; targets from issue 15)"
jq -r '.results as $r | ($r[] | select(.command == "baseline") | .mean) as $base
  | $r[] | (if (.command | test("version$")) then 0.010 elif (.command | test("gate-infrastructure$")) then 0.030 else null end) as $target
  | [.command, (.mean * 1000), (.stddev * 1000), ((.user + .system) * 1000), (.mean / $base), $target]
  | "\(.[0] | . + " " * (22 - length)) wall \(.[1] | . * 10 | round / 10) ms ± \(.[2] | . * 10 | round / 10)   CPU \(.[3] | . * 10 | round / 10) ms   \(.[4] | . * 10 | round / 10)x baseline"
    + (if .[5] == null then "" else "   target < \(.[5] * 1000) ms: wall \(if .[1] < .[5] * 1000 then "met" else "NOT met" end), CPU \(if .[3] < .[5] * 1000 then "met" else "NOT met" end)" end)' \
  "$OUT/startup.json"
