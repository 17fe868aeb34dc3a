#!/usr/bin/env bash
# Benchmarks the embedded Rego engine beside OPA's evaluator (opa-ref) on the
# canary gate policy and a failing-canary input, in the same run.
#
#   benchmarks/rego/run.sh            # release build, default counts
#   RUNS=50 benchmarks/rego/run.sh    # processes per per-process figure
#
# Needs ../shared/tools/opa-ref (or SWIFTDEPLOY_SHARED_DIR); prints figures only.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHARED=${SWIFTDEPLOY_SHARED_DIR:-$ROOT/../shared}
OPA_REF_DIR=$SHARED/tools/opa-ref
RUNS=${RUNS:-30}
# The default canary policy (policies/canary.rego + thresholds.json) when the repository has it,
# else the canary gate of the differential corpus.
if [ -f "$ROOT/policies/canary.rego" ] && [ -f "$ROOT/thresholds.json" ]; then
  POLICY=$ROOT/policies/canary.rego
  DATA=thresholds:$ROOT/thresholds.json
  INPUT=$ROOT/Tests/Fixtures/rego/default-policy-inputs/canary-failing.json
else
  CASE=$ROOT/Tests/Fixtures/rego/differential/canary
  POLICY=$CASE/policy.rego
  DATA=$CASE/data.json
  INPUT=$CASE/inputs/failing.json
fi
QUERY=data.swiftdeploy.canary
echo "policy: ${POLICY#$ROOT/}  data: ${DATA#$ROOT/}  input: ${INPUT#$ROOT/}"

swift build -c release --product swiftdeploy >/dev/null
BIN=$(swift build -c release --show-bin-path)/swiftdeploy

echo "== in-process: swiftdeploy (embedded engine)"
"$BIN" policy bench -d "$POLICY" -d "$DATA" -i "$INPUT" --compile-count 200 --count 5000 "$QUERY"

if [ -x "$OPA_REF_DIR/opa-ref" ]; then
  echo "== in-process: OPA's evaluator via opa-ref's library (µs; includes the Python/ctypes bridge)"
  python3 "$ROOT/benchmarks/rego/opa_inprocess.py" "$OPA_REF_DIR" "$POLICY" "$DATA" "$INPUT" swiftdeploy.canary 50 2000
else
  echo "== opa-ref not found at $OPA_REF_DIR: OPA figures skipped"
fi

per_process() {
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$RUNS"); do "$@" >/dev/null; done
  end=$(date +%s%N)
  echo "$(( (end - start) / RUNS / 1000 )) µs per process (mean of $RUNS)"
}
echo "== per process: swiftdeploy policy eval"
per_process "$BIN" policy eval -d "$POLICY" -d "$DATA" -i "$INPUT" "$QUERY"
if [ -x "$OPA_REF_DIR/opa-ref" ]; then
  echo "== per process: opa-ref eval"
  per_process "$OPA_REF_DIR/opa-ref" eval -d "$POLICY" -d "$DATA" -i "$INPUT" "$QUERY"
fi
