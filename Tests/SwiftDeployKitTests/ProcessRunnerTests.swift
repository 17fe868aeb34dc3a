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
        #expect(result.stdout.hasPrefix("ooooo") && result.stdout.hasSuffix("ooooo"))
        #expect(result.stdout.contains("[swiftdeploy: 5000000 bytes of standard output left out here"))
        #expect(result.stderr.contains("[swiftdeploy: 5000000 bytes of standard error left out here"))
    }

    @Test func outputUnderTheLimitIsWhole() async throws {
        let result = try await ProcessRunner.run(["sh", "-c", "head -c 1000000 /dev/zero | tr '\\000' x; echo err >&2"],
                                                 timeout: 60)
        #expect(result.stdout == String(repeating: "x", count: 1_000_000) && result.stderr == "err\n")
        #expect(result.stdoutOmittedBytes == 0 && result.stderrOmittedBytes == 0 && !result.killed)
    }

    /// SIGTERM is ignored (by the shell and, inherited, by its children): only SIGKILL after the grace period ends it.
    @Test func aChildIgnoringSIGTERMIsKilledAfterTheGrace() async throws {
        let start = Date()
        let result = try await ProcessRunner.run(["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
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

    @Test func cancellingTheCallerKillsTheChild() async throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString).pid")
        defer { try? FileManager.default.removeItem(at: pidFile) }
        let task = Task {
            try await ProcessRunner.run(["sh", "-c", "echo $$ > '\(pidFile.path)'; exec sleep 60"], timeout: 120)
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
        errno = 0
        #expect(kill(child, 0) == -1 && errno == ESRCH, "pid \(child) is still there after the cancel")
    }

    /// 16 children of one second each, all at once, while a ticker on the cooperative pool counts. The pool has one
    /// thread per core: a runner that blocked a pool thread per child would need 16 / cores seconds and starve the
    /// ticker; one that awaits continuations finishes in about a second with the ticker ticking throughout.
    /// The pool is the test process's: another test blocking pool threads at the same time fails this one too.
    @Test func sixteenChildrenAtOnceLeaveThePoolFree() async throws {
        let ticks = TickCounter()
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 20_000_000)
                await ticks.tick()
            }
        }
        let start = Date()
        let statuses = try await withThrowingTaskGroup(of: Int32.self) { group in
            for _ in 0..<16 { group.addTask { try await ProcessRunner.run(["sleep", "1"], timeout: 30).status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = Date().timeIntervalSince(start)
        ticker.cancel()
        let (count, longestGap) = await ticks.figures()
        #expect(statuses == Array(repeating: 0, count: 16))
        #expect(elapsed < 4, "16 concurrent `sleep 1` took \(elapsed) s: children ran a few at a time")
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
        let result = try await ProcessRunner.run(["sh", "-c", script],
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
