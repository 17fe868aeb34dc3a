#!/usr/bin/env bash
# Benchmark: `swiftdeploy deploy` and `swiftdeploy promote canary` wall time on Swarm against Compose, for the
# same manifest (only `runtime:` differs), in the same run, alternating the two runtimes ROUNDS times.
#
# Each round, per runtime: a fresh project (own name, free ports), `deploy` (cold: nothing running), `promote
# canary` under light background traffic (its canary metrics window is part of both sides alike), `teardown`.
# Prints each measurement, then per step the medians and the Swarm/Compose ratio.
#
# Usage: benchmarks/swarm/run.sh [ROUNDS] [REPLICAS]   (default 3 rounds, 1 replica: the same stack on both)
# Needs the local images (scripts/build-images) and an engine that is a Swarm manager or in no swarm: then the
# script runs `docker swarm init --advertise-addr 127.0.0.1` and leaves the swarm at the end (only then).
# On a shared engine, hold the swarm lock: flock <lock> benchmarks/swarm/run.sh
# SWIFTDEPLOY_BIN picks the binary (default: the debug build's).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-3}"
REPLICAS="${2:-1}"
BIN="${SWIFTDEPLOY_BIN:-$(swift build --show-bin-path)/swiftdeploy}"
[ -x "$BIN" ] || swift build --product swiftdeploy
docker image inspect swiftdeploy/api:0.1.0 swiftdeploy/nginx:bookworm >/dev/null \
  || { echo "the local images are missing: run scripts/build-images" >&2; exit 2; }

INITIALISED=0
state=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')
case "$state" in
  "active true") ;;
  "inactive false") docker swarm init --advertise-addr 127.0.0.1 >/dev/null; INITIALISED=1 ;;
  *) echo "the engine is in a swarm but not a manager ($state); run this on a manager" >&2; exit 2 ;;
esac
WORK=$(mktemp -d)
TRAFFIC_PID=""
cleanup() {
  [ -n "$TRAFFIC_PID" ] && kill "$TRAFFIC_PID" 2>/dev/null || true
  for d in "$WORK"/*/; do [ -f "$d/manifest.yaml" ] && "$BIN" teardown --clean --manifest "$d/manifest.yaml" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
  if [ "$INITIALISED" = 1 ]; then docker swarm leave --force >/dev/null; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { python3 -c 'import time; print(time.monotonic())'; }

project() {  # $1 runtime, $2 round: writes a project directory, prints its path
  local dir="$WORK/$1-$2" name="sdbench$1$2$$" port admin
  port=$(free_port); admin=$(free_port)
  mkdir -p "$dir"
  cp -r policies "$dir/policies"
  # The repository's thresholds with the latency bounds relaxed, as the end-to-end tests do (a loaded machine).
  python3 - "$dir/thresholds.json" <<'PY'
import json, sys
t = json.load(open("thresholds.json"))
t["canary"]["max_p99_ms"] = 60000
t["canary"]["warn_p95_ms"] = 30000
json.dump(t, open(sys.argv[1], "w"), indent=2)
PY
  # The manifest the Swarm tests use (Tests/Fixtures/swarm, TestSupport's SwarmProject), only `runtime:` differs.
  sed -e "s/@NAME@/${name}/" -e "s/@RUNTIME@/$1/" -e "s|@IMAGE@|swiftdeploy/api:0.1.0|" -e "s/@MODE@/stable/" \
      -e "s/@REPLICAS@/${REPLICAS}/" -e "s/@PUBLIC_PORT@/${port}/" -e "s/@ADMIN_PORT@/${admin}/" -e "/@PLACEMENT@/d" \
      Tests/Fixtures/swarm/manifest.yaml.template >"$dir/manifest.yaml"
  echo "$dir $port"
}

timed() {  # $1 label, rest: command; prints seconds
  local start end
  start=$(now)
  if ! "${@:2}" >"$WORK/last.log" 2>&1; then echo "$1 failed:" >&2; cat "$WORK/last.log" >&2; exit 1; fi
  end=$(now)
  python3 -c "print(f'{$end - $start:.2f}')"
}

RESULTS="$WORK/results.txt"
for round in $(seq 1 "$ROUNDS"); do
  for runtime in compose swarm; do
    read -r dir port < <(project "$runtime" "$round")
    m="$dir/manifest.yaml"
    d=$(timed "deploy ($runtime)" "$BIN" deploy --timeout 300s --override "benchmark on a shared host" --manifest "$m")
    ( while true; do curl -s -o /dev/null "http://127.0.0.1:$port/" || true; sleep 0.02; done ) &
    TRAFFIC_PID=$!
    p=$(timed "promote ($runtime)" "$BIN" promote canary --timeout 300s --manifest "$m")
    kill "$TRAFFIC_PID"; wait "$TRAFFIC_PID" 2>/dev/null || true; TRAFFIC_PID=""
    "$BIN" teardown --clean --manifest "$m" >/dev/null
    echo "round $round $runtime deploy ${d}s promote ${p}s"
    echo "$runtime deploy $d" >>"$RESULTS"; echo "$runtime promote $p" >>"$RESULTS"
  done
done

python3 - "$RESULTS" "$REPLICAS" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def med(runtime, step): return statistics.median(float(r[2]) for r in rows if r[0] == runtime and r[1] == step)
print(f"\nmedians over {len(rows) // 4} rounds, {sys.argv[2]} replicas of the app:")
for step in ("deploy", "promote"):
    c, s = med("compose", step), med("swarm", step)
    print(f"  {step:8s} compose {c:6.2f}s   swarm {s:6.2f}s   swarm/compose {s / c:5.2f}")
PY
