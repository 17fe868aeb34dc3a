import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// Write ahead, then act: the intent record precedes every change, the outcome names it, an unwritable
/// history changes nothing, and what a crashed command left open is closed by the next one.
/// Over the in-memory engine; the same on a real engine with real SIGKILLs is `CrashTests`.
@Suite struct WriteAheadTests {
    typealias Rig = WorkflowTests.Rig

    /// Notes, at each record, what the engine had been asked to do and what the manifest said.
    final class SnapshotRecorder: LifecycleRecording, @unchecked Sendable {
        let inner = MemoryRecorder()
        let runtime: FakeContainerRuntime
        let manifestURL: URL
        private let lock = NSLock()
        private(set) var snapshots: [(event: String, calls: [String], manifest: String, composeExists: Bool)] = []

        init(runtime: FakeContainerRuntime, manifestURL: URL) {
            self.runtime = runtime
            self.manifestURL = manifestURL
        }

        func record(_ record: LifecycleRecord, manifest: Manifest) async throws -> RecordReference {
            let text = (try? String(contentsOf: manifestURL, encoding: .utf8)) ?? ""
            let compose = FileManager.default.fileExists(atPath: manifest.composeFileURL.path)
            lock.withLock {
                snapshots.append(("\(record.event.rawValue):\(record.outcome)", runtime.calls, text, compose))
            }
            return try await inner.record(record, manifest: manifest)
        }
        func checkWritable() throws { try inner.checkWritable() }
        func recent(since: Date) throws -> [RecordedLifecycle] { try inner.recent(since: since) }
        var location: URL? { nil }
    }

    /// Fails every record of `event` with `outcome` (a history that breaks half-way).
    final class FailingRecorder: LifecycleRecording, @unchecked Sendable {
        let inner: MemoryRecorder
        let event: HistoryEvent
        let outcome: String
        init(inner: MemoryRecorder, failing event: HistoryEvent, outcome: String) {
            self.inner = inner
            self.event = event
            self.outcome = outcome
        }
        func record(_ record: LifecycleRecord, manifest: Manifest) async throws -> RecordReference {
            if record.event == event, record.outcome == outcome {
                throw HistoryError.writeFailed(path: "history.jsonl", reason: "No space left on device")
            }
            return try await inner.record(record, manifest: manifest)
        }
        func checkWritable() throws { try inner.checkWritable() }
        func recent(since: Date) throws -> [RecordedLifecycle] { try inner.recent(since: since) }
        var location: URL? { nil }
    }

    enum Action: String, CaseIterable, Sendable { case deploy, promote, teardown }

    /// Deploys first for promote and teardown (they need a running stack); returns the action's run.
    func prepare(_ action: Action, _ rig: Rig) async throws {
        if action != .deploy { _ = try await DeployWorkflow(context: try rig.context()).run() }
    }

    func run(_ action: Action, _ context: LifecycleContext) async throws {
        switch action {
        case .deploy: _ = try await DeployWorkflow(context: context).run()
        case .promote: _ = try await PromoteWorkflow(context: context, target: .canary).run()
        case .teardown: _ = try await TeardownWorkflow(context: context).run()
        }
    }

    /// What must not have happened yet when the intent is written.
    func changes(_ action: Action) -> String {
        switch action {
        case .deploy: return "up"
        case .promote: return "recreate app"
        case .teardown: return "down"
        }
    }

    @Test(arguments: Action.allCases)
    func theIntentIsWrittenBeforeAnythingChangesAndTheOutcomeNamesIt(_ action: Action) async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        try await prepare(action, rig)
        let callsBefore = rig.runtime.calls.count
        let manifestBefore = try rig.dir.read("manifest.yaml")
        let recorder = SnapshotRecorder(runtime: rig.runtime, manifestURL: rig.url)
        if action == .deploy {
            try? FileManager.default.removeItem(at: rig.dir.url.appendingPathComponent("docker-compose.yml"))
        }
        try await run(action, try rig.context(recorder: recorder))
        let intent = try #require(recorder.snapshots.first { $0.event == "intent:open" })
        #expect(
            !intent.calls.dropFirst(callsBefore).contains(changes(action)),
            "\(action): the engine was asked to act before the intent")
        #expect(intent.manifest == manifestBefore)
        if action == .deploy { #expect(!intent.composeExists, "deploy wrote generated files before its intent") }
        #expect(rig.runtime.calls.dropFirst(callsBefore).contains(changes(action)))
        let records = recorder.inner.records
        let intentIndex = try #require(records.firstIndex { $0.event == .intent })
        #expect(
            records[intentIndex].details["action"]?.stringValue
                == (action == .promote ? "promote canary" : action.rawValue))
        #expect(records[intentIndex].details["holder"]?["pid"] == .int(Int64(getpid())))
        let outcome = records[intentIndex + 1]
        #expect(outcome.event.rawValue == action.rawValue && outcome.outcome == "ok")
        #expect(outcome.details["intent_seq"] == .int(Int64(intentIndex + 1)))
    }

    @Test(arguments: Action.allCases)
    func anUnwritableHistoryChangesNothingAndExits3(_ action: Action) async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        try await prepare(action, rig)
        let callsBefore = rig.runtime.calls
        let containersBefore = try await rig.runtime.containers()
        let manifestBefore = try rig.dir.read("manifest.yaml")
        let requestsBefore = rig.gate.requests.count
        // A real history file that cannot be created: its directory is a regular file.
        try rig.dir.write("not a directory", to: "blocker")
        let blocked = HistoryRecorder(
            log: HistoryLog(url: rig.dir.url.appendingPathComponent("blocker/history.jsonl")), manifestURL: rig.url)
        let error = await #expect(throws: LifecycleError.self) {
            try await run(action, try rig.context(recorder: blocked))
        }
        #expect(error?.exitStatus == .operationFailed)
        #expect(
            error?.errorDescription?.contains("nothing was changed") == true,
            "\(String(describing: error?.errorDescription))")
        #expect(error?.errorDescription?.contains("blocker") == true)
        #expect(
            rig.runtime.calls == callsBefore,
            "\(action) touched the engine: \(rig.runtime.calls.dropFirst(callsBefore.count))")
        await #expect(try rig.runtime.containers() == containersBefore)
        #expect(try rig.dir.read("manifest.yaml") == manifestBefore)
        #expect(rig.gate.requests.count == requestsBefore, "no evidence is collected when nothing can be recorded")
        #expect(!rig.lock.isHeld())
    }

    @Test func aHistoryThatFailsAtTheIntentStopsTheCommandBeforeItActs() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let failing = FailingRecorder(inner: rig.recorder, failing: .intent, outcome: "open")
        let error = await #expect(throws: LifecycleError.self) {
            try await PromoteWorkflow(context: try rig.context(recorder: failing), target: .canary).run()
        }
        #expect(error?.exitStatus == .operationFailed)
        #expect(error?.errorDescription?.contains("nothing was changed") == true)
        #expect(!rig.runtime.calls.contains("recreate app"))
        #expect(try rig.dir.read("manifest.yaml") == WorkflowTests.manifestText)
    }

    @Test func aFailureToRecordTheOutcomeIsReportedAndNeverRollsBack() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let failing = FailingRecorder(inner: rig.recorder, failing: .promote, outcome: "ok")
        let error = await #expect(throws: LifecycleError.self) {
            try await PromoteWorkflow(context: try rig.context(recorder: failing), target: .canary).run()
        }
        guard case .outcomeNotRecorded(let done, let cause, let seq)? = error else {
            Issue.record("expected .outcomeNotRecorded, got \(String(describing: error))")
            return
        }
        #expect(done == "promoted wf-test from stable to canary (X-Mode: canary)")
        #expect(cause.contains("No space left on device"))
        #expect(error?.errorDescription?.contains("intent #\(seq) stays open") == true)
        #expect(error?.exitStatus == .operationFailed)
        // The promote stands: no rollback over a logging failure.
        #expect(rig.runtime.app?.environment["MODE"] == "canary")
        #expect(!rig.events.contains("rollback:ok"))
        // The lock was let go with its description, as a crash would: the next command closes the open
        // intent as interrupted, with what it finds.
        #expect(!rig.lock.isHeld())
        let warnings = Notes()
        let next = try await PromoteWorkflow(context: try rig.context(warn: warnings.add), target: .canary).run()
        #expect(next.outcome == .noop)
        #expect(warnings.all.count == 1)
        #expect(
            warnings.all.first?.contains(
                "was interrupted before its outcome was recorded (intent #\(seq)); found: the app runs in canary mode")
                == true)
        let closing = try #require(rig.recorder.records.first { $0.event == .interrupted })
        #expect(closing.details["intent_seq"] == .int(Int64(seq)))
    }

    @Test func aCrashBetweenIntentAndOutcomeIsClosedAsInterruptedByTheNextCommand() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        let manifest = try ManifestLoader().load(from: rig.url)
        let history = HistoryRecorder(manifest: manifest, manifestURL: rig.url)
        _ = try await DeployWorkflow(context: try rig.context(recorder: history)).run()
        // A promote that wrote its intent and edited the manifest, then was killed (the kernel dropped its lock).
        let crashed = try await rig.context(recorder: history).beginAction("promote canary")
        let intent = try await crashed.intend(
            action: "promote canary", message: "about to promote", modeBefore: .stable, modeAfter: .canary)
        try ManifestEditor().setMode(.canary, inFileAt: rig.url)
        crashed.grant.abandon()

        let warnings = Notes()
        let report = try await PromoteWorkflow(
            context: try rig.context(recorder: history, warn: warnings.add), target: .canary
        ).run()
        #expect(report.outcome == .promoted)
        let expected =
            """
            promote canary by \(crashed.grant.holder.who)@\(crashed.grant.holder.host) (pid \(getpid()), since \
            \(DeployLock.timestampFormatter.string(from: crashed.grant.holder.since))) was interrupted before its \
            outcome was recorded (intent #\(intent.reference.seq)); found: the app runs in stable mode; \
            containers: app running, healthy, nginx running, healthy; the manifest says canary
            """
        #expect(warnings.all == [expected])
        let lines = try rig.dir.read("history.jsonl").split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
        let interrupted = try #require(lines.first { $0["event"]?.stringValue == "interrupted" })
        #expect(interrupted["message"]?.stringValue == expected)
        #expect(interrupted["details"]?["intent_seq"] == .int(Int64(intent.reference.seq)))
        #expect(interrupted["details"]?["intent_id"]?.stringValue == intent.reference.id)
        #expect(interrupted["details"]?["found"]?["running_mode"]?.stringValue == "stable")
        #expect(interrupted["details"]?["found"]?["manifest_mode"]?.stringValue == "canary")
        #expect(interrupted["mode_before"]?.stringValue == "stable")
        #expect(interrupted["mode_after"]?.stringValue == "stable")
        #expect(lines.last?["event"]?.stringValue == "promote" && lines.last?["outcome"]?.stringValue == "ok")
        #expect(try AuditReport.verify(history: rig.dir.url.appendingPathComponent("history.jsonl")).chain.isIntact)
        // Recorded once: a further command finds nothing left open.
        let again = Notes()
        _ = try await PromoteWorkflow(context: try rig.context(recorder: history, warn: again.add), target: .stable)
            .run()
        #expect(again.all.isEmpty)
        #expect(try rig.dir.read("history.jsonl").components(separatedBy: "\"event\":\"interrupted\"").count == 2)
    }

    @Test func aHolderKilledBeforeItsIntentIsRecordedAsAbandonedHavingChangedNothing() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let crashed = try await rig.context().beginAction("promote canary")  // killed during the metrics window
        crashed.grant.abandon()
        let warnings = Notes()
        _ = try await DeployWorkflow(context: try rig.context(warn: warnings.add)).run()
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first?.contains("a previous promote canary (") == true)
        #expect(
            warnings.all.first?.contains(
                "ended without releasing the lock before changing anything (it had written no intent)") == true)
        let record = try #require(rig.recorder.records.first { $0.event == .lock })
        #expect(record.outcome == "abandoned")
        #expect(record.details["holder"]?["action"]?.stringValue == "promote canary")
        #expect(record.details["found"]?["running_mode"]?.stringValue == "stable")
    }

    // MARK: every mode change is gated

    @Test func deployRefusesToChangeTheRunningModeAndPointsToPromote() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        let first = try await DeployWorkflow(context: try rig.context()).run()
        #expect(first.containers.count == 2)
        #expect(rig.recorder.records.last?.modeBefore == nil, "a first deploy had nothing running")
        _ = try await DeployWorkflow(context: try rig.context()).run()
        #expect(rig.recorder.records.last?.modeBefore == .stable, "the real mode before, read from the running app")
        try ManifestEditor().setMode(.canary, inFileAt: rig.url)
        let calls = rig.runtime.calls
        let error = await #expect(throws: LifecycleError.self) {
            try await DeployWorkflow(context: try rig.context()).run()
        }
        #expect(error == .modeChangeNeedsPromote(project: "wf-test", running: .stable, manifest: .canary))
        #expect(error?.exitStatus == .failed)
        #expect(error?.errorDescription?.contains("run 'swiftdeploy promote canary'") == true)
        #expect(error?.errorDescription?.contains("nothing was changed") == true)
        #expect(!rig.runtime.calls.dropFirst(calls.count).contains("up"))
        #expect(rig.runtime.app?.environment["MODE"] == "stable")
        let refusal = try #require(rig.recorder.records.last)
        #expect(refusal.event == .deploy && refusal.outcome == "refused")
        #expect(refusal.modeBefore == .stable && refusal.modeAfter == .stable)
    }

    // MARK: hardened by default

    @Test func anImageThatRunsAsRootIsRefusedUnlessTheManifestSaysOtherwise() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        for user in ["", "root", "0:0"] {
            rig.runtime.imageUsers = ["swiftdeploy/api:0.1.0": user]
            let error = await #expect(throws: LifecycleError.self) {
                try await DeployWorkflow(context: try rig.context()).run()
            }
            #expect(error == .rootUser(image: "swiftdeploy/api:0.1.0", user: user))
            #expect(error?.exitStatus == .invalidInput)
            #expect(error?.errorDescription?.contains("set services.user to a non-root user") == true)
            #expect(!rig.runtime.calls.contains("up"))
            #expect(!rig.recorder.records.contains { $0.event == .intent })
        }
        // services.user names a non-root user: the image's USER no longer matters.
        try rig.dir.write(
            WorkflowTests.manifestText.replacingOccurrences(
                of: "  port: 8080\n", with: "  port: 8080\n  user: \"10001:10001\"\n"),
            to: "manifest.yaml")
        _ = try await DeployWorkflow(context: try rig.context()).run()
        // Or the manifest accepts root explicitly.
        try rig.dir.write(
            WorkflowTests.manifestText.replacingOccurrences(
                of: "  port: 8080\n", with: "  port: 8080\n  allow_root: true\n"),
            to: "manifest.yaml")
        _ = try await DeployWorkflow(context: try rig.context()).run()
        #expect(rig.runtime.calls.filter { $0 == "up" }.count == 2)
    }

    @Test func aManifestThatCannotBeEditedFailsWith65BeforeTheWindow() async throws {
        let text = WorkflowTests.manifestText.replacingOccurrences(
            of: "mode: stable   # promote rewrites this", with: "mode: \"st\\x61ble\"")
        let rig = try Rig(manifest: text)
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let error = await #expect(throws: ManifestEditorError.self) {
            try await PromoteWorkflow(context: try rig.context(), target: .canary).run()
        }
        #expect(error?.exitStatus == .invalidInput)
        #expect(rig.gate.requests.map(\.domain) == ["infrastructure"], "the canary window was started")
        #expect(!rig.runtime.calls.contains("recreate app"))
        #expect(
            !rig.recorder.records.contains {
                $0.event == .intent && $0.details["action"]?.stringValue == "promote canary"
            })
        #expect(try rig.dir.read("manifest.yaml") == text)
    }

    @Test func aRenderThatFailsForTheNewModeFailsBeforeTheWindow() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        rig.renderer.failure = .templateInvalid(
            path: "templates/docker-compose.yml.mustache", reason: "unclosed section")
        let error = await #expect(throws: RenderError.self) {
            try await PromoteWorkflow(context: try rig.context(), target: .canary).run()
        }
        #expect(error?.exitStatus == .invalidInput)
        #expect(rig.gate.requests.map(\.domain) == ["infrastructure"])
        #expect(try rig.dir.read("manifest.yaml") == WorkflowTests.manifestText)
    }
}

/// Collects warnings.
final class Notes: @unchecked Sendable {
    private let lock = NSLock()
    private var notes: [String] = []
    var add: @Sendable (String) -> Void { { [self] note in lock.withLock { notes.append(note) } } }
    var all: [String] { lock.withLock { notes } }
}
