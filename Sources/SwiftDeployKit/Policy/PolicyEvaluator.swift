import Foundation

/// The concrete ``PolicyGate``: collects the evidence a domain needs (host facts for `infrastructure`, a metrics
/// window for `canary`, both for any other domain), builds the input document, asks the backend the manifest names
/// and turns its `deny`/`warn` sets into a verdict.
///
/// Never throws and never answers `allow` without evidence: a metrics source that fails or gives too little
/// (fewer than `min_requests`, no histogram), a host fact that cannot be read, or an engine that is missing or
/// fails all make the verdict `inconclusive`, with the reason. The counter-reset note of a window is added to the
/// reasons of whatever verdict follows.
public struct PolicyEvaluator: PolicyGate {
    /// Makes the engine for a manifest; the default follows `policy.engine`.
    public var backendFactory: @Sendable (Manifest) -> PolicyBackend
    /// Reads host facts for a manifest; the default reads the kernel.
    public var hostFacts: @Sendable (Manifest) async -> HostFacts
    /// Picks the metrics source for a request; the default follows `--metrics-url`, then `metrics.source`.
    public var metricsSourceFactory: @Sendable (GateRequest) -> MetricsSource
    /// Collects the `slo` domain's evidence (Prometheus and the history); the default is ``SLOCollector``.
    public var sloEvidence: @Sendable (GateRequest) async -> SLOEvidence = {
        await SLOCollector().collect(manifest: $0.manifest)
    }
    /// Loads the policy bundle whose threshold contracts every decision is checked against; the default reads the
    /// manifest's `policy.dir` and `policy.thresholds` (for both engines: the OPA server is given the same files).
    public var bundleLoader: @Sendable (Manifest) throws -> PolicyBundle

    public init(
        backendFactory: @escaping @Sendable (Manifest) -> PolicyBackend = PolicyEvaluator.defaultBackend,
        hostFacts: @escaping @Sendable (Manifest) async -> HostFacts = PolicyEvaluator.defaultHostFacts,
        metricsSourceFactory: @escaping @Sendable (GateRequest) -> MetricsSource = PolicyEvaluator.defaultMetricsSource,
        bundleLoader: @escaping @Sendable (Manifest) throws -> PolicyBundle = { try PolicyBundle.load(manifest: $0) }
    ) {
        self.backendFactory = backendFactory
        self.hostFacts = hostFacts
        self.metricsSourceFactory = metricsSourceFactory
        self.bundleLoader = bundleLoader
    }

    public func evaluate(domain: String, request: GateRequest) async -> PolicyDecision {
        await evaluate(domains: [domain], request: request)[0]
    }

    /// Decides several domains on one collection of evidence: host facts are read once and the metrics window
    /// (which takes `window` to collect) is measured once, however many domains need it.
    public func evaluate(domains: [String], request: GateRequest) async -> [PolicyDecision] {
        let needs = Set(domains.flatMap(PolicyInput.evidence(for:)))
        var timings: [String: Double] = [:]

        var host: HostFacts? = nil
        if needs.contains(.host) {
            let start = MonotonicClock.now()
            host = await hostFacts(request.manifest)
            timings["collect_host"] = elapsedMs(since: start)
        }

        var metrics: WindowFigures? = nil
        var metricsFailure: String? = nil
        if needs.contains(.metrics) {
            let start = MonotonicClock.now()
            let source = metricsSourceFactory(request)
            do {
                let settings = MetricsWindowSettings(manifest: request.manifest, window: request.window)
                metrics = EvidenceSanity.checked(try await source.window(settings: settings), settings: settings)
            } catch let error as SwiftDeployFailure {
                metricsFailure = error.errorDescription ?? "\(error)"
            } catch {
                metricsFailure = "metrics: \(source.description) failed: \(error)"
            }
            timings["collect_metrics"] = elapsedMs(since: start)
        }

        var slo: SLOEvidence? = nil
        if needs.contains(.slo) {
            let start = MonotonicClock.now()
            slo = await sloEvidence(request)
            timings["collect_slo"] = elapsedMs(since: start)
        }

        // The limits are a contract: a domain whose thresholds do not match what its policy declares is not decided.
        let limitProblems: (String) -> [String]
        do {
            let bundle = try bundleLoader(request.manifest)
            limitProblems = { bundle.thresholdProblems(for: $0) }
        } catch {
            let reason = (error as? SwiftDeployFailure)?.errorDescription ?? "\(error)"
            limitProblems = { _ in ["the policy limits cannot be checked: \(reason)"] }
        }

        let backend = backendFactory(request.manifest)
        var decisions: [PolicyDecision] = []
        for domain in domains {
            let evidence = PolicyInput.evidence(for: domain)
            let usesHost = evidence.contains(.host), usesMetrics = evidence.contains(.metrics),
                usesSLO = evidence.contains(.slo)
            let input = PolicyInput.document(
                request: request, domain: domain, host: usesHost ? host : nil,
                metrics: usesMetrics ? metrics : nil, slo: usesSLO ? slo : nil)
            var domainTimings = timings.filter { key, _ in
                (key == "collect_host" && usesHost) || (key == "collect_metrics" && usesMetrics)
                    || (key == "collect_slo" && usesSLO)
            }
            var missing: [String] = limitProblems(domain)
            if usesMetrics {
                if let metricsFailure { missing.append(metricsFailure) }
                missing.append(contentsOf: metrics?.insufficient ?? [])
            }
            if usesHost, let host { missing.append(contentsOf: host.problems) }
            if usesSLO { missing.append(contentsOf: slo?.insufficient ?? ["slo: no evidence was collected"]) }
            let notes = usesMetrics ? (metrics?.notes ?? []) : []

            guard missing.isEmpty else {
                decisions.append(
                    PolicyDecision(
                        domain: domain, verdict: .inconclusive, reasons: missing + notes,
                        engine: backend.engineDescription, input: input, timingsMs: domainTimings))
                continue
            }
            let start = MonotonicClock.now()
            let result = await backend.evaluate(domain: domain, input: input)
            domainTimings["evaluate"] = elapsedMs(since: start)
            decisions.append(
                PolicyEvaluator.decision(
                    domain: domain, result: result, notes: notes,
                    engine: backend.engineDescription, input: input, timings: domainTimings))
        }
        return decisions
    }

    /// Decides `domain` on an input document built elsewhere (a rollout step's two-sided evidence) under the same
    /// fail-closed rules as ``evaluate(domains:request:)``: the domain's threshold contract is checked against
    /// thresholds.json, and any problem there or in `insufficient` makes the decision inconclusive with it as a
    /// reason; the engine is asked only when there is none.
    public func decide(
        domain: String, manifest: Manifest, input: JSONValue, insufficient: [String],
        notes: [String] = []
    ) async -> PolicyDecision {
        var missing: [String]
        do {
            missing = try bundleLoader(manifest).thresholdProblems(for: domain)
        } catch {
            missing = [
                "the policy limits cannot be checked: \((error as? SwiftDeployFailure)?.errorDescription ?? "\(error)")"
            ]
        }
        missing += insufficient
        let backend = backendFactory(manifest)
        guard missing.isEmpty else {
            return PolicyDecision(
                domain: domain, verdict: .inconclusive, reasons: missing + notes, engine: backend.engineDescription,
                input: input)
        }
        let start = MonotonicClock.now()
        let result = await backend.evaluate(domain: domain, input: input)
        return PolicyEvaluator.decision(
            domain: domain, result: result, notes: notes, engine: backend.engineDescription,
            input: input, timings: ["evaluate": elapsedMs(since: start)])
    }

    /// The verdict rule: deny when `deny` is non-empty, warn when only `warn` is, allow otherwise; inconclusive when
    /// the engine could not decide.
    public static func decision(
        domain: String, result: BackendResult, notes: [String] = [], engine: String,
        input: JSONValue, timings: [String: Double] = [:]
    ) -> PolicyDecision {
        switch result {
        case .unavailable(let reason):
            return PolicyDecision(
                domain: domain, verdict: .inconclusive, reasons: [reason] + notes, engine: engine,
                input: input, timingsMs: timings)
        case .decided(let deny, let warn) where !deny.isEmpty:
            return PolicyDecision(
                domain: domain, verdict: .deny, reasons: deny + notes, warnings: warn, engine: engine,
                input: input, timingsMs: timings)
        case .decided(_, let warn) where !warn.isEmpty:
            return PolicyDecision(
                domain: domain, verdict: .warn, reasons: warn + notes, engine: engine, input: input,
                timingsMs: timings)
        case .decided:
            return PolicyDecision(
                domain: domain, verdict: .allow, reasons: notes, engine: engine, input: input,
                timingsMs: timings)
        }
    }

    // MARK: Defaults

    /// `policy.engine: opa` → ``OPAServerBackend`` at `policy.opa.url` (or the sidecar on 127.0.0.1:`policy.opa.port`);
    /// `embedded` → the in-process Rego engine over the policy bundle.
    @Sendable public static func defaultBackend(_ manifest: Manifest) -> PolicyBackend {
        switch manifest.policy.engine {
        case .opa:
            let text = manifest.policy.opa.url ?? "http://127.0.0.1:\(manifest.policy.opa.port)"
            guard let url = URL(string: text) else {
                return UnavailableBackend(
                    engineDescription: "opa \(text)", reason: "policy.opa.url \(text.debugDescription) is not a URL")
            }
            let budget = manifest.policy.timeout.seconds
            return OPAServerBackend(
                baseURL: url,
                limits: HTTPLimits(
                    connectTimeout: min(2, budget), totalTimeout: budget,
                    maxBodyBytes: 4 << 20))
        case .embedded:
            return EmbeddedBackendFactory.make(manifest)
        }
    }

    @Sendable public static func defaultHostFacts(_ manifest: Manifest) async -> HostFacts {
        await HostFactsCollector(fallbackDirectory: manifest.directory.path).collect()
    }

    /// The metrics source of a request: ``MetricsSourceSelection`` with `--metrics-url`.
    @Sendable public static func defaultMetricsSource(_ request: GateRequest) -> MetricsSource {
        MetricsSourceSelection.source(for: request.manifest, url: request.metricsURL)
    }
}

func elapsedMs(since start: Double) -> Double {
    ((MonotonicClock.now() - start) * 1_000_000).rounded() / 1000
}
