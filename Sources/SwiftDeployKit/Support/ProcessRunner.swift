import Foundation

/// Runs an outside program (docker, docker-compose, nginx, git) with captured
/// output and a deadline. Never throws for a non-zero exit: callers read
/// `ProcessResult.status` and name the failure themselves.
public struct ProcessRunner: Sendable {
    public var environment: [String: String]?

    public init(environment: [String: String]? = nil) {
        self.environment = environment
    }

    /// Runs `executable` (a name looked up on PATH, or a path) with `arguments`.
    /// Throws `ProcessRunnerError.notFound` when the program does not exist and
    /// `.timedOut` when it outlives `timeout` (it is then killed).
    public func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120,
                    input: Data? = nil, currentDirectory: URL? = nil) throws -> ProcessResult {
        guard let path = Self.locate(executable, environment: environment ?? ProcessInfo.processInfo.environment) else {
            throw ProcessRunnerError.notFound(executable)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        let inPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe

        let collector = OutputCollector()
        outPipe.fileHandleForReading.readabilityHandler = { handle in collector.append(handle.availableData, error: false) }
        errPipe.fileHandleForReading.readabilityHandler = { handle in collector.append(handle.availableData, error: true) }
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do { try process.run() } catch {
            throw ProcessRunnerError.launchFailed(executable, error.localizedDescription)
        }
        if let input {
            inPipe.fileHandleForWriting.write(input)
            try? inPipe.fileHandleForWriting.close()
        }
        let started = Date()
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if finished.wait(timeout: .now() + 3) == .timedOut { kill(process.processIdentifier, SIGKILL); finished.wait() }
            throw ProcessRunnerError.timedOut(([executable] + arguments).joined(separator: " "), timeout)
        }
        outPipe.fileHandleForReading.readabilityHandler = nil
        errPipe.fileHandleForReading.readabilityHandler = nil
        collector.append(outPipe.fileHandleForReading.readDataToEndOfFile(), error: false)
        collector.append(errPipe.fileHandleForReading.readDataToEndOfFile(), error: true)
        let (out, err) = collector.snapshot()
        return ProcessResult(command: [executable] + arguments, status: process.terminationStatus,
                             stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self),
                             duration: Date().timeIntervalSince(started))
    }

    /// The full path of `name` on PATH, or `name` itself when it contains a slash and is executable.
    public static func locate(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// What a finished program left behind.
public struct ProcessResult: Sendable {
    public let command: [String]
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public let duration: TimeInterval

    public var succeeded: Bool { status == 0 }

    /// The last `lines` non-empty lines of stderr (or stdout when stderr is empty), for error messages.
    public func tail(_ lines: Int = 5) -> String {
        let text = stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? stdout : stderr
        return text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
    }
}

public enum ProcessRunnerError: SwiftDeployFailure, Equatable {
    case notFound(String)
    case launchFailed(String, String)
    case timedOut(String, TimeInterval)

    public var exitStatus: ExitStatus { .operationFailed }

    public var errorDescription: String? {
        switch self {
        case .notFound(let name): return "\(name) was not found on PATH; install it or add its directory to PATH"
        case .launchFailed(let name, let reason): return "could not start \(name): \(reason)"
        case .timedOut(let command, let seconds): return "'\(command)' did not finish within \(Int(seconds))s and was stopped"
        }
    }
}

private final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    func append(_ data: Data, error: Bool) {
        guard !data.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        if error { err.append(data) } else { out.append(data) }
    }

    func snapshot() -> (Data, Data) {
        lock.lock(); defer { lock.unlock() }
        return (out, err)
    }
}
