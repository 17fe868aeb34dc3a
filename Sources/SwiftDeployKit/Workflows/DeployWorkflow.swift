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

/// `swiftdeploy deploy`: render → infrastructure gate → images → `up -d` → wait
/// until every service is healthy and the health URL answers through nginx → record.
/// Running it again on a deployed project is harmless: Compose leaves current
/// containers alone and the wait returns at once.
public struct DeployWorkflow: Sendable {
    public var context: DeployContext
    /// How long the whole deploy may take, health wait included (each Docker call is bounded by the runtime).
    public var timeout: TimeInterval
    public var override: OverrideRequest?

    public init(context: DeployContext, timeout: TimeInterval = 60, override: OverrideRequest? = nil) {
        self.context = context
        self.timeout = timeout
        self.override = override
    }

    public func run(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> DeployReport {
        if let override, override.reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw DeployWorkflowError.emptyOverrideReason
        }
        let start = Date()
        let manifest = context.manifest
        let mode = manifest.services.mode
        let grant = try context.acquireLock(action: "deploy")
        defer { grant.release() }

        let rendered = try context.renderer.render(manifest)
        progress(rendered.isEmpty ? "generated files are up to date" : "rendered \(rendered.map(\.lastPathComponent).joined(separator: ", "))")

        let decision = await context.decide(domain: "infrastructure", action: "deploy", targetMode: nil)
        progress("infrastructure policy: \(decision.verdict.rawValue)\(decision.reasons.isEmpty ? "" : " (\(decision.reasons.joined(separator: "; ")))")")
        var overridden = try context.enforce(decision, action: "deploy", event: .deploy, override: override,
                                             modeBefore: mode, modeAfter: mode)
        let slo = try await context.sloStep(action: "deploy", event: .deploy, targetMode: nil, override: override,
                                            modeBefore: mode, modeAfter: mode, requireRunning: true, progress: progress)
        overridden = overridden || slo.overridden
        do {
            try context.runtime.preflight()
            try context.runtime.ensureImages([manifest.services.image, manifest.nginx.image] + manifest.observabilityImages)
            progress("starting project \(manifest.project)")
            try context.runtime.up()
            // --timeout bounds the whole deploy: the health wait gets what `up` left (at least a few seconds).
            let remaining = max(timeout - Date().timeIntervalSince(start), min(timeout, 5))
            let containers = try await context.healthWaiter(timeout: remaining).wait { progress($0.line) }
            let elapsed = Date().timeIntervalSince(start)
            try context.record(LifecycleRecord(
                event: .deploy, outcome: "ok",
                message: "deployed \(manifest.project) in \(mode.rawValue) mode; \(containers.count) containers healthy in \(Int(elapsed))s",
                modeBefore: mode, modeAfter: mode, decision: decision, override: overridden ? override : nil,
                details: ["elapsed_ms": .int(Int64(elapsed * 1000)), "containers": .array(containers.map { .string($0.name) })]))
            return DeployReport(decision: decision, overridden: overridden, renderedFiles: rendered, containers: containers,
                                elapsed: elapsed)
        } catch {
            try? context.record(LifecycleRecord(
                event: .deploy, outcome: "failed", message: "deploy failed: \(error.localizedDescription)",
                modeBefore: mode, modeAfter: mode, decision: decision, override: overridden ? override : nil))
            throw error
        }
    }
}
