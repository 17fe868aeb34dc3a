import Foundation

/// How to invoke Docker Compose on this machine: `docker compose` (v2) when the
/// plugin answers, else `docker-compose` (v1). `ComposeDetector` finds it.
public struct ComposeCommand: Sendable, Equatable {
    /// The program to run (`docker` or `docker-compose`).
    public let executable: String
    /// Arguments that come before Compose's own (`["compose"]` for v2).
    public let prefix: [String]
    /// The version Compose reported.
    public let version: String

    /// `docker compose` or `docker-compose`, for messages.
    public var displayName: String { ([executable] + prefix).joined(separator: " ") }

    /// The full argument list for `compose <arguments>` scoped to `project` and `file`.
    public func arguments(project: String, file: URL, _ arguments: [String]) -> [String] {
        prefix + ["-p", project, "-f", file.path] + arguments
    }
}
