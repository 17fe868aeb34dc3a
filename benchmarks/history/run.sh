#!/usr/bin/env bash
# Benchmark: `swiftdeploy audit` (release build) on a 1,000,000-line history,
# beside `jq -s` computing the same counts on the same file in the same run.
# Prints wall time and peak memory (max RSS) of each, and checks the counts agree.
#
# Usage: benchmarks/history/run.sh [LINES]   (default 1000000; needs python3, jq, GNU time)
# Writes into benchmarks/results/history/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES="${1:-1000000}"
OUT="benchmarks/results/history"
mkdir -p "$OUT"
HIST="$OUT/history.jsonl"

command -v jq >/dev/null || { echo "jq is required (apt-get install jq)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time is required (apt-get install time)" >&2; exit 2; }

echo "== building swiftdeploy (release)"
swift build -c release --product swiftdeploy >/dev/null
BIN="$(swift build -c release --show-bin-path)/swiftdeploy"

if [ ! -f "$HIST" ] || [ "$(wc -l < "$HIST")" -ne "$LINES" ]; then
  echo "== generating $LINES lines"
  python3 benchmarks/history/generate_history.py "$HIST" "$LINES"
fi
SIZE=$(du -h "$HIST" | cut -f1)
echo "history: $HIST ($LINES lines, $SIZE)"

measure() {  # name, command…  → prints "name: wall, CPU (user+sys), peak RSS"
  local name="$1"; shift
  /usr/bin/time -v "$@" > "$OUT/$name.stdout" 2> "$OUT/$name.time" || { echo "$name failed:"; tail -20 "$OUT/$name.time"; exit 1; }
  local wall rss user sys
  wall=$(grep "Elapsed (wall clock)" "$OUT/$name.time" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$OUT/$name.time" | awk '{print $NF}')
  user=$(grep "User time" "$OUT/$name.time" | awk '{print $NF}')
  sys=$(grep "System time" "$OUT/$name.time" | awk '{print $NF}')
  printf "%-28s wall %-10s CPU %7.2f s   peak RSS %8.1f MiB\n" "$name" "$wall" "$(echo "$user + $sys" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

echo "== running"
measure "swiftdeploy-audit-md" "$BIN" audit --history "$HIST" --output "$OUT/audit_report.md" --quiet
measure "swiftdeploy-audit-json" "$BIN" audit --history "$HIST" --format json --output "$OUT/audit_report.json" --quiet
measure "swiftdeploy-audit-verify" "$BIN" audit --verify --history "$HIST" --quiet
measure "jq-s-counts" jq -s -c '{records: length,
  events: (group_by(.event) | map({key: .[0].event, value: length}) | from_entries),
  verdicts: ([.[] | .decision.verdict // empty] | group_by(.) | map({key: .[0], value: length}) | from_entries)}' "$HIST"

echo "== counts agree?"
SWIFT_COUNTS=$(jq -c '{records, events, verdicts}' "$OUT/audit_report.json")
JQ_COUNTS=$(jq -c '{records, events, verdicts}' "$OUT/jq-s-counts.stdout")
echo "swiftdeploy: $SWIFT_COUNTS"
echo "jq -s:       $JQ_COUNTS"
if [ "$(echo "$SWIFT_COUNTS" | jq -S .)" = "$(echo "$JQ_COUNTS" | jq -S .)" ]; then echo "counts: identical"; else echo "counts: DIFFER" >&2; exit 1; fi
