import Foundation

extension Manifest {
    /// The manifest's `slo:` block: service level objectives judged over a rolling window.
    public struct SLO: Sendable, Equatable {
        /// The compliance window (`slo.window`, whole days such as `30d`).
        public var windowDays: Int
        public var objectives: [Objective]
        /// How many recent changes the change failure rate is computed over (`slo.change_window`).
        public var changeWindow: Int

        /// `30d`: the window as Prometheus writes a range.
        public var windowText: String { "\(windowDays)d" }
        public var windowSeconds: Double { Double(windowDays) * 86_400 }
    }

    /// One objective: `target` percent of the requests are good.
    public struct Objective: Sendable, Equatable {
        public enum Indicator: String, Sendable, Equatable {
            /// Good means not answered 5xx.
            case availability
            /// Good means answered within `threshold`.
            case latency
        }

        /// `[a-z][a-z0-9_]*`: used in rule labels, alert names and runbook file names.
        public var name: String
        public var indicator: Indicator
        /// The target as written (`99.5`), kept as text so derived numbers are exact.
        public var targetText: String
        /// The latency threshold; set exactly when `indicator` is `.latency`.
        public var threshold: ManifestDuration?

        /// The target as a percentage (99.5).
        public var target: Double { Double(targetText)! }
        /// The target as a fraction (0.995), exact in decimal.
        public var targetRatio: Decimal { Decimal(string: targetText)! / 100 }
        /// The error budget as a fraction (0.005), exact in decimal.
        public var errorBudget: Decimal { 1 - targetRatio }
        /// The threshold in seconds, as the histogram's `le` bound.
        public var thresholdSeconds: Double? { threshold.map(\.seconds) }

        /// `availability` → `Availability`, `checkout_latency` → `CheckoutLatency`: the prefix of its alert names.
        public var camelName: String {
            name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }
    }

    /// The manifest's `observability:` block: the Prometheus (and Alertmanager) run in the stack.
    public struct Observability: Sendable, Equatable {
        public var prometheus: Bool
        public var alertmanager: Bool
        /// The image of the Prometheus service (built locally by scripts/build-images).
        public var prometheusImage: String
        /// Published on 127.0.0.1 only.
        public var prometheusPort: Int
        public var alertmanagerImage: String
        public var alertmanagerPort: Int
        /// Prometheus' scrape and rule evaluation interval.
        public var scrapeInterval: ManifestDuration
        /// The service's histogram bucket bounds (`http_request_duration_seconds`), in seconds: a latency
        /// objective's threshold must be one of them.
        public var histogramBuckets: [Double]

        /// Whether `init` writes `observability/`.
        public static func wanted(slo: SLO?, observability: Observability) -> Bool {
            slo != nil || observability.prometheus || observability.alertmanager
        }
    }

    /// The images of the observability services this manifest runs.
    public var observabilityImages: [String] {
        (observability.prometheus ? [observability.prometheusImage] : [])
            + (observability.alertmanager ? [observability.alertmanagerImage] : [])
    }

    /// Where `observability/` lives.
    public var observabilityDirectoryURL: URL { directory.appendingPathComponent("observability") }

    /// The Prometheus this stack runs (`observability.prometheus: true`), on the host's loopback.
    public var localPrometheusURL: String { "http://127.0.0.1:\(observability.prometheusPort)" }

    /// The Prometheus the SLO figures are read from: `metrics.prometheus_url`, else the stack's own Prometheus;
    /// nil when there is neither.
    public var sloPrometheusURL: String? {
        metrics.prometheusURL ?? (observability.prometheus ? localPrometheusURL : nil)
    }
}

extension Manifest.Defaults {
    public static let sloChangeWindow = 20
    public static let prometheusImage = "swiftdeploy/prometheus:bookworm"
    public static let prometheusPort = 9090
    public static let alertmanagerImage = "swiftdeploy/alertmanager:bookworm"
    public static let alertmanagerPort = 9093
    public static let scrapeInterval = ManifestDuration(milliseconds: 15_000)
    /// The demo service's buckets (swiftdeploy-api's `http_request_duration_seconds`).
    public static let histogramBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
        0.55, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2, 2.5, 5,
    ]
    public static let observability = Manifest.Observability(
        prometheus: false, alertmanager: false, prometheusImage: prometheusImage, prometheusPort: prometheusPort,
        alertmanagerImage: alertmanagerImage, alertmanagerPort: alertmanagerPort, scrapeInterval: scrapeInterval,
        histogramBuckets: histogramBuckets)
}
