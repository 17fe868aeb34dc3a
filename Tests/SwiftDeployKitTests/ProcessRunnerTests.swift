import Foundation
import Testing

@testable import SwiftDeployKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one process runner, against hostile children: floods on both pipes, SIGTERM ignored, a cancelled caller,
/// many children at once, a missing program.
@Suite struct ProcessRunnerTests {
    static let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"

    /// The child writes 6 MB to standard error before it writes a byte of standard output: a runner that read one
    /// pipe to its end before the other would wait forever on a child blocked on the full stderr pipe.
    @Test func floodOnBothPipesFinishesAndIsBounded() async throws {
        let script = "head -c 6000000 /dev/zero | tr '\\000' e >&2; head -c 6000000 /dev/zero | tr '\\000' o; exit 4"
        let result = try await ProcessRunner.run(["sh", "-c", script], timeout: 120, outputLimit: 1_000_000)
        #expect(!result.timedOut && result.status == 4)
        #expect(result.stdoutOmittedBytes == 5_000_000 && result.stderrOmittedBytes == 5_000_000)
        #expect(result.stdout.utf8.count < 1_000_200 && result.stderr.utf8.count < 1_000_200)
        // The cut is reported in the fields, never inside the data: what is kept is the program's own bytes.
        #expect(result.stdout == String(repeating: "o", count: 1_000_000))
        #expect(result.stderr == String(repeating: "e", count: 1_000_000))
    }

    @Test func outputUnderTheLimitIsWhole() async throws {
        let result = try await ProcessRunner.run(
            ["sh", "-c", "head -c 1000000 /dev/zero | tr '\\000' x; echo err >&2"],
            timeout: 60)
        #expect(result.stdout == String(repeating: "x", count: 1_000_000) && result.stderr == "err\n")
        #expect(result.stdoutOmittedBytes == 0 && result.stderrOmittedBytes == 0 && !result.killed)
    }

    /// SIGTERM is ignored (by the shell and, inherited, by its children): only SIGKILL after the grace period ends it.
    @Test func aChildIgnoringSIGTERMIsKilledAfterTheGrace() async throws {
        let start = Date()
        let result = try await ProcessRunner.run(
            ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
            timeout: 0.5, killGrace: 1.5)
        let elapsed = Date().timeIntervalSince(start)
        #expect(result.timedOut && result.killed && !result.succeeded)
        #expect(result.status == SIGKILL)
        #expect(elapsed >= 1.9, "SIGKILL came before the grace period: \(elapsed) s")
        #expect(elapsed < 10, "the child outlived SIGKILL: \(elapsed) s")
    }

    /// A child that honours SIGTERM is not made to wait out the grace period.
    @Test func aChildHonouringSIGTERMStopsAtTheTimeout() async throws {
        let start = Date()
        let result = try await ProcessRunner.run(["sleep", "30"], timeout: 0.5, killGrace: 20)
        #expect(result.timedOut && !result.killed && result.status == SIGTERM)
        #expect(Date().timeIntervalSince(start) < 10)
    }

    /// The child runs its `sleep` in the background and waits for it: the grandchild must go too.
    @Test func cancellingTheCallerKillsTheChild() async throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString).pid")
        defer { try? FileManager.default.removeItem(at: pidFile) }
        let task = Task {
            try await ProcessRunner.run(["sh", "-c", "sleep 60 & echo $! > '\(pidFile.path)'; wait"], timeout: 120)
        }
        var pid: Int32?
        for _ in 0..<200 where pid == nil {
            try await Task.sleep(nanoseconds: 50_000_000)
            pid = (try? String(contentsOf: pidFile, encoding: .utf8)).flatMap {
                Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        let child = try #require(pid, "the child never wrote its pid")
        #expect(kill(child, 0) == 0, "the child should be running before the cancel")
        let start = Date()
        task.cancel()
        let outcome = await task.result
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(await Self.gone(child), "pid \(child) is still there after the cancel")
    }

    /// Four children per core (plus four) of one second each, all at once, while a ticker on the cooperative pool
    /// counts. The pool has one thread per core: a runner that blocked a pool thread per child would need at least
    /// four seconds and starve the ticker, on any machine; one that awaits its children finishes in about a second
    /// with the ticker ticking throughout. The pool is the test process's: another test blocking pool threads at
    /// the same time fails this one too.
    @Test func manyChildrenAtOnceLeaveThePoolFree() async throws {
        let children = ProcessInfo.processInfo.activeProcessorCount * 4 + 4
        let ticks = TickCounter()
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 20_000_000)
                await ticks.tick()
            }
        }
        let start = Date()
        let statuses = try await withThrowingTaskGroup(of: Int32.self) { group in
            for _ in 0..<children {
                group.addTask { try await ProcessRunner.run(["sleep", "1"], timeout: 30).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = Date().timeIntervalSince(start)
        ticker.cancel()
        let (count, longestGap) = await ticks.figures()
        #expect(statuses == Array(repeating: 0, count: children))
        #expect(elapsed < 3.5, "\(children) concurrent `sleep 1` took \(elapsed) s: children ran a few at a time")
        #expect(count >= 15, "the ticker ticked \(count) times in \(elapsed) s: the pool was blocked")
        #expect(longestGap < 0.9, "the ticker stalled for \(longestGap) s")
    }

    @Test func aMissingProgramIsNamed() async throws {
        await #expect(throws: ProcessRunnerError.programNotFound(program: "no-such-program-xyz")) {
            try await ProcessRunner.run(["no-such-program-xyz", "--version"], timeout: 5)
        }
        await #expect(throws: ProcessRunnerError.programNotFound(program: "/no/such/dir/tool")) {
            try await ProcessRunner.run(["/no/such/dir/tool"], timeout: 5)
        }
        let message = ProcessRunnerError.programNotFound(program: "no-such-program-xyz").errorDescription ?? ""
        #expect(message.contains("'no-such-program-xyz'") && message.contains("PATH"))
    }

    /// The environment given is the child's whole environment; the input reaches its standard input while its
    /// output is read (3 MB each way, more than a pipe holds).
    @Test func environmentDirectoryAndInputPassThrough() async throws {
        let directory = FileManager.default.temporaryDirectory.resolvingSymlinksInPath()
        let script = "printf '%s|%s|%s|' \"$SWIFTDEPLOY_PROBE\" \"${HOME-unset}\" \"$(pwd)\"; cat"
        let input = Data(String(repeating: "0123456789abcdef", count: 3 * 65_536).utf8)
        let result = try await ProcessRunner.run(
            ["sh", "-c", script],
            environment: ["PATH": Self.path, "SWIFTDEPLOY_PROBE": "a b='c'"],
            currentDirectory: directory, input: input, timeout: 60)
        let prefix = "a b='c'|unset|\(directory.path)|"
        #expect(result.status == 0 && result.stdout.hasPrefix(prefix))
        #expect(result.stdout.dropFirst(prefix.count) == Substring(String(decoding: input, as: UTF8.self)))

        let noInput = try await ProcessRunner.run(["cat"], timeout: 10)
        #expect(noInput.status == 0 && noInput.stdout.isEmpty && !noInput.timedOut)
    }

    #if os(Linux)
    /// Started from a thread of the cooperative pool (which blocks SIGTERM, SIGINT and more), the child still starts
    /// with no signal blocked: a timeout's SIGTERM reaches it.
    @Test func theChildStartsWithNoSignalBlocked() async throws {
        let result = try await ProcessRunner.run(["grep", "SigBlk", "/proc/self/status"], timeout: 10)
        #expect(result.stdout.split(whereSeparator: \.isWhitespace).last == "0000000000000000", "\(result.stdout)")
    }
    #endif

    @Test func startedProcessCanBeStopped() async throws {
        let child = try ProcessRunner.start(["sleep", "60"], timeout: nil, killGrace: 5)
        #expect(child.isRunning && child.pid > 0)
        child.stop()
        let result = try await child.result()
        #expect(!child.isRunning && result.status == SIGTERM && !result.timedOut && !result.killed)
        #expect(result.commandLine == "sleep 60")
    }
}

private actor TickCounter {
    private var last = Date()
    private var count = 0
    private var longestGap: TimeInterval = 0

    func tick() {
        let now = Date()
        longestGap = max(longestGap, now.timeIntervalSince(last))
        last = now
        count += 1
    }

    func figures() -> (Int, TimeInterval) { (count, longestGap) }
}

/// Hostile children for the runner's own exit detection (review of the first runner, findings 1-12): background
/// grandchildren, children that close inherited descriptors, cancelled callers, absurd timeouts, odd PATH entries.
extension ProcessRunnerTests {
    /// Whether `pid` is gone: no such process, or only a zombie left for whoever reaps orphans here.
    static func gone(_ pid: Int32, within seconds: Double = 5) async -> Bool {
        let until = Date().addingTimeInterval(seconds)
        repeat {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
            if stat.split(separator: ")").last?.split(separator: " ").first == "Z" { return true }
            try? await Task.sleep(nanoseconds: 50_000_000)
        } while Date() < until
        return false
    }

    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// Finding 1: the child exits at once but leaves a `sleep` in the background holding its output pipes. The run
    /// ends when the child does (not when the grandchild does), is not reported timed out, and the grandchild,
    /// still in the child's process group, is killed.
    @Test func aBackgroundGrandchildDoesNotHoldTheRun() async throws {
        var start = Date()
        let result = try await ProcessRunner.run(["sh", "-c", "sleep 30 & echo $!"], timeout: 20)
        #expect(Date().timeIntervalSince(start) < 2, "the run lasted \(Date().timeIntervalSince(start)) s")
        #expect(result.status == 0 && !result.timedOut && !result.killed && result.succeeded)
        let grandchild = try #require(Int32(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(grandchild, SIGKILL) }
        #expect(await Self.gone(grandchild), "the background sleep \(grandchild) outlived the run")

        // A timeout shorter than the grandchild's life: the child succeeded, so the result must say so.
        start = Date()
        let short = try await ProcessRunner.run(["sh", "-c", "sleep 4 &"], timeout: 1)
        #expect(Date().timeIntervalSince(start) < 1, "the run lasted \(Date().timeIntervalSince(start)) s")
        #expect(short.status == 0 && !short.timedOut && short.succeeded)
    }

    /// Finding 1: a fully detached daemon (its own session, no pipes) is not the run's business: the run ends with
    /// the child, whatever the daemon does.
    @Test func aDetachedDaemonDoesNotHoldTheRun() async throws {
        let start = Date()
        let result = try await ProcessRunner.run(
            ["sh", "-c", "setsid sleep 30 </dev/null >/dev/null 2>&1 & echo $!"], timeout: 5, killGrace: 1)
        let elapsed = Date().timeIntervalSince(start)
        if let daemon = Int32(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(daemon, SIGKILL) }
        #expect(result.status == 0 && !result.timedOut && !result.killed)
        #expect(elapsed < 2, "the run lasted \(elapsed) s")
    }

    /// Finding 2: a direct child that closes every inherited descriptor (as sudo, ssh and daemons do) must not
    /// delay another run's exit: `true` beside it comes back at once and not timed out.
    @Test func aChildClosingItsDescriptorsDoesNotStallOtherRuns() async throws {
        let blocker = try ProcessRunner.start(
            ["perl", "-MPOSIX", "-e", "POSIX::close($_) for 3..1024; sleep 6"],
            timeout: 30, killGrace: 1)
        defer { blocker.stop() }
        try await Task.sleep(nanoseconds: 700_000_000)
        for _ in 0..<3 {
            let start = Date()
            let result = try await ProcessRunner.run(["true"], timeout: 3)
            let elapsed = Date().timeIntervalSince(start)
            #expect(result.status == 0 && !result.timedOut && !result.killed, "\(result)")
            #expect(elapsed < 1, "`true` took \(elapsed) s beside a child that closed its descriptors")
        }
        blocker.stop()
        _ = try await blocker.result()
    }

    /// Finding 3: after the child exits, a grandchild that keeps its stderr (like an ssh ControlPersist master)
    /// neither stretches the run past its timeout nor survives it.
    @Test func theDrainAfterExitDoesNotOutlastTheTimeout() async throws {
        let start = Date()
        let script = "perl -MPOSIX -e 'POSIX::close($_) for 3..1024; sleep 20' & echo $!"
        let result = try await ProcessRunner.run(["sh", "-c", script], timeout: 1, killGrace: 1)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 1.5, "the run lasted \(elapsed) s with a timeout of 1 s")
        #expect(result.status == 0 && !result.timedOut)
        let grandchild = try #require(Int32(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(grandchild, SIGKILL) }
        #expect(await Self.gone(grandchild), "the grandchild \(grandchild) outlived the run")
    }

    /// Finding 3: a grandchild that writes without pause after the child exited cannot keep the reader busy: what
    /// was buffered is read, the rest is not waited for (a timeout far off does not matter).
    @Test func aGrandchildWritingForeverDoesNotHoldTheRun() async throws {
        let start = Date()
        let child = try ProcessRunner.start(
            ["sh", "-c", "echo first; yes & sleep 0.3"], timeout: 10, killGrace: 1,
            outputLimit: 4096)
        let result = try await child.result()
        let elapsed = Date().timeIntervalSince(start)
        #expect(result.status == 0 && result.stdout.hasPrefix("first\n"))
        #expect(elapsed < 2, "the run lasted \(elapsed) s after its child exited")
    }

    /// Finding 4: a task cancelled before it asks never starts the program (here one that would ignore the SIGTERM
    /// a late cancellation sends and leave its mark anyway).
    @Test func aCancelledTaskNeverStartsTheProgram() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: marker) }
        for _ in 0..<10 {
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await ProcessRunner.run(["sh", "-c", "trap '' TERM; touch '\(marker.path)'"], timeout: 5)
            }
            let outcome = await task.result
            #expect(throws: CancellationError.self) { try outcome.get() }
        }
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(!FileManager.default.fileExists(atPath: marker.path), "a cancelled task started the program")
    }

    /// Finding 5: two tasks await one started process; cancelling one must not turn the other's wait into a
    /// `CancellationError` (the cancelled one stops the shared program, as documented, and throws).
    @Test func cancellingOneWaiterLeavesTheOtherItsResult() async throws {
        let child = try ProcessRunner.start(["sleep", "2"], timeout: nil, killGrace: 1)
        let first = Task { try await child.result() }
        let second = Task { try await child.result() }
        try await Task.sleep(nanoseconds: 300_000_000)
        first.cancel()
        let cancelled = await first.result
        let other = await second.result
        #expect(throws: CancellationError.self) { try cancelled.get() }
        let result = try other.get()
        #expect(result.status == SIGTERM && !result.timedOut)
    }

    /// Finding 6: a timeout or grace from arithmetic or configuration never crashes the process: infinite or huge
    /// means no limit; NaN or negative is refused before anything starts, naming the value.
    @Test func absurdTimeoutsAreNoLimitOrAClearError() async throws {
        for value in [TimeInterval.infinity, 1e300, 2e10, Double.greatestFiniteMagnitude] {
            let result = try await ProcessRunner.run(["true"], timeout: value, killGrace: value)
            #expect(result.status == 0 && !result.timedOut)
        }
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: marker) }
        for (timeout, grace, shown) in [
            (TimeInterval.nan, 1.0, "nan"), (-1, 1, "-1.0"), (5, -.infinity, "-inf"),
            (5, .nan, "nan"),
        ] {
            do {
                _ = try await ProcessRunner.run(["touch", marker.path], timeout: timeout, killGrace: grace)
                Issue.record("timeout \(timeout), grace \(grace) was accepted")
            } catch let error as ProcessRunnerError {
                let message = error.errorDescription ?? ""
                #expect(message.contains(shown) && message.contains("seconds"), "\(message)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: marker.path), "a refused timeout still ran the program")
    }

    /// Finding 7: a directory or a non-executable file named like the program is skipped on PATH (as a shell
    /// does); when only a non-executable one exists, the error names it and says what is wrong.
    @Test func pathLookupSkipsDirectoriesAndNamesNonExecutables() async throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("runner-path-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        let first = root.appendingPathComponent("first"), second = root.appendingPathComponent("second")
        try fm.createDirectory(at: first.appendingPathComponent("ls"), withIntermediateDirectories: true)
        try fm.createDirectory(at: second, withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho plain\n".utf8).write(to: first.appendingPathComponent("echo"))
        try Data("#!/bin/sh\necho tool\n".utf8).write(to: second.appendingPathComponent("tool"))

        let env = ["PATH": "\(first.path):\(second.path):\(Self.path)"]
        let listed = try await ProcessRunner.run(["ls", "/"], environment: env, timeout: 10)
        #expect(listed.status == 0 && !listed.stdout.isEmpty)
        let echoed = try await ProcessRunner.run(["echo", "hi"], environment: env, timeout: 10)
        #expect(echoed.stdout == "hi\n", "the non-executable `echo` first on PATH was not skipped")

        let tool = second.appendingPathComponent("tool").path
        for arguments in [["tool"], [tool]] {
            do {
                _ = try await ProcessRunner.run(arguments, environment: env, timeout: 10)
                Issue.record("\(arguments) ran")
            } catch let error as ProcessRunnerError {
                guard case .cannotStart(_, let detail) = error else {
                    Issue.record("\(arguments): \(error)")
                    continue
                }
                #expect(detail.contains(tool) && detail.contains("not executable"), "\(detail)")
            }
        }
        do {
            _ = try await ProcessRunner.run([first.path], timeout: 10)
            Issue.record("a directory ran")
        } catch let error as ProcessRunnerError {
            guard case .cannotStart(_, let detail) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(detail.contains(first.path) && detail.contains("directory"), "\(detail)")
        }
        #expect(ProcessRunner.locate("ls", path: env["PATH"])?.path != first.appendingPathComponent("ls").path)
    }

    /// Finding 8: the bound cuts at UTF-8 character boundaries on both sides, and says so only in the counts.
    @Test func theOutputBoundCutsWholeCharacters() async throws {
        let result = try await ProcessRunner.run(["printf", "éééééééé"], timeout: 10, outputLimit: 6)
        #expect(result.stdout == "éé", "\(result.stdout.debugDescription)")
        #expect(result.stdoutOmittedBytes == 12)
        #expect(!result.stdout.contains("\u{FFFD}") && !result.stdout.contains("swiftdeploy"))
    }

    #if os(Linux)
    /// Finding 9: a signal this process ignores (set here for the test and put back) is not ignored by the child,
    /// which starts with every signal at its default disposition.
    @Test func theChildStartsWithDefaultSignalDispositions() async throws {
        var ignore = sigaction(), saved = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigaction(SIGWINCH, &ignore, &saved)
        let result: CommandResult
        do {
            defer { sigaction(SIGWINCH, &saved, nil) }
            result = try await ProcessRunner.run(["grep", "SigIgn", "/proc/self/status"], timeout: 10)
        }
        let mask = result.stdout.split(whereSeparator: \.isWhitespace).last.flatMap { UInt64($0, radix: 16) }
        // Signals 32 and 33 are the C library's own (thread cancellation, set*id): glibc's posix_spawn keeps them
        // ignored in the child, and no program can use them through the C library.
        #expect(mask.map { $0 & ~UInt64(0x1_8000_0000) } == 0, "\(result.stdout)")
    }
    #endif

    /// Nothing is left open by a run: the same number of descriptors after 500 runs (half with input) as before.
    @Test func fiveHundredRunsLeaveNoDescriptorOpen() async throws {
        _ = try await ProcessRunner.run(["true"], input: Data("x".utf8), timeout: 10)
        let before = Self.openDescriptors()
        for index in 0..<500 {
            let result = try await ProcessRunner.run(
                ["true"], input: index % 2 == 0 ? Data("x".utf8) : nil,
                timeout: 10)
            #expect(result.status == 0)
        }
        // At most as many: a leak adds one or more per run (hundreds here); a descriptor an earlier test's server
        // closes meanwhile (the suite shares its process with other suites) may take one away.
        #expect(Self.openDescriptors() <= before, "descriptors: \(before) before 500 runs")
    }

    /// A start the system refuses (the working directory does not exist) is an error naming the directory, and the
    /// half-made process is let go cleanly (waiting for it is not possible, and nothing crashes when it goes).
    @Test func aMissingWorkingDirectoryIsNamed() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("runner-none-\(UUID().uuidString)")
        do {
            _ = try await ProcessRunner.run(["true"], currentDirectory: missing, timeout: 5)
            Issue.record("ran in a directory that does not exist")
        } catch let error as ProcessRunnerError {
            guard case .cannotStart(_, let detail) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(detail.contains(missing.path), "\(detail)")
        }
    }

    /// 10 MB of input to a child that never reads it: the run ends with the child, not blocked writing.
    @Test func inputTheChildNeverReadsDoesNotBlock() async throws {
        let start = Date()
        let result = try await ProcessRunner.run(
            ["sh", "-c", "sleep 0.5; exit 3"], input: Data(count: 10_000_000),
            timeout: 20)
        #expect(result.status == 3 && !result.timedOut)
        #expect(Date().timeIntervalSince(start) < 5)
    }
}
