#!/usr/bin/env python3
"""Writes edge-cases.jsonl: a history of the lines `audit` must read exactly as it always has.

Times in every form (the history's own, offsets, no fraction, lower-case `t`/`z`, nine-digit fractions, not a
time, not a string, absent), fields absent or of the wrong type, non-ASCII and escaped text, verdicts and outcomes
in upper case, overrides, mode and chaos changes, rollouts, a broken chain link and a torn last line.
The expected reports beside it (edge-cases.expected.*) were written by a release binary of main before the audit's
per-line work moved to the threads that decode (`record_edge_cases.sh`); AuditEdgeCaseTests holds the reports of
the current code to them. Run: python3 make_edge_cases.py
"""
import hashlib
import json
import os

ALICE = {"host": "build-host", "user": "alice"}
CI = {"ci": "github-actions", "host": "runner-1", "job": "42", "user": "octobot", "workflow": "release"}
NO_JOB = {"ci": "gitlab-ci", "user": "zoë"}
NO_HOST = {"user": "ünïcødé-üser-with-a-long-name"}
ODD_ACTOR = {"user": 42, "host": "h"}  # a field of the wrong type: no actor
COMMIT = "f" * 40  # in no repository: its lead time is unknown


def decision(verdict, reasons=None, error_rate=None, p99=None, nested=True):
    metrics = {}
    if error_rate is not None:
        metrics["error_rate"] = error_rate
    if p99 is not None:
        metrics["p99_ms"] = p99
    d = {"domain": "canary", "verdict": verdict, "engine": "embedded",
         "input": {"metrics": metrics} if nested else metrics}
    if reasons is not None:
        d["reasons"] = reasons
    return d


# (time, event, actor, extra fields); a time of None leaves the field out.
SCENARIO = [
    ("2026-05-01T09:00:00.000Z", "init", ALICE, {"outcome": "ok", "mode_after": "stable", "commit": COMMIT}),
    ("2026-05-01T09:05:00Z", "deploy", CI, {"outcome": "OK", "mode_before": "stable", "mode_after": "canary",
                                            "commit": COMMIT, "message": "naïve \"quoted\" \\ back\tslash ✓ 🚀"}),
    ("2026-05-01T09:10:00.123456789Z", "gate", CI, {"outcome": "Failed", "decision": decision(
        "DENY", ["error rate 9% | over 5%", "p99 <b>&amp;</b> \u0001 control"], 0.09, 700)}),
    ("2026-05-01t09:15:00.5z", "gate", NO_JOB, {"outcome": "ok", "decision": decision("Allow", [], 0.01, 90, False)}),
    ("2026-05-01T11:20:00+02:00", "rollback", NO_HOST, {"outcome": "ok", "mode_before": "canary",
                                                       "mode_after": "stable", "details": {"chaos": "latency"}}),
    ("2026-05-01T09:25:00.000-01:30", "status", ODD_ACTOR, {"outcome": "healthy", "details": {"chaos": None}}),
    ("yesterday", "deploy", CI, {"outcome": "ok"}),
    (12345, "deploy", CI, {"outcome": "ok"}),
    (None, "deploy", CI, {"outcome": "ok"}),
    ("2026-05-01T12:00:00.000Z", "gate", CI, {"decision": decision("inconclusive")}),
    ("2026-05-01T12:05:00.000Z", None, ALICE, {"outcome": "ok"}),
    ("2026-05-01T12:10:00.000Z", "custom-event", ALICE, {"outcome": "done", "details": {"chaos": {"kill": 2}}}),
    ("2026-05-01T12:15:00.000Z", "override", ALICE, {"outcome": "ok", "override": {"reason": "on-call | ✓ \"ok\""}}),
    ("2026-05-01T12:16:00.000Z", "override", None, {"override": {"reason": 7}}),
    ("2026-05-01T12:20:00.000Z", "promote", CI, {"outcome": "succeeded", "mode_before": "canary",
                                                 "mode_after": "stable", "commit": COMMIT,
                                                 "details": {"chaos": True}}),
    ("2026-05-01T12:25:00.000Z", "gate", CI, {"outcome": "ok", "decision": decision("Warn", ["close"], 0.045)}),
    ("2026-05-01T12:30:00.000Z", "rollout", CI, {"outcome": "ok", "details": {
        "phase": "start", "rollout_id": "r-1", "image": "app:2", "version": "2.0.0"}}),
    ("2026-05-01T12:35:00.000Z", "rollout", CI, {"outcome": "ok", "decision": decision("allow", []), "details": {
        "phase": "step", "rollout_id": "r-1", "step": 1, "weight": 10, "error_rate": 0.01}}),
    ("2026-05-01T12:40:00.000Z", "rollout", CI, {"outcome": "ok", "details": {
        "phase": "promoted", "rollout_id": "r-1"}}),
    ("2026-05-02T00:00:00.000Z", "status", ALICE, {"outcome": "FAILED", "message": "down\nnew line"}),
    ("2026-05-02T00:30:00.000Z", "deploy", ALICE, {"outcome": "ok", "mode_before": "stable", "mode_after": "canary",
                                                   "details": {"chaos": "none", "metrics": {"p99": 300}}}),
    ("2026-05-02T01:00:00.000Z", "lock", ALICE, {"outcome": "ok", "mode_after": "locked"}),
    ("2026-05-02T02:00:00.000Z", "teardown", CI, {"outcome": "aborted", "mode_after": "stopped"}),
    ("2026-05-03T00:00:00.000Z", "interrupted", ALICE, {"outcome": "ok", "message": "é" * 40}),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    prev = "0" * 64
    lines = []
    for seq, (time, event, actor, extra) in enumerate(SCENARIO, start=1):
        record = {"v": 1, "seq": seq, "prev": prev}
        if time is not None:
            record["time"] = time
        if event is not None:
            record["event"] = event
        if actor is not None:
            record["actor"] = actor
        record.update(extra)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        if seq == 20:
            # A broken link: this line names a hash no line has.
            line = line.replace(prev, "1" * 64)
        lines.append(line)
        prev = hashlib.sha256(line.encode()).hexdigest()
    with open(os.path.join(here, "edge-cases.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n" + '{"v":1,"seq":99,"torn')


if __name__ == "__main__":
    main()
