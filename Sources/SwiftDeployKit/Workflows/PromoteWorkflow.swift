import Foundation

/// What a promote did, or (with `dryRun`) would do.
public struct PromoteReport: Sendable {
    public enum Outcome: String, Sendable {
        /// The mode changed and the service confirmed it.
        case promoted
        /// The app already runs in the target mode and the manifest says so: nothing to do.
        case noop
        /// `--dry-run`: decided and reported, changed nothing.
        case dryRun = "dry-run"
    }

    public var outcome: Outcome
    public var target: DeploymentMode
    /// The mode the app was running in before (from its container), or the manifest's when unknown.
    public var previous: DeploymentMode
    /// The canary decision; nil for a no-op.
    public var decision: PolicyDecision?
    public var overridden: Bool
    /// Set when manifest.yaml and the running app disagree about the mode (the manifest was edited while deployed).
    public var drift: String?
    /// What the service answered when asked for its mode (`X-Mode: canary`).
    public var confirmation: String?
}

/// `swiftdeploy promote canary|stable`: canary gate on a metrics window → in-place
/// `services.mode` rewrite → re-render → recreate the app only → wait healthy →
/// confirm the mode from the service itself (`X-Mode` on `GET /`). When the new mode
/// does not come up healthy and confirmed, the previous mode is restored the same way.
public struct PromoteWorkflow: Sendable {
    public var context: LifecycleContext
    public var target: DeploymentMode
    public var dryRun: Bool
    public var override: OverrideRequest?
    /// How long one mode switch may take: one deadline for the redeploy, Swarm's rolling update and the health wait.
    /// A rollback after a failed switch gets a budget of its own (`WaitBudget` gives the CLI's default).
    public var timeout: TimeInterval
    public var editor = ManifestEditor()
    public var loader = ManifestLoader()

    public init(
        context: LifecycleContext, target: DeploymentMode, dryRun: Bool = false, override: OverrideRequest? = nil,
        timeout: TimeInterval = 60
    ) {
        self.context = context
        self.target = target
        self.dryRun = dryRun
        self.override = override
        self.timeout = timeout
    }

    public func run(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> PromoteReport {
        if let override, override.reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw LifecycleError.emptyOverrideReason
        }
        let manifest = context.manifest
        let app = manifest.services.name
        // A dry run changes nothing and takes no lock; a real promote holds it from the first look at the engine.
        let session: ActionSession? = dryRun ? nil : try await context.beginAction("promote \(target.rawValue)")
        defer { session?.release() }
        try await context.runtime.preflight()
        let containers = try await context.runtime.containers()
        guard let container = containers.first(where: { $0.service == app && $0.state == "running" }) else {
            throw LifecycleError.notDeployed(project: manifest.project, service: app)
        }
        let running = container.environment["MODE"].flatMap(DeploymentMode.init(rawValue:))
        if session != nil {
            try await context.refuseDuringRollout(
                action: "promote \(target.rawValue)", containers: containers, mode: running)
        }
        let previous = running ?? manifest.services.mode
        let drift = Self.drift(manifestMode: manifest.services.mode, running: container.environment["MODE"])
        if let drift { progress("note: \(drift)") }

        if previous == target, manifest.services.mode == target {
            try await context.record(
                LifecycleRecord(
                    event: .promote, outcome: "noop",
                    message: "already in \(target.rawValue) mode; nothing to do",
                    modeBefore: previous, modeAfter: previous))
            return PromoteReport(
                outcome: .noop, target: target, previous: previous, decision: nil, overridden: false,
                drift: drift, confirmation: nil)
        }

        // Everything the switch needs that can fail is tried before the metrics window: the in-place edit
        // (checked and staged, not written) and the render of the edited manifest.
        let edit = try editor.prepareMode(target, inFileAt: context.manifestURL, loader: loader)
        try context.renderer.prepare(edit.after)

        progress("evaluating the canary policy over a \(manifest.metrics.window) metrics window")
        await context.phases.reach("promote.window")
        let decision = await context.decide(domain: "canary", action: "promote", targetMode: target)
        guard let session else {
            // The dry run reports the slo domain too (when the manifest has an slo block): a real promote asks both.
            var sloNote = ""
            var details: [String: JSONValue] = [:]
            var permits = decision.verdict.permitsAction
            if manifest.slo != nil {
                let slo = await context.decide(domain: "slo", action: "promote", targetMode: target)
                progress(
                    """
                    slo policy: \
                    \(slo.verdict.rawValue)\(slo.reasons.isEmpty ? "" : " (\(slo.reasons.joined(separator: "; ")))")
                    """
                )
                sloNote = "; slo \(slo.verdict.rawValue)"
                permits = permits && slo.verdict.permitsAction
                details = SLOStepResult(decision: slo, overridden: false).intentDetails
            }
            try await context.record(
                LifecycleRecord(
                    event: .promote, outcome: "dry-run",
                    message:
                        """
                        dry run: promote to \(target.rawValue) would be \
                        \(permits ? "allowed" : (override != nil ? "overridden" : "refused")) \
                        (\(decision.verdict.rawValue)\(sloNote))
                        """,
                    modeBefore: previous, modeAfter: previous, decision: decision, details: details))
            return PromoteReport(
                outcome: .dryRun, target: target, previous: previous, decision: decision,
                overridden: false, drift: drift, confirmation: nil)
        }
        var overridden = try await context.enforce(
            decision, action: "promote to \(target.rawValue)", event: .promote,
            override: override, modeBefore: previous, modeAfter: target)
        let slo = try await context.sloStep(
            action: "promote", label: "promote to \(target.rawValue)", event: .promote, targetMode: target,
            override: override, modeBefore: previous, modeAfter: target, progress: progress)
        overridden = overridden || slo.overridden
        let intent = try await session.intend(
            action: "promote \(target.rawValue)",
            message:
                """
                about to promote \(manifest.project) from \(previous.rawValue) to \(target.rawValue): rewrite \
                services.mode, recreate \(app)
                """,
            decision: decision, override: overridden ? override : nil, modeBefore: previous, modeAfter: target,
            details: ["container_before": .string(container.name)].merging(slo.intentDetails) { a, _ in a })
        await context.phases.reach("promote.intent")
        let answer: String
        do {
            answer = try await switchMode(edit, progress: progress)
        } catch {
            let cause = error.localizedDescription
            progress("promote to \(target.rawValue) failed: \(cause)")
            progress("rolling back to \(previous.rawValue)")
            let back: String
            do {
                back = try await switchMode(
                    try editor.prepareMode(previous, inFileAt: context.manifestURL, loader: loader),
                    progress: progress, phase: "rollback")
            } catch {
                await session.completeQuietly(
                    intent,
                    LifecycleRecord(
                        event: .rollback, outcome: "failed",
                        message:
                            """
                            promote to \(target.rawValue) failed (\(cause)) and the rollback to \
                            \(previous.rawValue) failed: \(error.localizedDescription)
                            """,
                        modeBefore: target, modeAfter: nil, decision: decision))
                throw LifecycleError.rollbackFailed(
                    target: target, previous: previous, cause: cause,
                    rollbackCause: error.localizedDescription)
            }
            try await session.complete(
                intent,
                LifecycleRecord(
                    event: .rollback, outcome: "ok",
                    message:
                        """
                        promote to \(target.rawValue) failed (\(cause)); rolled back to \(previous.rawValue); the \
                        service answered \(back)
                        """,
                    modeBefore: target, modeAfter: previous, decision: decision, override: overridden ? override : nil),
                done: "promote to \(target.rawValue) failed (\(cause)) and was rolled back to \(previous.rawValue)")
            throw LifecycleError.rolledBack(target: target, previous: previous, cause: cause)
        }
        // A failure to record the outcome is reported as such: the promote stands, nothing is rolled back.
        try await session.complete(
            intent,
            LifecycleRecord(
                event: .promote, outcome: "ok",
                message:
                    """
                    promoted \(manifest.project) from \(previous.rawValue) to \(target.rawValue); the service \
                    answered \(answer)
                    """,
                modeBefore: previous, modeAfter: target, decision: decision, override: overridden ? override : nil),
            done: "promoted \(manifest.project) from \(previous.rawValue) to \(target.rawValue) (\(answer))")
        return PromoteReport(
            outcome: .promoted, target: target, previous: previous, decision: decision,
            overridden: overridden, drift: drift, confirmation: answer)
    }

    /// Writes the prepared manifest edit, re-renders, recreates the app, reloads nginx, waits and confirms.
    /// Returns the service's answer (`X-Mode: canary`). `phase` names the test pause points.
    func switchMode(
        _ edit: PreparedModeEdit, progress: @escaping @Sendable (String) -> Void,
        phase: String = "promote"
    ) async throws -> String {
        let mode = edit.after.services.mode
        let start = Date()
        try editor.commit(edit)
        await context.phases.reach("\(phase).manifest-edited")
        let manifest = edit.after
        var context = self.context
        context.manifest = manifest
        try context.renderer.render(manifest)
        progress("recreating \(manifest.services.name) in \(mode.rawValue) mode")
        await context.phases.reach("\(phase).recreate")
        try await context.runtime.recreate(service: manifest.services.name, until: start.addingTimeInterval(timeout))
        await context.phases.reach("\(phase).recreated")
        // nginx resolved the old container's address; a reload makes it resolve the new one.
        try await context.runtime.reload(service: "nginx")
        let containers = try await context.healthWaiter(timeout: timeout, since: start).wait { progress($0.line) }
        // Every replica, not only the one that answers the probe, must run the new mode.
        let stale = containers.filter {
            $0.service == manifest.services.name && $0.environment["MODE"] != mode.rawValue
        }
        if !stale.isEmpty {
            throw LifecycleError.modeNotConfirmed(
                expected: mode,
                answered: stale.map { "\($0.name) runs MODE=\($0.environment["MODE"] ?? "(unset)")" }.joined(
                    separator: ", "))
        }
        return try await confirm(mode, manifest: manifest)
    }

    /// Asks the service itself which mode it runs in: the `X-Mode` header of `GET /`, or the `mode` of its JSON body.
    func confirm(_ mode: DeploymentMode, manifest: Manifest) async throws -> String {
        var last = "no answer"
        for attempt in 0..<10 {
            if attempt > 0 { try await Task.sleep(nanoseconds: 500_000_000) }
            let answer = await context.probe.get(manifest.publicURL, timeout: 5)
            if let header = answer.headers["x-mode"] {
                last = "X-Mode: \(header)"
                if header == mode.rawValue { return last }
                continue
            }
            if let data = answer.body.data(using: .utf8), let body = try? JSONValue.parse(data),
                let bodyMode = body["mode"]?.stringValue
            {
                last = "mode \(bodyMode) in its JSON body"
                if bodyMode == mode.rawValue { return last }
                continue
            }
            last = answer.status.map { "HTTP \($0) without an X-Mode header" } ?? answer.summary
        }
        throw LifecycleError.modeNotConfirmed(expected: mode, answered: last)
    }

    /// The note shown when manifest.yaml and the running app disagree.
    static func drift(manifestMode: DeploymentMode, running: String?) -> String? {
        guard let running, running != manifestMode.rawValue else { return nil }
        return
            """
            manifest.yaml says services.mode \(manifestMode.rawValue) but the running app is in \(running) mode \
            (the manifest was edited while deployed)
            """
    }
}
