import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// A workflow whose task is cancelled (what the CLI does on SIGINT or SIGTERM): the intent it opened is closed as
/// `interrupted`, naming it and what runs now, never left open and never recorded as an ordinary failure; once
/// cancelled nothing new is begun. Over the in-memory engine; the real CLI with a real signal is
/// `InterruptTests` (SwiftDeployCLITests).
@Suite struct InterruptionTests {
    typealias Rig = WorkflowTests.Rig

    /// Waits (polling, at most `seconds`) until `condition` holds.
    static func eventually(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return condition()
    }

    @Test func aDeployCancelledWhileTheEngineWorksClosesItsIntentAsInterrupted() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        rig.runtime.upDelay = 60  // `up` waits until the task is cancelled
        var context = try rig.context()
        context.cancellationReason = { "SIGINT received" }
        let deploy = Task { try await DeployWorkflow(context: context).run() }
        try #require(await Self.eventually(20) { rig.runtime.calls.contains("up") }, "\(rig.runtime.calls)")
        let started = Date()
        deploy.cancel()
        let result = await deploy.result
        #expect(Date().timeIntervalSince(started) < 10, "the cancelled deploy did not stop promptly")
        #expect(throws: CancellationError.self) { try result.get() }

        #expect(rig.events == ["intent:open", "interrupted:interrupted"], "\(rig.events)")
        let intent = try #require(rig.recorder.records.first { $0.event == .intent })
        let closing = try #require(rig.recorder.records.last)
        let intentSeq = try #require(rig.recorder.records.firstIndex { $0.event == .intent }) + 1
        #expect(closing.details["intent_seq"] == .int(Int64(intentSeq)), "\(closing.details)")
        #expect(closing.details["action"] == "deploy" && closing.details["reason"] == "SIGINT received")
        #expect(
            closing.message.contains("deploy was interrupted (SIGINT received) before it finished"),
            "\(closing.message)")
        #expect(closing.message.contains("found: "), "what runs now is stated: \(closing.message)")
        if case .object(let found)? = closing.details["found"] {
            #expect(found["containers"] != nil && found["manifest_mode"] == "stable", "\(found)")
        } else {
            Issue.record("no found details: \(closing.details)")
        }
        #expect(closing.decision?.domain == intent.decision?.domain, "the decision the intent carried")
        // The lock was released normally: the next deploy finds nothing left open and records no recovery.
        rig.runtime.upDelay = 0
        _ = try await DeployWorkflow(context: try rig.context()).run()
        #expect(!rig.events.contains("lock:abandoned"), "\(rig.events)")
        #expect(rig.events.filter { $0 == "interrupted:interrupted" }.count == 1, "\(rig.events)")
    }

    @Test func aPromoteCancelledDuringTheRecreateClosesItsIntentAsInterrupted() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        rig.runtime.upDelay = 60
        let context = try rig.context()
        let promote = Task { try await PromoteWorkflow(context: context, target: .canary).run() }
        try #require(await Self.eventually(20) { rig.runtime.calls.contains("recreate app") }, "\(rig.runtime.calls)")
        promote.cancel()
        let result = await promote.result
        // Promote's own rollback to the previous mode is refused too once cancelled (nothing new is begun), so the
        // error is the rollback's failure, caused by the cancellation; the record says what runs.
        let error = #expect(throws: LifecycleError.self) { try result.get() }
        #expect(error?.errorDescription?.contains("CancellationError") == true, "\(String(describing: error))")
        #expect(Array(rig.events.suffix(2)) == ["intent:open", "interrupted:interrupted"], "\(rig.events)")
        #expect(!rig.events.contains("promote:failed"), "an interruption is not recorded as a failure: \(rig.events)")
        let closing = try #require(rig.recorder.records.last)
        #expect(closing.details["action"] == "promote canary", "\(closing.details)")
    }

    /// Cancelled before it starts: nothing is asked of the engine that changes it, and no intent is written.
    @Test func aDeployCancelledBeforeItsIntentBeginsNothing() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        let context = try rig.context()
        let deploy = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await DeployWorkflow(context: context).run()
        }
        let result = await deploy.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(!rig.events.contains("intent:open"), "\(rig.events)")
        #expect(!rig.runtime.calls.contains("up"), "\(rig.runtime.calls)")
    }

    /// A cancelled task's outcome record is written all the same when its work had finished: the record goes
    /// through a task of its own.
    @Test func anOutcomeIsRecordedEvenWhenTheTaskIsCancelledAsItIsWritten() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        let context = try rig.context()
        let written = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try? await context.recordShielded(LifecycleRecord(event: .deploy, outcome: "ok", message: "done"))
        }.value
        #expect(written != nil)
        #expect(rig.events == ["deploy:ok"])
        let refused = await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try? await context.record(LifecycleRecord(event: .deploy, outcome: "refused", message: "new"))
        }.value
        #expect(refused == nil, "a new record is refused once cancelled")
        #expect(rig.events == ["deploy:ok"])
    }
}
