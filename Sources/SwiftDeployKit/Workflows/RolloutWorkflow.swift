import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How a rollout command ended. The exit status follows the contract in README.md.
public struct RolloutReport: Sendable {
    public enum Outcome: String, Sendable {
        /// The candidate is the new stable.
        case promoted
        /// A step was denied (or an abort was asked): traffic back on stable, candidate removed.
        case rolledBack = "rolled-back"
        /// Inconclusive with `on_inconclusive: pause`, or a pause was asked: waits for `rollout resume`.
        case paused
        /// Inconclusive with `on_inconclusive: abort`: rolled back.
        case aborted
        /// `rollout pause|abort|promote` handed the request to the running rollout.
        case requested
    }

    public var outcome: Outcome
    /// The decision that ended it, when one did.
    public var decision: PolicyDecision?
    /// Why, in one line.
    public var message: String

    /// 0 promoted (or a request handed over); 1 rolled back on a deny or an abort; 2 paused or aborted on an
    /// inconclusive step.
    public var exitStatus: ExitStatus {
        switch outcome {
        case .promoted, .requested: return .success
        case .rolledBack: return .failed
        case .paused, .aborted: return .inconclusive
        }
    }
}

/// What a rollout does, fixed at its start and recorded in its start record.
public struct RolloutPlan: Sendable, Equatable {
    public var id: String
    public var image: String
    public var version: String
    public var steps: [Int]
    public var interval: ManifestDuration
    public var sticky: Bool
    public var onInconclusive: RolloutInconclusiveAction
    public var stableImage: String
    public var stableVersion: String
    /// The reference the candidate runs and stable is promoted to: on Swarm `image` pinned by its registry digest
    /// (`name:tag@sha256:…`, recorded at the start as `details.candidate_image`), so every task Swarm starts during the
    /// rollout, and stable at the promotion, runs what was judged; `image` itself without a digest (and on Compose).
    public var candidateImage: String
    /// On Swarm, the digest of the stack the manifest rendered at the start (`details.manifest_digest`): `rollout
    /// resume` and the promotion refuse a manifest that no longer renders to it. Nil on Compose and for a rollout
    /// started by an older swiftdeploy.
    public var manifestDigest: String? = nil

    public init(
        id: String = UUID().uuidString.lowercased(), image: String, version: String, steps: [Int],
        interval: ManifestDuration,
        sticky: Bool, onInconclusive: RolloutInconclusiveAction, stableImage: String, stableVersion: String,
        candidateImage: String? = nil
    ) {
        self.id = id
        self.image = image
        self.candidateImage = candidateImage ?? image
        self.version = version
        self.steps = steps
        self.interval = interval
        self.sticky = sticky
        self.onInconclusive = onInconclusive
        self.stableImage = stableImage
        self.stableVersion = stableVersion
    }

    func canary(weight: Int) -> CanaryRender {
        CanaryRender(image: candidateImage, version: version, weight: weight, sticky: sticky)
    }
}

/// `swiftdeploy rollout`: starts a candidate beside stable, walks the steps (set the split → let the step run →
/// judge both sides in Rego → go on, pause or roll back), and finishes by making the candidate the new stable.
///
/// Every step's weight, evidence, verdict and action is a history record (event `rollout`, `details.phase`), so
/// `rollout status` and `rollout resume` work from the history and the running containers after the CLI is gone.
/// A weight change rewrites nginx.conf in place (the container bind-mounts that file), checks it with `nginx -t`
/// and reloads: nginx is never restarted, and a rollback never touches the stable container.
public struct RolloutWorkflow: Sendable {
    public var context: LifecycleContext
    public var analyzer: RolloutAnalyzer
    /// Judges a step (default: the manifest's `policy.engine`, the policy bundle's threshold contracts).
    public var evaluator: PolicyEvaluator
    /// How long the candidate (and the recreated stable) may take to become healthy.
    public var healthTimeout: TimeInterval
    /// How long in-flight requests get to finish on a side that traffic has left, before it is stopped.
    public var drainSeconds: Double
    /// On Swarm, how long the read-back after a weight change waits for nginx's master to run the new split.
    public var splitReadBackSeconds: Double = 5
    public var editor = ManifestEditor()
    public var loader = ManifestLoader()

    public init(
        context: LifecycleContext, analyzer: RolloutAnalyzer? = nil,
        backend: @escaping @Sendable (Manifest) -> PolicyBackend = PolicyEvaluator.defaultBackend,
        evaluator: PolicyEvaluator? = nil, healthTimeout: TimeInterval = 120, drainSeconds: Double = 2
    ) {
        self.context = context
        if let analyzer {
            self.analyzer = analyzer
        } else if let swarm = context.runtime as? SwarmRuntime {
            // Swarm: the admin listener through docker exec, each side read from every replica.
            self.analyzer = RolloutAnalyzer(
                manifest: context.manifest,
                transport: SwarmAdminTransport(runtime: swarm, manifest: context.manifest),
                sides: SwarmRolloutSides(manifest: context.manifest, runtime: swarm))
        } else {
            self.analyzer = RolloutAnalyzer(manifest: context.manifest)
        }
        self.evaluator = evaluator ?? PolicyEvaluator(backendFactory: backend)
        self.healthTimeout = healthTimeout
        self.drainSeconds = drainSeconds
    }

    var manifest: Manifest { context.manifest }
    var app: String { manifest.services.name }
    var canaryService: String { CanaryRender.serviceName(for: app) }
    var stateReader: RolloutStateReader { RolloutStateReader(manifest: manifest, lock: context.lock) }

    public typealias Progress = @Sendable (String) -> Void

    // MARK: Commands

    /// `rollout start`.
    public func start(
        image: String, version: String?, steps: [Int]?, interval: ManifestDuration?, override: OverrideRequest?,
        progress: @escaping Progress
    ) async throws -> RolloutReport {
        if let problem = ManifestGrammar.imageReference(image) {
            throw RolloutError.invalidArgument("--image must be \(problem), got '\(image)'")
        }
        let version = version ?? Self.tag(of: image)
        if let problem = ManifestGrammar.version(version) {
            throw RolloutError.invalidArgument(
                "--version must be \(problem), got '\(version)'; pass --version explicitly")
        }
        let steps = steps ?? manifest.rollout.steps
        if let problem = ManifestGrammar.rolloutSteps(steps) {
            throw RolloutError.invalidArgument("--steps \(problem)")
        }
        if let override, override.reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw LifecycleError.emptyOverrideReason
        }
        // Before the lock: taking it may close a killed command's intent (a record), and this refusal records nothing.
        try await checkSwarmCanSplit()
        if let problem = try Self.swarmSplitProblem(manifest, manifestName: context.manifestURL.lastPathComponent) {
            throw RolloutError.swarmTemplateWithoutSplit(detail: problem)
        }
        let manifestDigest = try await checkSwarmManifestDeployed()
        let session = try await context.beginAction("rollout start")
        defer { session.release() }
        try await context.runtime.preflight()
        let containers = try await context.runtime.containers()
        guard let stable = containers.first(where: { $0.service == app && $0.state == "running" }) else {
            throw LifecycleError.notDeployed(project: manifest.project, service: app)
        }
        let status = try stateReader.status(containers: containers)
        if [.running, .paused].contains(status.state) {
            throw RolloutError.alreadyInProgress(
                state: status.state.rawValue, image: status.canary?.image ?? "?", step: status.step,
                weight: status.weight)
        }
        // On Swarm a candidate service this project directory's history does not know of (a rollout started from
        // another manager's copy of the project, or a service left by hand) is refused too.
        if let swarm = swarmRuntime, let image = try await swarm.candidateServiceImage(app: app) {
            throw RolloutError.swarmCandidateServiceExists(
                service: swarm.serviceName(canaryService), image: image, action: "rollout start")
        }
        var plan = RolloutPlan(
            image: image, version: version, steps: steps, interval: interval ?? manifest.rollout.interval,
            sticky: manifest.rollout.sticky, onInconclusive: manifest.rollout.onInconclusive,
            stableImage: stable.image,
            stableVersion: stable.environment["APP_VERSION"] ?? manifest.services.version ?? "unknown")
        plan.manifestDigest = manifestDigest

        progress("asking the infrastructure policy before starting \(image) beside \(plan.stableImage)")
        let gate = await context.decide(domain: "infrastructure", action: "rollout", targetMode: nil)
        let infrastructureOverridden = try await context.enforce(
            gate, action: "rollout start", event: .rollout, override: override,
            modeBefore: nil, modeAfter: nil)
        // With an slo block, the release health gate too: a burning or spent error budget, or no usable Prometheus,
        // refuses the rollout before anything starts (unless overridden).
        let slo = try await context.sloStep(
            action: "rollout", label: "rollout start", event: .rollout, targetMode: nil,
            override: override, modeBefore: nil, modeAfter: nil, progress: progress)
        let overridden = infrastructureOverridden || slo.overridden
        try await context.runtime.ensureImages([image])
        let pin = try await swarmPinCandidate(&plan, override: override, progress: progress)

        var startDetails: [String: JSONValue] = [
            "image": .string(image), "version": .string(version),
            "steps": .array(steps.map { .int(Int64($0)) }), "interval_ms": .int(Int64(plan.interval.milliseconds)),
            "sticky": .bool(plan.sticky), "on_inconclusive": .string(plan.onInconclusive.rawValue),
            "stable_image": .string(plan.stableImage), "stable_version": .string(plan.stableVersion),
        ]
        startDetails.merge(pin.details) { a, _ in a }
        if let manifestDigest { startDetails["manifest_digest"] = .string(manifestDigest) }
        try await record(
            .start, plan: plan, outcome: "ok",
            message:
                """
                rollout of \(image) (version \(version)) started beside \(plan.stableImage): steps \
                \(steps.map { "\($0)%" }.joined(separator: ", ")), \(plan.interval) each\(pin.message)
                """,
            details: startDetails, decision: gate)
        let intent = try await session.intend(
            action: "rollout start",
            message:
                """
                about to start the candidate \(canaryService) (\(image), version \(version)) beside \(app) with \
                no traffic (rollout \(plan.id))
                """,
            decision: gate, override: overridden ? override : nil,
            details: [
                "rollout_id": .string(plan.id), "image": .string(image), "version": .string(version), "weight": .int(0),
            ]
            .merging(slo.intentDetails) { a, _ in a })
        await context.phases.reach("rollout.candidate")
        do {
            progress("starting the candidate \(canaryService) (\(image), version \(version)) with no traffic")
            try await apply(plan.canary(weight: 0), manifest: manifest, label: "the candidate at 0%")
            // On Swarm the stack deploy in apply started the candidate service already.
            if swarmRuntime == nil { try await context.runtime.recreate(service: canaryService) }
            try await waitHealthy(services: [canaryService], healthURL: analyzer.canaryHealthURL, progress: progress)
        } catch {
            let cause = error.localizedDescription
            progress("the candidate did not start: \(cause)")
            try await session.complete(
                intent,
                rolloutRecord(
                    .candidate, plan: plan, outcome: "failed",
                    message: "the candidate \(canaryService) did not start: \(cause)"),
                done: "tried to start the candidate \(canaryService)")
            try await rollback(
                plan: plan, manifest: manifest, outcome: "failed", reason: "the candidate did not start: \(cause)",
                session: session, progress: progress)
            throw RolloutError.candidateUnhealthy(service: canaryService, detail: cause)
        }
        try await session.complete(
            intent,
            rolloutRecord(
                .candidate, plan: plan, outcome: "ok",
                message: "the candidate \(canaryService) (\(image), version \(version)) is healthy with no traffic",
                details: ["weight": .int(0)]),
            done: "started the candidate \(canaryService)")
        return try await walk(plan: plan, from: 0, session: session, progress: progress)
    }

    /// `rollout resume`: continues a paused or interrupted rollout from its current step.
    public func resume(progress: @escaping Progress) async throws -> RolloutReport {
        // As `start`: on Swarm the split is set through nginx's task on this node; refused before the lock or a record.
        try await checkSwarmCanSplit(action: "rollout resume")
        if let seen = try? await plan(of: try stateReader.status(containers: try context.runtime.containers())) {
            try checkSwarmManifestUnchanged(plan: seen, action: "rollout resume")
        }
        let session = try await context.beginAction("rollout resume")
        defer { session.release() }
        try await context.runtime.preflight()
        let containers = try await context.runtime.containers()
        let status = try stateReader.status(containers: containers)
        guard status.state == .paused, let plan = try plan(of: status) else {
            throw RolloutError.nothingToAct(
                action: "resume",
                state: status.state == .running ? "running (its CLI is still at work)" : status.state.rawValue)
        }
        guard containers.contains(where: { $0.service == canaryService && $0.state == "running" }) else {
            throw RolloutError.candidateUnhealthy(
                service: canaryService, detail: "its container is not running; run `swiftdeploy rollout abort`")
        }
        let from = status.lastStepJudged ? status.step + 1 : status.step
        try await record(
            .resumed, plan: plan, outcome: "ok",
            message:
                """
                rollout of \(plan.image) resumed at step \
                \(from + 1)/\(plan.steps.count)\(status.interrupted ? " after its CLI was interrupted" : "")
                """,
            details: ["step": .int(Int64(from)), "interrupted": .bool(status.interrupted)])
        progress("resuming the rollout of \(plan.image) at step \(from + 1)/\(plan.steps.count)")
        if from >= plan.steps.count {
            return try await finish(plan: plan, decision: nil, session: session, progress: progress)
        }
        return try await walk(plan: plan, from: from, session: session, progress: progress)
    }

    /// `rollout pause|abort|promote`. When the rollout's CLI is still running, the request is recorded for it to act
    /// on at its next sample; otherwise this process takes the lock and acts itself.
    public func control(_ action: String, override: OverrideRequest?, progress: @escaping Progress) async throws
        -> RolloutReport
    {
        let seen = try await stateReader.status(containers: try context.runtime.containers())
        guard [.running, .paused].contains(seen.state), let seenPlan = try plan(of: seen) else {
            throw RolloutError.nothingToAct(action: action, state: seen.state.rawValue)
        }
        if seen.state == .running {
            // The rollout's own CLI holds the lock and acts on the request after its current sample.
            try await recordPromoteOverride(action, override: override, plan: seenPlan, status: seen)
            try await record(
                .request, plan: seenPlan, outcome: "ok",
                message: "\(action) requested for the running rollout of \(seenPlan.image)",
                details: ["action": .string(action)])
            return RolloutReport(
                outcome: .requested, decision: nil,
                message:
                    """
                    asked the running rollout to \(action); it acts after its current sample (see `swiftdeploy \
                    rollout status`)
                    """
            )
        }
        // This process acts itself: on Swarm only where nginx's task runs (refused before the lock or a record), but
        // for
        // an abort, which without a local nginx task takes the label path (nginx's task replaced by Swarm).
        if action == "abort" {
            try checkSwarmRuntime(action: "rollout abort")
        } else {
            try await checkSwarmCanSplit(action: "rollout \(action)")
        }
        if action == "promote" { try checkSwarmManifestUnchanged(plan: seenPlan, action: "rollout promote") }
        let session = try await context.beginAction("rollout \(action)")
        defer { session.release() }
        // Looked at again under the lock: what was paused may have been resumed or ended meanwhile.
        let status = try await stateReader.status(containers: try context.runtime.containers())
        guard status.state == .paused, let plan = try plan(of: status) else {
            throw RolloutError.nothingToAct(action: action, state: status.state.rawValue)
        }
        switch action {
        case "pause":
            return RolloutReport(
                outcome: .paused, decision: nil,
                message: "the rollout is already paused at step \(status.step + 1) (\(status.weight)%)")
        case "abort":
            try await rollback(
                plan: plan, manifest: manifest, outcome: "aborted", reason: "aborted by \(OverrideRequest.currentUser)",
                session: session, progress: progress)
            return RolloutReport(
                outcome: .rolledBack, decision: nil, message: "aborted: traffic back on stable, the candidate removed")
        default:
            try await recordPromoteOverride(action, override: override, plan: plan, status: status)
            return try await finish(plan: plan, decision: nil, session: session, progress: progress)
        }
    }

    /// `rollout promote` skips the remaining steps: audited as an override, with the user and the reason.
    func recordPromoteOverride(_ action: String, override: OverrideRequest?, plan: RolloutPlan, status: RolloutStatus)
        async throws
    {
        guard action == "promote" else { return }
        let reason = override?.reason ?? "rollout promote"
        try await context.recordBeforeActing(
            LifecycleRecord(
                event: .override, outcome: "ok",
                message:
                    """
                    \(override?.who ?? OverrideRequest.currentUser) promoted the rollout of \(plan.image) at step \
                    \(status.step + 1)/\(plan.steps.count) (\(status.weight)%), skipping the remaining steps: \
                    \(reason)
                    """,
                override: override ?? OverrideRequest(reason: reason),
                details: ["action": .string("rollout promote"), "rollout_id": .string(plan.id)]))
    }

    // MARK: The loop

    func walk(plan: RolloutPlan, from index: Int, session: ActionSession, progress: @escaping Progress) async throws
        -> RolloutReport
    {
        let count = plan.steps.count
        var last: PolicyDecision? = nil
        do {
            for step in index..<count {
                let weight = plan.steps[step]
                let stepDetails: [String: JSONValue] = ["step": .int(Int64(step)), "weight": .int(Int64(weight))]
                let intent = try await session.intend(
                    action: "rollout step",
                    message:
                        """
                        about to set the split of rollout \(plan.id) to \(weight)% on the candidate for step \
                        \(step + 1)/\(count)
                        """,
                    details: stepDetails.merging(["rollout_id": .string(plan.id)]) { a, _ in a })
                // Inside the step's intent, before the split changes (a crash here leaves the intent open).
                await context.phases.reach("rollout.step.intent")
                do {
                    try await apply(
                        plan.canary(weight: weight), manifest: manifest, label: "step \(step + 1) (\(weight)%)")
                } catch {
                    await session.completeQuietly(
                        intent,
                        rolloutRecord(
                            .step, plan: plan, outcome: "failed",
                            message:
                                """
                                step \(step + 1)/\(count): setting the split to \(weight)% failed: \
                                \(error.localizedDescription)
                                """,
                            details: stepDetails))
                    throw error
                }
                try await session.complete(
                    intent,
                    rolloutRecord(
                        .step, plan: plan, outcome: "ok",
                        message:
                            "step \(step + 1)/\(count): \(weight)% of clients on \(plan.image) for \(plan.interval)",
                        details: stepDetails),
                    done: "set the split to \(weight)% for step \(step + 1)/\(count)")
                await context.phases.reach("rollout.step")
                progress("step \(step + 1)/\(count): \(weight)% of clients on the candidate for \(plan.interval)")
                let reader = stateReader, id = plan.id
                let measured = try await analyzer.measure(interval: plan.interval) {
                    (try? reader.requests(id: id))?.last
                }
                if let request = measured.interrupted {
                    return try await handle(
                        request: request, plan: plan, step: step, weight: weight, session: session, progress: progress)
                }
                let evidence = measured.evidence!
                let decision = await judge(evidence, plan: plan, step: step, weight: weight)
                last = decision
                let action: String
                switch decision.verdict {
                case .allow, .warn: action = step + 1 < count ? "next step" : "promote"
                case .deny: action = "roll back"
                case .inconclusive: action = plan.onInconclusive == .pause ? "pause" : "abort"
                }
                let reasons = decision.reasons.isEmpty ? "" : ": " + decision.reasons.joined(separator: "; ")
                try await record(
                    .decision, plan: plan, outcome: decision.verdict.rawValue,
                    message:
                        """
                        step \(step + 1)/\(count) (\(weight)%) judged \(decision.verdict.rawValue)\(reasons); \
                        \(action)
                        """,
                    details: [
                        "step": .int(Int64(step)), "weight": .int(Int64(weight)), "action": .string(action),
                        "canary": Self.summary(evidence.canary), "baseline": Self.summary(evidence.baseline),
                    ],
                    decision: decision)
                progress("step \(step + 1)/\(count) (\(weight)%): \(decision.verdict.rawValue)\(reasons) → \(action)")
                switch decision.verdict {
                case .allow, .warn:
                    continue
                case .deny:
                    try await rollback(
                        plan: plan, manifest: manifest, outcome: "rolled-back",
                        reason: "step \(step + 1) (\(weight)%) denied\(reasons)", session: session, progress: progress)
                    return RolloutReport(
                        outcome: .rolledBack, decision: decision,
                        message: "rolled back at step \(step + 1) (\(weight)%)\(reasons)")
                case .inconclusive:
                    if plan.onInconclusive == .pause {
                        try await record(
                            .paused, plan: plan, outcome: "ok",
                            message:
                                """
                                rollout paused at step \(step + 1) (\(weight)%): inconclusive\(reasons); \
                                `swiftdeploy rollout resume` runs the step again
                                """,
                            details: ["step": .int(Int64(step)), "weight": .int(Int64(weight))])
                        return RolloutReport(
                            outcome: .paused, decision: decision,
                            message: "paused at step \(step + 1) (\(weight)%): inconclusive\(reasons)")
                    }
                    try await rollback(
                        plan: plan, manifest: manifest, outcome: "aborted",
                        reason: "step \(step + 1) (\(weight)%) inconclusive\(reasons)", session: session,
                        progress: progress)
                    return RolloutReport(
                        outcome: .aborted, decision: decision,
                        message: "aborted at step \(step + 1) (\(weight)%): inconclusive\(reasons)")
                }
            }
        } catch let error as RolloutError {
            throw error
        } catch let error as LifecycleError {
            // The history could not be written: nothing more is done without a record of it.
            throw error
        } catch {
            let cause = error.localizedDescription
            progress("the rollout failed: \(cause)")
            try await rollback(
                plan: plan, manifest: manifest, outcome: "failed", reason: cause, session: session, progress: progress)
            throw RolloutError.failedAndRolledBack(cause: cause)
        }
        return try await finish(plan: plan, decision: last, session: session, progress: progress)
    }

    func handle(
        request: String, plan: RolloutPlan, step: Int, weight: Int, session: ActionSession,
        progress: @escaping Progress
    ) async throws -> RolloutReport {
        progress("\(request) requested during step \(step + 1) (\(weight)%)")
        switch request {
        case "pause":
            try await record(
                .paused, plan: plan, outcome: "ok",
                message: "rollout paused at step \(step + 1) (\(weight)%) on request",
                details: ["step": .int(Int64(step)), "weight": .int(Int64(weight))])
            return RolloutReport(
                outcome: .paused, decision: nil, message: "paused at step \(step + 1) (\(weight)%) on request")
        case "promote":
            return try await finish(plan: plan, decision: nil, session: session, progress: progress)
        default:
            try await rollback(
                plan: plan, manifest: manifest, outcome: "aborted", reason: "aborted on request at step \(step + 1)",
                session: session, progress: progress)
            return RolloutReport(
                outcome: .rolledBack, decision: nil, message: "aborted on request at step \(step + 1) (\(weight)%)")
        }
    }

    /// Builds the canary domain's input (`metrics`, `baseline`, `comparison`, `rollout`) and asks the engine through
    /// ``PolicyEvaluator/decide(domain:manifest:input:insufficient:notes:)``: thresholds.json must match the canary
    /// policy's threshold contract, and a candidate with fewer than `metrics.min_requests` requests, a side that
    /// could not be measured or a non-finite figure anywhere in the evidence make the step inconclusive.
    public func judge(_ evidence: StepEvidence, plan: RolloutPlan, step: Int, weight: Int) async -> PolicyDecision {
        let input = Self.input(evidence, manifest: manifest, plan: plan, step: step, weight: weight)
        let insufficient =
            evidence.canary.insufficient.map { "candidate: \($0)" }
            + evidence.baseline.insufficient.map { "baseline: \($0)" }
            + evidence.nonFinite.map { "comparison: \($0) is not a finite number: the evidence cannot be judged" }
            + evidence.doubts.map { "doubtful evidence: \($0)" }
        return await evaluator.decide(
            domain: "canary", manifest: manifest, input: input, insufficient: insufficient,
            notes: evidence.canary.notes)
    }

    /// The canary domain's input document for a step.
    public static func input(_ evidence: StepEvidence, manifest: Manifest, plan: RolloutPlan, step: Int, weight: Int)
        -> JSONValue
    {
        let request = GateRequest(manifest: manifest, action: "rollout")
        guard
            case .object(var object) = PolicyInput.document(
                request: request, domain: "canary", host: nil, metrics: evidence.canary)
        else {
            return .null
        }
        object["baseline"] = evidence.baseline.json
        object["comparison"] = evidence.comparison
        object["rollout"] = .object([
            "step": .int(Int64(step)), "steps": .array(plan.steps.map { .int(Int64($0)) }),
            "weight": .int(Int64(weight)),
            "interval_seconds": .double(plan.interval.seconds), "image": .string(plan.image),
            "version": .string(plan.version),
            "stable_image": .string(plan.stableImage), "stable_version": .string(plan.stableVersion),
        ])
        return .object(object)
    }

    // MARK: Finishing and rolling back

    /// Rewrites services.image and services.version, recreates stable on the new version while the candidate carries
    /// all traffic, returns traffic to stable and removes the candidate. One intent covers it all; its outcome is the
    /// `promoted` record, or a `paused` record saying what failed (the candidate keeps serving).
    func finish(plan: RolloutPlan, decision: PolicyDecision?, session: ActionSession, progress: @escaping Progress)
        async throws -> RolloutReport
    {
        let manifestURL = context.manifestURL
        // nginx may have moved to another manager since the rollout started: refused (recorded paused) before anything.
        if swarmRuntime != nil { try await checkSwarmCanFinish(plan: plan) }
        do { try checkSwarmManifestUnchanged(plan: plan, action: "rollout promote") } catch let error as RolloutError {
            try await record(
                .paused, plan: plan, outcome: "manifest-changed",
                message: "finishing the rollout of \(plan.image) refused: \(error.errorDescription ?? "")")
            throw error
        }
        // What the manifest goes back to if the runtime rolls stable's update back: its own image and version when it
        // still names stable (the usual case), else (a promote after a finish that failed half-way) the running one's.
        let restore =
            manifest.services.image != plan.image
            ? (image: manifest.services.image, version: manifest.services.version ?? plan.stableVersion)
            : (image: plan.stableImage, version: plan.stableVersion)
        let intent = try await session.intend(
            action: "rollout promote",
            message:
                """
                about to promote rollout \(plan.id): all traffic on the candidate, \
                \(manifestURL.lastPathComponent) rewritten to \(plan.image) (version \(plan.version)), \(app) \
                recreated on it, traffic back on \(app), \(canaryService) removed
                """,
            decision: decision,
            details: ["rollout_id": .string(plan.id), "image": .string(plan.image), "version": .string(plan.version)])
        do {
            progress("promoting: the candidate takes all traffic while stable is recreated on \(plan.image)")
            try await apply(plan.canary(weight: 100), manifest: manifest, label: "all traffic on the candidate")
            await context.phases.reach("rollout.finish.all-on-candidate")
            try editor.setImageAndVersion(
                image: plan.image, version: plan.version, inFileAt: manifestURL, loader: loader)
            var promoted = context
            promoted.manifest = try loader.load(from: manifestURL)
            do {
                if let swarm = swarmRuntime {
                    // Stable takes the reference the candidate ran (pinned by digest at the start when it had one: what
                    // was judged), never the tag resolved again.
                    try await applySwarm(
                        plan.canary(weight: 100), manifest: promoted.manifest, label: "stable on the new version",
                        runtime: swarm,
                        stableImage: plan.candidateImage)
                    promoted.runtime = Self.pinned(swarm)
                } else {
                    try await apply(
                        plan.canary(weight: 100), manifest: promoted.manifest, label: "stable on the new version")
                }
                try await promoted.runtime.recreate(service: app)
            } catch RuntimeError.swarmRolledBack(let service, let state, let message, let tasks) {
                // Swarm rolled stable back to its previous spec: the manifest and the files go back to it too, so a
                // later abort (or deploy) does not deploy the failing image again. The candidate keeps all traffic.
                let cause = RuntimeError.swarmRolledBack(service: service, state: state, message: message, tasks: tasks)
                    .localizedDescription
                try editor.setImageAndVersion(
                    image: restore.image, version: restore.version, inFileAt: manifestURL, loader: loader)
                let restored = try loader.load(from: manifestURL)
                try ConfigGenerator(
                    manifest: restored, manifestName: manifestURL.lastPathComponent, canary: plan.canary(weight: 100)
                ).write()
                let error = RolloutError.stableUpdateRolledBack(
                    cause: cause, manifest: manifestURL.lastPathComponent, stableImage: restore.image,
                    stableVersion: restore.version)
                await session.completeQuietly(
                    intent,
                    rolloutRecord(
                        .paused, plan: plan, outcome: "stable-update-rolled-back",
                        message: "finishing the rollout of \(plan.image): \(error.errorDescription ?? cause)",
                        details: [
                            "weight": .int(100), "rolled_back_service": .string(service),
                            "swarm_update_state": .string(state),
                            "restored_image": .string(restore.image), "restored_version": .string(restore.version),
                        ]))
                throw error
            }
            _ = try await promoted.healthWaiter(timeout: healthTimeout).wait { progress($0.line) }
            progress("returning traffic to \(app), now on version \(plan.version)")
            if let swarm = swarmRuntime {
                // Swarm: the split to 0% live, the drain, then the stack without the candidate (which removes it).
                try await swarmTrafficToStable(runtime: swarm)
                await TaskSleeper().sleep(seconds: drainSeconds)
                try await apply(nil, manifest: promoted.manifest, label: "the stack without the candidate")
                try await swarmRemoveCandidateIfLeft(swarm)
            } else {
                try await apply(nil, manifest: promoted.manifest, label: "traffic back on stable")
                await TaskSleeper().sleep(seconds: drainSeconds)
                try await promoted.runtime.remove(service: canaryService)
            }
            try await session.complete(
                intent,
                rolloutRecord(
                    .promoted, plan: plan, outcome: "ok",
                    message:
                        """
                        rollout of \(plan.image) promoted: \(app) now runs version \(plan.version); the candidate \
                        was removed
                        """,
                    details: ["weight": .int(0)], decision: decision),
                done: "promoted \(plan.image): \(app) runs version \(plan.version), the candidate was removed")
            return RolloutReport(
                outcome: .promoted, decision: decision,
                message: "promoted \(plan.image) (version \(plan.version)); \(manifestURL.lastPathComponent) updated")
        } catch let error as LifecycleError {
            throw error
        } catch RolloutError.stableUpdateRolledBack(let cause, let manifest, let image, let version) {
            throw RolloutError.stableUpdateRolledBack(
                cause: cause, manifest: manifest, stableImage: image, stableVersion: version)  // recorded above
        } catch {
            let cause = error.localizedDescription
            await session.completeQuietly(
                intent,
                rolloutRecord(
                    .paused, plan: plan, outcome: "failed",
                    message:
                        """
                        finishing the rollout of \(plan.image) failed: \(cause); the candidate keeps serving; fix \
                        the cause and run `swiftdeploy rollout promote` or `rollout abort`
                        """
                ))
            throw RolloutError.finishFailed(cause: cause)
        }
    }

    /// All traffic back on stable at once (the split removed, nginx reloaded), then the candidate stopped and
    /// removed. The stable container is not touched. Written ahead as its own intent; when it fails half-way the
    /// rollout is recorded paused (not ended) so `rollout abort` can be run again.
    func rollback(
        plan: RolloutPlan, manifest: Manifest, outcome: String, reason: String, session: ActionSession,
        progress: @escaping Progress
    ) async throws {
        let intent = try await session.intend(
            action: "rollout rollback",
            message:
                """
                about to roll back rollout \(plan.id) (\(reason)): all traffic to \(app), \(canaryService) \
                removed, \(app) not touched
                """,
            details: ["rollout_id": .string(plan.id), "reason": .string(reason), "weight": .int(0)])
        progress("rolling back: all traffic to \(app) (\(plan.stableImage)), removing \(canaryService)")
        var nothingLeft = false
        var nginxReplacedOn: String? = nil
        do {
            if let swarm = swarmRuntime, try await swarm.services().isEmpty {
                // No service of the stack exists (removed by hand): deploying would bring the whole stack back. The
                // files are written without the candidate; nothing is deployed.
                nothingLeft = true
                progress("no service of stack \(manifest.project) exists: nothing to take back, nothing deployed")
                try ConfigGenerator(
                    manifest: manifest, manifestName: context.manifestURL.lastPathComponent, canary: nil
                ).write()
            } else if let swarm = swarmRuntime {
                // Swarm: the split to 0% (live, or by the label and a new nginx task when that is not possible), the
                // drain, then the candidate's service removed by name and the files written without it. No stack is
                // deployed: stable and nginx are untouched by construction, whatever the manifest says now.
                nginxReplacedOn = try await swarmTrafficToStableAnywhere(runtime: swarm, progress: progress)
                await context.phases.reach("rollout.rollback.traffic-on-stable")
                await TaskSleeper().sleep(seconds: drainSeconds)
                try await swarmRemoveCandidateIfLeft(swarm)
                let stableImage = try await swarm.serviceImage(service: app)
                try ConfigGenerator(
                    manifest: manifest, manifestName: context.manifestURL.lastPathComponent, canary: nil,
                    stableImage: stableImage
                ).write()
            } else {
                try await apply(nil, manifest: manifest, label: "roll back")
                await context.phases.reach("rollout.rollback.traffic-on-stable")
                await TaskSleeper().sleep(seconds: drainSeconds)
                try await context.runtime.remove(service: canaryService)
            }
        } catch {
            let cause = error.localizedDescription
            await session.completeQuietly(
                intent,
                rolloutRecord(
                    .paused, plan: plan, outcome: "failed",
                    message:
                        """
                        rolling back the rollout of \(plan.image) failed: \(cause); run `swiftdeploy rollout \
                        abort` again once the cause is fixed
                        """,
                    details: ["reason": .string(reason)]))
            throw RolloutError.rollbackFailed(cause: cause, reason: reason)
        }
        var left =
            nothingLeft
            ? """
            ; no service of stack \(manifest.project) exists, so nothing was deployed (run `swiftdeploy deploy` \
            to bring it back)
            """
            : ""
        var details: [String: JSONValue] = ["weight": .int(0), "reason": .string(reason)]
        if let node = nginxReplacedOn {
            left +=
                """
                ; nginx's task was replaced to take traffic back (its port refused connections for a moment), its \
                new task on \(node)
                """
            details["nginx_replaced"] = .bool(true)
            details["nginx_node"] = .string(node)
        } else if swarmRuntime != nil {
            details["nginx_replaced"] = .bool(false)
        }
        try await session.complete(
            intent,
            rolloutRecord(
                .aborted, plan: plan, outcome: outcome,
                message: "rollout of \(plan.image) ended without promotion (\(outcome)): \(reason)\(left)",
                details: details),
            done:
                """
                rolled back: all traffic on \(app), \(canaryService) \
                removed\(nginxReplacedOn == nil ? "" : ", nginx's task replaced")
                """
        )
    }

    // MARK: Parts

    /// Renders the files with `canary` (nil: no rollout), writes docker-compose.yml atomically and nginx.conf in place
    /// (the nginx container bind-mounts that very file: a rename would leave it reading the old one), checks that nginx
    /// sees the new file, tests it and reloads.
    func apply(_ canary: CanaryRender?, manifest: Manifest, label: String) async throws {
        if let swarm = swarmRuntime {
            return try await applySwarm(canary, manifest: manifest, label: label, runtime: swarm)
        }
        let files = try ConfigGenerator(
            manifest: manifest, manifestName: context.manifestURL.lastPathComponent, canary: canary
        ).render()
        for file in files where file.url != manifest.nginxConfigURL {
            try AtomicFile.write(Data(file.contents.utf8), to: file.url)
        }
        guard let nginx = files.first(where: { $0.url == manifest.nginxConfigURL }) else { return }
        try InPlaceFile.write(Data(nginx.contents.utf8), to: nginx.url)
        let seen = try await context.runtime.exec(service: "nginx", command: ["cat", "/etc/nginx/nginx.conf"])
        guard seen.succeeded else { throw RolloutError.nginxRejected(step: label, output: seen.outputTail()) }
        guard
            seen.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                == nginx.contents.trimmingCharacters(in: .whitespacesAndNewlines)
        else {
            throw RolloutError.nginxConfigStale(path: nginx.url.lastPathComponent)
        }
        let test = try await context.runtime.exec(service: "nginx", command: ["nginx", "-t", "-q"])
        guard test.succeeded else { throw RolloutError.nginxRejected(step: label, output: test.outputTail()) }
        let reload = try await context.runtime.exec(service: "nginx", command: ["nginx", "-s", "reload"])
        guard reload.succeeded else { throw RolloutError.nginxRejected(step: label, output: reload.outputTail()) }
    }

    func waitHealthy(services: [String], healthURL: URL, progress: @escaping Progress) async throws {
        _ = try await HealthWaiter(
            runtime: context.runtime, probe: context.probe, services: services, healthURL: healthURL,
            timeout: healthTimeout, pollInterval: context.pollInterval
        ).wait { progress($0.line) }
    }

    /// The plan recorded by the current rollout's start record.
    func plan(of status: RolloutStatus) throws -> RolloutPlan? {
        guard let start = try stateReader.lastRollout().first, start.phase == .start, let id = start.rolloutID,
            let image = start.details["image"]?.stringValue, let version = start.details["version"]?.stringValue
        else { return nil }
        var plan = RolloutPlan(
            id: id, image: image, version: version, steps: status.steps, interval: status.interval,
            sticky: status.sticky,
            onInconclusive: status.onInconclusive,
            stableImage: start.details["stable_image"]?.stringValue ?? manifest.services.image,
            stableVersion: start.details["stable_version"]?.stringValue ?? manifest.services.version ?? "unknown",
            candidateImage: start.details["candidate_image"]?.stringValue)
        plan.manifestDigest = start.details["manifest_digest"]?.stringValue
        return plan
    }

    func rolloutRecord(
        _ phase: RolloutPhase, plan: RolloutPlan, outcome: String, message: String,
        details: [String: JSONValue] = [:], decision: PolicyDecision? = nil
    ) -> LifecycleRecord {
        var all = details
        all["phase"] = .string(phase.rawValue)
        all["rollout_id"] = .string(plan.id)
        all["pid"] = .int(Int64(getpid()))
        all["image"] = all["image"] ?? .string(plan.image)
        all["version"] = all["version"] ?? .string(plan.version)
        return LifecycleRecord(event: .rollout, outcome: outcome, message: message, decision: decision, details: all)
    }

    /// A rollout record that changes nothing by itself (the plan, a decision, a pause): when it cannot be written the
    /// command stops with `historyUnwritable` before anything else is done.
    func record(
        _ phase: RolloutPhase, plan: RolloutPlan, outcome: String, message: String,
        details: [String: JSONValue] = [:], decision: PolicyDecision? = nil
    ) async throws {
        try await context.recordBeforeActing(
            rolloutRecord(phase, plan: plan, outcome: outcome, message: message, details: details, decision: decision))
    }

    static func summary(_ f: WindowFigures) -> JSONValue {
        func number(_ v: Double?) -> JSONValue { v.flatMap { $0.isFinite ? JSONValue.double($0) : nil } ?? .null }
        return [
            "requests": number(f.requests), "request_rate": number(f.requestRate), "error_rate": number(f.errorRate),
            "p99_ms": number(f.p99Ms),
        ]
    }

    /// The tag of an image reference (`swiftdeploy/api:0.2.0` → `0.2.0`), or `unknown`.
    static func tag(of image: String) -> String {
        let name = image.split(separator: "@").first.map(String.init) ?? image
        guard let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") else { return "unknown" }
        return String(name[name.index(after: colon)...])
    }
}
