/// The embedded Rego engine: evaluates OPA's policy language (Rego v1) in
/// process, with no OPA binary or server. Knows nothing of deployments.
public enum Rego {
    /// The Rego language version this engine implements.
    public static let languageVersion = "v1"
}
