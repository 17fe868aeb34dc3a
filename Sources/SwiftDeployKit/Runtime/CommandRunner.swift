import Foundation

/// What a finished (or killed) subprocess left behind.
public struct CommandResult: Sendable, Equatable {
    /// The command as a person would type it, for messages (`docker-compose -p shop up -d`).
    public var commandLine: String
    /// The exit status; meaningless when `timedOut`.
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The command ran past its timeout and was terminated.
    public var timedOut: Bool

    public init(commandLine: String, status: Int32, stdout: String, stderr: String, timedOut: Bool = false) {
        self.commandLine = commandLine
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
    }

    public var succeeded: Bool { !timedOut && status == 0 }

    /// The last `lines` non-empty lines of standard error (or standard output when stderr is empty), for messages.
    public func outputTail(lines: Int = 8) -> String {
        let source = stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? stdout : stderr
        return Self.tail(source, lines: lines)
    }

    static func tail(_ text: String, lines: Int) -> String {
        let all = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        return all.suffix(lines).joined(separator: "\n")
    }
}

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

/// Runs programs through the shared `ProcessRunner` (captured output, a deadline,
/// SIGTERM then SIGKILL), turning a timeout into a result with `timedOut` set and a
/// missing program into `RuntimeError.programNotFound`.
public struct SystemCommandRunner: CommandRunning {
    /// Extra environment laid over this process's environment for every command (e.g. `DOCKER_HOST`).
    public var environment: [String: String]

    public init(environment: [String: String] = [:]) {
        self.environment = environment
    }

    public func run(_ arguments: [String], environment extra: [String: String]?, timeout: TimeInterval) throws -> CommandResult {
        precondition(!arguments.isEmpty, "a command needs a program")
        let commandLine = arguments.map(Self.shellQuoted).joined(separator: " ")
        var overlay = environment
        for (key, value) in extra ?? [:] { overlay[key] = value }
        var merged: [String: String]?
        if !overlay.isEmpty {
            var env = ProcessInfo.processInfo.environment
            for (key, value) in overlay { env[key] = value }
            merged = env
        }
        do {
            let result = try ProcessRunner(environment: merged).run(arguments[0], Array(arguments.dropFirst()), timeout: timeout)
            return CommandResult(commandLine: commandLine, status: result.status, stdout: result.stdout, stderr: result.stderr)
        } catch ProcessRunnerError.timedOut {
            return CommandResult(commandLine: commandLine, status: -1, stdout: "", stderr: "", timedOut: true)
        } catch ProcessRunnerError.notFound {
            throw RuntimeError.programNotFound(program: arguments[0])
        } catch ProcessRunnerError.launchFailed(_, let reason) {
            throw RuntimeError.programNotFound(program: "\(arguments[0]) (\(reason))")
        }
    }

    static func shellQuoted(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=@,+%".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
