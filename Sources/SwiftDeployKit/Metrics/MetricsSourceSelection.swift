import Foundation

/// Which source gives a manifest's metrics: the one place `gate`, `status` and the rollout's stable side choose it.
public enum MetricsSourceSelection {
    /// `url` (`gate --metrics-url`) when given; else `metrics.source: prometheus` (never a silent fall back to scraping
    /// when it cannot be used); else every replica's own `/metrics` through nginx's admin route on Swarm, or on Compose
    /// with more than one replica; else the app's `/metrics` through nginx's admin listener.
    public static func source(for manifest: Manifest, url: URL? = nil) -> MetricsSource {
        if let url { return ScrapeMetricsSource(url: url) }
        let metrics = manifest.metrics
        if metrics.source == .prometheus {
            // A configured Prometheus that cannot be used is a failure, never a silent fall back to scraping.
            guard let text = metrics.prometheusURL, let url = URL(string: text), url.scheme == "http", url.host != nil
            else {
                return UnusableMetricsSource(
                    description: "prometheus \(metrics.prometheusURL ?? "(no URL)")",
                    reason:
                        """
                        metrics.source is prometheus but metrics.prometheus_url \
                        \(metrics.prometheusURL.map { $0.debugDescription } ?? "is not set"), not an http:// URL; \
                        fix it (swiftdeploy never falls back to scraping)
                        """
                )
            }
            return PrometheusMetricsSource(baseURL: url)
        }
        if manifest.runtime == .swarm {
            // Every replica's own /metrics, on every node, through nginx's admin route (docs/swarm.md).
            return SwarmReplicaMetricsSource(manifest: manifest, runtime: SwarmRuntime(manifest: manifest))
        }
        if manifest.services.replicas > 1 {
            // Compose with replicas: every replica's own /metrics through nginx's admin route, never one of them.
            return ReplicaMetricsSource.compose(manifest: manifest)
        }
        return ScrapeMetricsSource(url: manifest.adminMetricsURL)
    }
}
