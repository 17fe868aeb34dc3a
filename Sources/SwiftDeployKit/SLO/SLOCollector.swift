import Foundation

/// What the `slo` domain is judged on: `input.slo` from Prometheus (the generated recording rules and the alerts
/// firing) and `input.delivery` from the history. `insufficient` lists why the evidence cannot be trusted; any
/// entry makes the verdict inconclusive.
public struct SLOEvidence: Sendable {
    public var slo: JSONValue
    public var delivery: JSONValue
    public var insufficient: [String]

    public init(slo: JSONValue = .null, delivery: JSONValue = .null, insufficient: [String] = []) {
        self.slo = slo
        self.delivery = delivery
        self.insufficient = insufficient
    }
}

/// Reads each objective's error ratio over every window from the recording rules `init` generates
/// (`slo:sli_error:ratio_rate<window>{objective=…}`), turns them into burn rates and the budget remaining, lists the
/// burn-rate alerts firing (`ALERTS`), and reads the delivery figures from the history.
///
/// Never `allow` from nothing: no slo block, no Prometheus, a Prometheus that fails, a missing series or a NaN one
/// (no requests in that window) are each a reason for `inconclusive`.
public struct SLOCollector: Sendable {
    public var transport: HTTPTransport
    public var limits: HTTPLimits
    public var delivery: @Sendable (Manifest) -> DeliveryFiguresReader
    public var now: @Sendable () -> Date

    public init(
        transport: HTTPTransport = SocketHTTPClient(),
        limits: HTTPLimits = HTTPLimits(connectTimeout: 2, totalTimeout: 5),
        delivery: @escaping @Sendable (Manifest) -> DeliveryFiguresReader = {
            DeliveryFiguresReader.git(in: $0.directory)
        },
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.transport = transport
        self.limits = limits
        self.delivery = delivery
        self.now = now
    }

    public func collect(manifest: Manifest, prometheusURL: String? = nil) async -> SLOEvidence {
        var evidence = SLOEvidence()
        guard let slo = manifest.slo else {
            evidence.insufficient.append(
                """
                slo: the manifest has no slo block, so there is no objective to judge; add slo.objectives (see \
                docs/slo.md)
                """
            )
            return evidence
        }
        // Delivery figures first: they need no Prometheus.
        do {
            let figures = try await delivery(manifest).read(
                history: manifest.historyURL, changeWindow: slo.changeWindow, now: now())
            evidence.delivery = figures.json
        } catch {
            let reason = (error as? SwiftDeployFailure)?.errorDescription ?? "\(error)"
            evidence.insufficient.append(
                "slo: the delivery figures cannot be read from the history \(manifest.history.path): \(reason)")
        }
        guard let text = prometheusURL ?? manifest.sloPrometheusURL, let base = URL(string: text) else {
            evidence.insufficient.append(
                """
                slo: no Prometheus to read the SLO series from; set observability.prometheus: true (swiftdeploy \
                runs one) or metrics.prometheus_url
                """
            )
            return evidence
        }
        let at = (now().timeIntervalSince1970 * 1000).rounded() / 1000
        var ratios: [String: [String: Double]] = [:]  // objective → window → ratio
        var missing: [String: [String]] = [:]  // objective → windows without a value
        let windows = SLOMath.windows + [slo.windowText]
        do {
            for window in windows {
                let samples = try await query(base, SLOMath.ratioRecord(window), at: at)
                for objective in slo.objectives {
                    let value = samples.first { $0.labels["objective"] == objective.name }?.value
                    if let value, value.isFinite {
                        ratios[objective.name, default: [:]][window] = value
                    } else {
                        missing[objective.name, default: []].append(window)
                    }
                }
            }
            let alerts = try await query(base, "ALERTS{alertstate=\"firing\",objective!=\"\"}", at: at)
            evidence.slo = document(slo: slo, ratios: ratios, alerts: alerts.map(\.labels), source: text)
        } catch MetricsError.unreachable(let error) {
            evidence.insufficient.append(
                """
                slo: Prometheus at \(text) is not reachable: \(error.summary); start it (`swiftdeploy deploy` \
                runs it when observability.prometheus is true) or fix metrics.prometheus_url
                """
            )
            return evidence
        } catch let error as SwiftDeployFailure {
            evidence.insufficient.append("slo: " + (error.errorDescription ?? "\(error)"))
            return evidence
        } catch {
            evidence.insufficient.append("slo: Prometheus at \(text) failed: \(error)")
            return evidence
        }
        for objective in slo.objectives {
            guard let windows = missing[objective.name], !windows.isEmpty else { continue }
            evidence.insufficient.append(
                """
                slo: Prometheus at \(text) has no value for objective \(objective.name) over \
                \(windows.joined(separator: ", ")) \
                (\(SLOMath.ratioRecord(windows[0])){objective=\"\(objective.name)\"}): either the rules generated \
                in observability/rules/slo.yml are not loaded, or there were no requests in that window
                """
            )
        }
        return evidence
    }

    private func document(
        slo: Manifest.SLO, ratios: [String: [String: Double]], alerts: [[String: String]], source: String
    ) -> JSONValue {
        var objectives: [String: JSONValue] = [:]
        let names = Set(slo.objectives.flatMap { o in SLOMath.alerts.map { $0.name(for: o) } })
        let firing = alerts.filter { names.contains($0["alertname"] ?? "") }
        for objective in slo.objectives {
            let budget = NSDecimalNumber(decimal: objective.errorBudget).doubleValue
            let r = ratios[objective.name] ?? [:]
            var ratioObject: [String: JSONValue] = [:], burnObject: [String: JSONValue] = [:]
            for window in SLOMath.windows + [slo.windowText] {
                guard let value = r[window] else { continue }
                ratioObject[window] = .double(value)
                burnObject[window] = .double(value / budget)
            }
            let remaining = r[slo.windowText].map { 1 - $0 / budget }
            let own = firing.filter { $0["objective"] == objective.name }
            objectives[objective.name] = [
                "name": .string(objective.name),
                "indicator": .string(objective.indicator.rawValue),
                "target": .double(objective.target),
                "target_ratio": .double(NSDecimalNumber(decimal: objective.targetRatio).doubleValue),
                "error_budget": .double(budget),
                "threshold_ms": objective.threshold.map { JSONValue.int(Int64($0.milliseconds)) } ?? JSONValue.null,
                "window": .string(slo.windowText),
                "error_ratio": .object(ratioObject),
                "burn_rate": .object(burnObject),
                "error_budget_remaining": remaining.map { JSONValue.double($0) } ?? JSONValue.null,
                "alerts_firing": .array(own.compactMap { $0["alertname"] }.sorted().map { .string($0) }),
            ]
        }
        let alertList: [JSONValue] = firing.sorted { ($0["alertname"] ?? "") < ($1["alertname"] ?? "") }.map { labels in
            [
                "alert": .string(labels["alertname"] ?? ""), "objective": .string(labels["objective"] ?? ""),
                "severity": .string(labels["severity"] ?? ""), "long_window": .string(labels["long_window"] ?? ""),
                "short_window": .string(labels["short_window"] ?? ""),
            ]
        }
        return [
            "source": .string("prometheus \(source)"),
            "window": .string(slo.windowText),
            "window_seconds": .double(slo.windowSeconds),
            "windows": .array(SLOMath.windows.map { .string($0) }),
            "objectives": .object(objectives),
            "alerts_firing": .array(alertList),
        ]
    }

    struct Sample {
        var labels: [String: String]
        var value: Double
    }

    /// An instant query answering a vector: each series' labels and value (NaN kept as NaN).
    func query(_ base: URL, _ promql: String, at: Double) async throws -> [Sample] {
        let result = try await PrometheusQuery(transport: transport, limits: limits).instantVector(
            base: base, query: promql, at: at)
        return try result.map { series in
            guard case .object(let metric)? = series["metric"], let value = PrometheusQuery.value(of: series) else {
                throw MetricsError.prometheus(
                    url: base.absoluteString, query: promql,
                    reason: "a series is not {metric, value: [timestamp, \"value\"]}")
            }
            var labels: [String: String] = [:]
            for (key, v) in metric { if let s = v.stringValue { labels[key] = s } }
            return Sample(labels: labels, value: value)
        }
    }
}

extension SLOCollector {
    /// Each objective's compliance between `from` and `to`: one PromQL error ratio over the whole period, evaluated
    /// at `to` on the service's own counters (not the recording rules, whose windows are fixed).
    public func compliance(manifest: Manifest, from: Date, to: Date, prometheusURL: String? = nil) async
        -> [ObjectiveCompliance]
    {
        guard let slo = manifest.slo else { return [] }
        let seconds = max(60, Int(to.timeIntervalSince(from).rounded()))
        let queries = SLOQueries(manifest: manifest)
        guard let text = prometheusURL ?? manifest.sloPrometheusURL, let base = URL(string: text) else {
            return slo.objectives.map {
                ObjectiveCompliance(
                    name: $0.name, target: $0.targetText, compliance: nil, budgetUsed: nil,
                    reason: "no Prometheus (set observability.prometheus: true or metrics.prometheus_url)")
            }
        }
        var result: [ObjectiveCompliance] = []
        for objective in slo.objectives {
            let budget = NSDecimalNumber(decimal: objective.errorBudget).doubleValue
            do {
                let samples = try await query(
                    base, queries.errorRatio(objective, window: "\(seconds)s"), at: to.timeIntervalSince1970)
                guard let ratio = samples.first?.value, ratio.isFinite else {
                    result.append(
                        ObjectiveCompliance(
                            name: objective.name, target: objective.targetText, compliance: nil, budgetUsed: nil,
                            reason: "Prometheus at \(text) has no requests of job \(queries.job) in the period"))
                    continue
                }
                result.append(
                    ObjectiveCompliance(
                        name: objective.name, target: objective.targetText, compliance: 1 - ratio,
                        budgetUsed: ratio / budget, reason: nil))
            } catch MetricsError.unreachable(let error) {
                result.append(
                    ObjectiveCompliance(
                        name: objective.name, target: objective.targetText, compliance: nil, budgetUsed: nil,
                        reason: "Prometheus at \(text) is not reachable: \(error.summary)"))
            } catch {
                let reason = (error as? SwiftDeployFailure)?.errorDescription ?? "\(error)"
                result.append(
                    ObjectiveCompliance(
                        name: objective.name, target: objective.targetText, compliance: nil, budgetUsed: nil,
                        reason: reason))
            }
        }
        return result
    }
}
