import Foundation

/// One objective's compliance over an audit period: the fraction of good requests, as Prometheus measured it.
/// `compliance` is nil when it could not be measured, and `reason` says why (never a made-up 100%).
public struct ObjectiveCompliance: Sendable, Equatable {
    public var name: String
    /// The target as written (`99.5`).
    public var target: String
    /// Good requests over all requests in the period (0–1), nil when unknown.
    public var compliance: Double?
    /// The fraction of the period's error budget used (1 = all of it), nil when unknown.
    public var budgetUsed: Double?
    public var reason: String?

    public init(name: String, target: String, compliance: Double?, budgetUsed: Double?, reason: String?) {
        self.name = name
        self.target = target
        self.compliance = compliance
        self.budgetUsed = budgetUsed
        self.reason = reason
    }

    var complianceText: String {
        guard let compliance else { return "unknown: \(reason ?? "not measured")" }
        return String(format: "%.3f%%", compliance * 100)
    }

    var budgetUsedText: String { budgetUsed.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }

    var json: JSONValue {
        [
            "name": .string(name), "target": .string(target),
            "compliance": compliance.map { JSONValue.double($0) } ?? JSONValue.null,
            "budget_used": budgetUsed.map { JSONValue.double($0) } ?? JSONValue.null,
            "reason": reason.map { JSONValue.string($0) } ?? JSONValue.null,
        ]
    }
}
