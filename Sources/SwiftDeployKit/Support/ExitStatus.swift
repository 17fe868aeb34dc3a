import Foundation

/// The exit-code contract shared by every command (documented in README.md).
///
/// Tests assert these values; changing one is a breaking change for every CI
/// pipeline that calls `swiftdeploy`.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Success, or the policy allowed (a warning still counts as allowed unless `--fail-on-warn`).
    case success = 0
    /// A check failed or a policy denied.
    case failed = 1
    /// A required source (metrics, policy engine) was unavailable or the evidence too thin; nothing was changed.
    case inconclusive = 2
    /// The operation itself failed: Docker error, health timeout, I/O failure.
    case operationFailed = 3
    /// The command line was wrong.
    case usage = 64
    /// An input file (manifest, thresholds, policy) was invalid.
    case invalidInput = 65
    /// SIGINT or SIGTERM stopped the command before it finished: the programs it started were stopped, and an
    /// action it had begun is recorded as interrupted (128 + SIGINT, as a shell reports a Ctrl-C).
    case interrupted = 130
}

/// An error a user can act on: its `errorDescription` says what failed, the
/// value involved and what to do next; `exitStatus` maps it onto the contract.
/// Every layer's `XxxError` enum conforms to this.
public protocol SwiftDeployFailure: LocalizedError {
    var exitStatus: ExitStatus { get }
}
