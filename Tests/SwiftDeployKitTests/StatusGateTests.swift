import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `status` asks its gate for every domain at once through the `PolicyGate` protocol (the policy evaluator then
/// collects the evidence once), whatever the gate is: it never downcasts to `PolicyEvaluator`.
@Suite struct StatusGateTests {
    /// A gate that answers several domains at once and counts how it was asked.
    final class BatchGate: PolicyGate, @unchecked Sendable {
        private let lock = NSLock()
        private(set) var batches: [[String]] = []
        private(set) var singles: [String] = []

        func evaluate(domain: String, request: GateRequest) async -> PolicyDecision {
            lock.withLock { singles.append(domain) }
            return PolicyDecision(domain: domain, verdict: .allow, reasons: [], engine: "batch", input: .null)
        }

        func evaluate(domains: [String], request: GateRequest) async -> [PolicyDecision] {
            lock.withLock { batches.append(domains) }
            return domains.map {
                PolicyDecision(domain: $0, verdict: .warn, reasons: ["asked at once"], engine: "batch", input: .null)
            }
        }
    }

    @Test func statusAsksAnyGateForAllItsDomainsAtOnce() async throws {
        let rig = try WorkflowTests.Rig()
        defer { rig.dir.remove() }
        _ = try await DeployWorkflow(context: try rig.context()).run()
        let gate = BatchGate()
        var context = try rig.context()
        context.gate = gate
        let frame = try await StatusWorkflow(
            context: context, metrics: nil, window: ManifestDuration(milliseconds: 100)
        ).snapshot()
        #expect(gate.batches == [["infrastructure", "canary"]])
        #expect(gate.singles.isEmpty)
        #expect(frame.decisions.map(\.verdict) == [.warn, .warn])
    }

    @Test func aGateThatDecidesOneDomainAtATimeIsAskedForEachInOrder() async throws {
        let gate = FakePolicyGate(["canary": (.deny, ["too many errors"])])
        let manifest = try ManifestLoader().parse(
            WorkflowTests.manifestText, file: "manifest.yaml", directory: FileManager.default.temporaryDirectory)
        let decisions = await gate.evaluate(
            domains: ["infrastructure", "canary"], request: GateRequest(manifest: manifest, action: "status"))
        #expect(decisions.map(\.verdict) == [.allow, .deny])
        #expect(gate.requests.map(\.domain) == ["infrastructure", "canary"])
    }
}
