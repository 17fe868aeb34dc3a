#!/usr/bin/env python3
"""Generates a synthetic, validly chained history.jsonl for the audit benchmark.

Usage: generate_history.py OUTPUT [LINES] [SEED]

The mix is what a busy project records: mostly status and gate lines, with
deploys, promotions, rollbacks, overrides and locks; one line every 30 s of
simulated time from 2024-01-01. Lines follow docs/history.md (v 1, seq, prev
as the SHA-256 of the previous line's bytes), so `swiftdeploy audit --verify`
must find the chain intact.
"""
import hashlib
import json
import random
import sys
import time

EVENTS = [("status", 40), ("gate", 40), ("deploy", 6), ("promote", 5), ("validate", 4), ("rollback", 1.5),
          ("override", 1), ("lock", 1.5), ("teardown", 0.5), ("init", 0.5)]
ACTORS = [{"host": "build-host", "user": "alice"}, {"host": "laptop", "user": "carol"},
          {"ci": "github-actions", "host": "runner-1", "job": "4242", "user": "octobot", "workflow": "release"}]


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    names = [e for e, _ in EVENTS]
    weights = [w for _, w in EVENTS]
    start = 1_704_067_200  # 2024-01-01T00:00:00Z
    prev = "0" * 64
    mode = "stable"
    t0 = time.time()
    with open(out, "w", encoding="utf-8") as f:
        for seq in range(1, count + 1):
            ts = start + seq * 30
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % (seq % 1000)
            event = rng.choices(names, weights)[0]
            rec = {"v": 1, "seq": seq, "time": stamp, "id": "%08x-0000-4000-8000-%012x" % (seq, seq), "event": event,
                   "actor": rng.choice(ACTORS), "commit": "%040x" % (seq * 2654435761 % (1 << 160)),
                   "manifest_hash": "%064x" % (seq // 500), "swiftdeploy": "0.1.0-dev", "prev": prev}
            if event == "gate":
                err = max(0.0, rng.gauss(0.02, 0.015))
                p99 = max(10.0, rng.gauss(250, 90))
                verdict = "deny" if err > 0.05 or p99 > 500 else ("warn" if err > 0.04 else "allow")
                if rng.random() < 0.01:
                    verdict = "inconclusive"
                reasons = [] if verdict == "allow" else ["error rate %.1f%% | p99 %.0f ms" % (err * 100, p99)]
                rec["decision"] = {"domain": "canary", "verdict": verdict, "reasons": reasons, "engine": "embedded",
                                   "input": {"metrics": {"error_rate": round(err, 4), "p99_ms": round(p99, 1)}, "mode": mode}}
                rec["outcome"] = "failed" if verdict == "deny" else "ok"
            elif event in ("deploy", "promote", "rollback"):
                ok = rng.random() > 0.05
                rec["outcome"] = "ok" if ok else "failed"
                new = {"deploy": "canary", "promote": "stable", "rollback": "stable"}[event]
                if ok:
                    rec["mode_before"], rec["mode_after"] = mode, new
                    mode = new
                rec["message"] = "%s of release %d" % (event, seq // 500)
            elif event == "override":
                rec["override"] = {"reason": "approved by on-call, ticket OPS-%d" % seq}
                rec["outcome"] = "ok"
            else:
                rec["outcome"] = "ok"
            line = json.dumps(rec, sort_keys=True, separators=(",", ":"))
            f.write(line + "\n")
            prev = hashlib.sha256(line.encode()).hexdigest()
    print(f"generated {count} lines in {time.time() - t0:.1f}s, head {prev}", file=sys.stderr)


if __name__ == "__main__":
    main()
