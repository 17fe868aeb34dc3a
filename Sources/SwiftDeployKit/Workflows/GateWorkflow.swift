import Foundation

/// What `gate` decided, and whether the history recorded every decision.
public struct GateOutcome: Sendable {
    public var report: DecisionReport
    public var manifest: Manifest
    /// The first decision the history could not record, and why (the later ones were not tried); nil when all were.
    /// The verdict stands either way.
    public var unrecorded: (domain: String, reason: String)?
}

/// `swiftdeploy gate <domain|all>`: load the manifest and the policy bundle, decide each domain on fresh evidence
/// (one collection for all of them), record every decision in the history before the verdict is returned, and time
/// the whole of it.
public struct GateWorkflow: Sendable {
    public var manifestURL: URL
    /// The manifest as messages name it (the command line's `--manifest`).
    public var displayPath: String
    /// A domain name, or `all`: every `swiftdeploy.<name>` package of `policy.dir` that applies to the manifest.
    public var domain: String
    /// `gate --metrics-url`: scrape this instead of the manifest's metrics source.
    public var metricsURL: URL?
    /// `gate --window`: the time between the two scrapes instead of `metrics.window`.
    public var window: ManifestDuration?
    public var failOnWarn: Bool
    public var gate: any PolicyGate
    /// The history of the loaded manifest.
    public var recorder: @Sendable (Manifest) -> any LifecycleRecording

    public init(
        manifestURL: URL, displayPath: String, domain: String, metricsURL: URL? = nil, window: ManifestDuration? = nil,
        failOnWarn: Bool = false, gate: any PolicyGate = PolicyEvaluator(),
        recorder: @escaping @Sendable (Manifest) -> any LifecycleRecording = { HistoryRecorder(manifest: $0) }
    ) {
        self.manifestURL = manifestURL
        self.displayPath = displayPath
        self.domain = domain
        self.metricsURL = metricsURL
        self.window = window
        self.failOnWarn = failOnWarn
        self.gate = gate
        self.recorder = recorder
    }

    /// Throws for an invalid manifest, policy directory or thresholds file, and an unknown domain; every other problem
    /// is an inconclusive decision. `progress` receives what is left out and what is collected.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> GateOutcome {
        let started = MonotonicClock.now()
        let manifest = try ManifestLoader().load(from: manifestURL, displayPath: displayPath)
        let bundle = try PolicyBundle.load(manifest: manifest)
        var domains = try bundle.resolveDomains(domain)
        // `all` means every domain that applies to this manifest: `slo` judges the manifest's objectives, so without an
        // slo block it is left out (asked by name, `gate slo` answers inconclusive instead).
        if domain == "all", manifest.slo == nil, domains.contains("slo") {
            domains.removeAll { $0 == "slo" }
            progress("slo: left out of 'all': the manifest has no slo block")
        }
        let request = GateRequest(manifest: manifest, action: "gate", metricsURL: metricsURL, window: window)
        if domains.contains(where: { PolicyInput.evidence(for: $0).contains(.metrics) }) {
            progress("collecting a \(request.window ?? manifest.metrics.window) metrics window…")
        }
        let decisions = await gate.evaluate(domains: domains, request: request)
        let totalMs = ((MonotonicClock.now() - started) * 1_000_000).rounded() / 1000
        var outcome = GateOutcome(
            report: DecisionReport(decisions: decisions, failOnWarn: failOnWarn, totalMs: totalMs),
            manifest: manifest)
        let history = recorder(manifest)
        for decision in decisions {
            if let problem = await history.recordReportingProblem(
                Self.record(decision, manifest: manifest), manifest: manifest)
            {
                outcome.unrecorded = (decision.domain, problem)
                break
            }
        }
        return outcome
    }

    /// A decision's record: the verdict as the outcome, `<domain> <verdict>: <first reason>` as the message, the
    /// decision with its input, its timings in `details.timings_ms` (the recorder adds its warnings).
    static func record(_ decision: PolicyDecision, manifest: Manifest) -> LifecycleRecord {
        let first = decision.reasons.first.map { ": \($0)" } ?? ""
        return LifecycleRecord(
            event: .gate, outcome: decision.verdict.rawValue,
            message: "\(decision.domain) \(decision.verdict.rawValue)\(first)",
            modeBefore: manifest.services.mode, modeAfter: manifest.services.mode, decision: decision,
            details: ["timings_ms": .object(decision.timingsMs.mapValues { .double($0) })])
    }
}
