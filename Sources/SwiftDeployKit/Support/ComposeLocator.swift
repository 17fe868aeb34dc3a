import Foundation

/// How to invoke Docker Compose on this machine: `docker compose` (v2) when the
/// plugin answers, else `docker-compose` (v1).
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

    /// Finds Compose: `docker compose version` first, then `docker-compose version`.
    /// Throws `ComposeLocatorError.notFound` naming both when neither works.
    public static func locate(runner: ProcessRunner = ProcessRunner()) throws -> ComposeCommand {
        var attempts: [String] = []
        if let result = try? runner.run("docker", ["compose", "version", "--short"], timeout: 20) {
            if result.succeeded {
                return ComposeCommand(executable: "docker", prefix: ["compose"], version: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            attempts.append("'docker compose version' failed: \(result.tail(1))")
        } else {
            attempts.append("'docker' is not installed")
        }
        if let result = try? runner.run("docker-compose", ["version", "--short"], timeout: 20) {
            if result.succeeded {
                return ComposeCommand(executable: "docker-compose", prefix: [], version: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            attempts.append("'docker-compose version' failed: \(result.tail(1))")
        } else {
            attempts.append("'docker-compose' is not installed")
        }
        throw ComposeLocatorError.notFound(attempts: attempts)
    }
}

public enum ComposeLocatorError: SwiftDeployFailure, Equatable {
    case notFound(attempts: [String])

    public var exitStatus: ExitStatus { .operationFailed }

    public var errorDescription: String? {
        switch self {
        case .notFound(let attempts):
            return "Docker Compose not found: tried 'docker compose' (v2) and 'docker-compose' (v1): \(attempts.joined(separator: "; ")); install the Compose v2 plugin or docker-compose"
        }
    }
}
