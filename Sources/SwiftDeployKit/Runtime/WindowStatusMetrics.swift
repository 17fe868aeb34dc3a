import Foundation

/// The dashboard's traffic figures from the policy engine's metrics API: the manifest's
/// metrics source (its `/metrics` through nginx's admin listener, or Prometheus) over the
/// frame's window, excluded paths left out as for the canary gate.
public struct WindowStatusMetrics: StatusMetricsReading {
    public var sourceFactory: @Sendable (Manifest) -> MetricsSource

    public init(sourceFactory: @escaping @Sendable (Manifest) -> MetricsSource = { manifest in
        PolicyEvaluator.defaultMetricsSource(GateRequest(manifest: manifest, action: "status"))
    }) {
        self.sourceFactory = sourceFactory
    }

    public func figures(for manifest: Manifest, window: ManifestDuration) async -> Result<StatusFigures, StatusMetricsUnavailable> {
        let source = sourceFactory(manifest)
        do {
            let figures = try await source.window(settings: MetricsWindowSettings(manifest: manifest, window: window))
            return .success(StatusFigures(
                requestRate: figures.requestRate, errorRate: figures.errorRate, p50Ms: figures.p50Ms, p95Ms: figures.p95Ms,
                p99Ms: figures.p99Ms, chaos: figures.chaosActive.map(Self.chaosName), windowSeconds: figures.windowSeconds))
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
