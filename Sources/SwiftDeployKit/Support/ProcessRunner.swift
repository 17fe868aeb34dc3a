import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a finished (or killed) subprocess left behind.
public struct CommandResult: Sendable, Equatable {
    /// The command as a person would type it, for messages (`docker-compose -p shop up -d`).
    public var commandLine: String
    /// The exit status (the signal number when a signal ended it); meaningless when `timedOut`.
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The command ran past its timeout and was terminated.
    public var timedOut: Bool
    /// The program outlived SIGTERM by the grace period and was killed with SIGKILL.
    public var killed: Bool
    /// Bytes of standard output dropped from the middle because the output passed the runner's limit (0: complete).
    /// The text then says so where the bytes were left out.
    public var stdoutOmittedBytes: Int
    /// As `stdoutOmittedBytes`, for standard error.
    public var stderrOmittedBytes: Int

    public init(commandLine: String, status: Int32, stdout: String, stderr: String, timedOut: Bool = false,
                killed: Bool = false, stdoutOmittedBytes: Int = 0, stderrOmittedBytes: Int = 0) {
        self.commandLine = commandLine
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
        self.killed = killed
        self.stdoutOmittedBytes = stdoutOmittedBytes
        self.stderrOmittedBytes = stderrOmittedBytes
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

/// A program the runner could not start.
public enum ProcessRunnerError: SwiftDeployFailure, Equatable {
    /// The program is not on `PATH` (or, given with a slash, not an executable file).
    case programNotFound(program: String)
    /// The program was found but the system refused to start it.
    case cannotStart(program: String, detail: String)

    public var exitStatus: ExitStatus { .operationFailed }

    public var errorDescription: String? {
        switch self {
        case .programNotFound(let program):
            return "cannot run '\(program)': it is not installed or not on PATH; install it or fix PATH, then try again"
        case .cannotStart(let program, let detail):
            return "cannot start '\(program)': \(detail); check that it is an executable for this machine, then try again"
        }
    }
}

/// The one way the library (and its tests) run another program.
///
/// - The calling task awaits a continuation resumed from the process's termination handler: no thread of the
///   cooperative pool ever blocks on a child.
/// - Standard output and error are read on a thread of the child's own (a `poll(2)` loop over both pipes, and the
///   standard input when there is some to write), so a program that fills one pipe while the runner waits on the
///   other, or that writes before it reads its input, cannot deadlock.
/// - Captured output is bounded (`outputLimit` bytes per stream): past it, the first and last halves are kept and
///   the text says how many bytes were left out between them (`CommandResult.stdoutOmittedBytes`).
/// - At the timeout the program (and its process group, when it leads one) gets SIGTERM, then SIGKILL after
///   `killGrace` seconds; the result says `timedOut` (and `killed` when SIGKILL was needed).
/// - Cancelling the awaiting task stops the program the same way and throws `CancellationError` once it is gone.
public enum ProcessRunner {
    /// Bytes kept of each stream by default: far above what Docker or git print, small enough to bound memory.
    public static let defaultOutputLimit = 16 * 1024 * 1024
    /// Seconds between SIGTERM and SIGKILL by default.
    public static let defaultKillGrace: TimeInterval = 2

    /// Runs `arguments[0]` (looked up on the `PATH` of `environment`) with the rest as arguments and returns when it
    /// has exited and its output is read. `environment` is the child's whole environment (nil: this process's).
    /// Throws `ProcessRunnerError` when the program cannot be started and `CancellationError` when the calling task
    /// was cancelled (the program is then stopped); a non-zero exit or a timeout is a result, not an error.
    public static func run(_ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil,
                           input: Data? = nil, timeout: TimeInterval, killGrace: TimeInterval = defaultKillGrace,
                           outputLimit: Int = defaultOutputLimit) async throws -> CommandResult {
        let child = try start(arguments, environment: environment, currentDirectory: currentDirectory, input: input,
                              timeout: timeout, killGrace: killGrace, outputLimit: outputLimit)
        return try await child.result()
    }

    /// Starts the program and returns at once; `RunningProcess.result()` waits for it. For a server a test runs
    /// beside its work, or a command whose pid the caller needs. `timeout` nil: no limit (stop it with `stop()`).
    public static func start(_ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil,
                             input: Data? = nil, timeout: TimeInterval?, killGrace: TimeInterval = defaultKillGrace,
                             outputLimit: Int = defaultOutputLimit) throws -> RunningProcess {
        precondition(!arguments.isEmpty, "a command needs a program")
        let env = environment ?? ProcessInfo.processInfo.environment
        guard let executable = locate(arguments[0], path: env["PATH"]) else {
            throw ProcessRunnerError.programNotFound(program: arguments[0])
        }
        let child = RunningProcess(arguments: arguments, killGrace: killGrace, outputLimit: max(outputLimit, 2))
        try child.launch(executable: executable, arguments: arguments, environment: env,
                         currentDirectory: currentDirectory, input: input, timeout: timeout)
        return child
    }

    /// The program's URL: itself when it contains a slash, else the first executable match on `PATH`.
    public static func locate(_ program: String, path: String?) -> URL? {
        if program.contains("/") {
            return FileManager.default.isExecutableFile(atPath: program) ? URL(fileURLWithPath: program) : nil
        }
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !dir.isEmpty {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(program)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// A word as a POSIX shell would need it quoted, for `CommandResult.commandLine`.
    public static func shellQuoted(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=@,+%".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// A program started by `ProcessRunner.start`. Its output is read and its time limit kept by a thread of its own
/// until it has exited; `result()` can be awaited any number of times.
public final class RunningProcess: @unchecked Sendable {
    /// The child's process id (its process group id too, when the platform started it in a group of its own).
    public var pid: Int32 { process.processIdentifier }
    public let commandLine: String

    private enum StopReason { case timeout, cancelled, requested }

    private let process: Process
    private let killGrace: TimeInterval
    private let lock = NSLock()
    private var exited = false
    private var ioDone = false
    private var stopReason: StopReason?
    private var killAt: UInt64?
    private var killed = false
    private var cancelled = false
    private var finished: CommandResult?
    private var waiters: [CheckedContinuation<CommandResult, Never>] = []
    private let stdoutBuffer: BoundedBuffer
    private let stderrBuffer: BoundedBuffer
    /// Left once the result is known, for `waitBlocking`.
    private let finishedGroup = DispatchGroup()

    /// Seconds the reader keeps draining after the program exited (a grandchild may hold the pipes open).
    static let drainAfterExit: TimeInterval = 5

    fileprivate init(arguments: [String], killGrace: TimeInterval, outputLimit: Int) {
        commandLine = arguments.map(ProcessRunner.shellQuoted).joined(separator: " ")
        self.killGrace = killGrace
        stdoutBuffer = BoundedBuffer(limit: outputLimit, name: "standard output")
        stderrBuffer = BoundedBuffer(limit: outputLimit, name: "standard error")
        process = Process()
        finishedGroup.enter()
    }

    fileprivate func launch(executable: URL, arguments: [String], environment: [String: String], currentDirectory: URL?,
                            input: Data?, timeout: TimeInterval?) throws {
        process.executableURL = executable
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inputPipe = input.map { _ in Pipe() }
        process.standardInput = inputPipe ?? FileHandle.nullDevice
        process.terminationHandler = { [weak self] _ in self?.didExit() }
        // A child inherits the spawning thread's signal mask, and the threads of the cooperative pool block
        // SIGTERM and SIGINT among others: unblocked only around the spawn, so the child can be stopped with them.
        var none = sigset_t(), saved = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        do {
            try process.run()
        } catch {
            throw ProcessRunnerError.cannotStart(program: arguments[0], detail: error.localizedDescription)
        }
        let deadline = timeout.map { Self.now() + UInt64(max($0, 0) * 1e9) }
        let reader = Thread { [self] in
            self.pump(out: out.fileHandleForReading, err: err.fileHandleForReading,
                      input: inputPipe?.fileHandleForWriting, data: input ?? Data(), deadline: deadline)
        }
        reader.name = "swiftdeploy process \(pid)"
        reader.start()
    }

    /// Waits until the program has exited and its output is read. When the awaiting task is cancelled the program is
    /// stopped (SIGTERM, SIGKILL after the grace period) and, once it is gone, `CancellationError` is thrown.
    public func result() async throws -> CommandResult {
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<CommandResult, Never>) in
                lock.lock()
                if let finished {
                    lock.unlock()
                    continuation.resume(returning: finished)
                } else {
                    waiters.append(continuation)
                    lock.unlock()
                }
            }
        } onCancel: {
            stop(.cancelled)
        }
        let wasCancelled = lock.withLock { cancelled }
        if wasCancelled { throw CancellationError() }
        return result
    }

    /// Blocks the calling thread until the program has exited and its output is read. Only for a place that cannot
    /// await (a test's `defer` cleanup): on the cooperative pool it holds a thread for as long as the program runs.
    /// Nothing here needs the pool to finish, so it cannot deadlock on it.
    public func waitBlocking() -> CommandResult {
        finishedGroup.wait()
        return lock.withLock { finished! }
    }

    /// Stops the program: SIGTERM now, SIGKILL after the grace period if it is still there. Returns at once;
    /// `result()` says when it is gone.
    public func stop() { stop(.requested) }

    /// Whether the program is still running.
    public var isRunning: Bool {
        lock.lock(); defer { lock.unlock() }
        return !exited
    }

    private func stop(_ reason: StopReason) {
        lock.lock(); defer { lock.unlock() }
        guard !exited else { return }
        if reason == .cancelled { cancelled = true }
        guard stopReason == nil else { return }
        stopReason = reason
        signal(SIGTERM)
        killAt = Self.now() + UInt64(max(killGrace, 0) * 1e9)
    }

    /// Sends `sig` to the program's process group when it leads one (its own children go too), else to it alone.
    /// Called with the lock held and only before the exit was seen, so the pid is still the child's.
    private func signal(_ sig: Int32) {
        if getpgid(pid) == pid { kill(-pid, sig) } else { kill(pid, sig) }
    }

    private func didExit() {
        lock.lock()
        guard !exited else { lock.unlock(); return }
        exited = true
        lock.unlock()
        finishIfDone()
    }

    private func finishIfDone() {
        lock.lock()
        guard exited, ioDone, finished == nil else { lock.unlock(); return }
        let (out, outOmitted) = stdoutBuffer.text()
        let (err, errOmitted) = stderrBuffer.text()
        let result = CommandResult(commandLine: commandLine, status: process.terminationStatus, stdout: out, stderr: err,
                                   timedOut: stopReason == .timeout, killed: killed, stdoutOmittedBytes: outOmitted,
                                   stderrOmittedBytes: errOmitted)
        finished = result
        let pending = waiters
        waiters = []
        lock.unlock()
        for waiter in pending { waiter.resume(returning: result) }
        finishedGroup.leave()
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The reader thread: drains both output pipes and feeds the input until the program has exited and the pipes
    /// are closed, sending SIGTERM at the deadline and SIGKILL after the grace period.
    private func pump(out: FileHandle, err: FileHandle, input: FileHandle?, data: Data, deadline: UInt64?) {
        // A write to a pipe the child closed raises SIGPIPE; blocked on this thread, write() fails with EPIPE instead.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)

        var outFD: Int32? = out.fileDescriptor
        var errFD: Int32? = err.fileDescriptor
        var inFD: Int32? = input?.fileDescriptor
        if let fd = inFD {
            if data.isEmpty {
                try? input?.close(); inFD = nil
            } else {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
        }
        var written = 0
        var exitedAt: UInt64?
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)

        while true {
            let now = Self.now()
            lock.lock()
            if !exited {
                if let deadline, stopReason == nil, now >= deadline {
                    stopReason = .timeout
                    signal(SIGTERM)
                    killAt = now + UInt64(max(killGrace, 0) * 1e9)
                }
                if let killAt, !killed, now >= killAt {
                    killed = true
                    signal(SIGKILL)
                }
            } else if exitedAt == nil {
                exitedAt = now
            }
            let wakeAt = [deadline.flatMap { stopReason == nil ? $0 : nil }, killed ? nil : killAt].compactMap { $0 }.min()
            lock.unlock()

            if outFD == nil, errFD == nil, exitedAt != nil { break }
            if let exitedAt, now - exitedAt > UInt64(Self.drainAfterExit * 1e9) { break }

            var fds: [pollfd] = []
            if let outFD { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if let errFD { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            if let inFD { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
            var waitMs: Int32 = 100
            if let wakeAt { waitMs = wakeAt > now ? Int32(min(100, (wakeAt - now) / 1_000_000 + 1)) : 0 }
            let ready = poll(&fds, nfds_t(fds.count), waitMs)
            if ready <= 0 { continue }
            for entry in fds where entry.revents != 0 {
                if entry.fd == inFD {
                    if entry.revents & Int16(POLLOUT) != 0 {
                        let n = data.withUnsafeBytes { raw in
                            write(entry.fd, raw.baseAddress! + written, min(raw.count - written, 64 * 1024))
                        }
                        if n > 0 { written += n }
                        if written >= data.count || (n < 0 && errno != EAGAIN && errno != EINTR) {
                            try? input?.close(); inFD = nil
                        }
                    } else {
                        try? input?.close(); inFD = nil
                    }
                    continue
                }
                let n = chunk.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    (entry.fd == outFD ? stdoutBuffer : stderrBuffer).append(chunk, count: n)
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    if entry.fd == outFD { try? out.close(); outFD = nil } else { try? err.close(); errFD = nil }
                }
            }
        }
        if outFD != nil { try? out.close() }
        if errFD != nil { try? err.close() }
        if inFD != nil { try? input?.close() }
        lock.lock(); ioDone = true; lock.unlock()
        finishIfDone()
    }
}

/// One output stream, kept whole up to `limit` bytes; past it, the first and last `limit / 2` bytes.
private final class BoundedBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private let headLimit: Int
    private let tailLimit: Int
    private let name: String
    private var head = Data()
    private var tail = Data()
    private var total = 0

    init(limit: Int, name: String) {
        headLimit = limit / 2
        tailLimit = limit - limit / 2
        self.name = name
    }

    func append(_ bytes: [UInt8], count: Int) {
        lock.lock(); defer { lock.unlock() }
        total += count
        var start = 0
        if head.count < headLimit {
            let take = min(headLimit - head.count, count)
            head.append(contentsOf: bytes[0..<take])
            start = take
        }
        guard start < count else { return }
        tail.append(contentsOf: bytes[start..<count])
        if tail.count > 2 * tailLimit { tail = Data(tail.suffix(tailLimit)) }
    }

    /// The text, with a line saying how many bytes were left out when the limit was passed; and that count.
    func text() -> (String, Int) {
        lock.lock(); defer { lock.unlock() }
        let kept = tail.suffix(tailLimit)
        let omitted = total - head.count - kept.count
        guard omitted > 0 else { return (String(decoding: head + kept, as: UTF8.self), 0) }
        let note = "\n[swiftdeploy: \(omitted) bytes of \(name) left out here; the output passed the limit of "
            + "\(headLimit + tailLimit) bytes]\n"
        return (String(decoding: head, as: UTF8.self) + note + String(decoding: kept, as: UTF8.self), omitted)
    }
}
