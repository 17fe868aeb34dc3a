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
        ["name": .string(name), "target": .string(target),
         "compliance": compliance.map { JSONValue.double($0) } ?? JSONValue.null,
         "budget_used": budgetUsed.map { JSONValue.double($0) } ?? JSONValue.null,
         "reason": reason.map { JSONValue.string($0) } ?? JSONValue.null]
    }
}

extension SLOCollector {
    /// Each objective's compliance between `from` and `to`: one PromQL error ratio over the whole period, evaluated
    /// at `to` on the service's own counters (not the recording rules, whose windows are fixed).
    public func compliance(manifest: Manifest, from: Date, to: Date, prometheusURL: String? = nil) async -> [ObjectiveCompliance] {
        guard let slo = manifest.slo else { return [] }
        let seconds = max(60, Int(to.timeIntervalSince(from).rounded()))
        let queries = SLOQueries(manifest: manifest)
        guard let text = prometheusURL ?? manifest.sloPrometheusURL, let base = URL(string: text) else {
            return slo.objectives.map {
                ObjectiveCompliance(name: $0.name, target: $0.targetText, compliance: nil, budgetUsed: nil,
                                    reason: "no Prometheus (set observability.prometheus: true or metrics.prometheus_url)")
            }
        }
        var result: [ObjectiveCompliance] = []
        for objective in slo.objectives {
            let budget = NSDecimalNumber(decimal: objective.errorBudget).doubleValue
            do {
                let samples = try await query(base, queries.errorRatio(objective, window: "\(seconds)s"), at: to.timeIntervalSince1970)
                guard let ratio = samples.first?.value, ratio.isFinite else {
                    result.append(ObjectiveCompliance(name: objective.name, target: objective.targetText, compliance: nil, budgetUsed: nil,
                                                      reason: "Prometheus at \(text) has no requests of job \(queries.job) in the period"))
                    continue
                }
                result.append(ObjectiveCompliance(name: objective.name, target: objective.targetText, compliance: 1 - ratio,
                                                  budgetUsed: ratio / budget, reason: nil))
            } catch MetricsError.unreachable(let error) {
                result.append(ObjectiveCompliance(name: objective.name, target: objective.targetText, compliance: nil, budgetUsed: nil,
                                                  reason: "Prometheus at \(text) is not reachable: \(error.summary)"))
            } catch {
                let reason = (error as? SwiftDeployFailure)?.errorDescription ?? "\(error)"
                result.append(ObjectiveCompliance(name: objective.name, target: objective.targetText, compliance: nil, budgetUsed: nil, reason: reason))
            }
        }
        return result
    }
}
