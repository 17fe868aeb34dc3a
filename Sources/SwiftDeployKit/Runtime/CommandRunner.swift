import Foundation

/// Runs external programs. The container runtime goes through this seam so
/// tests can see exactly which commands a workflow issues.
public protocol CommandRunning: Sendable {
    /// Runs `arguments[0]` (looked up on `PATH`) with the rest as arguments. Throws only when the
    /// program is not there (`RuntimeError.programNotFound`) or cannot be started (`RuntimeError.cannotStart`:
    /// not executable, not a program for this machine) or the calling task was cancelled
    /// (`CancellationError`, the program stopped); a non-zero exit or a timeout is a result, not an error.
    func run(_ arguments: [String], environment: [String: String]?, timeout: TimeInterval) async throws -> CommandResult
}

extension CommandRunning {
    public func run(_ arguments: [String], timeout: TimeInterval = 120) async throws -> CommandResult {
        try await run(arguments, environment: nil, timeout: timeout)
    }
}

/// Runs programs through `ProcessRunner`: this process's environment with `environment` laid over it, output
/// captured (bounded), the program terminated (SIGTERM, then SIGKILL after 2 s) when it outlives its timeout.
public struct SystemCommandRunner: CommandRunning {
    /// Extra environment laid over this process's environment for every command (e.g. `DOCKER_HOST`).
    public var environment: [String: String]

    public init(environment: [String: String] = [:]) {
        self.environment = environment
    }

    public func run(
        _ arguments: [String], environment extra: [String: String]?,
        timeout: TimeInterval
    ) async throws -> CommandResult {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        for (key, value) in extra ?? [:] { env[key] = value }
        do {
            return try await ProcessRunner.run(arguments, environment: env, timeout: timeout)
        } catch ProcessRunnerError.programNotFound(let program) {
            throw RuntimeError.programNotFound(program: program)
        } catch ProcessRunnerError.cannotStart(let program, let detail) {
            throw RuntimeError.cannotStart(program: program, detail: detail)
        }
    }

    /// The program's URL: itself when it contains a slash, else the first executable match on `PATH`.
    static func locate(_ program: String, path: String?) -> URL? { ProcessRunner.locate(program, path: path) }

    static func shellQuoted(_ word: String) -> String { ProcessRunner.shellQuoted(word) }
}
