import Foundation

/// Runs external programs. The container runtime goes through this seam so
/// tests can see exactly which commands a workflow issues.
public protocol CommandRunning: Sendable {
    /// Runs `arguments[0]` (looked up on `PATH`) with the rest as arguments. Throws only when the
    /// program cannot be started (`RuntimeError.programNotFound`); a non-zero exit is a result, not an error.
    func run(_ arguments: [String], environment: [String: String]?, timeout: TimeInterval) throws -> CommandResult
}

extension CommandRunning {
    public func run(_ arguments: [String], timeout: TimeInterval = 120) throws -> CommandResult {
        try run(arguments, environment: nil, timeout: timeout)
    }
}

/// Runs programs with Foundation's `Process`, capturing standard output and
/// error in full and terminating the program (SIGTERM, then SIGKILL after 2 s)
/// when it outlives its timeout.
///
/// Both pipes are drained with blocking reads on their own threads rather than
/// `FileHandle.readabilityHandler`: on Linux, clearing a readability handler while
/// output is still arriving can crash libdispatch (`_dispatch_source_refs_finalize_unregistration`,
/// SIGILL), which Compose's chatty `up`/`--force-recreate` output triggered here.
public struct SystemCommandRunner: CommandRunning {
    /// Extra environment laid over this process's environment for every command (e.g. `DOCKER_HOST`).
    public var environment: [String: String]

    public init(environment: [String: String] = [:]) {
        self.environment = environment
    }

    public func run(_ arguments: [String], environment extra: [String: String]?, timeout: TimeInterval) throws
        -> CommandResult
    {
        precondition(!arguments.isEmpty, "a command needs a program")
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        for (key, value) in extra ?? [:] { env[key] = value }
        let commandLine = arguments.map(Self.shellQuoted).joined(separator: " ")
        guard let executable = Self.locate(arguments[0], path: env["PATH"]) else {
            throw RuntimeError.programNotFound(program: arguments[0])
        }

        let process = Process()
        process.executableURL = executable
        process.arguments = Array(arguments.dropFirst())
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice

        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch {
            throw RuntimeError.programNotFound(program: "\(arguments[0]) (\(error.localizedDescription))")
        }
        // Drain both pipes concurrently so a chatty program never blocks on a full pipe.
        let collector = PipeCollector()
        let group = DispatchGroup()
        for (pipe, isError) in [(out, false), (err, true)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collector.set(data, isError: isError)
                group.leave()
            }
        }
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            process.terminate()
            if done.wait(timeout: .now() + 2) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                done.wait()
            }
        }
        // Children of the program may hold the pipes open; do not wait for them forever.
        _ = group.wait(timeout: .now() + 5)
        let (stdout, stderr) = collector.strings
        return CommandResult(
            commandLine: commandLine, status: process.terminationStatus, stdout: stdout, stderr: stderr,
            timedOut: timedOut)
    }

    /// The program's URL: itself when it contains a slash, else the first executable match on `PATH`.
    static func locate(_ program: String, path: String?) -> URL? { ProcessRunner.locate(program, path: path) }

    static func shellQuoted(_ word: String) -> String { ProcessRunner.shellQuoted(word) }
}

private final class PipeCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    func set(_ data: Data, isError: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if isError { err = data } else { out = data }
    }

    var strings: (String, String) {
        lock.lock()
        defer { lock.unlock() }
        return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}
