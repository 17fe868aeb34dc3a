import Foundation

/// How long `deploy` and `promote` may take in all when `--timeout` is not given: one deadline for the whole action
/// (the stack deploy, Swarm's rolling update and the health wait share it), never a budget per step.
///
/// Compose recreates the app's container at once: 60 seconds. Swarm updates the replicas one at a time
/// (`parallelism: 1`, start-first) and watches each updated replica for `update_config.monitor` (the health check's
/// `interval × (retries + 1) + timeout`) before it calls the update complete, so a correct rolling update of N
/// replicas may take up to N × monitor: the default is that plus 30 seconds for the stack deploy, nginx and the health
/// path, and never less than 60 seconds (3 replicas with the default health check: 3 × 33s + 30s = 129s).
public struct WaitBudget: Sendable, Equatable {
    public static let minimum: TimeInterval = 60
    /// What a Swarm default adds to the rolling update for the stack deploy, nginx and the health path.
    public static let margin: TimeInterval = 30

    public var replicas: Int
    /// `update_config.monitor` in seconds; nil on Compose.
    public var monitor: TimeInterval?

    public init(manifest: Manifest) {
        replicas = manifest.services.replicas
        monitor =
            manifest.runtime == .swarm
            ? TimeInterval(manifest.services.healthcheck.swarmUpdateMonitor.milliseconds) / 1000 : nil
    }

    /// The longest a correct rolling update of the app may take on Swarm (replicas × monitor); nil on Compose.
    public var rollingUpdate: TimeInterval? { monitor.map { Double(replicas) * $0 } }

    /// The default `--timeout` of deploy and promote.
    public var defaultTimeout: TimeInterval {
        guard let rollingUpdate else { return Self.minimum }
        return max(Self.minimum, rollingUpdate + Self.margin)
    }

    /// How the default is derived, for help, errors and docs: `3 replicas × 33s update monitor + 30s = 129s`.
    public var explanation: String {
        guard let monitor, let rollingUpdate else { return "\(Int(Self.minimum))s" }
        let sum =
            "\(replicas) replica\(replicas == 1 ? "" : "s") × \(Int(monitor))s update monitor + \(Int(Self.margin))s"
        return rollingUpdate + Self.margin >= Self.minimum
            ? "\(sum) = \(Int(defaultTimeout))s" : "at least \(Int(Self.minimum))s (\(sum) is less)"
    }
}
