import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `rollout start` asks the `slo` domain as well as the infrastructure one when the manifest has an `slo` block:
/// a burning or spent budget, or no usable Prometheus, starts nothing; `--override` is audited before the intent,
/// which keeps the slo decision. Over the rollout rig (in-memory engine, real HTTP for both sides' metrics, the
/// history on disk); with a real engine and Prometheus: `SLORolloutEndToEndTests`.
@Suite struct SLORolloutWorkflowTests {
    typealias Rig = RolloutWorkflowTests.Rig

    static let slo = """
        slo:
          window: 30d
          objectives:
            - name: availability
              target: 99.5
        observability:
          prometheus: true

        """

    @Test(arguments: [Verdict.deny, .inconclusive])
    func theSLOPolicyGatesTheStart(_ verdict: Verdict) async throws {
        var rig = try await Rig(extra: Self.slo)
        defer { rig.remove() }
        let reason =
            verdict == .deny
            ? """
            objective availability burns its error budget at 20x over 1h and 100x over 5m, above the page-level \
            14.4x (thresholds.json slo.page_burn_rates)
            """
            : "slo: Prometheus at http://127.0.0.1:9090 is not reachable"
        rig.gate = FakePolicyGate(["slo": (verdict, [reason])])
        let error = await #expect(throws: LifecycleError.self) { try await rig.start() }
        #expect(error?.exitStatus == (verdict == .deny ? .failed : .inconclusive))
        #expect(error?.errorDescription?.contains(reason) == true, "\(String(describing: error))")
        #expect(rig.gate.requests.map(\.domain) == ["infrastructure", "slo"])
        #expect(rig.gate.requests.last?.action == "rollout")
        #expect(!rig.runtime.calls.contains("recreate app-canary"))
        await #expect(try rig.runtime.containers().map(\.service).sorted() == ["app", "nginx"])
        let lines = try rig.history()
        #expect(lines.compactMap { $0["event"]?.stringValue } == ["rollout"], "only the refusal is recorded")
        #expect(lines.first?["outcome"]?.stringValue == "refused")
        #expect(lines.first?["decision"]?["domain"]?.stringValue == "slo")
    }

    @Test func anOverrideIsAuditedAndTheIntentKeepsTheSLODecision() async throws {
        var rig = try await Rig(extra: Self.slo)
        defer { rig.remove() }
        rig.gate = FakePolicyGate([
            "slo": (.inconclusive, ["slo: Prometheus at http://127.0.0.1:9090 is not reachable"])
        ])
        let report = try await rig.start(
            override: OverrideRequest(reason: "INC-9 Prometheus rebuilt tonight", who: "carol"))
        #expect(report.outcome == .promoted, "\(report.message)")
        let lines = try rig.history()
        let override = try #require(lines.firstIndex { $0["event"]?.stringValue == "override" })
        let intent = try #require(lines.firstIndex { $0["event"]?.stringValue == "intent" })
        #expect(override < intent)
        #expect(lines[override]["decision"]?["domain"]?.stringValue == "slo")
        #expect(lines[intent]["override"]?["reason"]?.stringValue == "INC-9 Prometheus rebuilt tonight")
        let slo = lines[intent]["details"]?["slo_decision"]
        #expect(slo?["verdict"]?.stringValue == "inconclusive")
        #expect(slo?["overridden"] == .bool(true))
    }

    @Test func anAllowedSLODecisionIsKeptInTheIntentAndWithoutAnSLOBlockItIsNotAsked() async throws {
        let rig = try await Rig(extra: Self.slo)
        defer { rig.remove() }
        let report = try await rig.start()
        #expect(report.outcome == .promoted, "\(report.message)")
        #expect(rig.gate.requests.map(\.domain) == ["infrastructure", "slo"])
        let intent = try #require(try rig.history().first { $0["event"]?.stringValue == "intent" })
        #expect(intent["details"]?["slo_decision"]?["verdict"]?.stringValue == "allow")

        let plain = try await Rig()
        defer { plain.remove() }
        _ = try await plain.start()
        #expect(plain.gate.requests.map(\.domain) == ["infrastructure"])
    }
}
