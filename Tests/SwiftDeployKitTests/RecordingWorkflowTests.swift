import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `init`, `validate` and `gate` are library workflows that record through the same `LifecycleRecording` as deploy,
/// promote, teardown and status; `HistoryRecorder` is the one place a record becomes a history line.
@Suite struct RecordingWorkflowTests {
    static func project() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(prefix: "recording")
        try dir.write(
            try String(
                contentsOf: RepositoryPaths.fixtures.appendingPathComponent("render/base/manifest.yaml"),
                encoding: .utf8),
            to: "manifest.yaml")
        return dir
    }

    /// Each line of a history file, parsed.
    static func lines(_ url: URL) throws -> [JSONValue] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
    }

    /// The key is not in the line (not even as JSON null).
    static func absent(_ value: JSONValue?) -> Bool {
        if case .none = value { return true }
        return false
    }

    /// A recorder that notes, at each record, whether the generated files are on disk.
    final class DiskWitness: LifecycleRecording, @unchecked Sendable {
        let inner = MemoryRecorder()
        let files: [URL]
        private(set) var filesPresentAtRecord: [Bool] = []
        init(files: [URL]) { self.files = files }
        func record(_ record: LifecycleRecord, manifest: Manifest) async throws -> RecordReference {
            filesPresentAtRecord.append(files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
            return try await inner.record(record, manifest: manifest)
        }
        func checkWritable() throws { try inner.checkWritable() }
        func recent(since: Date) throws -> [RecordedLifecycle] { try inner.recent(since: since) }
        var location: URL? { nil }
    }

    // MARK: init

    @Test func initRecordsWhatItWroteOnceTheFilesAreWritten() async throws {
        let dir = try Self.project()
        defer { dir.remove() }
        let manifest = try ManifestLoader().load(from: dir.url.appendingPathComponent("manifest.yaml"))
        let witness = DiskWitness(files: [manifest.nginxConfigURL, manifest.composeFileURL])
        let first = try await InitWorkflow(manifest: manifest, manifestName: "manifest.yaml", recorder: witness).run()
        #expect(first.recordingProblem == nil)
        #expect(first.files.map { $0.outcome } == [.created, .created])
        let second = try await InitWorkflow(manifest: manifest, manifestName: "manifest.yaml", recorder: witness).run()
        #expect(second.files.map { $0.outcome } == [.unchanged, .unchanged])
        // Write-ahead order for init: the record states what was written, so it follows the writes.
        #expect(witness.filesPresentAtRecord == [true, true])
        let records = witness.inner.records
        #expect(records.map(\.event) == [.`init`, .`init`])
        #expect(records.map(\.outcome) == ["ok", "ok"])
        #expect(records[0].message == "wrote nginx.conf, docker-compose.yml")
        #expect(records[1].message == "generated files already up to date")
        #expect(records[0].details == ["files": ["nginx.conf": "created", "docker-compose.yml": "created"]])
        #expect(records[1].details == ["files": ["nginx.conf": "unchanged", "docker-compose.yml": "unchanged"]])
        #expect(records.allSatisfy { $0.modeBefore == .stable && $0.modeAfter == .stable && $0.decision == nil })
    }

    @Test func initWritesTheFilesEvenWhenTheHistoryCannotRecordIt() async throws {
        let dir = try Self.project()
        defer { dir.remove() }
        let manifest = try ManifestLoader().load(from: dir.url.appendingPathComponent("manifest.yaml"))
        let recorder = MemoryRecorder()
        recorder.failWrites("disk full")
        let report = try await InitWorkflow(manifest: manifest, manifestName: "manifest.yaml", recorder: recorder).run()
        #expect(report.recordingProblem?.contains("disk full") == true, "\(report.recordingProblem ?? "nil")")
        #expect(FileManager.default.fileExists(atPath: manifest.nginxConfigURL.path))
        #expect(recorder.records.isEmpty)
    }

    /// The history line of `init` is what it was before it moved into the library: no runtime, no decision, the
    /// manifest's mode before and after, the manifest and thresholds hashes.
    @Test func initsHistoryLineThroughTheOneRecorder() async throws {
        let dir = try Self.project()
        defer { dir.remove() }
        let manifest = try ManifestLoader().load(from: dir.url.appendingPathComponent("manifest.yaml"))
        _ = try await InitWorkflow(
            manifest: manifest, manifestName: "manifest.yaml", recorder: HistoryRecorder(manifest: manifest)
        ).run()
        let line = try #require(try Self.lines(manifest.historyURL).last)
        #expect(line["event"] == "init" && line["outcome"] == "ok")
        #expect(line["mode_before"] == "stable" && line["mode_after"] == "stable")
        #expect(line["manifest_hash"]?.stringValue == Digest.sha256Hex(of: try Data(contentsOf: manifest.fileURL)))
        #expect(Self.absent(line["decision"]))
        #expect(Self.absent(line["details"]?["runtime"]), "init never touches the stack: \(line)")
        #expect(line["details"]?["files"]?["nginx.conf"] == "created")
    }

    // MARK: validate

    @Test func validateRecordsItsOutcomeWithTheCountOfEachStatus() async throws {
        let dir = try Self.project()
        defer { dir.remove() }
        let recorder = MemoryRecorder()
        let report = await ValidationWorkflow(
            manifestURL: dir.url.appendingPathComponent("manifest.yaml"), displayPath: "manifest.yaml",
            runner: ScriptedRunner([]), recorder: { _ in recorder }
        ).run()
        #expect(report.failed, "the fixture project has no policies: \(report.checks)")
        #expect(report.recordingProblem == nil)
        let record = try #require(recorder.records.last)
        #expect(recorder.records.count == 1)
        #expect(record.event == .validate && record.outcome == "failed")
        let failing = report.checks.filter { $0.status == .fail }.map(\.name)
        #expect(failing.contains("policies"))
        #expect(record.message == "failed: \(failing.joined(separator: ", "))")
        let counts = Dictionary(grouping: report.checks, by: \.status.rawValue).mapValues {
            JSONValue.int(Int64($0.count))
        }
        #expect(record.details == ["checks": .object(counts)])
    }

    @Test func validateOfAnInvalidManifestRecordsNothing() async throws {
        let dir = try TemporaryDirectory(prefix: "recording")
        defer { dir.remove() }
        try dir.write("version: 1\nproject: Bad Name\n", to: "manifest.yaml")
        let recorder = MemoryRecorder()
        let report = await ValidationWorkflow(
            manifestURL: dir.url.appendingPathComponent("manifest.yaml"), displayPath: "manifest.yaml",
            runner: ScriptedRunner([]), recorder: { _ in recorder }
        ).run()
        #expect(report.manifest == nil && report.failed)
        #expect(recorder.records.isEmpty)
    }

    @Test func validateReportsAHistoryItCannotWrite() async throws {
        let dir = try Self.project()
        defer { dir.remove() }
        let recorder = MemoryRecorder()
        recorder.failWrites("read-only file system")
        let report = await ValidationWorkflow(
            manifestURL: dir.url.appendingPathComponent("manifest.yaml"), displayPath: "manifest.yaml",
            runner: ScriptedRunner([]), recorder: { _ in recorder }
        ).run()
        #expect(report.recordingProblem?.contains("read-only file system") == true)
        #expect(!report.checks.isEmpty)
    }

    // MARK: gate

    /// A policy that does not compile is never an allow: the decision is inconclusive (exit 2), and that is what the
    /// history records, with the reason.
    @Test func aGateRefusedByABrokenPolicyRecordsANonAllow() async throws {
        let project = try GateProject(extraPolicies: [
            "infrastructure.rego": "package swiftdeploy.infrastructure\n\ndeny contains msg if {\n"
        ])
        defer { project.remove() }
        let facts = HostFacts(diskFreeGB: 100, diskPath: "/", load1: 0.1, cpuCount: 4, memoryUsedPercent: 20)
        let outcome = try await GateWorkflow(
            manifestURL: project.manifestURL, displayPath: "manifest.yaml", domain: "infrastructure",
            gate: PolicyEvaluator(hostFacts: { _ in facts })
        ).run()
        #expect(outcome.report.verdict == .inconclusive)
        #expect(outcome.report.exitStatus == .inconclusive)
        #expect(outcome.unrecorded == nil)
        let line = try #require(try Self.lines(outcome.manifest.historyURL).last)
        #expect(line["event"] == "gate")
        #expect(line["outcome"] == "inconclusive")
        #expect(line["decision"]?["verdict"] == "inconclusive")
        #expect(line["decision"]?["domain"] == "infrastructure")
        guard case .array(let reasons)? = line["decision"]?["reasons"] else {
            Issue.record("no reasons: \(line)")
            return
        }
        #expect(!reasons.isEmpty, "an inconclusive decision says why")
        #expect(line["message"]?.stringValue?.hasPrefix("infrastructure inconclusive: ") == true)
        #expect(line["details"]?["timings_ms"] != nil)
        #expect(Self.absent(line["details"]?["runtime"]), "a gate never touches the stack: \(line)")
        #expect(line["thresholds_hash"]?.stringValue?.count == 64)
    }

    /// Write-ahead order for gate: every decision is in the history, in the order decided, before the verdict
    /// reaches the caller; a history that fails part-way names the first decision it lost, and the verdict stands.
    @Test func gateRecordsEveryDecisionInOrderBeforeAnsweringAndSurvivesALostRecord() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let gate = FakePolicyGate(["infrastructure": (.allow, []), "canary": (.deny, ["5% errors"])])
        let recorder = MemoryRecorder()
        let outcome = try await GateWorkflow(
            manifestURL: project.manifestURL, displayPath: "manifest.yaml", domain: "all", gate: gate,
            recorder: { _ in recorder }
        ).run()
        let domains = outcome.report.decisions.map(\.domain)
        #expect(domains.starts(with: ["infrastructure", "canary"]), "\(domains)")
        #expect(!domains.contains("slo"), "no slo block: slo is left out of all")
        #expect(recorder.records.map { $0.decision?.domain } == domains)
        #expect(recorder.records.map(\.outcome) == outcome.report.decisions.map(\.verdict.rawValue))
        #expect(recorder.records[1].message == "canary deny: 5% errors")
        #expect(outcome.report.verdict == .deny && outcome.report.exitStatus == .failed)
        #expect(outcome.report.totalMs >= 0)

        let failing = FailingAfter(1)
        let lost = try await GateWorkflow(
            manifestURL: project.manifestURL, displayPath: "manifest.yaml", domain: "all", gate: gate,
            recorder: { _ in failing }
        ).run()
        #expect(lost.unrecorded?.domain == "canary")
        #expect(lost.unrecorded?.reason.contains("disk full") == true)
        #expect(failing.inner.records.map { $0.decision?.domain } == ["infrastructure"])
        #expect(lost.report.verdict == .deny, "the verdict stands")
    }

    /// Accepts `count` records, then fails every one.
    final class FailingAfter: LifecycleRecording, @unchecked Sendable {
        let inner = MemoryRecorder()
        let count: Int
        init(_ count: Int) { self.count = count }
        func record(_ record: LifecycleRecord, manifest: Manifest) async throws -> RecordReference {
            if inner.records.count >= count { inner.failWrites("disk full") }
            return try await inner.record(record, manifest: manifest)
        }
        func checkWritable() throws { try inner.checkWritable() }
        func recent(since: Date) throws -> [RecordedLifecycle] { try inner.recent(since: since) }
        var location: URL? { nil }
    }

    @Test func aDecisionReportsWorstVerdictIsBesideVerdict() {
        func report(_ verdicts: [Verdict], failOnWarn: Bool = false) -> DecisionReport {
            DecisionReport(
                decisions: verdicts.enumerated().map {
                    PolicyDecision(domain: "d\($0.offset)", verdict: $0.element, reasons: [], engine: "e", input: .null)
                }, failOnWarn: failOnWarn)
        }
        #expect(report([]).verdict == .inconclusive, "no decision is never an allow")
        #expect(report([.allow, .warn]).verdict == .warn)
        #expect(report([.allow, .warn]).exitStatus == .success)
        #expect(report([.allow, .warn], failOnWarn: true).exitStatus == .failed)
        #expect(report([.deny, .inconclusive]).verdict == .deny)
        #expect(report([.allow, .inconclusive]).exitStatus == .inconclusive)
    }
}
