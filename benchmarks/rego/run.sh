#!/usr/bin/env bash
# Benchmarks the embedded Rego engine beside OPA's evaluator (opa-ref) on the
# canary gate policy and a failing-canary input, in the same run.
#
#   benchmarks/rego/run.sh            # release build, default counts
#   RUNS=50 benchmarks/rego/run.sh    # processes per per-process figure
#   SCRATCH=.build-release benchmarks/rego/run.sh   # use (or make) that build directory
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

BUILD=(swift build -c release ${SCRATCH:+--scratch-path "$SCRATCH"})
"${BUILD[@]}" --product swiftdeploy >/dev/null
BIN=$("${BUILD[@]}" --show-bin-path)/swiftdeploy

echo "== in-process: swiftdeploy (embedded engine)"
OURS=$("$BIN" policy bench -d "$POLICY" -d "$DATA" -i "$INPUT" --compile-count 200 --count 5000 --json "$QUERY")
echo "$OURS"

if [ -x "$OPA_REF_DIR/opa-ref" ]; then
  echo "== in-process: OPA's evaluator via opa-ref's library (µs; includes the Python/ctypes bridge)"
  THEIRS=$(python3 "$ROOT/benchmarks/rego/opa_inprocess.py" "$OPA_REF_DIR" "$POLICY" "$DATA" "$INPUT" swiftdeploy.canary 50 2000)
  echo "$THEIRS"
  # Same-run comparison (medians). OPA's per-decision figure has the bridge (an evaluation
  # of a constant document) subtracted; its parse+compile figure is add_policy + add_data +
  # the first evaluation (the bridge compiles lazily) and keeps its three bridge calls.
  python3 - "$OURS" "$THEIRS" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ev = ours["eval_us"]["median"]
opa_ev = theirs["eval_us"]["median"] - theirs["bridge_noop_eval_us"]["median"]
cc = ours["compile_us"]["median"]
opa_cc = theirs["compile_us"]["median"]
print("== same run, medians")
print(f"one decision:    swiftdeploy {ev:.1f} µs, OPA {opa_ev:.1f} µs (bridge subtracted): ratio {ev / opa_ev:.3f} (goal <= 0.333)")
print(f"parse+compile:   swiftdeploy {cc:.1f} µs, OPA {opa_cc:.1f} µs: ratio {cc / opa_cc:.3f} (goal <= 0.100)")
PY
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
