import Foundation

/// What the `slo` step of an acting command decided.
struct SLOStepResult: Sendable {
    /// The decision; nil when the step was not asked (no `slo` block, or nothing of the project runs yet).
    var decision: PolicyDecision?
    /// True when an override carried the action past a deny or inconclusive decision.
    var overridden: Bool

    /// What the command's write-ahead intent records of the step (its one `decision` field holds the
    /// command's own domain): the slo verdict, its reasons and the input it judged, or why it was not asked.
    var intentDetails: [String: JSONValue] {
        guard let decision else { return [:] }
        return [
            "slo_decision": .object([
                "domain": .string(decision.domain), "verdict": .string(decision.verdict.rawValue),
                "reasons": .array(decision.reasons.map { .string($0) }), "engine": .string(decision.engine),
                "input": decision.input, "overridden": .bool(overridden),
            ])
        ]
    }
}

extension LifecycleContext {
    /// The `slo` step of `deploy`, `promote` (and `rollout start`): when the manifest has an `slo` block, asks the
    /// `slo` domain and enforces its verdict like any gate (a deny or inconclusive refuses unless overridden; the
    /// refusal or override is recorded before anything changes). Call it before the command's intent, and put
    /// `intentDetails` into that intent.
    ///
    /// `runningContainers`: `deploy` passes what it found; a first deploy (nothing of the project running) has no
    /// error budget being spent and no Prometheus of its own yet, so the step is then not asked, and says so.
    /// nil asks regardless. `action` goes into `input.action`; `label` (default `action`) names the action in
    /// refusals and overrides.
    func sloStep(
        action: String, label: String? = nil, event: HistoryEvent, targetMode: DeploymentMode?,
        override: OverrideRequest?,
        modeBefore: DeploymentMode?, modeAfter: DeploymentMode?, runningContainers: [ContainerStatus]? = nil,
        progress: @Sendable (String) -> Void
    ) async throws -> SLOStepResult {
        guard manifest.slo != nil else { return SLOStepResult(decision: nil, overridden: false) }
        if let runningContainers, !runningContainers.contains(where: { $0.state == "running" }) {
            progress(
                """
                slo policy: not asked: nothing of project \(manifest.project) runs yet, so no error budget is \
                being spent
                """
            )
            return SLOStepResult(decision: nil, overridden: false)
        }
        let decision = await decide(domain: "slo", action: action, targetMode: targetMode)
        progress(
            """
            slo policy: \
            \(decision.verdict.rawValue)\(decision.reasons.isEmpty ? "" : " (\(decision.reasons.joined(separator: "; ")))")
            """
        )
        let overridden = try await enforce(
            decision, action: label ?? action, event: event, override: override,
            modeBefore: modeBefore, modeAfter: modeAfter)
        return SLOStepResult(decision: decision, overridden: overridden)
    }
}
