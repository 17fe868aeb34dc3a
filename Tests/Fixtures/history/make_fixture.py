#!/usr/bin/env python3
"""Writes fixture.jsonl: a small, hand-designed history with a valid hash chain.

An independent implementation of the history line format (docs/history.md),
so the Swift verifier is checked against lines it did not write. The expected
numbers in Tests/SwiftDeployKitTests/AuditReportTests.swift follow from the
scenario below; change both together. Run: python3 make_fixture.py
"""
import hashlib
import json
import os

ALICE = {"host": "build-host", "user": "alice"}
CAROL = {"host": "laptop", "user": "carol"}
CI = {"ci": "github-actions", "host": "runner-1", "job": "42", "user": "octobot", "workflow": "release"}
M = "a" * 64  # manifest hash
T = "b" * 64  # thresholds hash


def decision(domain, verdict, reasons, error_rate=None, p99=None):
    metrics = {}
    if error_rate is not None:
        metrics["error_rate"] = error_rate
    if p99 is not None:
        metrics["p99_ms"] = p99
    return {"domain": domain, "verdict": verdict, "reasons": reasons, "engine": "embedded",
            "input": {"metrics": metrics, "mode": "canary"}}


SCENARIO = [
    ("2026-05-01T09:00:00.000Z", "init", ALICE, {"outcome": "ok", "mode_after": "stable", "message": "project initialised"}),
    ("2026-05-01T09:05:00.000Z", "validate", ALICE, {"outcome": "ok"}),
    ("2026-05-01T09:10:00.000Z", "deploy", CI, {"outcome": "ok", "mode_before": "stable", "mode_after": "canary",
                                                "decision": decision("deploy", "allow", [])}),
    ("2026-05-01T09:20:00.000Z", "gate", CI, {"outcome": "ok", "decision": decision("canary", "allow", [], 0.01, 120)}),
    ("2026-05-01T09:30:00.000Z", "promote", CI, {"outcome": "ok", "mode_before": "canary", "mode_after": "stable",
                                                 "decision": decision("promote", "allow", [])}),
    ("2026-05-01T10:00:00.000Z", "gate", CI, {"outcome": "failed", "decision": decision(
        "canary", "deny", ["error rate 7.5% is above the 5% limit", "p99 | 900 ms is above 500 ms"], 0.075, 900)}),
    ("2026-05-01T10:15:00.000Z", "rollback", ALICE, {"outcome": "ok", "mode_before": "stable", "mode_after": "stable",
                                                     "message": "rolled back to 1.4.1"}),
    ("2026-05-02T08:00:00.000Z", "deploy", CI, {"outcome": "ok", "mode_before": "stable", "mode_after": "canary",
                                                "details": {"chaos": "latency"}}),
    ("2026-05-02T08:10:00.000Z", "gate", CI, {"outcome": "inconclusive", "decision": decision(
        "canary", "inconclusive", ["metrics endpoint not reachable: connection refused"])}),
    ("2026-05-02T08:20:00.000Z", "override", CAROL, {"outcome": "ok", "override": {"reason": "hotfix | approved by on-call"},
                                                     "message": "promoting despite missing metrics"}),
    ("2026-05-02T08:25:00.000Z", "promote", CAROL, {"outcome": "ok", "mode_before": "canary", "mode_after": "stable"}),
    ("2026-05-02T09:00:00.000Z", "gate", CI, {"outcome": "ok", "decision": decision("canary", "allow", [], 0.02, 200)}),
    ("2026-05-03T12:00:00.000Z", "status", ALICE, {"outcome": "ok"}),
    ("2026-05-03T12:30:00.000Z", "deploy", CI, {"outcome": "failed", "message": "health check timed out after 60s"}),
    ("2026-05-03T12:50:00.000Z", "deploy", CI, {"outcome": "ok", "mode_before": "stable", "mode_after": "canary",
                                                "details": {"chaos": "none"}}),
    ("2026-05-03T13:00:00.000Z", "promote", CI, {"outcome": "ok", "mode_before": "canary", "mode_after": "stable"}),
    ("2026-05-03T13:30:00.000Z", "lock", ALICE, {"outcome": "ok", "details": {"holder": "alice"}}),
    ("2026-05-03T14:00:00.000Z", "teardown", ALICE, {"outcome": "ok", "mode_before": "stable", "mode_after": "stopped"}),
]


def main():
    prev = "0" * 64
    lines = []
    for seq, (time, event, actor, fields) in enumerate(SCENARIO, start=1):
        record = {"v": 1, "seq": seq, "time": time, "id": "00000000-0000-4000-8000-%012d" % seq, "event": event,
                  "actor": actor, "commit": "c" * 40, "manifest_hash": M, "thresholds_hash": T,
                  "swiftdeploy": "0.1.0-dev", "prev": prev}
        record.update(fields)
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        lines.append(line)
        prev = hashlib.sha256(line.encode("utf-8")).hexdigest()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}: {len(lines)} lines, head {prev}")


if __name__ == "__main__":
    main()
