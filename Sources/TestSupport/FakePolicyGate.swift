import Foundation
import SwiftDeployKit

/// A policy gate with fixed verdicts per domain, recording every request.
/// Only for tests of the workflows' reaction to a verdict; the policy itself is tested with the real engine.
public final class FakePolicyGate: PolicyGate, @unchecked Sendable {
    private let lock = NSLock()
    private var verdicts: [String: (Verdict, [String])]
    private var stored: [(domain: String, action: String, target: DeploymentMode?)] = []

    /// `verdicts`: domain → verdict and reasons; a domain not listed answers `allow`.
    public init(_ verdicts: [String: (Verdict, [String])] = [:]) {
        self.verdicts = verdicts
    }

    public func set(_ domain: String, _ verdict: Verdict, reasons: [String] = []) {
        lock.lock()
        defer { lock.unlock() }
        verdicts[domain] = (verdict, reasons)
    }

    /// The requests seen, in order: domain, action, target mode.
    public var requests: [(domain: String, action: String, target: DeploymentMode?)] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    public func evaluate(domain: String, request: GateRequest) async -> PolicyDecision {
        let (verdict, reasons) = lock.withLock {
            stored.append((domain, request.action, request.targetMode))
            return verdicts[domain] ?? (.allow, [])
        }
        return PolicyDecision(domain: domain, verdict: verdict, reasons: reasons, engine: "fake", input: .null)
    }
}
