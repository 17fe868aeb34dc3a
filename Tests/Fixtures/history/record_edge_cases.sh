#!/usr/bin/env bash
# Writes the expected reports over edge-cases.jsonl (AuditEdgeCaseTests) with a given swiftdeploy binary: Markdown,
# HTML and JSON, over the whole history and bounded by --since/--until (edge-cases.bounded.expected.*). The
# generation time is the one thing that differs from run to run: written as GENERATED.
# Run from anywhere, outside a git repository's commits' reach (the lead times stay unknown):
#   Tests/Fixtures/history/record_edge_cases.sh path/to/swiftdeploy
set -euo pipefail
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
for format in md html json; do
  for bound in whole bounded; do
    if [ "$bound" = whole ]; then
      name="edge-cases.expected.$format"
      args=()
    else
      name="edge-cases.bounded.expected.$format"
      args=(--since 2026-05-01T12:00:00Z --until 2026-05-02T01:00:00Z)
    fi
    # The chain of edge-cases.jsonl is broken on purpose: exit status 1.
    "$BIN" audit --history "$HERE/edge-cases.jsonl" --format "$format" --output "$WORK/$name" "${args[@]}" \
      --quiet 2>/dev/null || [ $? -eq 1 ]
    sed -E -e 's/generated [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/generated GENERATED/' \
      -e 's/"generated": "[^"]*"/"generated": "GENERATED"/' "$WORK/$name" > "$HERE/$name"
  done
done
