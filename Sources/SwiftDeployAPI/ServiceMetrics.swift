import Prometheus

/// The service's Prometheus metrics, exposed on `GET /metrics`:
///
/// - `http_requests_total{method, path, status_code}`: counter;
/// - `http_request_duration_seconds{method, path}`: histogram with `durationBuckets`;
/// - `app_uptime_seconds`: gauge, refreshed at each scrape;
/// - `app_mode`: gauge, 0 stable, 1 canary;
/// - `chaos_active`: gauge, 0 none, 1 slow, 2 error.
///
/// Labels are bounded: `path` is a known route or `other`, `method` a standard
/// method or `other`, so no client can grow the number of series.
final class ServiceMetrics: Sendable {
    /// Histogram buckets in seconds: 5 ms to 5 s, dense between 250 ms and 1 s so a
    /// p99 near 500 ms can be judged to within 50 ms.
    static let durationBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
        0.55, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2, 2.5, 5,
    ]
    /// The routes that get their own `path` label; anything else is `other`.
    static let knownPaths: Set<String> = ["/", "/healthz", "/metrics", "/chaos"]
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

    let registry: PrometheusCollectorRegistry
    private let uptime: Gauge
    private let mode: Gauge
    private let chaos: Gauge
    private let started: ContinuousClock.Instant

    init(mode: ServiceMode, started: ContinuousClock.Instant = .now) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.started = started
        self.uptime = registry.makeGauge(
            descriptor: .init(
                metricName: "app_uptime", unitName: "seconds", helpText: "Seconds since the service started."
            ))
        self.mode = registry.makeGauge(
            descriptor: .init(
                metricName: "app_mode", unitName: "", helpText: "Deployment mode: 0 stable, 1 canary."
            ))
        self.chaos = registry.makeGauge(
            descriptor: .init(
                metricName: "chaos_active", unitName: "", helpText: "Active chaos: 0 none, 1 slow, 2 error."
            ))
        self.mode.set(to: mode.gaugeValue)
        self.chaos.set(to: 0)
        self.uptime.set(to: 0)
    }

    /// The `path` label for a request path: the path itself for a known route, else `other`.
    static func pathLabel(_ path: String) -> String {
        knownPaths.contains(path) ? path : "other"
    }

    /// The `method` label: a standard method name, else `other`.
    static func methodLabel(_ method: String) -> String {
        knownMethods.contains(method) ? method : "other"
    }

    /// Records one finished request. `path` and `method` are raw; they are bounded here.
    func recordRequest(method: String, path: String, status: Int, seconds: Double) {
        let method = Self.methodLabel(method)
        let path = Self.pathLabel(path)
        registry.makeCounter(
            descriptor: .init(metricName: "http_requests", unitName: "total", helpText: "HTTP requests answered."),
            labels: [("method", method), ("path", path), ("status_code", String(status))]
        ).increment()
        registry.makeValueHistogram(
            descriptor: .init(
                metricName: "http_request_duration", unitName: "seconds",
                helpText: "Time from request head to response, chaos delays included."
            ),
            labels: [("method", method), ("path", path)],
            buckets: Self.durationBuckets
        ).record(seconds)
    }

    func setChaos(_ setting: ChaosState.Setting) {
        chaos.set(to: setting.gaugeValue)
    }

    var uptimeSeconds: Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// The Prometheus text exposition of every metric, uptime refreshed first.
    func exposition() -> [UInt8] {
        uptime.set(to: uptimeSeconds)
        return registry.emitToBuffer()
    }
}
