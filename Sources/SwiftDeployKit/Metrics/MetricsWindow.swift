import Foundation

/// What the window reads and leaves out. Built from `manifest.metrics`.
public struct MetricsWindowSettings: Sendable, Equatable {
    /// Time between the two scrapes.
    public var window: ManifestDuration
    /// Fewer requests than this in the window make the evidence insufficient.
    public var minRequests: Int
    /// Request paths left out of every figure (exact match on the `path` label).
    public var excludePaths: [String]
    /// The request counter (labels `path`, `status_code`).
    public var requestsMetric: String
    /// The latency histogram in seconds (labels `path`, `le`).
    public var durationMetric: String

    public init(
        window: ManifestDuration = Manifest.Defaults.metricsWindow, minRequests: Int = Manifest.Defaults.minRequests,
        excludePaths: [String] = Manifest.Defaults.excludePaths,
        requestsMetric: String = "http_requests_total", durationMetric: String = "http_request_duration_seconds"
    ) {
        self.window = window
        self.minRequests = minRequests
        self.excludePaths = excludePaths
        self.requestsMetric = requestsMetric
        self.durationMetric = durationMetric
    }

    /// The manifest's settings, with `window` overriding `metrics.window` when given.
    public init(manifest: Manifest, window: ManifestDuration? = nil) {
        self.init(
            window: window ?? manifest.metrics.window, minRequests: manifest.metrics.minRequests,
            excludePaths: manifest.metrics.excludePaths)
    }
}

/// The figures a canary decision is made on, over one window.
public struct WindowFigures: Sendable, Equatable {
    /// Requests in the window (excluded paths left out).
    public var requests: Double
    /// Of those, answered 5xx.
    public var errors: Double
    /// errors / requests (0–1); nil when there were no requests.
    public var errorRate: Double?
    /// Requests per second over the measured window.
    public var requestRate: Double
    /// Latency quantiles in milliseconds from histogram bucket deltas (`histogram_quantile` semantics); nil without
    /// observations.
    public var p50Ms: Double?
    public var p95Ms: Double?
    public var p99Ms: Double?
    /// Observations in the latency histogram in the window.
    public var observations: Double
    /// The measured time between the two scrapes (or the range queried), in seconds.
    public var windowSeconds: Double
    /// Where the figures came from: `scrape <url>` or `prometheus <url>`.
    public var source: String
    /// Series that went down between the scrapes (a restart), handled as Prometheus `rate()` does.
    public var counterResets: [String]
    /// `chaos_active` from the demo service when it exposes it.
    public var chaosActive: Double?
    /// Why the evidence is too thin to decide on; empty when it suffices. Non-empty makes the decision inconclusive.
    public var insufficient: [String]
    /// Notes that do not block a decision (for example the counter resets), shown with the verdict.
    public var notes: [String]

    public init(
        requests: Double = 0, errors: Double = 0, errorRate: Double? = nil, requestRate: Double = 0,
        p50Ms: Double? = nil, p95Ms: Double? = nil, p99Ms: Double? = nil, observations: Double = 0,
        windowSeconds: Double = 0, source: String = "", counterResets: [String] = [], chaosActive: Double? = nil,
        insufficient: [String] = [], notes: [String] = []
    ) {
        self.requests = requests
        self.errors = errors
        self.errorRate = errorRate
        self.requestRate = requestRate
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
        self.observations = observations
        self.windowSeconds = windowSeconds
        self.source = source
        self.counterResets = counterResets
        self.chaosActive = chaosActive
        self.insufficient = insufficient
        self.notes = notes
    }

    /// `input.metrics` of the policy input. Missing figures are `null`, so a policy can tell them from zero.
    public var json: JSONValue {
        func number(_ value: Double?) -> JSONValue {
            guard let value, value.isFinite else { return .null }
            return .double(value)
        }
        var object: [String: JSONValue] = [
            "requests": number(requests),
            "errors": number(errors),
            "error_rate": number(errorRate),
            "error_rate_percent": number(errorRate.map { ($0 * 10_000).rounded() / 100 }),
            "request_rate": number(requestRate),
            "p50_ms": number(p50Ms),
            "p95_ms": number(p95Ms),
            "p99_ms": number(p99Ms),
            "observations": number(observations),
            "window_seconds": number(windowSeconds),
            "source": .string(source),
            "counter_resets": .array(counterResets.map { .string($0) }),
            "sufficient": .bool(insufficient.isEmpty),
        ]
        if let chaosActive {
            object["chaos_active"] = number(chaosActive)
            object["chaos"] = .bool(chaosActive > 0)
        }
        return .object(object)
    }
}

/// Turns two scrapes into ``WindowFigures``: counters differenced per series, a series that went down counted
/// from zero (Prometheus `rate()`'s reset rule: the increase is the new value), a series that appeared during the
/// window counted from zero, and latency quantiles from the summed bucket deltas by `le`.
public struct MetricsWindow: Sendable {
    public var settings: MetricsWindowSettings

    public init(settings: MetricsWindowSettings) { self.settings = settings }

    /// The figures between `first` and `second`. The elapsed time is the monotonic difference between the scrapes.
    public func figures(from first: MetricsSnapshot, to second: MetricsSnapshot) -> WindowFigures {
        let elapsed = max(second.monotonicSeconds - first.monotonicSeconds, 0)
        var figures = WindowFigures(windowSeconds: elapsed, source: "scrape \(second.source)")
        let excluded = Set(settings.excludePaths)
        var resets: [String] = []

        // Requests and errors.
        let before = index(first.samples(named: settings.requestsMetric))
        let afterSamples = second.samples(named: settings.requestsMetric)
        if afterSamples.isEmpty {
            figures.insufficient.append(
                """
                the scrape of \(second.source) has no \(settings.requestsMetric) counter; is it the service's \
                /metrics?
                """
            )
        }
        for sample in afterSamples {
            if let path = sample[label: "path"], excluded.contains(path) { continue }
            let delta = increase(before[sample.seriesKey], sample.value, key: sample.seriesKey, resets: &resets)
            figures.requests += delta
            let status = sample[label: "status_code"] ?? sample[label: "code"] ?? sample[label: "status"] ?? ""
            if status.count == 3, status.hasPrefix("5") { figures.errors += delta }
        }
        figures.errorRate = figures.requests > 0 ? figures.errors / figures.requests : nil
        figures.requestRate = elapsed > 0 ? figures.requests / elapsed : 0
        // A series of the first scrape the second no longer has (a replica replaced or removed within the window, its
        // counters gone with it) took its requests and errors since the first scrape along: figures without them
        // could only look healthier than what happened, so they are insufficient, never judged.
        let afterKeys = Set(afterSamples.map(\.seriesKey))
        let vanished = first.samples(named: settings.requestsMetric).filter { sample in
            !(sample[label: "path"].map(excluded.contains) ?? false) && !afterKeys.contains(sample.seriesKey)
        }
        if !vanished.isEmpty {
            let replicas = Set(vanished.compactMap { $0[label: "replica"] }).sorted()
            figures.insufficient.append(
                replicas.isEmpty
                    ? """
                    \(vanished.count) \(settings.requestsMetric) series of the first scrape are missing from the \
                    second (the service was replaced within the window?): their requests and errors since then \
                    are unknown; judge again over a window without a restart
                    """
                    : """
                    replica\(replicas.count == 1 ? "" : "s") \(replicas.joined(separator: ", ")) left within the \
                    window (replaced, rescheduled or scaled away): \(replicas.count == 1 ? "its" : "their") \
                    requests and errors since the first scrape are unknown; judge again over a window without a \
                    replica change
                    """
            )
        }

        // Latency histogram.
        let bucketName = settings.durationMetric + "_bucket"
        let bucketsBefore = index(first.samples(named: bucketName))
        let bucketsAfter = second.samples(named: bucketName)
        var byBound: [Double: Double] = [:]
        for sample in bucketsAfter {
            if let path = sample[label: "path"], excluded.contains(path) { continue }
            guard let le = sample[label: "le"], let bound = Double(le), !bound.isNaN else { continue }
            byBound[bound, default: 0] += increase(
                bucketsBefore[sample.seriesKey], sample.value, key: sample.seriesKey, resets: &resets)
        }
        let buckets = byBound.map { HistogramQuantile.Bucket(upperBound: $0.key, count: $0.value) }
        figures.observations = byBound[.infinity] ?? 0
        func milliseconds(_ q: Double) -> Double? {
            let value = HistogramQuantile.quantile(q, buckets: buckets)
            return value.isNaN ? nil : value * 1000
        }
        figures.p50Ms = milliseconds(0.5)
        figures.p95Ms = milliseconds(0.95)
        figures.p99Ms = milliseconds(0.99)

        if Double(settings.minRequests) > figures.requests, !afterSamples.isEmpty {
            figures.insufficient.append(
                String(
                    format:
                        """
                        only %@ requests in the %.1fs window, fewer than metrics.min_requests (%d): send traffic \
                        or lengthen the window
                        """,
                    formatCount(figures.requests), elapsed, settings.minRequests))
        }
        if bucketsAfter.isEmpty {
            figures.insufficient.append(
                """
                the scrape of \(second.source) has no \(settings.durationMetric) histogram, so no latency \
                quantile can be computed
                """
            )
        } else if figures.observations == 0, figures.requests > 0 {
            figures.insufficient.append(
                "\(settings.durationMetric) observed no request in the window, so no latency quantile can be computed")
        }
        if !resets.isEmpty {
            figures.counterResets = resets
            let shown = resets.prefix(3).joined(separator: ", ")
            figures.notes.append(
                """
                counter reset between the scrapes (the service restarted?): \(resets.count) series went down \
                (\(shown)\(resets.count > 3 ? ", …" : "")); counted from zero as Prometheus rate() does
                """
            )
        }
        figures.chaosActive = second.total("chaos_active")
        // Series the figures cannot show (a NaN sample, le="NaN", only +Inf buckets, a counter that went down
        // without a restart): the shared sanity check, so both sources refuse the same defects.
        for problem in EvidenceSanity.sampleProblems(first: first, second: second, settings: settings)
        where !figures.insufficient.contains(problem) {
            figures.insufficient.append(problem)
        }
        return EvidenceSanity.checked(figures, settings: settings)
    }

    private func index(_ samples: [MetricSample]) -> [String: Double] {
        var result: [String: Double] = [:]
        result.reserveCapacity(samples.count)
        for sample in samples { result[sample.seriesKey] = sample.value }
        return result
    }

    private func increase(_ before: Double?, _ after: Double, key: String, resets: inout [String]) -> Double {
        guard after.isFinite else { return 0 }
        guard let before, before.isFinite else { return after }  // a series born during the window starts at zero
        if after < before {
            resets.append(key)
            return after
        }
        return after - before
    }
}

func formatCount(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.2f", value)
}
