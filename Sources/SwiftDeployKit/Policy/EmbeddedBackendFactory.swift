import Foundation

/// Makes the backend for `policy.engine: embedded`.
///
/// The embedded Rego engine is not in this build yet, so the embedded engine answers every domain
/// `inconclusive` with a reason that says how to get a decision today (`policy.engine: opa`). It never allows.
enum EmbeddedBackendFactory {
    static func make(_ manifest: Manifest) -> PolicyBackend {
        UnavailableBackend(engineDescription: "embedded",
                           reason: "the embedded Rego engine is not available in this build of swiftdeploy; set policy.engine: opa in \(manifest.directory.lastPathComponent)/manifest.yaml to decide with an OPA server")
    }
}
