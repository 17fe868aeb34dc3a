import Foundation

/// What a deploy did.
public struct DeployReport: Sendable {
    /// The infrastructure decision the deploy was gated on.
    public var decision: PolicyDecision
    /// True when the deploy went ahead on `--override` past a deny or inconclusive decision.
    public var overridden: Bool
    /// The generated files that changed (empty when they were already current).
    public var renderedFiles: [URL]
    /// The project's containers once healthy.
    public var containers: [ContainerStatus]
    public var elapsed: TimeInterval
}

/// `swiftdeploy deploy`: lock → render check → infrastructure gate → the running mode must be the
/// manifest's (a mode change is `promote`'s, gated by the canary policy) → intent → render → images →
/// `up -d` → wait until every service is healthy and the health URL answers through nginx → outcome.
/// Running it again on a deployed project is harmless: Compose leaves current containers alone and
/// the wait returns at once.
public struct DeployWorkflow: Sendable {
    public var context: LifecycleContext
    /// How long the whole deploy may take: one deadline for the start, Swarm's rolling update and the health wait
    /// (`WaitBudget` gives the CLI's default).
    public var timeout: TimeInterval
    public var override: OverrideRequest?

    public init(context: LifecycleContext, timeout: TimeInterval = 60, override: OverrideRequest? = nil) {
        self.context = context
        self.timeout = timeout
        self.override = override
    }

    public func run(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> DeployReport {
        if let override, override.reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw LifecycleError.emptyOverrideReason
        }
        let start = Date()
        let manifest = context.manifest
        let mode = manifest.services.mode
        let session = try await context.beginAction("deploy")
        defer { session.release() }

        // Everything that can fail without the engine is tried before the gate: the render, in memory. On Swarm the
        // engine's role is too: a node that is no manager cannot deploy, so it fails here, no policy asked or recorded.
        try context.renderer.prepare(manifest)
        let swarm = manifest.runtime == .swarm
        if swarm { try await context.runtime.preflight() }
        let decision = await context.decide(domain: "infrastructure", action: "deploy", targetMode: nil)
        progress(
            """
            infrastructure policy: \
            \(decision.verdict.rawValue)\(decision.reasons.isEmpty ? "" : " (\(decision.reasons.joined(separator: "; ")))")
            """
        )
        let infrastructureOverridden = try await context.enforce(
            decision, action: "deploy", event: .deploy, override: override,
            modeBefore: nil, modeAfter: mode)
        if !swarm { try await context.runtime.preflight() }
        let before = try await context.runtime.containers()
        let running = LifecycleContext.appMode(before, service: manifest.services.name)
        try await context.refuseDuringRollout(action: "deploy", containers: before, mode: running)
        if let running, running != mode {
            try await context.recordBeforeActing(
                LifecycleRecord(
                    event: .deploy, outcome: "refused",
                    message:
                        """
                        deploy refused: \(manifest.project) runs in \(running.rawValue) mode but the manifest \
                        says \(mode.rawValue); a mode change is promote's (gated by the canary policy)
                        """,
                    modeBefore: running, modeAfter: running, decision: decision))
            throw LifecycleError.modeChangeNeedsPromote(project: manifest.project, running: running, manifest: mode)
        }
        // The slo domain is asked once the project runs: a first deploy spends no error budget yet.
        let slo = try await context.sloStep(
            action: "deploy", event: .deploy, targetMode: nil, override: override,
            modeBefore: running, modeAfter: mode, runningContainers: before, progress: progress)
        let overridden = infrastructureOverridden || slo.overridden
        try await context.runtime.ensureImages(
            [manifest.services.image, manifest.nginx.image] + manifest.observabilityImages)
        if manifest.services.user == nil, !manifest.services.allowRoot,
            let user = try await context.runtime.imageUser(manifest.services.image), ManifestGrammar.isRoot(user)
        {
            throw LifecycleError.rootUser(image: manifest.services.image, user: user)
        }
        await context.phases.reach("deploy.decided")
        let intent = try await session.intend(
            action: "deploy",
            message:
                """
                about to deploy \(manifest.project) in \(mode.rawValue) mode \
                (\(before.isEmpty ? "nothing running" : "\(before.count) container(s) running"))
                """,
            decision: decision, override: overridden ? override : nil, modeBefore: running, modeAfter: mode,
            details: ["containers_before": .array(before.map { .string($0.name) })].merging(slo.intentDetails) { a, _ in
                a
            })
        await context.phases.reach("deploy.intent")
        let containers: [ContainerStatus]
        let rendered: [URL]
        do {
            rendered = try context.renderer.render(manifest)
            progress(
                rendered.isEmpty
                    ? "generated files are up to date"
                    : "rendered \(rendered.map(manifest.shownPath).joined(separator: ", "))")
            progress("starting project \(manifest.project)")
            await context.phases.reach("deploy.up")
            // --timeout is one deadline for the whole deploy: Swarm's rolling update and the health wait share it.
            try await context.runtime.up(until: start.addingTimeInterval(timeout))
            await context.phases.reach("deploy.started")
            containers = try await context.healthWaiter(timeout: timeout, since: start).wait { progress($0.line) }
        } catch {
            await session.completeQuietly(
                intent,
                LifecycleRecord(
                    event: .deploy, outcome: "failed", message: "deploy failed: \(error.localizedDescription)",
                    modeBefore: running,
                    modeAfter: await LifecycleContext.appMode(
                        (try? context.runtime.containers()) ?? [], service: manifest.services.name),
                    decision: decision, override: overridden ? override : nil))
            throw error
        }
        let elapsed = Date().timeIntervalSince(start)
        try await session.complete(
            intent,
            LifecycleRecord(
                event: .deploy, outcome: "ok",
                message:
                    """
                    deployed \(manifest.project) in \(mode.rawValue) mode; \(containers.count) containers healthy \
                    in \(Int(elapsed))s
                    """,
                modeBefore: running, modeAfter: mode, decision: decision, override: overridden ? override : nil,
                details: [
                    "elapsed_ms": .int(Int64(elapsed * 1000)),
                    "containers": .array(containers.map { .string($0.name) }),
                ]),
            done: "deployed \(manifest.project) in \(mode.rawValue) mode")
        return DeployReport(
            decision: decision, overridden: overridden, renderedFiles: rendered, containers: containers,
            elapsed: elapsed)
    }
}
