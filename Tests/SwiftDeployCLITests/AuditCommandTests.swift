import Foundation
import SwiftDeployKit
import TestSupport
import Testing

@testable import SwiftDeployKit

/// End-to-end: the built `swiftdeploy` binary as a subprocess.
/// A binary that is built but cannot run a command is a failure of every test here, never a skip: the suites below
/// require only that it is built (`.requires(.swiftdeployBinary)`: skipped locally without it, failed under CI).
let swiftdeployBinary = RepositoryPaths.builtProduct("swiftdeploy")

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `swiftdeploy` with `arguments` in `directory`, outside any CI environment.
func runSwiftDeploy(_ arguments: [String], in directory: URL, environment extra: [String: String] = [:]) async throws
    -> RunResult
{
    var env = [
        "USER": "tester", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "NO_COLOR": "1",
    ]
    env.merge(extra) { _, new in new }
    // Through the runner: both pipes read by its poll thread, so neither can fill up and block the child.
    let result = try await ExternalTool.capture(
        [swiftdeployBinary.path] + arguments, environment: env, currentDirectory: directory, timeout: 600)
    return RunResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
}

@Suite("swiftdeploy history and audit (end to end)", .requires(.swiftdeployBinary))
struct AuditCommandTests {
    /// 8 processes × 200 appends at once: 1,600 intact lines, no interleaving, a valid chain.
    @Test func eightProcessesAppendingAtOnceLoseNothing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let history = dir.url.appendingPathComponent("history.jsonl")
        // All eight started before any is waited for.
        let processes = try (0..<8).map { worker in
            try ProcessRunner.start(
                [
                    swiftdeployBinary.path, "history", "append", "--history", history.path, "--event", "status",
                    "--outcome", "ok", "--message", "worker \(worker)", "--detail", "worker=\(worker)", "--repeat",
                    "200", "--quiet",
                ],
                environment: [
                    "USER": "worker\(worker)",
                    "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                ], currentDirectory: dir.url, timeout: 600)
        }
        var results: [CommandResult] = []
        for process in processes { results.append(try await process.result()) }
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr))")

        let text = try String(contentsOf: history, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 1600)
        var perWorker: [Int: Int] = [:]
        var seqs: [Int] = []
        for line in lines {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                "line is not whole JSON: \(line)")
            seqs.append(object["seq"] as? Int ?? -1)
            let worker = (object["details"] as? [String: Any])?["worker"] as? Int ?? -1
            perWorker[worker, default: 0] += 1
        }
        #expect(seqs == Array(1...1600))
        #expect(perWorker == Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, 200) }))

        let verify = try await runSwiftDeploy(["audit", "--verify", "--history", history.path], in: dir.url)
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(
            verify.stderr.contains("chain intact: 1600 records in 1600 lines")
                || verify.stdout.contains("chain intact: 1600 records"))
    }

    @Test func auditWritesTheReportNextToTheManifestAndExitsZero() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.copyItem(
            at: RepositoryPaths.fixtures.appendingPathComponent("history/fixture.jsonl"),
            to: dir.url.appendingPathComponent("history.jsonl"))
        let result = try await runSwiftDeploy(["audit"], in: dir.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains("head 6e21591bc9e708a81b27dcae81411e9d175c752b43cd1316389939ec39c01605 (record #18)")
        )
        let report = try dir.read("audit_report.md")
        #expect(report.contains("## Violations"))
        #expect(report.contains("| Records in period | 18 |"))

        let html = try await runSwiftDeploy(["audit", "--format", "html", "--output", "out/report.html"], in: dir.url)
        #expect(html.status == 3, "the output directory does not exist: an I/O failure")
        #expect(html.stderr.contains("out/report.html"))
        try FileManager.default.createDirectory(
            at: dir.url.appendingPathComponent("out"), withIntermediateDirectories: true)
        await #expect(
            try runSwiftDeploy(["audit", "--format", "html", "--output", "out/report.html"], in: dir.url).status == 0)
        #expect(try dir.read("out/report.html").contains("<svg"))
    }

    /// A manifest that exists but does not load may name another history (`history.path`): audit and append say so
    /// and which file they used, never pass over it in silence. Without any manifest a bare history is audited quietly.
    @Test func aManifestThatDoesNotLoadIsSaidWithTheHistoryUsed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.copyItem(
            at: RepositoryPaths.fixtures.appendingPathComponent("history/fixture.jsonl"),
            to: dir.url.appendingPathComponent("history.jsonl"))
        let quiet = try await runSwiftDeploy(["audit", "--verify"], in: dir.url)
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("does not load"), "no manifest at all is not a problem: \(quiet.stderr)")

        try dir.write("project: [unclosed\nhistory:\n  path: elsewhere.jsonl\n", to: "manifest.yaml")
        for arguments in [["audit", "--verify"], ["audit"]] {
            let result = try await runSwiftDeploy(arguments, in: dir.url)
            #expect(result.status == 0, "the history itself is intact: \(arguments) \(result.stderr)")
            #expect(result.stderr.contains("manifest.yaml does not load"), "\(arguments): \(result.stderr)")
            #expect(
                result.stderr.contains("the history read is \(dir.url.appendingPathComponent("history.jsonl").path)"),
                "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("pass --history"), "\(arguments): \(result.stderr)")
        }
        #expect(try dir.read("audit_report.md").contains("| Records in period | 18 |"))

        let append = try await runSwiftDeploy(
            ["history", "append", "--event", "deploy", "--message", "by hand"], in: dir.url)
        #expect(append.status == 0, "\(append.stderr)")
        #expect(append.stderr.contains("manifest.yaml does not load"), "\(append.stderr)")
        #expect(try dir.read("history.jsonl").contains("by hand"))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("elsewhere.jsonl").path))
    }

    @Test func aTamperedHistoryExitsOneAndNamesTheLine() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let fixture = try String(
            contentsOf: RepositoryPaths.fixtures.appendingPathComponent("history/fixture.jsonl"), encoding: .utf8)
        var lines = fixture.split(separator: "\n").map(String.init)
        lines.remove(at: 6)
        try dir.write(lines.joined(separator: "\n") + "\n", to: "history.jsonl")
        let verify = try await runSwiftDeploy(["audit", "--verify"], in: dir.url)
        #expect(verify.status == 1)
        #expect(
            verify.stderr.contains("history.jsonl:7: error: chain broken: line 7 holds record #8 but #7 was expected"))
        let report = try await runSwiftDeploy(["audit"], in: dir.url)
        #expect(report.status == 1, "the report is written but the exit status says the chain is broken")
        #expect(try dir.read("audit_report.md").contains("BROKEN at line 7"))
    }

    @Test func expectHeadMismatchExitsOne() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.copyItem(
            at: RepositoryPaths.fixtures.appendingPathComponent("history/fixture.jsonl"),
            to: dir.url.appendingPathComponent("history.jsonl"))
        let good = try await runSwiftDeploy(
            ["audit", "--verify", "--expect-head", "6e21591bc9e708a81b27dcae81411e9d175c752b43cd1316389939ec39c01605"],
            in: dir.url)
        #expect(good.status == 0)
        let bad = try await runSwiftDeploy(
            ["audit", "--verify", "--expect-head", String(repeating: "0", count: 64)], in: dir.url)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("does not match the expected"))
        let malformed = try await runSwiftDeploy(["audit", "--verify", "--expect-head", "abc"], in: dir.url)
        #expect(malformed.status == 64)
    }

    @Test func aTornLastLineIsReportedAndTheNextAppendSucceeds() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        await #expect(
            try runSwiftDeploy(["history", "append", "--event", "deploy", "--outcome", "ok"], in: dir.url).status == 0)
        let handle = try FileHandle(forWritingTo: dir.url.appendingPathComponent("history.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"event":"gate","#.utf8))
        try handle.close()
        let audit = try await runSwiftDeploy(["audit", "--verify"], in: dir.url)
        #expect(audit.status == 0)
        #expect(audit.stderr.contains("history.jsonl:2: torn line"))
        let append = try await runSwiftDeploy(
            ["history", "append", "--event", "promote", "--outcome", "ok"], in: dir.url)
        #expect(append.status == 0, "\(append.stderr)")
        #expect(append.stdout.contains("recorded #2 (promote)"))
        let after = try await runSwiftDeploy(["audit"], in: dir.url)
        #expect(after.status == 0)
        #expect(
            after.stderr.contains(
                "history.jsonl:2: torn line (a write cut short by a crash); sealed by the next append"))
    }

    @Test func inputProblemsMapOntoTheExitCodeContract() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let missing = try await runSwiftDeploy(["audit"], in: dir.url)
        #expect(missing.status == 65)
        #expect(missing.stderr.contains("no history at"))
        try dir.write("{}\n", to: "history.jsonl")
        await #expect(try runSwiftDeploy(["audit", "--format", "pdf"], in: dir.url).status == 64)
        let since = try await runSwiftDeploy(["audit", "--since", "last tuesday"], in: dir.url)
        #expect(since.status == 64)
        #expect(since.stderr.contains("invalid time 'last tuesday'"))
        await #expect(try runSwiftDeploy(["history", "append", "--event", "launch"], in: dir.url).status == 64)
        await #expect(
            try runSwiftDeploy(["history", "append", "--event", "gate", "--reason", "x"], in: dir.url).status == 64)
    }

    @Test func appendRecordsTheCIActorAndRedactsSecretsFromTheCommandLine() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try await runSwiftDeploy(
            [
                "history", "append", "--event", "override", "--reason", "approved by on-call", "--message",
                "token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "--detail", "password=hunter2hunter2", "--detail", #"summary={"error_rate":0.01}"#,
            ],
            in: dir.url,
            environment: [
                "GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_RUN_ID": "77", "GITHUB_WORKFLOW": "deploy",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let line = try dir.read("history.jsonl")
        #expect(!line.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789") && !line.contains("hunter2hunter2"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect((object["actor"] as? [String: Any])?["user"] as? String == "octocat")
        #expect((object["actor"] as? [String: Any])?["ci"] as? String == "github-actions")
        #expect((object["override"] as? [String: Any])?["reason"] as? String == "approved by on-call")
        #expect(((object["details"] as? [String: Any])?["summary"] as? [String: Any])?["error_rate"] as? Double == 0.01)
    }
}
