import Foundation

/// Everything a lifecycle workflow works with, injected so tests can replace the
/// container runtime, the renderer, the gate, the recorder and the HTTP client.
public struct LifecycleContext: Sendable {
    /// The manifest file (for the in-place mode rewrite and reloading).
    public var manifestURL: URL
    public var manifest: Manifest
    public var runtime: any ContainerRuntime
    public var renderer: any ConfigRendering
    /// The policy gate; nil when no policy engine is available, and then every gated action is
    /// refused as inconclusive unless overridden. A gate is never skipped silently.
    public var gate: (any PolicyGate)?
    public var recorder: any LifecycleRecording
    public var probe: any HTTPProbing
    public var lock: DeployLock
    /// Seconds between two health polls.
    public var pollInterval: TimeInterval
    /// The test-only pause points (`SWIFTDEPLOY_TEST_PAUSE_AT`); inert otherwise.
    public var phases: LifecyclePhases
    /// Warnings the user must see even with `--quiet` (an interrupted command found and closed).
    public var warn: @Sendable (String) -> Void
    /// Why the workflow's task was cancelled, for the `interrupted` record that closes its open intent (the CLI
    /// cancels it on SIGINT or SIGTERM and answers `SIGINT received`).
    public var cancellationReason: @Sendable () -> String = { "its task was cancelled" }

    public init(
        manifestURL: URL, manifest: Manifest, runtime: any ContainerRuntime, renderer: any ConfigRendering,
        gate: (any PolicyGate)?, recorder: any LifecycleRecording, probe: any HTTPProbing = SocketHTTPClient(),
        lock: DeployLock? = nil, pollInterval: TimeInterval = 1, phases: LifecyclePhases = LifecyclePhases(),
        warn: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.manifestURL = manifestURL
        self.manifest = manifest
        self.runtime = runtime
        self.renderer = renderer
        self.gate = gate
        self.recorder = recorder
        self.probe = probe
        self.lock = lock ?? DeployLock(project: manifest.project)
        self.pollInterval = pollInterval
        self.phases = phases
        self.warn = warn
    }

    /// The reason given when no policy engine is available.
    public static let noEngineReason =
        """
        the policy engine is not available in this build of swiftdeploy, so the gate cannot decide; a gate is \
        never skipped silently
        """

    /// Asks the gate, or answers inconclusive when there is none.
    func decide(domain: String, action: String, targetMode: DeploymentMode?) async -> PolicyDecision {
        guard let gate else {
            return PolicyDecision(
                domain: domain, verdict: .inconclusive, reasons: [Self.noEngineReason], engine: "none",
                input: .null)
        }
        return await gate.evaluate(
            domain: domain, request: GateRequest(manifest: manifest, action: action, targetMode: targetMode))
    }

    /// Lets the action proceed when the decision permits it or an override is given (recording the
    /// override); otherwise records the refusal and throws `LifecycleError.policyRefused`.
    /// Returns true when the action proceeds on an override.
    func enforce(
        _ decision: PolicyDecision, action: String, event: HistoryEvent, override: OverrideRequest?,
        modeBefore: DeploymentMode?, modeAfter: DeploymentMode?
    ) async throws -> Bool {
        if decision.verdict.permitsAction { return false }
        if let override {
            try await recordBeforeActing(
                LifecycleRecord(
                    event: .override, outcome: "ok",
                    message:
                        """
                        \(override.who) overrode a \(decision.verdict.rawValue) \(decision.domain) decision for \
                        \(action): \(override.reason)
                        """,
                    modeBefore: modeBefore, modeAfter: modeAfter, decision: decision, override: override,
                    details: ["action": .string(action)]))
            return true
        }
        try await recordBeforeActing(
            LifecycleRecord(
                event: event, outcome: "refused",
                message:
                    """
                    \(action) refused: \(decision.domain) policy \(decision.verdict.rawValue): \
                    \(decision.reasons.joined(separator: "; "))
                    """,
                modeBefore: modeBefore, modeAfter: modeBefore, decision: decision))
        throw LifecycleError.policyRefused(action: action, decision: decision)
    }

    /// The one place the workflows hand a record to the history. Once the workflow's task is cancelled (SIGINT or
    /// SIGTERM through the CLI) nothing new is recorded: no decision judged on a window cut short, no intent; the
    /// outcome of what was already begun goes through ``recordShielded(_:)``.
    @discardableResult
    func record(_ record: LifecycleRecord) async throws -> RecordReference {
        try Task.checkCancellation()
        return try await recordShielded(record)
    }

    /// Writes `record` from a task of its own, which the caller's cancellation does not reach: a record once begun
    /// is written whole (git's answer for its commit, the nodes asked of the engine), and the outcome of an action
    /// already begun is recorded even when the command is being stopped.
    @discardableResult
    func recordShielded(_ record: LifecycleRecord) async throws -> RecordReference {
        let recorder = self.recorder, manifest = self.manifest
        return try await Task { try await recorder.record(record, manifest: manifest) }.value
    }

    /// The services a healthy stack must have: the app first (blamed first on timeout), then nginx.
    var expectedServices: [String] { [manifest.services.name, "nginx"] }

    /// `since`: when the action's one deadline started (`timeout` counts from there); nil: from now.
    func healthWaiter(timeout: TimeInterval, since: Date? = nil) -> HealthWaiter {
        HealthWaiter(
            runtime: runtime, probe: probe, services: expectedServices, healthURL: manifest.adminHealthURL,
            timeout: timeout, pollInterval: pollInterval, since: since)
    }
}
