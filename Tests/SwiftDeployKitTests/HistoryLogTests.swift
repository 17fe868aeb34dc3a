import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The local actor environment the tests use (never the CI running them).
let localEnvironment = ["USER": "alice", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]

func historyLines(_ url: URL) throws -> [String] {
    let text = try String(contentsOf: url, encoding: .utf8)
    var lines = text.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    return lines
}

func jsonObject(_ line: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

@Suite("History log")
struct HistoryLogTests {
    @Test func appendWritesOneChainedLinePerEntry() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("nested/history.jsonl")
        let log = HistoryLog(url: url, environment: localEnvironment)
        let a = try await log.append(
            HistoryEntry(event: .deploy, outcome: "ok", message: "first", modeBefore: "stable", modeAfter: "canary"))
        let b = try await log.append(
            HistoryEntry(
                event: .gate,
                decision: HistoryDecision(
                    domain: "canary", verdict: "deny",
                    reasons: ["too slow"], engine: "embedded",
                    input: ["metrics": ["p99_ms": 900]])))
        let c = try await log.append(
            HistoryEntry(event: .promote, manifestHash: Digest.sha256Hex(of: Data("m".utf8))))

        let lines = try historyLines(url)
        #expect(lines.count == 3)
        #expect(lines == [a.line, b.line, c.line])
        #expect(a.prev == HistoryRecord.genesisHash)
        #expect(b.prev == Digest.sha256Hex(of: Data(lines[0].utf8)))
        #expect(c.prev == Digest.sha256Hex(of: Data(lines[1].utf8)))
        #expect([a.sequence, b.sequence, c.sequence] == [1, 2, 3] as [Int])
        #expect(Set([a.id, b.id, c.id]).count == 3)

        let first = try jsonObject(lines[0])
        #expect(first["v"] as? Int == 1)
        #expect(first["event"] as? String == "deploy")
        #expect(first["mode_before"] as? String == "stable")
        #expect(first["mode_after"] as? String == "canary")
        #expect(first["decision"] == nil, "absent values are omitted")
        let time = try #require(first["time"] as? String)
        #expect(time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil)
        let actor = try #require(first["actor"] as? [String: Any])
        #expect(actor["user"] as? String == "alice")
        #expect(actor["host"] as? String == HistoryActor.localHostName())
        let decision = try #require(try jsonObject(lines[1])["decision"] as? [String: Any])
        #expect(decision["verdict"] as? String == "deny")
        #expect(decision["reasons"] as? [String] == ["too slow"])
        #expect(
            try jsonObject(lines[2])["manifest_hash"] as? String
                == "62c66a7a5dd70c3146618063c344e531e6d4b59e379808443ce962b3abd63c5a")

        let status = try AuditReport.verify(history: url).chain
        #expect(status.isIntact)
        #expect(status.records == 3)
        #expect(status.head == c.hash)
    }

    @Test func sha256HexMatchesAKnownVector() async {
        #expect(
            Digest.sha256Hex(of: Data("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func actorComesFromTheCIEnvironmentOrUserAndHost() async {
        let github = HistoryActor.resolve(
            environment: [
                "GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_RUN_ID": "99",
                "GITHUB_WORKFLOW": "release", "CI": "true", "USER": "runner",
            ], hostName: "h")
        #expect(
            github == HistoryActor(user: "octocat", host: "h", ci: "github-actions", job: "99", workflow: "release"))
        let gitlab = HistoryActor.resolve(
            environment: [
                "GITLAB_CI": "true", "GITLAB_USER_LOGIN": "gl", "CI_JOB_ID": "7",
                "CI_PIPELINE_ID": "3",
            ], hostName: "h")
        #expect(gitlab == HistoryActor(user: "gl", host: "h", ci: "gitlab-ci", job: "7", workflow: "3"))
        let generic = HistoryActor.resolve(environment: ["CI": "true", "USER": "bot", "BUILD_ID": "12"], hostName: "h")
        #expect(generic == HistoryActor(user: "bot", host: "h", ci: "ci", job: "12"))
        let local = HistoryActor.resolve(environment: ["CI": "false", "USER": "alice"], hostName: "h")
        #expect(local == HistoryActor(user: "alice", host: "h"))
        #expect(local.displayName == "alice@h")
        #expect(generic.displayName == "bot (ci job 12)")
    }

    @Test func commitComesFromTheEnvironmentOrGitAndNeverFailsTheAppend() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let sha = String(repeating: "ab", count: 20)
        var env = localEnvironment
        env["SWIFTDEPLOY_GIT_COMMIT"] = sha
        let withEnv = try await HistoryLog(url: dir.url.appendingPathComponent("a.jsonl"), environment: env).append(
            HistoryEntry(event: .status))
        #expect(withEnv.commit == sha)

        // Not a repository (or no git at all): no commit, and the append still succeeds.
        let plain = try await HistoryLog(url: dir.url.appendingPathComponent("b.jsonl"), environment: localEnvironment)
            .append(HistoryEntry(event: .status))
        #expect(plain.commit == nil)
        #expect(try jsonObject(plain.line)["commit"] == nil)

        var noGit = localEnvironment
        noGit["PATH"] = dir.path
        await #expect(
            try HistoryLog(url: dir.url.appendingPathComponent("c.jsonl"), environment: noGit).append(
                HistoryEntry(event: .status)
            ).commit == nil)
    }

    @Test(.requires(.git))
    func commitIsTheRepositoryHead() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("x", to: "file")
        func git(_ args: [String]) async throws -> String {
            let git = try #require(
                ProcessRunner.locate("git", path: ProcessInfo.processInfo.environment["PATH"] ?? ""))
            let result = try await ExternalTool.capture(
                [
                    git.path, "-C", dir.path, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c",
                    "commit.gpgsign=false",
                ] + args, timeout: 60)
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try await git(["init", "-q"])
        _ = try await git(["add", "file"])
        _ = try await git(["commit", "-q", "-m", "x"])
        let head = try await git(["rev-parse", "HEAD"])
        #expect(head.count == 40)
        let record = try await HistoryLog(
            url: dir.url.appendingPathComponent("history.jsonl"), environment: localEnvironment
        )
        .append(HistoryEntry(event: .deploy))
        #expect(record.commit == head)
    }

    @Test func tornLastLineIsSealedByTheNextAppendAndReported() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        let log = HistoryLog(url: url, environment: localEnvironment)
        try await log.append(HistoryEntry(event: .deploy))
        let second = try await log.append(HistoryEntry(event: .gate))
        // A crash part-way through a write: half a line, no newline.
        let torn = #"{"actor":{"user":"alice"},"event":"promote","id":"12"#
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(torn.utf8))
        try handle.close()

        let before = try AuditReport.verify(history: url).chain
        #expect(before.isIntact, "a torn last line is not a broken chain")
        #expect(before.tornLines == [HistoryTornLine(line: 3, sealed: false)])
        #expect(before.head == second.hash)

        let third = try await log.append(HistoryEntry(event: .promote, outcome: "ok"))
        let lines = try historyLines(url)
        #expect(lines.count == 4)
        #expect(lines[2] == torn, "the torn line is kept as it was, terminated")
        #expect(lines[3] == third.line, "the new line is whole, not glued to the torn one")
        #expect(third.sequence == 3)
        #expect(third.prev == second.hash, "the chain skips the torn line")
        #expect(third.sealed == [Digest.sha256Hex(of: Data(torn.utf8))])

        let after = try AuditReport.verify(history: url).chain
        #expect(after.isIntact)
        #expect(after.tornLines == [HistoryTornLine(line: 3, sealed: true)])
        #expect(after.records == 3)
        let fourth = try await log.append(HistoryEntry(event: .status))
        #expect(fourth.sealed.isEmpty)
        #expect(try AuditReport.verify(history: url).chain.isIntact)
    }

    @Test func aCrashWhileSealingLeavesTwoTornLinesThatTheNextAppendSealsTogether() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        let log = HistoryLog(url: url, environment: localEnvironment)
        let first = try await log.append(HistoryEntry(event: .deploy))
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"torn":1"#.utf8))
        try handle.write(contentsOf: Data("\n{\"torn\":2".utf8))  // the sealing write itself cut short
        try handle.close()
        let status = try AuditReport.verify(history: url).chain
        #expect(status.isIntact)
        #expect(status.tornCount == 2)
        let next = try await log.append(HistoryEntry(event: .status))
        #expect(next.prev == first.hash)
        #expect(next.sealed.count == 2)
        let after = try AuditReport.verify(history: url).chain
        #expect(after.isIntact)
        #expect(after.tornLines == [HistoryTornLine(line: 2, sealed: true), HistoryTornLine(line: 3, sealed: true)])
    }

    @Test func threadsAppendingThroughSeparateLogsLoseNothing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        let failures = LockedCounter()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let log = HistoryLog(url: url, environment: localEnvironment)
                    for i in 0..<50 {
                        do {
                            try await log.append(HistoryEntry(event: .status, message: "worker \(worker) #\(i)"))
                        } catch { failures.add() }
                    }
                }
            }
        }
        #expect(failures.value == 0)
        let lines = try historyLines(url)
        #expect(lines.count == 200)
        let seqs = try lines.map { try jsonObject($0)["seq"] as? Int ?? 0 }
        #expect(seqs == Array(1...200))
        let status = try AuditReport.verify(history: url).chain
        #expect(status.isIntact)
        #expect(status.records == 200)
    }

    @Test func aFileWithNoIntactLineInItsTailIsRefused() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        let junkLine = String(repeating: "x", count: 1023) + "\n"
        try Data(String(repeating: junkLine, count: 17 * 1024).utf8).write(to: url)
        await #expect(throws: HistoryError.notAHistory(path: url.path, scannedBytes: 16 << 20)) {
            try await HistoryLog(url: url, environment: localEnvironment).append(HistoryEntry(event: .status))
        }
        let message = HistoryError.notAHistory(path: url.path, scannedBytes: 16 << 20).errorDescription ?? ""
        #expect(message.contains(url.path) && message.contains("--history"))
    }

    @Test func anUnwritableLocationIsAnActionableError() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("not a directory", to: "file")
        let url = dir.url.appendingPathComponent("file/history.jsonl")
        do {
            try await HistoryLog(url: url, environment: localEnvironment).append(HistoryEntry(event: .status))
            Issue.record("append under a regular file must fail")
        } catch let error as HistoryError {
            #expect(error.exitStatus == .operationFailed)
            #expect(error.errorDescription?.contains(url.path) == true)
        }
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
