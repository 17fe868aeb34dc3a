import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The lifecycle workflows' decisions, over an in-memory engine: gates, overrides,
/// in-place promote with confirmation and rollback, teardown, status.
/// The same workflows run against a real Docker engine in the end-to-end suite.
@Suite struct WorkflowTests {
    static let manifestText = """
        # test project
        project: wf-test
        services:
          name: app
          image: swiftdeploy/api:0.1.0
          port: 8080
          mode: stable   # promote rewrites this
        nginx:
          image: swiftdeploy/nginx:bookworm
          port: 18080
          admin_port: 19180
        network:
          name: wf-net
          driver_type: bridge

        """

    struct Rig {
        let dir: TemporaryDirectory
        let url: URL
        let runtime: FakeContainerRuntime
        let gate: FakePolicyGate
        let recorder = MemoryRecorder()
        let renderer = FakeRenderer()

        init(manifest: String = WorkflowTests.manifestText, gate: FakePolicyGate = FakePolicyGate()) throws {
            dir = try TemporaryDirectory(prefix: "workflow")
            url = try dir.write(manifest, to: "manifest.yaml")
            let url = self.url
            runtime = FakeContainerRuntime(modeOnDisk: {
                (try? ManifestLoader().load(from: url).services.mode.rawValue) ?? "unreadable"
            })
            self.gate = gate
        }

        /// The project's lock, in the test's own directory (never the host-wide one).
        var lock: DeployLock { DeployLock(project: "wf-test", directory: dir.url.appendingPathComponent("locks")) }

        func context(
            gate: Bool = true, recorder: (any LifecycleRecording)? = nil,
            warn: @escaping @Sendable (String) -> Void = { _ in }
        ) throws -> LifecycleContext {
            LifecycleContext(
                manifestURL: url, manifest: try ManifestLoader().load(from: url), runtime: runtime, renderer: renderer,
                gate: gate ? self.gate : nil, recorder: recorder ?? self.recorder,
                probe: FakeHTTPProbe(runtime: runtime),
                lock: lock, pollInterval: 0.02, warn: warn)
        }

        var events: [String] { recorder.records.map { "\($0.event.rawValue):\($0.outcome)" } }
    }

    // MARK: deploy

    @Test func deployWithoutAPolicyEngineIsRefusedAsInconclusive() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        let error = await #expect(throws: LifecycleError.self) {
            try await DeployWorkflow(context: try rig.context(gate: false)).run()
        }
        #expect(error?.exitStatus == .inconclusive)
        #expect(error?.errorDescription?.contains("policy engine is not available") == true)
        #expect(!rig.runtime.calls.contains("up"))
        #expect(rig.events == ["deploy:refused"])
    }

    @Test func deniedDeployChangesNothingAndSaysWhy() async throws {
        let rig = try Rig(gate: FakePolicyGate(["infrastructure": (.deny, ["disk free 2% < 10%"])]))
        defer { rig.dir.remove() }
        let error = await #expect(throws: LifecycleError.self) {
            try await DeployWorkflow(context: try rig.context()).run()
        }
        #expect(error?.exitStatus == .failed)
        #expect(error?.errorDescription?.contains("disk free 2% < 10%") == true)
        #expect(rig.runtime.calls.isEmpty)
        #expect(rig.gate.requests.map(\.domain) == ["infrastructure"])
    }

    @Test func overrideProceedsPastADenyAndIsRecordedWithWhoAndWhy() async throws {
        let rig = try Rig(gate: FakePolicyGate(["infrastructure": (.deny, ["cpu load 9.5 > 4"])]))
        defer { rig.dir.remove() }
        let report = try await DeployWorkflow(
            context: try rig.context(), override: OverrideRequest(reason: "INC-42 hotfix", who: "alice")
        ).run()
        #expect(report.overridden)
        #expect(rig.events == ["override:ok", "intent:open", "deploy:ok"])
        let override = try #require(rig.recorder.records.first)
        #expect(override.override == OverrideRequest(reason: "INC-42 hotfix", who: "alice"))
        #expect(override.decision?.verdict == .deny)
    }

    /// Reviewer's finding: on Swarm the manager check came after the policy, so a worker (or an engine in no swarm)
    /// asked the infrastructure policy and could log an `allow` for a deploy that cannot happen.
    @Test func aSwarmDeployOnANonManagerFailsBeforeThePolicyIsAsked() async throws {
        let rig = try Rig(
            manifest: WorkflowTests.manifestText.replacingOccurrences(
                of: "# test project\n", with: "# test project\nruntime: swarm\n"))
        defer { rig.dir.remove() }
        rig.runtime.preflightError = .notSwarmManager(state: "a worker")
        let error = await #expect(throws: RuntimeError.self) {
            try await DeployWorkflow(context: try rig.context()).run()
        }
        #expect(error == .notSwarmManager(state: "a worker"))
        #expect(error?.exitStatus == .operationFailed)
        #expect(rig.gate.requests.isEmpty, "the policy was asked: \(rig.gate.requests.map(\.domain))")
        #expect(rig.events.isEmpty, "records: \(rig.events)")
        #expect(rig.runtime.calls == ["preflight"])
        #expect(rig.renderer.manifests.isEmpty)
    }

    @Test func emptyOverrideReasonIsAUsageError() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        let error = await #expect(throws: LifecycleError.emptyOverrideReason) {
            try await DeployWorkflow(context: try rig.context(), override: OverrideRequest(reason: "  ")).run()
        }
        #expect(error?.exitStatus == .usage)
    }

    @Test func deployRendersGatesStartsAndWaitsAndTwiceIsHarmless() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        let first = try await DeployWorkflow(context: try rig.context()).run()
        #expect(first.containers.map(\.service) == ["app", "nginx"])
        #expect(
            rig.runtime.calls == ["preflight", "ensureImages swiftdeploy/api:0.1.0 swiftdeploy/nginx:bookworm", "up"])
        let ids = try await rig.runtime.containers().map(\.id)
        _ = try await DeployWorkflow(context: try rig.context()).run()
        await #expect(try rig.runtime.containers().map(\.id) == ids)
        #expect(rig.events == ["intent:open", "deploy:ok", "intent:open", "deploy:ok"])
        #expect(rig.renderer.manifests.count == 2)
        #expect(FileManager.default.fileExists(atPath: rig.dir.url.appendingPathComponent("docker-compose.yml").path))
        // The lock is released afterwards, its description emptied.
        #expect(!rig.lock.isHeld())
        #expect(rig.lock.read() == nil)
    }

    @Test func dockerFailureIsRecordedAndRethrown() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        rig.runtime.upError = .portTaken(
            port: 18080, detail: "Bind for 0.0.0.0:18080 failed: port is already allocated")
        let error = await #expect(throws: RuntimeError.self) {
            try await DeployWorkflow(context: try rig.context()).run()
        }
        #expect(error?.exitStatus == .operationFailed)
        #expect(error?.errorDescription?.contains("port 18080 is already in use") == true)
        #expect(rig.events == ["intent:open", "deploy:failed"])
    }

    @Test func unhealthyAppTimesOutNamingItWithItsLogs() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        rig.runtime.unhealthyModes = ["stable"]
        let error = await #expect(throws: RuntimeError.self) {
            try await DeployWorkflow(context: try rig.context(), timeout: 0.3).run()
        }
        guard case .unhealthy(let service, let state, _, let health, let logs)? = error else {
            Issue.record("expected .unhealthy, got \(String(describing: error))")
            return
        }
        #expect(service == "app")
        #expect(state == "running, unhealthy")
        #expect(health == "GET /healthz: 503")
        #expect(logs.hasPrefix("log line of app-"))
    }

    /// Reviewer's finding: `--timeout` was applied per step (the health wait got a fresh budget after `up`), so a
    /// deploy
    /// could take twice its timeout. It is one deadline: a slow `up` leaves the health wait only what remains.
    @Test func theTimeoutIsOneDeadlineForTheWholeDeploy() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        rig.runtime.unhealthyModes = ["stable"]
        rig.runtime.upDelay = 2
        let started = Date()
        let error = await #expect(throws: RuntimeError.self) {
            try await DeployWorkflow(context: try rig.context(), timeout: 2.5).run()
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 3.5, "the deploy took \(elapsed)s with --timeout 2.5s")
        guard case .unhealthy(_, _, let seconds, _, _)? = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(seconds == 2, "the error names the deploy's own timeout")
    }

    /// The same for promote: the mode switch (recreate, then the health wait) has one deadline; its rollback its own.
    @Test func theTimeoutIsOneDeadlineForAModeSwitch() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        rig.runtime.unhealthyModes = ["canary"]
        rig.runtime.upDelay = 2
        let started = Date()
        await #expect(throws: LifecycleError.self) {
            try await PromoteWorkflow(context: try rig.context(), target: .canary, timeout: 2.5).run()
        }
        let elapsed = Date().timeIntervalSince(started)
        // The switch ends at 2.5s, the rollback's recreate takes 2s more; per step it was 2 + 2.5 + 2.
        #expect(elapsed < 5.5, "the promote and its rollback took \(elapsed)s with --timeout 2.5s")
        #expect(rig.events.suffix(1) == ["rollback:ok"])
    }

    // MARK: promote

    @Test func promoteRewritesTheManifestInPlaceRecreatesOnlyTheAppAndConfirms() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let nginxID = try await rig.runtime.containers().first { $0.service == "nginx" }?.id
        let report = try await PromoteWorkflow(context: try rig.context(), target: .canary).run()
        #expect(report.outcome == .promoted)
        #expect(report.confirmation == "X-Mode: canary")
        #expect(
            try rig.dir.read("manifest.yaml")
                == Self.manifestText.replacingOccurrences(of: "mode: stable   #", with: "mode: canary   #"))
        let afterDeploy = rig.runtime.calls.drop { $0 != "recreate app" }
        #expect(Array(afterDeploy.prefix(2)) == ["recreate app", "reload nginx"])
        #expect(!rig.runtime.calls.contains("recreate nginx"))
        await #expect(try rig.runtime.containers().first { $0.service == "nginx" }?.id == nginxID)
        #expect(rig.gate.requests.last?.domain == "canary")
        #expect(rig.gate.requests.last?.target == .canary)
        #expect(rig.renderer.manifests.last?.services.mode == .canary)
        #expect(rig.events.last == "promote:ok")
        // And back to stable: confirmed from the JSON body (stable sends no X-Mode).
        let back = try await PromoteWorkflow(context: try rig.context(), target: .stable).run()
        #expect(back.confirmation == "mode stable in its JSON body")
        #expect(try rig.dir.read("manifest.yaml") == Self.manifestText)
    }

    @Test func promotingToTheCurrentModeIsANoOp() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let report = try await PromoteWorkflow(context: try rig.context(), target: .stable).run()
        #expect(report.outcome == .noop)
        #expect(rig.gate.requests.map(\.domain) == ["infrastructure"])
        #expect(!rig.runtime.calls.contains("recreate app"))
        #expect(rig.events.last == "promote:noop")
    }

    @Test func deniedPromoteLeavesManifestAndContainersAlone() async throws {
        let rig = try Rig(gate: FakePolicyGate(["canary": (.deny, ["error rate 12.0% > 5.0%"])]))
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let error = await #expect(throws: LifecycleError.self) {
            try await PromoteWorkflow(context: try rig.context(), target: .canary).run()
        }
        #expect(error?.exitStatus == .failed)
        #expect(error?.errorDescription?.contains("error rate 12.0% > 5.0%") == true)
        #expect(try rig.dir.read("manifest.yaml") == Self.manifestText)
        #expect(!rig.runtime.calls.contains("recreate app"))
        #expect(rig.events.last == "promote:refused")
    }

    @Test func dryRunDecidesAndChangesNothing() async throws {
        let rig = try Rig(gate: FakePolicyGate(["canary": (.inconclusive, ["only 3 requests in the window, need 20"])]))
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let report = try await PromoteWorkflow(context: try rig.context(), target: .canary, dryRun: true).run()
        #expect(report.outcome == .dryRun)
        #expect(report.decision?.verdict == .inconclusive)
        #expect(try rig.dir.read("manifest.yaml") == Self.manifestText)
        #expect(!rig.runtime.calls.contains("recreate app"))
        #expect(rig.events.last == "promote:dry-run")
    }

    @Test func aModeThatNeverBecomesHealthyIsRolledBack() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        rig.runtime.unhealthyModes = ["canary"]
        let error = await #expect(throws: LifecycleError.self) {
            try await PromoteWorkflow(context: try rig.context(), target: .canary, timeout: 0.3).run()
        }
        guard case .rolledBack(let target, let previous, let cause)? = error else {
            Issue.record("expected .rolledBack, got \(String(describing: error))")
            return
        }
        #expect(target == .canary && previous == .stable)
        #expect(cause.contains("service 'app' is not healthy"))
        #expect(error?.exitStatus == .operationFailed)
        #expect(try rig.dir.read("manifest.yaml") == Self.manifestText)
        #expect(rig.runtime.app?.environment["MODE"] == "stable")
        #expect(rig.runtime.app?.isReady == true)
        #expect(rig.events.suffix(1) == ["rollback:ok"])
    }

    @Test func promoteNoticesAManifestEditedWhileDeployed() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        // Someone edits the manifest by hand to canary; the app still runs stable.
        try ManifestEditor().setMode(.canary, inFileAt: rig.url)
        let report = try await PromoteWorkflow(context: try rig.context(), target: .canary).run()
        #expect(
            report.drift
                == """
                manifest.yaml says services.mode canary but the running app is in stable mode (the manifest was \
                edited while deployed)
                """
        )
        #expect(report.outcome == .promoted)
        #expect(rig.runtime.app?.environment["MODE"] == "canary")
    }

    @Test func promoteWithoutADeploymentSaysDeployFirst() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        await #expect(throws: LifecycleError.notDeployed(project: "wf-test", service: "app")) {
            try await PromoteWorkflow(context: try rig.context(), target: .canary).run()
        }
    }

    // MARK: teardown and status

    @Test func teardownRemovesEverythingAndCleanDeletesGeneratedFiles() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let report = try await TeardownWorkflow(context: try rig.context(), clean: true).run()
        #expect(report.removed.containers.count == 2)
        await #expect(try rig.runtime.leftovers().isEmpty)
        #expect(report.deletedFiles.map(\.lastPathComponent) == ["nginx.conf", "docker-compose.yml"])
        #expect(FileManager.default.fileExists(atPath: rig.url.path))
        #expect(!FileManager.default.fileExists(atPath: rig.dir.url.appendingPathComponent("nginx.conf").path))
        #expect(rig.events.last == "teardown:ok")
    }

    @Test func statusFrameReportsHealthDriftAndVerdictsAndIsRecorded() async throws {
        let rig = try Rig(gate: FakePolicyGate(["canary": (.warn, ["p99 480ms close to 500ms"])]))
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let status = StatusWorkflow(
            context: try rig.context(), metrics: nil, window: ManifestDuration(milliseconds: 100))
        let healthy = try await status.snapshot()
        #expect(healthy.healthy)
        #expect(healthy.runningMode == "stable" && healthy.version == "0.1.0")
        #expect(healthy.decisions.map(\.verdict) == [.allow, .warn])
        #expect(rig.events.last == "status:ok")
        try ManifestEditor().setMode(.canary, inFileAt: rig.url)
        let drifted = try await StatusWorkflow(
            context: try rig.context(), metrics: nil, window: ManifestDuration(milliseconds: 100)
        ).snapshot()
        #expect(
            drifted.drift
                == """
                manifest.yaml says services.mode canary but the running app is in stable mode (the manifest was \
                edited while deployed)
                """
        )
        #expect(drifted.manifestMode == .canary)
        rig.runtime.unhealthyModes = ["canary"]
        try await rig.runtime.recreate(service: "app")
        let sick = try await StatusWorkflow(
            context: try rig.context(), metrics: nil, window: ManifestDuration(milliseconds: 100)
        ).snapshot()
        #expect(!sick.healthy)
        #expect(sick.endpoint.status == 502)
        #expect(rig.events.last == "status:failed")
        #expect(rig.recorder.records.last?.message.contains("app running, unhealthy") == true)
        #expect(drifted.json["mode"]?["running"]?.stringValue == "stable")
    }
}

/// The lifecycle records land in the real hash-chained history.
@Suite struct HistoryWiringTests {
    @Test func overrideAndDeployAreWrittenToHistoryJSONL() async throws {
        let rig = try WorkflowTests.Rig(gate: FakePolicyGate(["infrastructure": (.deny, ["memory free 3% < 10%"])]))
        defer { rig.dir.remove() }
        let manifest = try ManifestLoader().load(from: rig.url)
        let context = try rig.context(recorder: HistoryRecorder(manifest: manifest, manifestURL: rig.url))
        _ = try await DeployWorkflow(
            context: context, override: OverrideRequest(reason: "INC-7 disk cleanup running", who: "alice")
        ).run()
        let lines = try rig.dir.read("history.jsonl").split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
        #expect(lines.map { $0["event"]?.stringValue } == ["override", "intent", "deploy"])
        #expect(lines[0]["override"]?["reason"]?.stringValue == "INC-7 disk cleanup running")
        #expect(lines[0]["decision"]?["verdict"]?.stringValue == "deny")
        #expect(lines[0]["decision"]?["reasons"] == .array(["memory free 3% < 10%"]))
        // The intent carries the decision and its evidence, the override and who holds the lock.
        #expect(lines[1]["decision"]?["verdict"]?.stringValue == "deny")
        #expect(lines[1]["override"]?["reason"]?.stringValue == "INC-7 disk cleanup running")
        #expect(lines[1]["details"]?["holder"]?["pid"] == .int(Int64(getpid())))
        #expect(lines[1]["details"]?["action"]?.stringValue == "deploy")
        #expect(lines[2]["outcome"]?.stringValue == "ok")
        #expect(lines[2]["mode_after"]?.stringValue == "stable")
        #expect(lines[2]["details"]?["intent_seq"] == lines[1]["seq"])
        #expect(lines[2]["details"]?["intent_id"] == lines[1]["id"])
        let hash = Digest.sha256Hex(of: try Data(contentsOf: rig.url))
        #expect(lines[2]["manifest_hash"]?.stringValue == hash)
    }

    /// One override is written as an `override` line, and the intent and the deploy line it let through carry the
    /// same override for context: the audit lists and counts the override once.
    @Test func oneOverrideIsCountedOnceByTheAudit() async throws {
        let rig = try WorkflowTests.Rig(gate: FakePolicyGate(["infrastructure": (.deny, ["memory free 3% < 10%"])]))
        defer { rig.dir.remove() }
        let manifest = try ManifestLoader().load(from: rig.url)
        let context = try rig.context(recorder: HistoryRecorder(manifest: manifest, manifestURL: rig.url))
        _ = try await DeployWorkflow(
            context: context, override: OverrideRequest(reason: "INC-9 approved", who: "alice")
        ).run()
        let history = rig.dir.url.appendingPathComponent("history.jsonl")
        let carrying = try rig.dir.read("history.jsonl").split(separator: "\n").filter { $0.contains("\"override\":") }
        #expect(carrying.count == 3, "override, intent and deploy lines all carry the override")

        let output = rig.dir.url.appendingPathComponent("audit_report.json")
        let summary = try await AuditReport.write(history: history, to: output, format: .json)
        #expect(summary.overrides == 1)
        let report = try JSONValue.parse(Data(contentsOf: output))
        guard case .array(let listed)? = report["overrides"] else {
            Issue.record("no overrides list in \(report)")
            return
        }
        #expect(listed.count == 1)
        #expect(listed.first?["reason"]?.stringValue == "INC-9 approved")
        #expect(listed.first?["event"]?.stringValue == "override")
    }
}
