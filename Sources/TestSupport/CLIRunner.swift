import Foundation

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
    /// `input`, when given, is written to the standard input on its own thread (then closed), so a child that fills
    /// its output pipes before reading its input cannot deadlock the test; otherwise the input is /dev/null.
    /// Project locks go to `<directory>/.swiftdeploy-test-locks` unless `environment` names
    /// `SWIFTDEPLOY_LOCK_DIR`, so tests running in parallel never share a host-wide lock.
    public static func run(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:],
        input: String? = nil, timeout: TimeInterval = 300
    ) throws -> CLIResult {
        try run(executable: binary, arguments, in: directory, environment: environment, input: input, timeout: timeout)
    }

    /// `run` for any executable (tests of the runner itself use a shell).
    public static func run(
        executable: URL, _ arguments: [String], in directory: URL, environment: [String: String] = [:],
        input: String? = nil, timeout: TimeInterval = 300
    ) throws -> CLIResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/root", "NO_COLOR": "1",
        ]
        for key in ["CI", "DOCKER_HOST", "SWIFTDEPLOY_SHARED_DIR"] {
            if let value = ProcessInfo.processInfo.environment[key] { env[key] = value }
        }
        env["SWIFTDEPLOY_LOCK_DIR"] = directory.appendingPathComponent(".swiftdeploy-test-locks").path
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inputPipe = input.map { _ in Pipe() }
        process.standardInput = inputPipe ?? FileHandle.nullDevice
        // Blocking reads on their own threads: clearing a FileHandle.readabilityHandler while output still
        // arrives can crash libdispatch on Linux (see SystemCommandRunner).
        let outData = LockedData(), errData = LockedData()
        let drained = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            drained.enter()
            Thread.detachNewThread {
                sink.append(pipe.fileHandleForReading.readDataToEndOfFile())
                drained.leave()
            }
        }
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        if let inputPipe, let input {
            Thread.detachNewThread {
                inputPipe.fileHandleForWriting.write(Data(input.utf8))
                try? inputPipe.fileHandleForWriting.close()
            }
        }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if done.wait(timeout: .now() + 3) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                done.wait()
            }
        }
        _ = drained.wait(timeout: .now() + 10)
        return CLIResult(status: process.terminationStatus, stdout: outData.string, stderr: errData.string)
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        lock.unlock()
    }
    var string: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
