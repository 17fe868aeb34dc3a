import Foundation

/// Traffic figures over a short window, for the dashboard.
public struct StatusFigures: Sendable, Equatable {
    public var requestRate: Double
    /// Errors (5xx) over requests; nil when there were no requests.
    public var errorRate: Double?
    public var p50Ms: Double?
    public var p95Ms: Double?
    public var p99Ms: Double?
    /// `none`, `slow`, `error`, or nil when the service does not say.
    public var chaos: String?
    public var windowSeconds: Double

    public init(
        requestRate: Double, errorRate: Double?, p50Ms: Double?, p95Ms: Double?, p99Ms: Double?, chaos: String?,
        windowSeconds: Double
    ) {
        self.requestRate = requestRate
        self.errorRate = errorRate
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
        self.chaos = chaos
        self.windowSeconds = windowSeconds
    }
}

/// Reads the traffic figures of a deployed manifest (two scrapes of its metrics endpoint).
public protocol StatusMetricsReading: Sendable {
    /// The figures over `window`, or why there are none (the metrics endpoint did not answer, …).
    func figures(for manifest: Manifest, window: ManifestDuration) async -> Result<
        StatusFigures, StatusMetricsUnavailable
    >
}

/// Why a status frame has no traffic figures.
public struct StatusMetricsUnavailable: Error, Sendable, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// The dashboard's traffic figures from the policy engine's metrics API: the manifest's
/// metrics source (its `/metrics` through nginx's admin listener, or Prometheus) over the
/// frame's window, excluded paths left out as for the canary gate.
public struct WindowStatusMetrics: StatusMetricsReading {
    public var sourceFactory: @Sendable (Manifest) -> MetricsSource

    public init(
        sourceFactory: @escaping @Sendable (Manifest) -> MetricsSource = { MetricsSourceSelection.source(for: $0) }
    ) {
        self.sourceFactory = sourceFactory
    }

    public func figures(for manifest: Manifest, window: ManifestDuration) async -> Result<
        StatusFigures, StatusMetricsUnavailable
    > {
        let source = sourceFactory(manifest)
        do {
            let figures = try await source.window(settings: MetricsWindowSettings(manifest: manifest, window: window))
            return .success(
                StatusFigures(
                    requestRate: figures.requestRate, errorRate: figures.errorRate, p50Ms: figures.p50Ms,
                    p95Ms: figures.p95Ms,
                    p99Ms: figures.p99Ms, chaos: figures.chaosActive.map(Self.chaosName),
                    windowSeconds: figures.windowSeconds))
        } catch {
            return .failure(StatusMetricsUnavailable("\(source.description): \(error.localizedDescription)"))
        }
    }

    /// The demo service's `chaos_active` gauge: 0 none, 1 slow, 2 error.
    static func chaosName(_ value: Double) -> String {
        switch value {
        case 0: return "none"
        case 1: return "slow"
        case 2: return "error"
        default: return "unknown (\(value))"
        }
    }
}
