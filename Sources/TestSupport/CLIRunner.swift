import Foundation
import SwiftDeployKit

/// Runs the built `swiftdeploy` binary as a subprocess, the way a user or a CI
/// job does, and captures stdout, stderr and the exit status.
public struct CLIResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

public enum CLIRunner {
    /// The built `swiftdeploy` executable next to the test bundle.
    public static var binary: URL { RepositoryPaths.builtProduct("swiftdeploy") }

    /// Runs `swiftdeploy arguments…` in `directory` with `environment` added to a
    /// minimal environment (PATH, HOME) plus `NO_COLOR=1`. Bounded by `timeout` seconds.
    /// `input`, when given, is written to the standard input by the runner's poll thread (then closed), so a child that
    /// fills its output pipes before reading its input cannot deadlock the test; otherwise the input is /dev/null.
    /// Project locks go to `<directory>/.swiftdeploy-test-locks` unless `environment` names
    /// `SWIFTDEPLOY_LOCK_DIR`, so tests running in parallel never share a host-wide lock.
    /// Async: the test's task is suspended while the program runs, so no thread of the cooperative pool waits on it
    /// (the suite runs its tests in parallel in one process).
    public static func run(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:],
        input: String? = nil, timeout: TimeInterval = 300
    ) async throws -> CLIResult {
        try await run(
            executable: binary, arguments, in: directory, environment: environment, input: input, timeout: timeout)
    }

    /// `run` for any executable (tests of the runner itself use a shell). Through `ProcessRunner`: output bounded,
    /// the input written by the runner's own thread, at the timeout SIGTERM to the program's process group and
    /// SIGKILL 3 s later.
    public static func run(
        executable: URL, _ arguments: [String], in directory: URL, environment: [String: String] = [:],
        input: String? = nil, timeout: TimeInterval = 300
    ) async throws -> CLIResult {
        let result = try await start(
            executable: executable, arguments, in: directory, environment: environment, input: input, timeout: timeout
        ).result()
        return CLIResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// `runBlocking`: the synchronous `run`, for callers that cannot await (a `defer`'s clean-up, the Docker suites'
    /// synchronous
    /// helpers, which run one test at a time in their own processes): it blocks the calling thread on the runner's
    /// blocking wait for the program's whole run. An async caller uses `run`.
    public static func runBlocking(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:],
        input: String? = nil, timeout: TimeInterval = 300
    ) throws -> CLIResult {
        let result = try start(
            executable: binary, arguments, in: directory, environment: environment, input: input, timeout: timeout
        ).waitBlocking()
        return CLIResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    private static func start(
        executable: URL, _ arguments: [String], in directory: URL, environment: [String: String],
        input: String?, timeout: TimeInterval
    ) throws -> RunningProcess {
        var env = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/root", "NO_COLOR": "1",
        ]
        for key in ["CI", "DOCKER_HOST", "SWIFTDEPLOY_SHARED_DIR"] {
            if let value = ProcessInfo.processInfo.environment[key] { env[key] = value }
        }
        env["SWIFTDEPLOY_LOCK_DIR"] = directory.appendingPathComponent(".swiftdeploy-test-locks").path
        env.merge(environment) { _, new in new }
        return try ProcessRunner.start(
            [executable.path] + arguments, environment: env, currentDirectory: directory,
            input: input.map { Data($0.utf8) }, timeout: timeout, killGrace: 3)
    }
}
