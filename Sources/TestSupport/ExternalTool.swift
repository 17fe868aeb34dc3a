import Foundation
import SwiftDeployKit

/// Outside programs for tests: where one is (`find`) and running one (`run`). Whether a test may run without it is
/// `TestRequirement`'s rule (`.requires(.nginx)`): skipped locally, a failure under `CI=true`.
public enum ExternalTool {
    /// The program's path on PATH (or in /usr/sbin, /sbin), or nil; prints nothing.
    public static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return ProcessRunner.locate(name, path: path + ":/usr/sbin:/sbin")?.path
    }

    /// Runs a program to completion (at most `timeout` seconds) with `ProcessRunner` and returns its status and its
    /// standard output followed by its standard error. For synchronous callers (a `defer`, a sync test): it blocks
    /// the calling thread on the runner's blocking wait, which needs no thread of the cooperative pool; async
    /// callers use `ProcessRunner.run`.
    /// Runs `arguments` to completion with `ProcessRunner` (at most `timeout` seconds) and returns the whole result,
    /// standard output and error apart. `environment` is the child's whole environment (nil: this process's). For
    /// synchronous callers, like `run`: the runner's blocking wait, never a read on the program's pipes.
    public static func captureBlocking(
        _ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil,
        input: Data? = nil, timeout: TimeInterval = 900
    ) throws -> CommandResult {
        try ProcessRunner.start(
            arguments, environment: environment, currentDirectory: currentDirectory, input: input, timeout: timeout
        ).waitBlocking()
    }

    /// The async `capture`: the caller's task is suspended while the program runs (no pool thread waits).
    /// `captureBlocking`
    /// and `runBlocking` are the synchronous forms for callers that cannot await; they block their thread.
    public static func capture(
        _ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil,
        input: Data? = nil, timeout: TimeInterval = 900
    ) async throws -> CommandResult {
        try await ProcessRunner.run(
            arguments, environment: environment, currentDirectory: currentDirectory, input: input, timeout: timeout)
    }

    /// The async `run`: status and standard output followed by standard error, the caller's task suspended meanwhile.
    public static func run(
        _ path: String, _ arguments: [String], currentDirectory: URL? = nil,
        timeout: TimeInterval = 900
    ) async throws -> (status: Int32, output: String) {
        let result = try await ProcessRunner.run(
            [path] + arguments, currentDirectory: currentDirectory, timeout: timeout)
        return (result.status, result.stdout + result.stderr)
    }

    public static func runBlocking(
        _ path: String, _ arguments: [String], currentDirectory: URL? = nil,
        timeout: TimeInterval = 900
    ) throws -> (status: Int32, output: String) {
        let result = try ProcessRunner.start([path] + arguments, currentDirectory: currentDirectory, timeout: timeout)
            .waitBlocking()
        return (result.status, result.stdout + result.stderr)
    }
}

/// A server a test runs beside its work (Prometheus, the demo service), started through `ProcessRunner` with no
/// time limit. Its output goes to a log file through the shell's own redirection (`exec` keeps the server's pid), so
/// the test can read the log while the server runs.
public final class TestServer: @unchecked Sendable {
    private let process: RunningProcess

    /// Starts `arguments` with `environment` (nil: this process's), output appended to `log` (nil: discarded).
    /// `stop()` sends SIGTERM, then SIGKILL after `stopGrace` seconds.
    public init(_ arguments: [String], environment: [String: String]? = nil, log: URL? = nil, stopGrace: Double = 5)
        throws
    {
        let target = log.map { ProcessRunner.shellQuoted($0.path) } ?? "/dev/null"
        process = try ProcessRunner.start(
            ["/bin/sh", "-c", "exec \"$@\" >>\(target) 2>&1", "sh"] + arguments, environment: environment,
            timeout: nil, killGrace: stopGrace)
    }

    public var isRunning: Bool { process.isRunning }

    /// Stops the server and waits until it is gone (idempotent).
    public func stop() {
        process.stop()
        _ = process.waitBlocking()
    }
}

/// A program a test starts in the background through `ProcessRunner` (no time limit), its standard output and error
/// appended to files by the shell's own redirection (`exec` keeps the program's pid) so the test can read them while
/// it runs, with the part of Foundation's `Process` API the tests use (`isRunning`, `processIdentifier`,
/// `waitUntilExit`, `terminationStatus`).
public final class BackgroundProcess: @unchecked Sendable {
    private let process: RunningProcess

    public init(
        _ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil, stdout: URL,
        stderr: URL
    ) throws {
        let out = ProcessRunner.shellQuoted(stdout.path), err = ProcessRunner.shellQuoted(stderr.path)
        process = try ProcessRunner.start(
            ["/bin/sh", "-c", "exec \"$@\" >>\(out) 2>>\(err)", "sh"] + arguments, environment: environment,
            currentDirectory: currentDirectory, timeout: nil)
    }

    public var isRunning: Bool { process.isRunning }
    public var processIdentifier: Int32 { process.pid }
    /// Blocks the calling thread until the program has exited (the runner's blocking wait).
    public func waitUntilExit() { _ = process.waitBlocking() }
    /// The exit status (the signal number when a signal ended it); waits for the exit first.
    public var terminationStatus: Int32 { process.waitBlocking().status }
}
