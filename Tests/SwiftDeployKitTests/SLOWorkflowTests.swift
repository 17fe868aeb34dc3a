import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `deploy` and `promote` ask the `slo` domain when the manifest has an `slo` block, enforce it like any gate
/// (a deny or inconclusive refuses before the write-ahead intent, unless overridden), and record its decision in
/// the intent. Over the in-memory engine with fixed verdicts; the policy itself is tested in `SLOGateTests` with
/// the real engine, and on a real Docker engine in `SLOEndToEndTests`.
@Suite struct SLOWorkflowTests {
    typealias Rig = WorkflowTests.Rig

    static let manifestText =
        WorkflowTests.manifestText + """
            slo:
              window: 30d
              objectives:
                - name: availability
                  target: 99.5
            observability:
              prometheus: true

            """

    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func add(_ line: String) { lock.withLock { stored.append(line) } }
        var all: [String] { lock.withLock { stored } }
    }

    /// The `slo_decision` the intent of the last action carries.
    static func sloDecision(in rig: Rig) -> JSONValue? {
        rig.recorder.records.last { $0.event == .intent }?.details["slo_decision"]
    }

    @Test func withoutAnSLOBlockSLOIsNeverAsked() async throws {
        let rig = try Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        _ = try await DeployWorkflow(context: try rig.context()).run()
        _ = try await PromoteWorkflow(context: try rig.context(), target: .canary).run()
        #expect(!rig.gate.requests.contains { $0.domain == "slo" }, "\(rig.gate.requests.map(\.domain))")
        #expect(rig.recorder.records.allSatisfy { $0.details["slo_decision"] == nil })
    }

    @Test func aFirstDeploySpendsNoBudgetSoSLOIsNotAskedAndSaysSo() async throws {
        let rig = try Rig(manifest: Self.manifestText, gate: FakePolicyGate(["slo": (.deny, ["never asked"])]))
        defer { rig.dir.remove() }
        let lines = Lines()
        _ = try await DeployWorkflow(context: try rig.context()).run { lines.add($0) }
        #expect(rig.gate.requests.map(\.domain) == ["infrastructure"])
        #expect(
            lines.all.contains(
                "slo policy: not asked: nothing of project wf-test runs yet, so no error budget is being spent"),
            "\(lines.all)")
        #expect(rig.runtime.calls.contains("up"))
    }

    /// Hostile: the budget is burning. A redeploy of the running project is refused before its intent, and
    /// nothing is changed; the refusal record carries the slo decision.
    @Test func aBurningBudgetRefusesARedeployBeforeTheIntent() async throws {
        let rig = try Rig(manifest: Self.manifestText)
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let upsBefore = rig.runtime.calls.filter { $0 == "up" }.count
        let recordsBefore = rig.recorder.records.count
        rig.gate.set(
            "slo", .deny,
            reasons: [
                """
                objective availability burns its error budget at 20x over 1h and 100x over 5m, above the \
                page-level 14.4x (thresholds.json slo.page_burn_rates)
                """
            ])
        let error = await #expect(throws: LifecycleError.self) {
            try await DeployWorkflow(context: try rig.context()).run()
        }
        #expect(error?.exitStatus == .failed)
        #expect(
            error?.errorDescription?.contains("objective availability burns its error budget at 20x over 1h") == true,
            "\(String(describing: error))")
        #expect(rig.runtime.calls.filter { $0 == "up" }.count == upsBefore)
        #expect(Array(rig.events.dropFirst(recordsBefore)) == ["deploy:refused"])
        #expect(rig.recorder.records.last?.decision?.domain == "slo")
        #expect(rig.gate.requests.suffix(2).map(\.domain) == ["infrastructure", "slo"])
    }

    /// Hostile: no usable Prometheus (inconclusive) refuses a promote with exit 2 and changes nothing; an override
    /// carries it through, recorded first, and the intent holds the inconclusive slo decision as overridden.
    @Test func anInconclusiveSLORefusesAPromoteUnlessOverridden() async throws {
        let rig = try Rig(manifest: Self.manifestText)
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        rig.gate.set(
            "slo", .inconclusive, reasons: ["slo: metrics: Prometheus at http://127.0.0.1:9090 is not reachable"])
        let error = await #expect(throws: LifecycleError.self) {
            try await PromoteWorkflow(context: try rig.context(), target: .canary).run()
        }
        #expect(error?.exitStatus == .inconclusive)
        #expect(error?.errorDescription?.contains("is not reachable") == true)
        #expect(!rig.runtime.calls.contains("recreate app"))
        #expect(try rig.dir.read("manifest.yaml") == Self.manifestText)
        #expect(rig.events.last == "promote:refused")
        #expect(rig.gate.requests.suffix(2).map(\.domain) == ["canary", "slo"])

        let report = try await PromoteWorkflow(
            context: try rig.context(), target: .canary,
            override: OverrideRequest(reason: "INC-7 Prometheus rebuild", who: "alice")
        ).run()
        #expect(report.outcome == .promoted)
        #expect(report.overridden)
        #expect(Array(rig.events.suffix(3)) == ["override:ok", "intent:open", "promote:ok"])
        let override = try #require(rig.recorder.records.last { $0.event == .override })
        #expect(override.decision?.domain == "slo")
        let slo = try #require(Self.sloDecision(in: rig))
        #expect(slo["verdict"] == "inconclusive")
        #expect(slo["overridden"] == true)
        #expect(slo["reasons"] == ["slo: metrics: Prometheus at http://127.0.0.1:9090 is not reachable"])
    }

    @Test func anAllowedSLODecisionIsRecordedInTheIntent() async throws {
        let rig = try Rig(manifest: Self.manifestText)
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let slo = try #require(Self.sloDecision(in: rig))
        #expect(slo["verdict"] == "allow")
        #expect(slo["domain"] == "slo")
        #expect(slo["overridden"] == false)
        // The intent's own decision stays the command's domain.
        #expect(rig.recorder.records.last { $0.event == .intent }?.decision?.domain == "infrastructure")
    }

    /// `teardown --clean` deletes the generated observability/ files too (and the directories they leave empty),
    /// never a file of the user's own there.
    @Test func teardownCleanDeletesTheGeneratedObservabilityFiles() async throws {
        let rig = try Rig(manifest: Self.manifestText)
        defer { rig.dir.remove() }
        let manifest = try ManifestLoader().load(from: rig.url)
        _ = try ConfigGenerator(manifest: manifest).write()
        let observability = rig.dir.url.appendingPathComponent("observability")
        #expect(FileManager.default.fileExists(atPath: observability.appendingPathComponent("rules/slo.yml").path))
        _ = try rig.dir.write("my notes\n", to: "observability/runbooks/NOTES.md")
        let context = LifecycleContext(
            manifestURL: rig.url, manifest: manifest, runtime: rig.runtime, renderer: GeneratorRenderer(),
            gate: rig.gate, recorder: rig.recorder, probe: FakeHTTPProbe(runtime: rig.runtime),
            lock: rig.lock, pollInterval: 0.02)
        let report = try await TeardownWorkflow(context: context, clean: true).run()
        let shown = report.deletedFiles.map { manifest.shownPath($0) }
        #expect(Array(shown.prefix(2)) == ["nginx.conf", "docker-compose.yml"])
        #expect(
            shown.contains("observability/rules/slo.yml") && shown.contains("observability/prometheus.yml"), "\(shown)")
        #expect(shown.contains("observability/grafana/dashboards/swiftdeploy-slo.json"), "\(shown)")
        // Emptied directories are gone; the one holding the user's file stays with it.
        #expect(!FileManager.default.fileExists(atPath: observability.appendingPathComponent("rules").path))
        #expect(!FileManager.default.fileExists(atPath: observability.appendingPathComponent("grafana").path))
        #expect(try rig.dir.read("observability/runbooks/NOTES.md") == "my notes\n")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: observability.appendingPathComponent("runbooks").path)
                == ["NOTES.md"])
        guard case .array(let recorded)? = rig.recorder.records.last?.details["deleted"] else {
            Issue.record("the teardown record lists no deleted files")
            return
        }
        #expect(recorded.contains("observability/rules/slo.yml"), "\(recorded)")
    }

    /// A dry-run promote asks slo too, and never says "allowed" when slo would refuse.
    @Test func aDryRunPromoteReportsTheSLODecision() async throws {
        let rig = try Rig(manifest: Self.manifestText)
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        rig.gate.set("slo", .deny, reasons: ["objective availability has -0.2 of its 30d error budget left"])
        let report = try await PromoteWorkflow(context: try rig.context(), target: .canary, dryRun: true).run()
        #expect(report.outcome == .dryRun)
        let record = try #require(rig.recorder.records.last)
        #expect(record.outcome == "dry-run")
        #expect(record.message == "dry run: promote to canary would be refused (allow; slo deny)", "\(record.message)")
        #expect(record.details["slo_decision"]?["verdict"] == "deny")
        #expect(!rig.runtime.calls.contains("recreate app"))
    }
}
