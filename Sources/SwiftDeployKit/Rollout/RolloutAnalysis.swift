import Foundation

/// The evidence of one step: a metrics window of each side over the same interval, and the comparison.
public struct StepEvidence: Sendable {
    /// The candidate's window (`input.metrics`).
    public var canary: WindowFigures
    /// The stable side's window over the same interval (`input.baseline`).
    public var baseline: WindowFigures
    /// Per-sample series, one value per sampling period in which the side served requests.
    public var canaryLatencyMs: [Double]
    public var baselineLatencyMs: [Double]
    public var canaryErrorRates: [Double]
    public var baselineErrorRates: [Double]
    /// Samples taken (scrapes of each side).
    public var samples: Int
    /// What could not be read during the step (a replica that did not answer, on Swarm), each named once. Any doubt
    /// makes the step inconclusive.
    public var doubts: [String] = []

    /// The comparison's inputs that are not finite numbers (NaN or ±Inf in a side's per-sample series or figures),
    /// named. The comparison shows such a figure as null, which no rule fires on; the step is therefore judged
    /// inconclusive instead of being let through on what could not be measured.
    public var nonFinite: [String] {
        var found: [String] = []
        for (name, series) in [
            ("the candidate's per-sample latency", canaryLatencyMs),
            ("the baseline's per-sample latency", baselineLatencyMs),
            ("the candidate's per-sample error rate", canaryErrorRates),
            ("the baseline's per-sample error rate", baselineErrorRates),
        ] {
            if let bad = series.first(where: { !$0.isFinite }) {
                found.append("\(name) (\(EvidenceSanity.describe(bad)))")
            }
        }
        for (side, f) in [("candidate", canary), ("baseline", baseline)] {
            for (name, value) in [
                ("error_rate", f.errorRate), ("p50_ms", f.p50Ms), ("p95_ms", f.p95Ms), ("p99_ms", f.p99Ms),
            ] {
                if let value, !value.isFinite {
                    found.append("the \(side)'s \(name) (\(EvidenceSanity.describe(value)))")
                }
            }
        }
        return found
    }

    /// `input.comparison`: error-rate difference, latency quantile ratios (canary / baseline), and the Mann–Whitney
    /// U test of the per-sample latency and error-rate series. A figure that cannot be computed is null.
    public var comparison: JSONValue {
        func number(_ value: Double?) -> JSONValue {
            guard let value, value.isFinite else { return .null }
            return .double(value)
        }
        func ratio(_ a: Double?, _ b: Double?) -> Double? {
            guard let a, let b, b > 0 else { return nil }
            return a / b
        }
        var difference: Double? = nil
        if let c = canary.errorRate, let b = baseline.errorRate { difference = c - b }
        return .object([
            "error_rate_difference": number(difference),
            "p50_ratio": number(ratio(canary.p50Ms, baseline.p50Ms)),
            "p95_ratio": number(ratio(canary.p95Ms, baseline.p95Ms)),
            "p99_ratio": number(ratio(canary.p99Ms, baseline.p99Ms)),
            "latency": MannWhitneyU.test(canaryLatencyMs, baselineLatencyMs)?.json ?? .null,
            "error_rate": MannWhitneyU.test(canaryErrorRates, baselineErrorRates)?.json ?? .null,
            "samples": .int(Int64(samples)),
        ])
    }
}

/// Scrapes both sides of a rollout through the admin listener (`/canary/metrics`, `/stable/metrics`) every
/// `sampleEvery` seconds for one interval, and turns the scrapes into ``StepEvidence``.
public struct RolloutAnalyzer: Sendable {
    public var manifest: Manifest
    public var transport: HTTPTransport
    public var sleeper: Sleeper
    /// Reads each side another way (Swarm: every replica); nil scrapes the admin listener's side prefixes.
    public var sides: (any RolloutSideReading)?

    public init(
        manifest: Manifest, transport: HTTPTransport = SocketHTTPClient(), sleeper: Sleeper = TaskSleeper(),
        sides: (any RolloutSideReading)? = nil
    ) {
        self.manifest = manifest
        self.transport = transport
        self.sleeper = sleeper
        self.sides = sides
    }

    public var canaryMetricsURL: URL { URL(string: "http://127.0.0.1:\(manifest.nginx.adminPort)/canary/metrics")! }
    public var stableMetricsURL: URL { URL(string: "http://127.0.0.1:\(manifest.nginx.adminPort)/stable/metrics")! }
    /// True when the stable side runs more than one replica on Compose, whose metrics are then gathered per replica.
    var stableReplicated: Bool { manifest.runtime == .compose && manifest.services.replicas > 1 }
    public var canaryHealthURL: URL {
        URL(string: "http://127.0.0.1:\(manifest.nginx.adminPort)/canary\(manifest.services.healthcheck.path)")!
    }

    /// The sampling period for an interval: about ten samples a step, between 1 and 5 seconds apart.
    public static func samplePeriod(for interval: ManifestDuration) -> Double {
        min(5, max(1, interval.seconds / 10))
    }

    /// Samples for `interval`; `interrupt` is asked after every sample and ends the step early when it answers
    /// non-nil (a `rollout pause|abort|promote` request), returning that answer instead of evidence.
    public func measure(
        interval: ManifestDuration,
        interrupt: @Sendable () -> String? = { nil }
    ) async throws -> (evidence: StepEvidence?, interrupted: String?) {
        let canarySource = ScrapeMetricsSource(url: canaryMetricsURL, transport: transport)
        // Compose with replicas: the stable side is every replica's own /metrics (one /stable/metrics scrape would
        // reach
        // one replica, a different one each time); the candidate is one container.
        let stableSource: any SnapshotTaking =
            stableReplicated
            ? ReplicaMetricsSource.compose(manifest: manifest, transport: transport)
            : ScrapeMetricsSource(url: stableMetricsURL, transport: transport)
        var doubts: [String] = []
        func take(canary: Bool) async throws -> MetricsSnapshot {
            guard let sides else {
                return canary ? try await canarySource.snapshot() : try await stableSource.snapshot()
            }
            let read = try await sides.snapshot(canary: canary)
            for doubt in read.doubts where !doubts.contains(doubt) { doubts.append(doubt) }
            return read.snapshot
        }
        let period = Self.samplePeriod(for: interval)
        var canarySnaps = [try await take(canary: true)]
        var stableSnaps = [try await take(canary: false)]
        let start = canarySnaps[0].monotonicSeconds
        while MonotonicClock.now() - start < interval.seconds - 0.05 {
            let remaining = interval.seconds - (MonotonicClock.now() - start)
            await sleeper.sleep(seconds: min(period, max(remaining, 0)))
            canarySnaps.append(try await take(canary: true))
            stableSnaps.append(try await take(canary: false))
            if let request = interrupt() { return (nil, request) }
        }
        var evidence = evidence(canary: canarySnaps, stable: stableSnaps)
        evidence.doubts = doubts
        return (evidence, nil)
    }

    /// The evidence from two equally long series of snapshots.
    public func evidence(canary: [MetricsSnapshot], stable: [MetricsSnapshot]) -> StepEvidence {
        let window = MetricsWindow(settings: MetricsWindowSettings(manifest: manifest))
        var canaryFigures = window.figures(from: canary.first!, to: canary.last!)
        var stableFigures = window.figures(from: stable.first!, to: stable.last!)
        canaryFigures.source = sides?.describe(canary: true) ?? "scrape \(canaryMetricsURL.absoluteString)"
        stableFigures.source =
            sides?.describe(canary: false)
            ?? (stable.first?.replicas == nil ? "scrape \(stableMetricsURL.absoluteString)" : stable.first!.source)
        if sides == nil, stable.first?.replicas != nil {
            // Compose's replicated stable side (Swarm's sides report their own doubts, replica by replica).
            stableFigures.insufficient += ReplicaMetricsSource.coverageProblems(
                first: stable.first!, last: stable.last!,
                service: manifest.services.name, desired: manifest.services.replicas)
        }
        // The baseline's request count does not gate the decision: an idle stable side is not the candidate's fault.
        stableFigures.insufficient = stableFigures.insufficient.filter { !$0.contains("metrics.min_requests") }
        func series(_ snaps: [MetricsSnapshot]) -> (latency: [Double], errors: [Double]) {
            var latency: [Double] = [], errors: [Double] = []
            for (a, b) in zip(snaps, snaps.dropFirst()) {
                let f = window.figures(from: a, to: b)
                guard f.requests > 0 else { continue }
                if let rate = f.errorRate { errors.append(rate) }
                if let mean = meanLatencyMs(from: a, to: b) { latency.append(mean) }
            }
            return (latency, errors)
        }
        let c = series(canary), s = series(stable)
        return StepEvidence(
            canary: canaryFigures, baseline: stableFigures, canaryLatencyMs: c.latency, baselineLatencyMs: s.latency,
            canaryErrorRates: c.errors, baselineErrorRates: s.errors, samples: canary.count - 1)
    }

    /// The mean request latency between two scrapes, from the histogram's `_sum` and `_count` (excluded paths left
    /// out).
    func meanLatencyMs(from a: MetricsSnapshot, to b: MetricsSnapshot) -> Double? {
        let excluded = Set(manifest.metrics.excludePaths)
        func total(_ snap: MetricsSnapshot, _ name: String) -> [String: Double] {
            var out: [String: Double] = [:]
            for sample in snap.samples(named: name) {
                if let path = sample[label: "path"], excluded.contains(path) { continue }
                out[sample.seriesKey] = sample.value
            }
            return out
        }
        func increase(_ name: String) -> Double {
            let before = total(a, name)
            return total(b, name).reduce(0) { sum, entry in
                let old = before[entry.key] ?? 0
                return sum + (entry.value >= old ? entry.value - old : entry.value)
            }
        }
        let count = increase("http_request_duration_seconds_count")
        guard count > 0 else { return nil }
        return increase("http_request_duration_seconds_sum") / count * 1000
    }
}
