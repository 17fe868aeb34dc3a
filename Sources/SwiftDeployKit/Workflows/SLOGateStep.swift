import Foundation

extension DeployContext {
    /// The `slo` step of `deploy`, `promote` (and `rollout start`): when the manifest has an `slo` block, asks the
    /// `slo` domain and enforces its verdict like any gate (a deny or inconclusive refuses unless overridden).
    ///
    /// `requireRunning`: a first deploy (nothing of the project running) has no error budget being spent and no
    /// Prometheus of its own yet, so `deploy` asks only when the project already runs; the step says so either way.
    /// `action` goes into `input.action`; `label` (default `action`) names the action in refusals and overrides.
    /// Returns the decision (nil when not asked) and whether an override carried the action past it.
    func sloStep(action: String, label: String? = nil, event: LifecycleEvent, targetMode: DeploymentMode?, override: OverrideRequest?,
                 modeBefore: DeploymentMode?, modeAfter: DeploymentMode?, requireRunning: Bool,
                 progress: @Sendable (String) -> Void) async throws -> (decision: PolicyDecision?, overridden: Bool) {
        guard manifest.slo != nil else { return (nil, false) }
        if requireRunning {
            let running = (try? runtime.containers().contains { $0.state == "running" }) ?? false
            guard running else {
                progress("slo policy: not asked: nothing of project \(manifest.project) runs yet, so no error budget is being spent")
                return (nil, false)
            }
        }
        let decision = await decide(domain: "slo", action: action, targetMode: targetMode)
        progress("slo policy: \(decision.verdict.rawValue)\(decision.reasons.isEmpty ? "" : " (\(decision.reasons.joined(separator: "; ")))")")
        let overridden = try enforce(decision, action: label ?? action, event: event, override: override,
                                     modeBefore: modeBefore, modeAfter: modeAfter)
        return (decision, overridden)
    }
}
