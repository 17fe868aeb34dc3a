import Foundation

/// Where the canary figures come from: the service's own `/metrics` scraped twice, or a Prometheus server.
public protocol MetricsSource: Sendable {
    /// `scrape <url>` or `prometheus <url>`, shown in reasons and recorded in the input.
    var description: String { get }
    /// The figures over `settings.window`. Throws ``MetricsError`` when the source cannot give them;
    /// thin evidence is not an error but `WindowFigures.insufficient`.
    func window(settings: MetricsWindowSettings) async throws -> WindowFigures
}

/// Something that waits; tests replace it to keep windows short without sleeping.
public protocol Sleeper: Sendable {
    func sleep(seconds: Double) async
}

public struct TaskSleeper: Sleeper {
    public init() {}
    public func sleep(seconds: Double) async {
        guard seconds > 0 else { return }
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
    }
}

/// A source that cannot be used as configured (e.g. `metrics.source: prometheus` without a usable URL): every window
/// fails with the reason, so the decision is inconclusive. It never falls back to another source.
public struct UnusableMetricsSource: MetricsSource {
    public var description: String
    public var reason: String
    public init(description: String, reason: String) {
        self.description = description
        self.reason = reason
    }
    public func window(settings: MetricsWindowSettings) async throws -> WindowFigures {
        throw MetricsError.unusable(source: description, reason: reason)
    }
}

/// Scrapes the service's exposition endpoint: one snapshot for `status`, or two `window` apart for a decision.
public struct ScrapeMetricsSource: MetricsSource {
    public var url: URL
    public var transport: HTTPTransport
    public var limits: HTTPLimits
    public var sleeper: Sleeper

    public init(
        url: URL, transport: HTTPTransport = SocketHTTPClient(), limits: HTTPLimits = HTTPLimits(),
        sleeper: Sleeper = TaskSleeper()
    ) {
        self.url = url
        self.transport = transport
        self.limits = limits
        self.sleeper = sleeper
    }

    public var description: String { "scrape \(url.absoluteString)" }

    /// One scrape, parsed. Throws ``MetricsError``: unreachable (refused, timed out, too large), an HTTP status, or
    /// unparsable.
    /// `status` calls this for its dashboard.
    public func snapshot() async throws -> MetricsSnapshot {
        let shown = url.absoluteString
        let response: HTTPResponse
        do {
            response = try await transport.send(
                method: "GET", url: url,
                headers: ["Accept": "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5"],
                body: nil, limits: limits)
        } catch let error as HTTPClientError {
            throw MetricsError.unreachable(error)
        }
        guard (200..<300).contains(response.status) else {
            let excerpt = String(decoding: response.body.prefix(120), as: UTF8.self)
            throw MetricsError.httpStatus(url: shown, status: response.status, excerpt: excerpt)
        }
        do {
            return try MetricsSnapshot.parse(
                response.body, source: shown, contentType: response.headers["content-type"])
        } catch let error as ExpositionError {
            throw MetricsError.unparsable(url: shown, error)
        }
    }

    /// Two scrapes `settings.window` apart, differenced into figures.
    public func window(settings: MetricsWindowSettings) async throws -> WindowFigures {
        let first = try await snapshot()
        await sleeper.sleep(seconds: settings.window.seconds - (MonotonicClock.now() - first.monotonicSeconds))
        let second = try await snapshot()
        return MetricsWindow(settings: settings).figures(from: first, to: second)
    }
}

/// Instant PromQL queries over a Prometheus server's HTTP API (`GET /api/v1/query`) for the same figures:
/// `increase()` over the window for requests and errors, `histogram_quantile()` over summed bucket increases for
/// latency.
/// Prometheus extrapolates `increase()` to the window's edges, so its counts may be fractional.
public struct PrometheusMetricsSource: MetricsSource {
    public var baseURL: URL
    public var transport: HTTPTransport
    public var limits: HTTPLimits

    public init(baseURL: URL, transport: HTTPTransport = SocketHTTPClient(), limits: HTTPLimits = HTTPLimits()) {
        self.baseURL = baseURL
        self.transport = transport
        self.limits = limits
    }

    public var description: String { "prometheus \(baseURL.absoluteString)" }

    /// The PromQL for each figure, so they can be shown and tested.
    public static func queries(settings: MetricsWindowSettings) -> [String: String] {
        let range = "[\(settings.window)]"
        var matcher = ""
        if !settings.excludePaths.isEmpty {
            let pattern = settings.excludePaths.map(regexEscape).joined(separator: "|")
            matcher = "path!~\"\(promQLEscape(pattern))\""
        }
        let errorMatcher = (matcher.isEmpty ? "" : matcher + ",") + "status_code=~\"5..\""
        let requests = settings.requestsMetric
        let buckets = settings.durationMetric + "_bucket"
        var result: [String: String] = [
            "requests": "sum(increase(\(requests){\(matcher)}\(range)))",
            "errors": "sum(increase(\(requests){\(errorMatcher)}\(range)))",
            "observations": "sum(increase(\(settings.durationMetric)_count{\(matcher)}\(range)))",
            "chaos_active": "max(chaos_active)",
        ]
        for (key, q) in [("p50_ms", "0.5"), ("p95_ms", "0.95"), ("p99_ms", "0.99")] {
            result[key] = "histogram_quantile(\(q), sum by (le) (increase(\(buckets){\(matcher)}\(range))))"
        }
        // `{}` alone is not a valid selector; drop empty matchers.
        return result.mapValues { $0.replacingOccurrences(of: "{}", with: "") }
    }

    public func window(settings: MetricsWindowSettings) async throws -> WindowFigures {
        let queries = Self.queries(settings: settings)
        // Every query is evaluated at the same instant, so requests, errors and quantiles describe one window
        // even when a scrape lands between two of the HTTP calls.
        let at = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
        var values: [String: Double?] = [:]
        for key in queries.keys.sorted() {
            values[key] = try await instant(queries[key]!, at: at)
        }
        var figures = WindowFigures(windowSeconds: settings.window.seconds, source: description)
        // NaN stays NaN (the shared sanity check refuses it); only an empty vector (no such series) is absent.
        let requests = values["requests"] ?? nil
        if requests == nil {
            figures.insufficient.append(
                """
                Prometheus at \(baseURL.absoluteString) has no \(settings.requestsMetric) samples in the last \
                \(settings.window); is it scraping the service?
                """
            )
        }
        figures.requests = requests ?? 0
        figures.errors = (values["errors"] ?? nil) ?? 0  // no 5xx series at all: no errors
        if figures.requests > 0 {
            figures.errorRate = figures.errors / figures.requests
        } else {
            figures.errorRate = figures.requests.isNaN ? Double.nan : nil
        }
        figures.requestRate = settings.window.seconds > 0 ? figures.requests / settings.window.seconds : 0
        figures.observations = (values["observations"] ?? nil) ?? 0
        // histogram_quantile answers NaN when it cannot compute a quantile: that is "no quantile", which the sanity
        // check weighs against the observations.
        func ms(_ key: String) -> Double? { (values[key] ?? nil).flatMap { $0.isNaN ? nil : $0 * 1000 } }
        figures.p50Ms = ms("p50_ms")
        figures.p95Ms = ms("p95_ms")
        figures.p99Ms = ms("p99_ms")
        figures.chaosActive = values["chaos_active"] ?? nil
        if let requests, requests.isFinite, figures.requests < Double(settings.minRequests) {
            figures.insufficient.append(
                String(
                    format:
                        """
                        only %.1f requests in the last %@ according to Prometheus, fewer than \
                        metrics.min_requests (%d)
                        """,
                    figures.requests, settings.window.description, settings.minRequests))
        }
        if requests != nil, figures.p99Ms == nil, figures.observations == 0 {
            figures.insufficient.append(
                """
                Prometheus has no \(settings.durationMetric) bucket increases in the last \(settings.window), so \
                no latency quantile can be computed
                """
            )
        }
        return EvidenceSanity.checked(figures, settings: settings)
    }

    /// One instant query (at `at`, Unix seconds, or Prometheus' now): the single value of a one-element vector
    /// (NaN and infinities kept as such), nil for an empty vector.
    public func instant(_ query: String, at: Double? = nil) async throws -> Double? {
        let result = try await PrometheusQuery(transport: transport, limits: limits).instantVector(
            base: baseURL, query: query, at: at)
        guard let first = result.first else { return nil }
        guard result.count == 1, let value = PrometheusQuery.value(of: first) else {
            throw MetricsError.prometheus(
                url: baseURL.absoluteString, query: query,
                reason: "expected one [timestamp, \"value\"] sample, got \(result.count) series")
        }
        return value
    }
}

private func regexEscape(_ text: String) -> String {
    var out = ""
    for ch in text {
        if "\\.+*?()|[]{}^$".contains(ch) { out.append("\\") }
        out.append(ch)
    }
    return out
}

private func promQLEscape(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
}
