import Foundation

/// Builds the input document every policy judges. Its shape is documented in docs/policy.md and the README:
///
/// ```
/// input.action            "deploy" | "promote" | "gate" | "status"
/// input.domain            the domain being decided
/// input.mode.current      the manifest's services.mode
/// input.mode.target       the mode the action would switch to, or null
/// input.manifest          project, service {name,image,port,mode,version}, nginx {port}, metrics
/// {window_seconds,min_requests,exclude_paths}, policy {engine}
/// input.host              (infrastructure and custom domains) disk_free_gb, disk_path, load1, cpu_count, load_per_cpu,
/// memory_used_percent, sources, problems
/// input.metrics           (canary and custom domains) requests, errors, error_rate, request_rate, p50_ms, p95_ms,
/// p99_ms, observations, window_seconds, source, counter_resets, sufficient
/// input.slo               (slo) per objective target, window, error_ratio and burn_rate per window,
/// error_budget_remaining, alerts firing
/// input.delivery          (slo) change failure rate over the last N changes, deployments in 7 days, time since the
/// last failure, lead time
/// input.evidence          what was collected for this domain: ["host"], ["metrics"], both, or ["slo"]
/// ```
public enum PolicyInput {
    /// The evidence a domain is judged on: host facts before a deploy, a metrics window before a promote, both
    /// otherwise.
    public enum Evidence: String, Sendable, CaseIterable {
        case host, metrics
        /// Error budgets and burn rates from Prometheus, delivery figures from the history (``SLOCollector``).
        case slo
    }

    public static func evidence(for domain: String) -> [Evidence] {
        switch domain {
        case "infrastructure": return [.host]
        case "canary": return [.metrics]
        case "slo": return [.slo]
        default: return [.host, .metrics]
        }
    }

    public static func document(
        request: GateRequest, domain: String, host: HostFacts?, metrics: WindowFigures?,
        slo: SLOEvidence? = nil
    ) -> JSONValue {
        let manifest = request.manifest
        var service: [String: JSONValue] = [
            "name": .string(manifest.services.name),
            "image": .string(manifest.services.image),
            "port": .int(Int64(manifest.services.port)),
            "mode": .string(manifest.services.mode.rawValue),
        ]
        service["version"] = manifest.services.version.map { .string($0) } ?? .null
        let window = request.window ?? manifest.metrics.window
        var object: [String: JSONValue] = [
            "action": .string(request.action),
            "domain": .string(domain),
            "mode": [
                "current": .string(manifest.services.mode.rawValue),
                "target": request.targetMode.map { .string($0.rawValue) } ?? .null,
            ],
            "manifest": [
                "project": .string(manifest.project),
                "service": .object(service),
                "nginx": ["port": .int(Int64(manifest.nginx.port))],
                "metrics": [
                    "window_seconds": .double(window.seconds),
                    "min_requests": .int(Int64(manifest.metrics.minRequests)),
                    "exclude_paths": .array(manifest.metrics.excludePaths.map { .string($0) }),
                    "source": .string(manifest.metrics.source.rawValue),
                ],
                "policy": ["engine": .string(manifest.policy.engine.rawValue)],
            ],
            "evidence": .array(evidence(for: domain).map { .string($0.rawValue) }),
        ]
        if let host { object["host"] = host.json }
        if let metrics { object["metrics"] = metrics.json }
        if let slo {
            object["slo"] = slo.slo
            object["delivery"] = slo.delivery
        }
        return .object(object)
    }
}
