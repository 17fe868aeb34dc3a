#!/usr/bin/env bash
# Benchmark: `swiftdeploy audit` (release build) on a large history, beside what issue 15 names,
# all in the same run on the same file:
#   audit --verify          vs  sha256sum of the file          (target: at most 1.5x)
#   audit --format json     vs  DuckDB's per-event counts      (target: at most 2x)
#                               (and `jq -s`, the older comparison)
# Prints wall time and peak memory (max RSS) of each, the ratios against the targets, and checks
# that the counts agree. Memory must stay flat: compare the peak RSS at two sizes.
#
# Usage: benchmarks/history/run.sh [LINES]   (default 200000, about 100 MB;
#        needs python3, jq, GNU time, sha256sum and Python's duckdb: pip install duckdb)
# Environment: SWIFTDEPLOY_SCRATCH_PATH  build directory of the release build (default .build,
#              as scripts/build-images and scripts/demo: one static-stdlib release build)
#              SWIFTDEPLOY_BIN           measure this release binary instead of building one
#              SWIFTDEPLOY_BEFORE_BIN    another release binary (e.g. built from an earlier commit): its
#                                        audit --format json and --verify are measured in the same run, for
#                                        before/after beside the same sha256sum and DuckDB figures
# Writes into benchmarks/results/history/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES="${1:-200000}"
OUT="benchmarks/results/history"
mkdir -p "$OUT"
HIST="$OUT/history.jsonl"

command -v jq >/dev/null || { echo "jq is required (apt-get install jq)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time is required (apt-get install time)" >&2; exit 2; }

python3 -c 'import duckdb' 2>/dev/null || { echo "Python's duckdb is required (pip install duckdb)" >&2; exit 2; }
command -v sha256sum >/dev/null || { echo "sha256sum is required (coreutils)" >&2; exit 2; }

SCRATCH="${SWIFTDEPLOY_SCRATCH_PATH:-.build}"
if [ -n "${SWIFTDEPLOY_BIN:-}" ]; then
  [ -x "$SWIFTDEPLOY_BIN" ] || { echo "SWIFTDEPLOY_BIN=$SWIFTDEPLOY_BIN is not an executable" >&2; exit 2; }
  BIN="$SWIFTDEPLOY_BIN"
else
  echo "== building swiftdeploy (release) in $SCRATCH"
  swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product swiftdeploy >/dev/null
  BIN="$(swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --show-bin-path)/swiftdeploy"
fi

if [ ! -f "$HIST" ] || [ "$(wc -l < "$HIST")" -ne "$LINES" ]; then
  echo "== generating $LINES lines"
  python3 benchmarks/history/generate_history.py "$HIST" "$LINES"
fi
SIZE=$(du -h "$HIST" | cut -f1)
echo "history: $HIST ($LINES lines, $SIZE)"

declare -A WALL
seconds() {  # GNU time's m:ss.cc or h:mm:ss → seconds
  awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }' <<<"$1"
}
measure() {  # name, command…  → prints "name: wall, CPU (user+sys), peak RSS"
  local name="$1"; shift
  /usr/bin/time -v "$@" > "$OUT/$name.stdout" 2> "$OUT/$name.time" || { echo "$name failed:"; tail -20 "$OUT/$name.time"; exit 1; }
  local wall rss user sys
  wall=$(grep "Elapsed (wall clock)" "$OUT/$name.time" | awk '{print $NF}')
  WALL[$name]=$(seconds "$wall")
  rss=$(grep "Maximum resident set size" "$OUT/$name.time" | awk '{print $NF}')
  user=$(grep "User time" "$OUT/$name.time" | awk '{print $NF}')
  sys=$(grep "System time" "$OUT/$name.time" | awk '{print $NF}')
  printf "%-28s wall %-10s CPU %7.2f s   peak RSS %8.1f MiB\n" "$name" "$wall" "$(echo "$user + $sys" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

echo "== running"
cat "$HIST" >/dev/null   # the same warm page cache for every contender
measure "sha256sum" sha256sum "$HIST"
measure "duckdb-counts" python3 benchmarks/history/duckdb_counts.py "$HIST"
measure "swiftdeploy-audit-md" "$BIN" audit --history "$HIST" --output "$OUT/audit_report.md" --quiet
measure "swiftdeploy-audit-json" "$BIN" audit --history "$HIST" --format json --output "$OUT/audit_report.json" --quiet
measure "swiftdeploy-audit-verify" "$BIN" audit --verify --history "$HIST" --quiet
if [ -n "${SWIFTDEPLOY_BEFORE_BIN:-}" ]; then
  [ -x "$SWIFTDEPLOY_BEFORE_BIN" ] || { echo "SWIFTDEPLOY_BEFORE_BIN=$SWIFTDEPLOY_BEFORE_BIN is not an executable" >&2; exit 2; }
  measure "before-audit-json" "$SWIFTDEPLOY_BEFORE_BIN" audit --history "$HIST" --format json --output "$OUT/audit_report_before.json" --quiet
  measure "before-audit-verify" "$SWIFTDEPLOY_BEFORE_BIN" audit --verify --history "$HIST" --quiet
fi
measure "jq-s-counts" jq -s -c '{records: length,
  events: (group_by(.event) | map({key: .[0].event, value: length}) | from_entries),
  verdicts: ([.[] | .decision.verdict // empty] | group_by(.) | map({key: .[0], value: length}) | from_entries)}' "$HIST"

echo "== counts agree?"
SWIFT_COUNTS=$(jq -c '{records, events, verdicts}' "$OUT/audit_report.json")
JQ_COUNTS=$(jq -c '{records, events, verdicts}' "$OUT/jq-s-counts.stdout")
echo "swiftdeploy: $SWIFT_COUNTS"
echo "jq -s:       $JQ_COUNTS"
if [ "$(echo "$SWIFT_COUNTS" | jq -S .)" = "$(echo "$JQ_COUNTS" | jq -S .)" ]; then echo "counts: identical"; else echo "counts: DIFFER" >&2; exit 1; fi

echo "== DuckDB's per-event counts agree?"
DUCK_EVENTS=$(jq -S -c '.events' "$OUT/duckdb-counts.stdout")
SWIFT_EVENTS=$(jq -S -c '.events' "$OUT/audit_report.json")
if [ "$DUCK_EVENTS" = "$SWIFT_EVENTS" ] && [ "$(jq .records "$OUT/duckdb-counts.stdout")" = "$(jq .records "$OUT/audit_report.json")" ]; then
  echo "counts: identical"
else
  echo "counts: DIFFER (duckdb $DUCK_EVENTS, swiftdeploy $SWIFT_EVENTS)" >&2; exit 1
fi

echo "== memory flat? peak RSS of the same commands on a history a tenth as long"
SMALL="$OUT/history-small.jsonl"
SMALL_LINES=$((LINES / 10))
if [ ! -f "$SMALL" ] || [ "$(wc -l < "$SMALL")" -ne "$SMALL_LINES" ]; then
  python3 benchmarks/history/generate_history.py "$SMALL" "$SMALL_LINES"
fi
measure "swiftdeploy-audit-json-small" "$BIN" audit --history "$SMALL" --format json --output "$OUT/audit_report_small.json" --quiet
measure "swiftdeploy-audit-verify-small" "$BIN" audit --verify --history "$SMALL" --quiet
rss() { grep "Maximum resident set size" "$OUT/$1.time" | awk '{printf "%.1f", $NF / 1024}'; }
echo "peak RSS, $SMALL_LINES vs $LINES lines: audit --format json $(rss swiftdeploy-audit-json-small) vs $(rss swiftdeploy-audit-json) MiB; audit --verify $(rss swiftdeploy-audit-verify-small) vs $(rss swiftdeploy-audit-verify) MiB"

echo "== against issue 15's targets (same run)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.01; printf "%.2f", a / b }'; }
VERIFY_RATIO=$(ratio "${WALL[swiftdeploy-audit-verify]}" "${WALL[sha256sum]}")
REPORT_RATIO=$(ratio "${WALL[swiftdeploy-audit-json]}" "${WALL[duckdb-counts]}")
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "met" : "NOT met" }'; }
echo "audit --verify / sha256sum:          ${WALL[swiftdeploy-audit-verify]} s / ${WALL[sha256sum]} s = ${VERIFY_RATIO}x (target <= 1.5x: $(verdict "$VERIFY_RATIO" 1.5))"
echo "audit --format json / DuckDB counts: ${WALL[swiftdeploy-audit-json]} s / ${WALL[duckdb-counts]} s = ${REPORT_RATIO}x (target <= 2x: $(verdict "$REPORT_RATIO" 2))"
if [ -n "${SWIFTDEPLOY_BEFORE_BIN:-}" ]; then
  echo "before: audit --verify / sha256sum = $(ratio "${WALL[before-audit-verify]}" "${WALL[sha256sum]}")x, audit --format json / DuckDB counts = $(ratio "${WALL[before-audit-json]}" "${WALL[duckdb-counts]}")x"
  if cmp -s <(jq -S 'del(.generated)' "$OUT/audit_report_before.json") <(jq -S 'del(.generated)' "$OUT/audit_report.json"); then
    echo "before and after reports: identical (apart from the generation time)"
  else
    echo "before and after reports: DIFFER" >&2; exit 1
  fi
fi
