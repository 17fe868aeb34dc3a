import Foundation

/// Makes the backend for `policy.engine: embedded`: the in-process Rego engine over the manifest's policy bundle.
/// A bundle that cannot be loaded (no directory, bad thresholds) gives a backend that answers every domain
/// `inconclusive` with the reason; it never allows.
enum EmbeddedBackendFactory {
    static func make(_ manifest: Manifest) -> PolicyBackend {
        do {
            return EmbeddedRegoBackend(
                bundle: try PolicyBundle.load(manifest: manifest), directoryName: manifest.policy.dir,
                budget: manifest.policy.timeout.seconds)
        } catch {
            let reason = (error as? SwiftDeployFailure)?.errorDescription ?? "\(error)"
            return UnavailableBackend(engineDescription: "embedded", reason: "embedded Rego engine: \(reason)")
        }
    }
}
