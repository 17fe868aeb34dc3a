import Foundation
import SwiftDeployKit

/// `--format json`: one key-sorted JSON document, stable API.
///
/// ```
/// {"schema": 1, "verdict": "deny", "exit_code": 1, "fail_on_warn": false, "timings_ms": {"total": …},
///  "decisions": [{"domain", "verdict", "reasons", "warnings", "engine", "input", "timings_ms"}]}
/// ```
public struct JSONDecisionFormatter: Sendable {
    public init() {}

    public func format(_ report: DecisionReport) -> String {
        let document: JSONValue = [
            "schema": 1,
            "verdict": .string(report.verdict.rawValue),
            "exit_code": .int(Int64(report.exitStatus.rawValue)),
            "fail_on_warn": .bool(report.failOnWarn),
            "timings_ms": ["total": .double(report.totalMs)],
            "decisions": .array(report.decisions.map(JSONDecisionFormatter.json)),
        ]
        return document.jsonString(pretty: true)
    }

    /// One decision as JSON: the shape the history records too.
    public static func json(_ decision: PolicyDecision) -> JSONValue {
        [
            "domain": .string(decision.domain),
            "verdict": .string(decision.verdict.rawValue),
            "reasons": .array(decision.reasons.map { .string($0) }),
            "warnings": .array(decision.warnings.map { .string($0) }),
            "engine": .string(decision.engine),
            "input": decision.input,
            "timings_ms": .object(decision.timingsMs.mapValues { .double($0) }),
        ]
    }
}
