import Foundation
import Yams

/// The `slo:` and `observability:` blocks, read as strictly as the rest of the manifest.
extension ManifestBuilder {
    static let sloKeys = ManifestSchema.keyNames(at: "slo")
    static let objectiveKeys = ManifestSchema.key(at: "slo.objectives")?.listItemKeys.map(\.name) ?? []
    static let observabilityKeys = ManifestSchema.keyNames(at: "observability")

    func buildObservability(_ node: Node?) -> Manifest.Observability {
        let m = section(node, "observability", Self.observabilityKeys, required: false) ?? [:]
        let d = Manifest.Defaults.observability
        var buckets = d.histogramBuckets
        if let list = m["histogram_buckets"] {
            buckets = histogramBuckets(list) ?? d.histogramBuckets
        }
        return Manifest.Observability(
            prometheus: reader.boolean(m["prometheus"], "observability.prometheus") ?? d.prometheus,
            alertmanager: reader.boolean(m["alertmanager"], "observability.alertmanager") ?? d.alertmanager,
            prometheusImage: reader.checked(
                m["prometheus_image"], "observability.prometheus_image", ManifestGrammar.imageReference)
                ?? d.prometheusImage,
            prometheusPort: reader.port(m["prometheus_port"], "observability.prometheus_port") ?? d.prometheusPort,
            alertmanagerImage: reader.checked(
                m["alertmanager_image"], "observability.alertmanager_image", ManifestGrammar.imageReference)
                ?? d.alertmanagerImage,
            alertmanagerPort: reader.port(m["alertmanager_port"], "observability.alertmanager_port")
                ?? d.alertmanagerPort,
            scrapeInterval: reader.duration(
                m["scrape_interval"], "observability.scrape_interval",
                range: ManifestDuration(milliseconds: 1000)...ManifestDuration(milliseconds: 300_000))
                ?? d.scrapeInterval,
            histogramBuckets: buckets)
    }

    /// A list of durations (`[5ms, 10ms, 300ms, 1s]`), strictly increasing; in seconds.
    private func histogramBuckets(_ node: Node) -> [Double]? {
        let path = "observability.histogram_buckets"
        reader.noteRead(path)
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            reader.report(
                node, path,
                """
                \(path) must be a non-empty list of durations such as [5ms, 100ms, 300ms, 1s], got \
                \(reader.describe(node))
                """
            )
            return nil
        }
        var result: [ManifestDuration] = []
        for (index, item) in sequence.enumerated() {
            guard
                let value = reader.duration(
                    item, "\(path)[\(index)]",
                    range: ManifestDuration(milliseconds: 1)...ManifestDuration(milliseconds: 3_600_000))
            else { return nil }
            if let last = result.last, value <= last {
                reader.report(
                    item, "\(path)[\(index)]", "\(path) must be strictly increasing, got \(value) after \(last)")
                return nil
            }
            result.append(value)
        }
        return result.map(\.seconds)
    }

    func buildSLO(_ node: Node?, buckets: [Double]) -> Manifest.SLO? {
        guard let node else { return nil }
        guard let m = section(node, "slo", Self.sloKeys, required: false) else { return nil }
        var windowDays = 30
        if let w = m["window"] {
            if let text = reader.string(w, "slo.window") {
                if let days = Self.days(text), (1...365).contains(days) {
                    windowDays = days
                } else {
                    reader.report(
                        w, "slo.window",
                        "slo.window must be whole days from 1d to 365d such as 30d or 28d, got \(Quoting.quote(text))")
                }
            }
        }
        let changeWindow =
            reader.integer(m["change_window"], "slo.change_window", range: 1...10_000)
            ?? Manifest.Defaults.sloChangeWindow
        reader.noteRead("slo.objectives")
        guard let list = m["objectives"] else {
            reader.report(
                node, "slo.objectives",
                "slo.objectives is required: a list of objectives such as {name: availability, target: 99.5}")
            return nil
        }
        guard case .sequence(let items) = list, !items.isEmpty else {
            reader.report(
                list, "slo.objectives",
                "slo.objectives must be a non-empty list of objectives, got \(reader.describe(list))")
            return nil
        }
        var objectives: [Manifest.Objective] = []
        var seen: Set<String> = []
        var valid = true
        for (index, item) in items.enumerated() {
            let path = "slo.objectives[\(index)]"
            guard let o = section(item, path, Self.objectiveKeys, required: true) else {
                valid = false
                continue
            }
            let name = reader.checked(o["name"], "\(path).name", ManifestGrammar.objectiveName)
            if o["name"] == nil { reader.report(item, "\(path).name", "\(path).name is required") }
            let target = objectiveTarget(o["target"], "\(path).target")
            if o["target"] == nil {
                reader.report(item, "\(path).target", "\(path).target is required (a percentage such as 99.5)")
            }
            var threshold: ManifestDuration? = nil
            if let t = o["threshold"] {
                threshold = reader.duration(
                    t, "\(path).threshold",
                    range: ManifestDuration(milliseconds: 1)...ManifestDuration(milliseconds: 3_600_000))
                if let value = threshold, !buckets.contains(where: { Int(($0 * 1000).rounded()) == value.milliseconds })
                {
                    let known = buckets.map { ManifestDuration(milliseconds: Int(($0 * 1000).rounded())).description }
                        .joined(separator: ", ")
                    reader.report(
                        t, "\(path).threshold",
                        """
                        \(path).threshold must be one of the service's histogram bucket bounds \
                        (observability.histogram_buckets): \(known); got \(value). Pick one of them, or list the \
                        service's real buckets in observability.histogram_buckets
                        """
                    )
                    threshold = nil
                    valid = false
                }
            }
            if let name, !seen.insert(name).inserted {
                reader.report(
                    o["name"], "\(path).name",
                    "duplicate objective name '\(name)' in slo.objectives; each objective needs its own name")
                valid = false
            }
            guard let name, let target, o["threshold"] == nil || threshold != nil else {
                valid = false
                continue
            }
            objectives.append(
                Manifest.Objective(
                    name: name, indicator: threshold == nil ? .availability : .latency,
                    targetText: target, threshold: threshold))
        }
        guard valid else { return nil }
        return Manifest.SLO(windowDays: windowDays, objectives: objectives, changeWindow: changeWindow)
    }

    /// A percentage strictly between 0 and 100 written as a plain number (`99.5`, `99`), kept as its text.
    private func objectiveTarget(_ node: Node?, _ path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, scalar.style == .plain,
            CompiledPatterns.matches(scalar.string, #"^[0-9]{1,2}(\.[0-9]{1,6})?$|^100(\.0+)?$"#)
        else {
            reader.report(
                node, path,
                """
                \(path) must be a percentage written as a number such as 99.5 (more than 0, less than 100), got \
                \(reader.describe(node))
                """
            )
            return nil
        }
        guard let value = Double(scalar.string), value > 0, value < 100 else {
            reader.report(
                node, path,
                """
                \(path) must be more than 0 and less than 100 (100 leaves no error budget, so every error would \
                be an infinite burn rate), got \(scalar.string)
                """
            )
            return nil
        }
        // Normalised: no leading zeros, no trailing zeros after the point (99.50 → 99.5).
        var text = scalar.string
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        while text.count > 1, text.hasPrefix("0"), !text.hasPrefix("0.") { text.removeFirst() }
        return text
    }

    static func days(_ text: String) -> Int? {
        guard CompiledPatterns.matches(text, #"^[1-9][0-9]{0,2}d$"#) else { return nil }
        return Int(text.dropLast())
    }

    /// Ports of the observability services must not collide with the stack's other published ports.
    func checkObservability(_ o: Manifest.Observability, nginx: Manifest.Nginx, policy: Manifest.Policy, node: Node?) {
        var taken: [(String, Int)] = [("nginx.port", nginx.port), ("nginx.admin_port", nginx.adminPort)]
        if policy.engine == .opa, policy.opa.url == nil { taken.append(("policy.opa.port", policy.opa.port)) }
        if o.prometheus {
            if let clash = taken.first(where: { $0.1 == o.prometheusPort }) {
                reader.report(
                    node, "observability.prometheus_port",
                    """
                    observability.prometheus_port must differ from \(clash.0), both are \(o.prometheusPort); set \
                    observability.prometheus_port to a free port
                    """
                )
            }
            taken.append(("observability.prometheus_port", o.prometheusPort))
        }
        if o.alertmanager {
            if !o.prometheus {
                reader.report(
                    node, "observability.alertmanager",
                    """
                    observability.alertmanager needs observability.prometheus: true (Alertmanager only receives \
                    the alerts Prometheus sends)
                    """
                )
            }
            if let clash = taken.first(where: { $0.1 == o.alertmanagerPort }) {
                reader.report(
                    node, "observability.alertmanager_port",
                    """
                    observability.alertmanager_port must differ from \(clash.0), both are \(o.alertmanagerPort); \
                    set observability.alertmanager_port to a free port
                    """
                )
            }
        }
    }
}

extension ManifestGrammar {
    public static let objectiveNameRule = Rule(
        { objectiveName($0) }, pattern: #"^[a-z][a-z0-9_]{0,39}$"#,
        example: "availability", counterexample: "Availability")
    public static let sloWindowRule = Rule(
        { ManifestBuilder.days($0).map { (1...365).contains($0) } == true ? nil : "whole days from 1d to 365d" },
        pattern: #"^[1-9][0-9]{0,2}d$"#, example: "30d", counterexample: "30 days")
    public static let durationRule = Rule(
        { ManifestDuration.parse($0) == nil ? "a duration such as 300ms or 1s" : nil },
        pattern: Pattern.duration, example: "2s", counterexample: "2 seconds")

    /// An objective name: used in Prometheus label values, alert names and file names.
    public static func objectiveName(_ s: String) -> String? {
        CompiledPatterns.matches(s, #"^[a-z][a-z0-9_]{0,39}$"#)
            ? nil
            : "an objective name (lowercase letters, digits and '_', starting with a letter, at most 40 characters)"
    }
}
