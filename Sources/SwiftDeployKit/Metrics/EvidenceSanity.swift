import Foundation

/// The one sanity check every metrics source's evidence passes before a policy sees it. Insane evidence is never
/// judged: each defect is a reason in `WindowFigures.insufficient`, so the decision is inconclusive with it.
///
/// Figure level (every source; applied by the evaluator to whatever a source returns): non-finite or negative
/// figures, a latency quantile missing (null/NaN) although the histogram has observations, and fewer than 1 request
/// whatever `metrics.min_requests` says. Series level (``sampleProblems(first:second:settings:)``, the scrape
/// source, which sees series): non-finite or negative samples, a bucket whose `le` is not a number, a histogram
/// without a finite bucket, and a counter that goes down without a restart signature.
public enum EvidenceSanity {
    /// `figures` with every figure-level defect added to `insufficient` (each once).
    public static func checked(_ figures: WindowFigures, settings: MetricsWindowSettings) -> WindowFigures {
        var result = figures
        for problem in problems(figures, settings: settings) where !result.insufficient.contains(problem) {
            result.insufficient.append(problem)
        }
        return result
    }

    /// The figure-level defects of `figures`.
    public static func problems(_ figures: WindowFigures, settings: MetricsWindowSettings) -> [String] {
        var result: [String] = []
        let from = figures.source.isEmpty ? "the metrics source" : figures.source
        func check(_ name: String, _ value: Double?) {
            guard let value else { return }
            if !value.isFinite {
                result.append(
                    """
                    metrics \(name) is \(describe(value)) (from \(from)): a non-finite figure cannot be judged; \
                    check the service's counters and histogram
                    """
                )
            } else if value < 0 {
                result.append(
                    """
                    metrics \(name) is \(formatCount(value)) (from \(from)): a negative count, rate or latency \
                    cannot be judged; check the service's counters and histogram
                    """
                )
            }
        }
        check("requests", figures.requests)
        check("errors", figures.errors)
        check("error_rate", figures.errorRate)
        check("request_rate", figures.requestRate)
        check("observations", figures.observations)
        check("window_seconds", figures.windowSeconds)
        check("p50_ms", figures.p50Ms)
        check("p95_ms", figures.p95Ms)
        check("p99_ms", figures.p99Ms)
        check("chaos_active", figures.chaosActive)
        if figures.observations.isFinite, figures.observations > 0 {
            let missing = [("p50_ms", figures.p50Ms), ("p95_ms", figures.p95Ms), ("p99_ms", figures.p99Ms)]
                .filter { $0.1 == nil }.map(\.0)
            if !missing.isEmpty {
                result.append(
                    """
                    metrics \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") null although \
                    the latency histogram has \(formatCount(figures.observations)) observations in the window \
                    (from \(from)): the histogram cannot be read; check its buckets
                    """
                )
            }
        }
        if figures.requests.isFinite, figures.requests < 1, Double(settings.minRequests) <= figures.requests {
            result.append(
                """
                only \(formatCount(figures.requests)) requests in the window (from \(from)): no decision is made \
                on fewer than 1 request, whatever metrics.min_requests says; send traffic or lengthen the window
                """
            )
        }
        return result
    }

    /// The series-level defects of two scrapes, for the request counter and latency histogram of `settings`
    /// (excluded paths left out). `restarted` says whether the service shows a restart between them, which is
    /// the only reason a counter may go down.
    public static func sampleProblems(first: MetricsSnapshot, second: MetricsSnapshot, settings: MetricsWindowSettings)
        -> [String]
    {
        var result: [String] = []
        let excluded = Set(settings.excludePaths)
        let bucketName = settings.durationMetric + "_bucket"
        let names = [settings.requestsMetric, bucketName, settings.durationMetric + "_count"]
        for (label, snapshot) in [("first", first), ("second", second)] {
            for name in names {
                for sample in snapshot.samples(named: name) {
                    if let path = sample[label: "path"], excluded.contains(path) { continue }
                    if !sample.value.isFinite {
                        result.append(
                            """
                            \(sample.seriesKey) is \(describe(sample.value)) in the \(label) scrape of \
                            \(snapshot.source): a counter must be a finite number; the evidence cannot be trusted
                            """
                        )
                    } else if sample.value < 0 {
                        result.append(
                            """
                            \(sample.seriesKey) is \(formatCount(sample.value)) in the \(label) scrape of \
                            \(snapshot.source): a counter cannot be negative; the evidence cannot be trusted
                            """
                        )
                    }
                }
            }
        }
        let buckets = second.samples(named: bucketName).filter { sample in
            !(sample[label: "path"].map(excluded.contains) ?? false)
        }
        var finiteBound = false
        for sample in buckets {
            guard let le = sample[label: "le"], let bound = Double(le), !bound.isNaN else {
                result.append(
                    """
                    \(sample.seriesKey) has le=\((sample[label: "le"] ?? "").debugDescription), not a bucket \
                    bound: the latency histogram cannot be read
                    """
                )
                continue
            }
            if bound.isFinite { finiteBound = true }
        }
        if !buckets.isEmpty, !finiteBound {
            result.append(
                """
                \(bucketName) in \(second.source) has no finite bucket (only le=\"+Inf\"), so no latency quantile \
                can be computed
                """
            )
        }
        if !restarted(first: first, second: second) {
            var before: [String: Double] = [:]
            for name in names { for sample in first.samples(named: name) { before[sample.seriesKey] = sample.value } }
            for name in names {
                for sample in second.samples(named: name) {
                    if let path = sample[label: "path"], excluded.contains(path) { continue }
                    guard let old = before[sample.seriesKey], old.isFinite, sample.value.isFinite, sample.value < old
                    else { continue }
                    result.append(
                        """
                        \(sample.seriesKey) went down from \(formatCount(old)) to \(formatCount(sample.value)) \
                        between the scrapes without a restart (app_uptime_seconds and process_start_time_seconds \
                        show none): the counter cannot be trusted
                        """
                    )
                }
            }
        }
        return result
    }

    /// Whether the service restarted between the scrapes: `process_start_time_seconds` moved forward, or
    /// `app_uptime_seconds` advanced clearly less than the time between the scrapes.
    public static func restarted(first: MetricsSnapshot, second: MetricsSnapshot) -> Bool {
        if let start1 = first.total("process_start_time_seconds"),
            let start2 = second.total("process_start_time_seconds"),
            start1.isFinite, start2.isFinite, start2 > start1
        {
            return true
        }
        if let up1 = first.total("app_uptime_seconds"), let up2 = second.total("app_uptime_seconds"), up1.isFinite,
            up2.isFinite
        {
            let elapsed = max(second.monotonicSeconds - first.monotonicSeconds, 0)
            return up2 < up1 + elapsed - max(1, 0.1 * elapsed)
        }
        return false
    }

    static func describe(_ value: Double) -> String {
        value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf")
    }
}
