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
    /// Standard output decoded as UTF-8, with invalid bytes shown as U+FFFD (for display and text parsing).
    public var stdout: String
    /// As `stdout`, for standard error.
    public var stderr: String
    /// The command ran past its timeout and was terminated.
    public var timedOut: Bool
    /// The program outlived SIGTERM by the grace period and was killed with SIGKILL.
    public var killed: Bool
    /// Bytes of standard output dropped from the middle because the output passed the runner's limit (0: complete).
    /// The text itself carries no marker: the kept head and tail are joined (each cut at a UTF-8 character
    /// boundary), so check this before parsing the output.
    public var stdoutOmittedBytes: Int
    /// As `stdoutOmittedBytes`, for standard error.
    public var stderrOmittedBytes: Int
    /// The program exited while processes it started still held its output pipes open: what it had written was
    /// read, later writes of those processes were not waited for, and its process group was killed.
    public var outputIncomplete: Bool

    public init(
        commandLine: String, status: Int32, stdout: String, stderr: String, timedOut: Bool = false,
        killed: Bool = false, stdoutOmittedBytes: Int = 0, stderrOmittedBytes: Int = 0,
        outputIncomplete: Bool = false
    ) {
        self.commandLine = commandLine
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
        self.killed = killed
        self.stdoutOmittedBytes = stdoutOmittedBytes
        self.stderrOmittedBytes = stderrOmittedBytes
        self.outputIncomplete = outputIncomplete
    }

    public var succeeded: Bool { !timedOut && status == 0 }

    /// The last `lines` non-empty lines of standard error (or standard output when stderr is empty), for messages;
    /// preceded by a line saying how many bytes the output limit left out of that stream, if any.
    public func outputTail(lines: Int = 8) -> String {
        let useStdout = stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        let tail = Self.tail(useStdout ? stdout : stderr, lines: lines)
        let omitted = useStdout ? stdoutOmittedBytes : stderrOmittedBytes
        guard omitted > 0 else { return tail }
        return "[\(omitted) bytes of \(useStdout ? "standard output" : "standard error") left out: over the limit]\n"
            + tail
    }

    static func tail(_ text: String, lines: Int) -> String {
        let all = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        return all.suffix(lines).joined(separator: "\n")
    }
}

/// A program the runner could not start.
public enum ProcessRunnerError: SwiftDeployFailure, Equatable {
    /// The program is not on `PATH` (or, given with a slash, does not exist).
    case programNotFound(program: String)
    /// The program was found but cannot be started: not executable, a directory, or refused by the system.
    case cannotStart(program: String, detail: String)
    /// A timeout or grace period that is not a number of seconds (NaN or negative); nothing was started.
    case invalidTime(program: String, name: String, value: Double)

    public var exitStatus: ExitStatus { .operationFailed }

    public var errorDescription: String? {
        switch self {
        case .programNotFound(let program):
            return "cannot run '\(program)': it is not installed or not on PATH; install it or fix PATH, then try again"
        case .cannotStart(let program, let detail):
            return
                "cannot start '\(program)': \(detail); check that it is an executable for this machine, then try again"
        case .invalidTime(let program, let name, let value):
            return "cannot run '\(program)': its \(name) of \(value) is not a number of seconds (0 or more); "
                + "fix the value that set it (infinity means no limit), then try again"
        }
    }
}

/// The one way the library (and its tests) run another program.
///
/// - The program is started with `posix_spawn` in a process group of its own, with every signal at its default
///   disposition and none blocked, standard input from `input` (else `/dev/null`) and only its three standard
///   descriptors open. Its exit is watched through a pidfd (Linux 5.3 and later; elsewhere a `waitid` check every
///   50 ms), never through descriptors it could pass on: a background grandchild holding the pipes, or a child
///   closing what it inherited, cannot delay or hide the exit.
/// - The calling task awaits a continuation: no thread of the cooperative pool ever blocks on a child. The pipes,
///   the input and the exit are served by one thread per running child (a `poll(2)` loop that sleeps until
///   something happens or a deadline comes), so a program that fills one pipe while the runner waits on the other,
///   or that writes before it reads its input, cannot deadlock. A thread that cannot be created is an error.
/// - Once the program has exited, what it left in the pipes is read (bounded, and never past a timeout that had
///   not yet passed), then whatever is still running in its process group is killed with SIGKILL, so a command's
///   background leftovers do not outlive it (`CommandResult.outputIncomplete` says when they still held the pipes).
///   A program that must leave a daemon behind has to detach it into a session of its own (`setsid`).
/// - Captured output is bounded (`outputLimit` bytes per stream): past it, the first and last halves are kept, cut
///   at UTF-8 character boundaries, and `CommandResult.stdoutOmittedBytes` says how many bytes were left out.
/// - At the timeout the program and its process group get SIGTERM, then SIGKILL after `killGrace` seconds; the
///   result says `timedOut` (and `killed` when SIGKILL was needed). An infinite or huge (over 10^9 s) timeout or
///   grace means no limit; NaN or a negative value is refused before anything starts.
/// - Signals go through the pidfd and to the group only while the child is not yet reaped (it is reaped by the
///   runner alone), so they never reach a process that merely reuses its pid.
/// - Cancelling the awaiting task stops the program the same way and throws `CancellationError` once it is gone;
///   a task cancelled before `run` never starts it.
public enum ProcessRunner {
    /// Bytes kept of each stream by default: far above what Docker or git print, small enough to bound memory.
    public static let defaultOutputLimit = 16 * 1024 * 1024
    /// Seconds between SIGTERM and SIGKILL by default.
    public static let defaultKillGrace: TimeInterval = 2
    /// Seconds from which a timeout or grace counts as no limit at all (about 31 years).
    static let unlimitedSeconds: TimeInterval = 1e9

    /// Runs `arguments[0]` (looked up on the `PATH` of `environment`) with the rest as arguments and returns when it
    /// has exited and its output is read. `environment` is the child's whole environment (nil: this process's).
    /// Throws `ProcessRunnerError` when the program cannot be started and `CancellationError` when the calling task
    /// was cancelled (before the start: the program never runs; after: it is stopped); a non-zero exit or a timeout
    /// is a result, not an error.
    public static func run(
        _ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil,
        input: Data? = nil, timeout: TimeInterval, killGrace: TimeInterval = defaultKillGrace,
        outputLimit: Int = defaultOutputLimit
    ) async throws -> CommandResult {
        try Task.checkCancellation()
        let child = try start(
            arguments, environment: environment, currentDirectory: currentDirectory, input: input,
            timeout: timeout, killGrace: killGrace, outputLimit: outputLimit)
        return try await child.result()
    }

    /// Starts the program and returns at once; `RunningProcess.result()` waits for it. For a server a test runs
    /// beside its work, or a command whose pid the caller needs. `timeout` nil: no limit (stop it with `stop()`).
    /// Throws `CancellationError` without starting anything when called from a cancelled task.
    public static func start(
        _ arguments: [String], environment: [String: String]? = nil, currentDirectory: URL? = nil,
        input: Data? = nil, timeout: TimeInterval?, killGrace: TimeInterval = defaultKillGrace,
        outputLimit: Int = defaultOutputLimit
    ) throws -> RunningProcess {
        precondition(!arguments.isEmpty, "a command needs a program")
        let timeoutNanos = try timeout.flatMap { try nanoseconds($0, name: "timeout", program: arguments[0]) }
        let graceNanos = try nanoseconds(killGrace, name: "kill grace period", program: arguments[0])
        let env = environment ?? ProcessInfo.processInfo.environment
        let executable = try resolve(arguments[0], path: env["PATH"])
        if Task.isCancelled { throw CancellationError() }
        let child = RunningProcess(arguments: arguments, killGrace: graceNanos, outputLimit: max(outputLimit, 2))
        try child.launch(
            executable: executable, arguments: arguments, environment: env,
            currentDirectory: currentDirectory, input: input, timeout: timeoutNanos)
        return child
    }

    /// `seconds` in nanoseconds; nil when it is infinite or so large it means no limit. NaN and negative: an error.
    static func nanoseconds(_ seconds: TimeInterval, name: String, program: String) throws -> UInt64? {
        guard !seconds.isNaN, seconds >= 0 else {
            throw ProcessRunnerError.invalidTime(program: program, name: name, value: seconds)
        }
        return seconds >= unlimitedSeconds ? nil : UInt64(seconds * 1e9)
    }

    /// The program's URL: itself when it contains a slash, else the first executable regular file on `PATH`
    /// (directories and files without execute permission are skipped, as a shell does). Nil when there is none.
    public static func locate(_ program: String, path: String?) -> URL? {
        (try? resolve(program, path: path)).map { URL(fileURLWithPath: $0) }
    }

    enum Candidate { case missing, runnable, directory, notRegular, notExecutable }

    static func check(_ path: String) -> Candidate {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return access(path, X_OK) == 0 ? .runnable : .notExecutable
        case S_IFDIR: return .directory
        default: return .notRegular
        }
    }

    /// The path to start for `program`, or the error saying why there is none.
    static func resolve(_ program: String, path: String?) throws -> String {
        func refuse(_ found: String, _ kind: Candidate) -> ProcessRunnerError {
            switch kind {
            case .directory:
                return .cannotStart(program: program, detail: "'\(found)' is a directory, not a program")
            case .notExecutable:
                return .cannotStart(
                    program: program,
                    detail: "'\(found)' is not executable (no execute permission "
                        + "for this user; `chmod +x` it if it is meant to run)")
            default:
                return .cannotStart(program: program, detail: "'\(found)' is not a regular file")
            }
        }
        if program.contains("/") {
            let kind = check(program)
            switch kind {
            case .runnable: return program
            case .missing: throw ProcessRunnerError.programNotFound(program: program)
            default: throw refuse(program, kind)
            }
        }
        var notRunnable: (String, Candidate)?
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !dir.isEmpty {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(program).path
            let kind = check(candidate)
            if kind == .runnable { return candidate }
            if kind == .notExecutable, notRunnable == nil { notRunnable = (candidate, kind) }
        }
        if let (found, kind) = notRunnable { throw refuse(found, kind) }
        throw ProcessRunnerError.programNotFound(program: program)
    }

    /// A word as a POSIX shell would need it quoted, for `CommandResult.commandLine`.
    public static func shellQuoted(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=@,+%".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// C library functions newer than the Glibc module map shows (pipe2, posix_spawn's chdir and closefrom actions,
/// glibc 2.34 to 2.36; the pidfd calls, glibc 2.36), looked up once at run time. Nil where the C library lacks them.
private enum LibC {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32
    typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    typealias PidfdSendSignal = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UInt32) -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }

    static let pipe2 = symbol("pipe2", as: Pipe2.self)
    static let addChdir = symbol("posix_spawn_file_actions_addchdir_np", as: AddChdir.self)
    static let addClosefrom = symbol("posix_spawn_file_actions_addclosefrom_np", as: AddClosefrom.self)
    static let pidfdOpen = symbol("pidfd_open", as: PidfdOpen.self)
    static let pidfdSendSignal = symbol("pidfd_send_signal", as: PidfdSendSignal.self)

    /// A pipe whose two ends are closed on exec (atomically where pipe2 exists).
    static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let rc = fds.withUnsafeMutableBufferPointer { buffer -> Int32 in
            if let pipe2 { return pipe2(buffer.baseAddress, O_CLOEXEC) }
            guard Glibc.pipe(buffer.baseAddress) == 0 else { return -1 }
            _ = fcntl(buffer[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(buffer[1], F_SETFD, FD_CLOEXEC)
            return 0
        }
        guard rc == 0 else {
            throw ProcessRunnerError.cannotStart(
                program: "pipe", detail: "no pipe: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32) { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
}

/// A program started by `ProcessRunner.start`. Its output is read, its exit watched and its time limit kept by a
/// thread of its own until it has exited. `result()` can be awaited any number of times, by several tasks at once.
public final class RunningProcess: @unchecked Sendable {
    /// The child's process id, which is also its process group id.
    public var pid: Int32 { childPID }
    public let commandLine: String

    private enum StopReason { case timeout, cancelled, requested }

    private var childPID: pid_t = 0
    /// The pidfd watching the child (-1 where the kernel or C library has none: exit is then polled).
    private var pidfd: Int32 = -1
    private let program: String
    private let killGrace: UInt64?
    private let lock = NSLock()
    private var exited = false
    /// Set once the child is reaped: no signal goes to its pid or group after that.
    private var reaped = false
    private var status: Int32 = 0
    private var stopReason: StopReason?
    /// A stop asked for (by `stop()` or a cancelled waiter) after the exit: ends the drain.
    private var stopAfterExit = false
    private var killAt: UInt64?
    private var killed = false
    private var outputIncomplete = false
    private var finished: CommandResult?
    private var waiters: [CheckedContinuation<CommandResult, Never>] = []
    private let stdoutBuffer: BoundedBuffer
    private let stderrBuffer: BoundedBuffer
    /// Write end of the pipe that wakes the reader thread (a stop asked for from another thread); -1 once closed.
    private var wakeWrite: Int32 = -1
    /// Left once the result is known, for `waitBlocking`.
    private let finishedGroup = DispatchGroup()

    /// Seconds the reader keeps reading after the program exited at most (a grandchild may keep writing).
    static let drainAfterExit: TimeInterval = 1
    /// Bytes read per stream after the exit at most: more than a pipe holds, so all the program wrote is read.
    static let drainBytes = 2 * 1024 * 1024

    fileprivate init(arguments: [String], killGrace: UInt64?, outputLimit: Int) {
        commandLine = arguments.map(ProcessRunner.shellQuoted).joined(separator: " ")
        program = arguments[0]
        self.killGrace = killGrace
        stdoutBuffer = BoundedBuffer(limit: outputLimit)
        stderrBuffer = BoundedBuffer(limit: outputLimit)
        finishedGroup.enter()
    }

    /// Descriptors of one launch, closed on every path out of it.
    private struct Descriptors {
        var all: [Int32] = []
        mutating func add(_ pair: (read: Int32, write: Int32)) -> (read: Int32, write: Int32) {
            all += [pair.read, pair.write]
            return pair
        }
        mutating func close(_ fd: Int32) {
            if let index = all.firstIndex(of: fd) {
                all.remove(at: index)
                _ = Glibc.close(fd)
            }
        }
        mutating func closeAll() {
            for fd in all { _ = Glibc.close(fd) }
            all = []
        }
    }

    fileprivate func launch(
        executable: String, arguments: [String], environment: [String: String],
        currentDirectory: URL?, input: Data?, timeout: UInt64?
    ) throws {
        var fds = Descriptors()
        do {
            let out = fds.add(try LibC.pipe()), err = fds.add(try LibC.pipe()), wake = fds.add(try LibC.pipe())
            let stdin = input.map { $0.isEmpty ? nil : $0 } ?? nil
            let inPipe = try stdin.map { _ in fds.add(try LibC.pipe()) }
            let pid = try Self.spawn(
                executable: executable, arguments: arguments, environment: environment,
                currentDirectory: currentDirectory, stdin: inPipe?.read, stdout: out.write,
                stderr: err.write, program: program)
            childPID = pid
            pidfd = LibC.pidfdOpen.map { $0(pid, 0) } ?? -1
            fds.close(out.write)
            fds.close(err.write)
            if let inPipe {
                fds.close(inPipe.read)
                LibC.setNonBlocking(inPipe.write)
            }
            for fd in [out.read, err.read, wake.read] { LibC.setNonBlocking(fd) }
            LibC.setNonBlocking(wake.write)
            wakeWrite = wake.write
            let deadline = timeout.map { Self.now() &+ $0 }
            let io = IO(
                out: out.read, err: err.read, input: inPipe?.write, data: stdin ?? Data(), wake: wake.read,
                deadline: deadline)
            if let failure = startReader(io) {
                abandon()
                throw ProcessRunnerError.cannotStart(program: program, detail: "no thread to watch it: \(failure)")
            }
            fds.all = []  // the reader owns them now
        } catch {
            fds.closeAll()
            finishedGroup.leave()  // no result will come; a group left entered must not be deallocated
            throw error
        }
    }

    /// Spawns the child: its standard descriptors set, every other descriptor closed, every signal at its default
    /// disposition and unblocked, in a new process group of its own.
    private static func spawn(
        executable: String, arguments: [String], environment: [String: String],
        currentDirectory: URL?, stdin: Int32?, stdout: Int32, stderr: Int32,
        program: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Descriptors others in this process opened without close-on-exec do not reach the child either.
        if let closefrom = LibC.addClosefrom { _ = withUnsafeMutablePointer(to: &actions) { closefrom($0, 3) } }
        if let currentDirectory {
            guard let addChdir = LibC.addChdir else {
                throw ProcessRunnerError.cannotStart(
                    program: program,
                    detail: "this C library cannot start a "
                        + "program in another directory (no addchdir_np)")
            }
            let rc = withUnsafeMutablePointer(to: &actions) { addChdir($0, currentDirectory.path) }
            guard rc == 0 else {
                throw ProcessRunnerError.cannotStart(program: program, detail: String(cString: strerror(rc)))
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes,
            Int16(
                POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                    | POSIX_SPAWN_SETPGROUP))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            var detail = "'\(executable)': \(String(cString: strerror(rc)))"
            if let currentDirectory { detail += " (working directory '\(currentDirectory.path)')" }
            throw ProcessRunnerError.cannotStart(program: program, detail: detail)
        }
        return pid
    }

    private struct IO {
        var out: Int32, err: Int32, input: Int32?, data: Data, wake: Int32, deadline: UInt64?
    }

    private final class ReaderStart {
        let process: RunningProcess, io: IO
        init(_ process: RunningProcess, _ io: IO) {
            self.process = process
            self.io = io
        }
    }

    /// Starts the reader thread; the error text when it cannot be created.
    private func startReader(_ io: IO) -> String? {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 256 * 1024)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(ReaderStart(self, io)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, &attributes,
            { context in
                let start = Unmanaged<ReaderStart>.fromOpaque(context!).takeRetainedValue()
                start.process.pump(start.io)
                return nil
            }, context)
        guard rc == 0 else {
            Unmanaged<ReaderStart>.fromOpaque(context).release()
            return String(cString: strerror(rc))
        }
        return nil
    }

    /// The child whose reader could not start: killed with its group and reaped (it is gone at once).
    private func abandon() {
        lock.lock()
        defer { lock.unlock() }
        signal(SIGKILL)
        var info = siginfo_t()
        _ = waitid(P_PID, id_t(childPID), &info, WEXITED)
        reaped = true
        if pidfd >= 0 {
            _ = Glibc.close(pidfd)
            pidfd = -1
        }
        wakeWrite = -1
    }

    /// Waits until the program has exited and its output is read. When the awaiting task is cancelled the program is
    /// stopped (SIGTERM, SIGKILL after the grace period; it is stopped for every waiter, since it is one program)
    /// and, once it is gone, that task alone gets `CancellationError`: the other waiters get the result.
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
        try Task.checkCancellation()
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
        lock.lock()
        defer { lock.unlock() }
        return !exited
    }

    private func stop(_ reason: StopReason) {
        lock.lock()
        defer { lock.unlock() }
        if exited {
            stopAfterExit = true
        } else if stopReason == nil {
            stopReason = reason
            signal(SIGTERM)
            killAt = killGrace.map { Self.now() &+ $0 }
        }
        if wakeWrite >= 0 {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
    }

    /// Sends `sig` to the child (through its pidfd) and its process group. Called with the lock held; does nothing
    /// once the child is reaped, and until then neither its pid nor its group id can belong to anyone else.
    private func signal(_ sig: Int32) {
        guard !reaped, childPID > 0 else { return }
        if pidfd >= 0, let send = LibC.pidfdSendSignal { _ = send(pidfd, sig, nil, 0) }
        kill(-childPID, sig)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Whether the child has exited (it stays a zombie, holding its pid and group id, until `reap`); its status.
    private func peekExit() -> Int32? {
        var info = siginfo_t()
        let rc =
            pidfd >= 0
            ? waitid(P_PIDFD, id_t(pidfd), &info, WEXITED | WNOHANG | WNOWAIT)
            : waitid(P_PID, id_t(childPID), &info, WEXITED | WNOHANG | WNOWAIT)
        guard rc == 0, info._sifields._sigchld.si_pid == childPID else { return nil }
        return info._sifields._sigchld.si_status
    }

    /// The reader thread: feeds the input and drains both output pipes while watching the child's exit, sending
    /// SIGTERM at the deadline and SIGKILL after the grace period; after the exit, reads what is left, kills the
    /// rest of the group, reaps the child and hands the result to the waiters.
    private func pump(_ io: IO) {
        // A write to a pipe the child closed raises SIGPIPE; blocked on this thread, write() fails with EPIPE instead.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)

        var outFD: Int32? = io.out, errFD: Int32? = io.err, inFD = io.input
        var written = 0
        var exitedAt: UInt64?
        var drained = [Int32: Int]()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)

        func closeInput() {
            if let fd = inFD {
                _ = close(fd)
                inFD = nil
            }
        }

        while true {
            let now = Self.now()
            var wakeAt: UInt64?
            if exitedAt == nil, let status = peekExit() {
                exitedAt = now
                closeInput()
                lock.lock()
                exited = true
                self.status = status
                lock.unlock()
            }
            lock.lock()
            if let exitedAt {
                // Draining: what the program left in the pipes, not what its leftovers keep writing.
                let pastDeadline = io.deadline.map { now >= $0 && exitedAt < $0 } ?? false
                let capped = now >= exitedAt &+ UInt64(Self.drainAfterExit * 1e9)
                if stopAfterExit || pastDeadline || capped {
                    lock.unlock()
                    break
                }
            } else {
                if let deadline = io.deadline, stopReason == nil, now >= deadline {
                    stopReason = .timeout
                    signal(SIGTERM)
                    killAt = killGrace.map { now &+ $0 }
                }
                if let killAt, !killed, now >= killAt {
                    killed = true
                    signal(SIGKILL)
                }
                wakeAt = [io.deadline.flatMap { stopReason == nil ? $0 : nil }, killed ? nil : killAt]
                    .compactMap { $0 }.min()
            }
            lock.unlock()
            if outFD == nil, errFD == nil, exitedAt != nil { break }

            var fds: [pollfd] = [pollfd(fd: io.wake, events: Int16(POLLIN), revents: 0)]
            if let outFD { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if let errFD { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            if let inFD { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
            if exitedAt == nil, pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            var waitMs: Int32 = -1
            if exitedAt != nil {
                waitMs = 0  // only what is already there
            } else {
                if let wakeAt { waitMs = wakeAt > now ? Int32(min(60_000, (wakeAt - now) / 1_000_000 + 1)) : 0 }
                if pidfd < 0 { waitMs = waitMs < 0 ? 50 : min(waitMs, 50) }
            }
            let ready = poll(&fds, nfds_t(fds.count), waitMs)
            if ready < 0 { continue }
            if ready == 0 {
                if exitedAt != nil { break }  // nothing more buffered
                continue
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == io.wake {
                    var sink = [UInt8](repeating: 0, count: 64)
                    _ = read(io.wake, &sink, sink.count)
                } else if entry.fd == pidfd {
                    continue  // seen at the top of the loop
                } else if entry.fd == inFD {
                    if entry.revents & Int16(POLLOUT) != 0 {
                        let n = io.data.withUnsafeBytes { raw in
                            write(entry.fd, raw.baseAddress! + written, min(raw.count - written, 64 * 1024))
                        }
                        if n > 0 { written += n }
                        if written >= io.data.count || (n < 0 && errno != EAGAIN && errno != EINTR) { closeInput() }
                    } else {
                        closeInput()
                    }
                } else {
                    let n = chunk.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                    if n > 0 {
                        (entry.fd == outFD ? stdoutBuffer : stderrBuffer).append(chunk, count: n)
                        if exitedAt != nil {
                            drained[entry.fd, default: 0] += n
                            if drained[entry.fd, default: 0] >= Self.drainBytes {
                                if entry.fd == outFD { outFD = nil } else { errFD = nil }
                                _ = close(entry.fd)
                                lock.lock()
                                outputIncomplete = true
                                lock.unlock()
                            }
                        }
                    } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                        if entry.fd == outFD { outFD = nil } else { errFD = nil }
                        _ = close(entry.fd)
                    }
                }
            }
        }
        closeInput()
        lock.lock()
        // Pipes still open after the exit: something the program started holds them.
        if outFD != nil || errFD != nil { outputIncomplete = true }
        // Whatever is left of the program's group goes now, while the unreaped child still holds the group id.
        signal(SIGKILL)
        var info = siginfo_t()
        if pidfd >= 0 {
            _ = waitid(P_PIDFD, id_t(pidfd), &info, WEXITED)
            _ = close(pidfd)
        } else {
            _ = waitid(P_PID, id_t(childPID), &info, WEXITED)
        }
        reaped = true
        pidfd = -1
        _ = close(wakeWrite)
        wakeWrite = -1
        lock.unlock()
        for fd in [outFD, errFD, io.wake].compactMap({ $0 }) { _ = close(fd) }

        lock.lock()
        let (out, outOmitted) = stdoutBuffer.text()
        let (err, errOmitted) = stderrBuffer.text()
        let result = CommandResult(
            commandLine: commandLine, status: status, stdout: out, stderr: err,
            timedOut: stopReason == .timeout, killed: killed, stdoutOmittedBytes: outOmitted,
            stderrOmittedBytes: errOmitted, outputIncomplete: outputIncomplete)
        finished = result
        let pending = waiters
        waiters = []
        lock.unlock()
        for waiter in pending { waiter.resume(returning: result) }
        finishedGroup.leave()
    }
}

/// One output stream, kept whole up to `limit` bytes; past it, the first and last `limit / 2` bytes (cut at UTF-8
/// character boundaries when the text is made).
private final class BoundedBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private let headLimit: Int
    private let tailLimit: Int
    private var head = Data()
    private var tail = Data()
    private var total = 0

    init(limit: Int) {
        headLimit = limit / 2
        tailLimit = limit - limit / 2
    }

    func append(_ bytes: [UInt8], count: Int) {
        lock.lock()
        defer { lock.unlock() }
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

    /// The text kept (decoded as UTF-8, invalid bytes as U+FFFD) and how many bytes were left out of it.
    func text() -> (String, Int) {
        lock.lock()
        defer { lock.unlock() }
        var kept = Data(tail.suffix(tailLimit))
        guard total > head.count + kept.count else { return (String(decoding: head + kept, as: UTF8.self), 0) }
        // Something was cut: the head must not end, nor the tail begin, inside a character.
        let cutHead = Self.withoutPartialLastCharacter(head)
        for _ in 0..<3 where kept.first.map({ $0 & 0xC0 == 0x80 }) == true { kept.removeFirst() }
        let omitted = total - cutHead.count - kept.count
        return (String(decoding: cutHead + kept, as: UTF8.self), omitted)
    }

    /// `bytes` without a last UTF-8 sequence that is not complete.
    static func withoutPartialLastCharacter(_ bytes: Data) -> Data {
        let bytes = Data(bytes)
        var index = bytes.count - 1
        var continuation = 0
        while index >= 0, continuation < 4, bytes[index] & 0xC0 == 0x80 {
            index -= 1
            continuation += 1
        }
        guard index >= 0 else { return bytes }
        let lead = bytes[index]
        let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return length > continuation + 1 ? bytes.prefix(index) : bytes
    }
}
