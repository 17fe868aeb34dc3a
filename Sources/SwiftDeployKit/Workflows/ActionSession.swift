import Foundation

/// An intent written to the history and not yet closed by an outcome.
public struct OpenIntent: Sendable, Equatable {
    /// Where the intent landed (`seq`, `id`): every outcome record names it.
    public var reference: RecordReference
    public var action: String
}

/// Write ahead, then act: the one mechanism every command that changes a stack uses
/// (`deploy`, `promote`, `teardown`, and any later one such as `rollout`).
///
/// 1. `LifecycleContext.beginAction` checks the history is writable, takes the project lock
///    (`flock`, held until `release` or until the process ends) and closes what a previous
///    holder left open when it ended while holding the lock (see `Recovery`).
/// 2. `intend` appends an `intent` record (action, decision with its evidence, override, who,
///    the planned mode change) **before** anything is changed; if it cannot be written the
///    command stops with `LifecycleError.historyUnwritable` and nothing was changed.
/// 3. The command acts, then `complete` appends the outcome record, which names the intent
///    (`details.intent_seq`, `details.intent_id`).
///
/// A crash between 2 and 3 leaves an open intent; the next acting command finds it through the
/// description the crashed holder left in the lock file, and closes it as `interrupted`. A command stopped by
/// SIGINT or SIGTERM (its task cancelled) closes its own intent as `interrupted` on its way out
/// (`completeQuietly`), and writes no new intent once cancelled.
public final class ActionSession: @unchecked Sendable {
    public let grant: LockGrant
    let context: LifecycleContext
    /// What was found and closed when the lock was taken (already shown through `context.warn`).
    public let recovered: [String]

    init(grant: LockGrant, context: LifecycleContext, recovered: [String]) {
        self.grant = grant
        self.context = context
        self.recovered = recovered
    }

    /// Appends the `intent` record. Throws `historyUnwritable` (nothing was changed) when it cannot.
    public func intend(
        action: String, message: String, decision: PolicyDecision? = nil, override: OverrideRequest? = nil,
        modeBefore: DeploymentMode? = nil, modeAfter: DeploymentMode? = nil,
        details: [String: JSONValue] = [:]
    ) async throws -> OpenIntent {
        var details = details
        details["action"] = .string(action)
        details["holder"] = grant.holder.jsonValue
        let reference = try await context.recordBeforeActing(
            LifecycleRecord(
                event: .intent, outcome: "open", message: message, modeBefore: modeBefore, modeAfter: modeAfter,
                decision: decision, override: override, details: details))
        return OpenIntent(reference: reference, action: action)
    }

    /// Appends the outcome of `intent`. When that fails, throws `outcomeNotRecorded` saying what was done
    /// (`done`), and lets go of the lock keeping its description, exactly as a crash would: the next
    /// acting command finds the intent still open and closes it as interrupted with what it finds.
    public func complete(_ intent: OpenIntent, _ record: LifecycleRecord, done: String) async throws {
        var record = record
        record.details.merge(intent.reference.intentDetails) { _, new in new }
        do {
            try await context.recordShielded(record)
        } catch {
            grant.abandon()
            throw LifecycleError.outcomeNotRecorded(
                done: done, cause: Self.describe(error), intentSeq: intent.reference.seq)
        }
    }

    /// Records a failure outcome while another error is on its way out. When even that cannot be recorded,
    /// the lock is let go keeping its description (see `complete`) and the original error goes on.
    /// When the error on its way out is the command being stopped (its task cancelled: SIGINT or SIGTERM through the
    /// CLI), the intent is closed as `interrupted` instead, stating what runs now.
    public func completeQuietly(_ intent: OpenIntent, _ record: LifecycleRecord) async {
        if Task.isCancelled {
            await closeInterrupted(intent, record)
            return
        }
        var record = record
        record.details.merge(intent.reference.intentDetails) { _, new in new }
        if (try? await context.recordShielded(record)) == nil { grant.abandon() }
    }

    /// Closes `intent` with an `interrupted` record (as `Recovery` closes a crashed holder's intent): the reason it
    /// was stopped, what the engine runs now, the mode and decision the failure record carried. The engine is asked
    /// and the record written from a task of their own, which the cancellation does not reach. When the record cannot
    /// be written, the lock is let go keeping its description, so the next acting command closes the intent.
    func closeInterrupted(_ intent: OpenIntent, _ failure: LifecycleRecord) async {
        let context = self.context
        let reason = context.cancellationReason()
        let written = await Task { () -> Bool in
            let found = await context.foundRunning()
            var details: [String: JSONValue] = [
                "action": .string(intent.action), "reason": .string(reason), "found": .object(found.details),
            ]
            details.merge(intent.reference.intentDetails) { _, new in new }
            let record = LifecycleRecord(
                event: .interrupted, outcome: "interrupted",
                message:
                    """
                    \(intent.action) was interrupted (\(reason)) before it finished: the programs it had started \
                    were stopped (intent #\(intent.reference.seq)); found: \(found.text)
                    """,
                modeBefore: failure.modeBefore, modeAfter: found.mode, decision: failure.decision,
                override: failure.override, details: details)
            return (try? await context.recordShielded(record)) != nil
        }.value
        if !written { grant.abandon() }
    }

    public func release() { grant.release() }

    static func describe(_ error: Error) -> String { (error as? LocalizedError)?.errorDescription ?? "\(error)" }
}

extension LifecycleContext {
    /// Starts an acting command: history writable, lock taken, a crashed holder's leftovers closed.
    public func beginAction(_ action: String) async throws -> ActionSession {
        do { try recorder.checkWritable() } catch {
            throw LifecycleError.historyUnwritable(
                path: recorder.location?.path ?? "the history", cause: ActionSession.describe(error))
        }
        let holder = LockHolder.current(action: action, manifest: manifestURL.path, history: recorder.location?.path)
        let grant = try await lock.acquire(holder)
        await phases.reach("lock-acquired")
        var notes: [String] = []
        if !grant.pending.isEmpty {
            do {
                for previous in grant.pending { notes += try await Recovery(context: self, previous: previous).run() }
                try grant.settle()
            } catch {
                grant.release()
                throw error
            }
            notes.forEach(warn)
        }
        return ActionSession(grant: grant, context: self, recovered: notes)
    }

    /// Appends a record written before anything changed; a failure means nothing was changed. Refused with
    /// `CancellationError` once the task is cancelled (nothing new is begun while the command is being stopped).
    @discardableResult
    func recordBeforeActing(_ record: LifecycleRecord) async throws -> RecordReference {
        try Task.checkCancellation()
        do { return try await self.record(record) } catch {
            throw LifecycleError.historyUnwritable(
                path: recorder.location?.path ?? "the history", cause: ActionSession.describe(error))
        }
    }

    /// Refuses (recording the refusal) an action that re-renders the stack while a `swiftdeploy rollout` is running
    /// or paused: its files would drop the candidate and the split, and nginx, which bind-mounts nginx.conf, would
    /// keep the rollout's configuration (a teardown would remove the candidate under a rollout still recorded as
    /// paused). The rollout must be resumed, promoted or aborted first.
    func refuseDuringRollout(action: String, containers: [ContainerStatus], mode: DeploymentMode?) async throws {
        let rollout = try RolloutStateReader(manifest: manifest, lock: lock).status(containers: containers)
        let error: RolloutError
        if [.running, .paused].contains(rollout.state) {
            error = RolloutError.alreadyInProgress(
                state: rollout.state.rawValue, image: rollout.canary?.image ?? "?", step: rollout.step,
                weight: rollout.weight)
        } else if let swarm = runtime as? SwarmRuntime,
            let image = try await swarm.candidateServiceImage(app: manifest.services.name)
        {
            // On Swarm the history here may not know of a rollout started from another manager's copy of the project:
            // the stack's candidate service tells.
            error = RolloutError.swarmCandidateServiceExists(
                service: swarm.serviceName(CanaryRender.serviceName(for: manifest.services.name)),
                image: image, action: action)
        } else {
            return
        }
        let event: HistoryEvent = action == "deploy" ? .deploy : action == "teardown" ? .teardown : .promote
        try await recordBeforeActing(
            LifecycleRecord(
                event: event, outcome: "refused",
                message: "\(action) refused: \(error.errorDescription ?? "a rollout is in progress")",
                modeBefore: mode, modeAfter: mode))
        throw error
    }

    /// What runs now, for a record that closes an interrupted action: a sentence, its details (`containers`,
    /// `manifest_mode`, and `running_mode` or the engine's `problem`), the app's mode.
    func foundRunning() async -> (text: String, details: [String: JSONValue], mode: DeploymentMode?) {
        let running = await inspectRunning()
        let found: String
        var foundDetails: [String: JSONValue] = [
            "containers": .array(
                running.containers.map {
                    .object([
                        "name": .string($0.name), "service": .string($0.service),
                        "state": .string($0.summary),
                    ])
                }),
            "manifest_mode": .string(manifest.services.mode.rawValue),
        ]
        if let problem = running.problem {
            found = "the engine could not be asked what runs (\(problem))"
            foundDetails["problem"] = .string(problem)
        } else {
            let mode = running.mode.map { "the app runs in \($0.rawValue) mode" } ?? "no app container"
            let list =
                running.containers.isEmpty
                ? "no containers"
                : running.containers.map { "\($0.service) \($0.summary)" }.joined(separator: ", ")
            found = "\(mode); containers: \(list); the manifest says \(manifest.services.mode.rawValue)"
            if let mode = running.mode { foundDetails["running_mode"] = .string(mode.rawValue) }
        }
        return (found, foundDetails, running.mode)
    }

    /// What the engine runs for this project now: the app's mode (from its container's `MODE`) and
    /// every container with its state; a description of the failure when the engine cannot be asked.
    func inspectRunning() async -> (mode: DeploymentMode?, containers: [ContainerStatus], problem: String?) {
        do {
            try await runtime.preflight()
            let containers = try await runtime.containers()
            return (Self.appMode(containers, service: manifest.services.name), containers, nil)
        } catch {
            return (nil, [], ActionSession.describe(error))
        }
    }

    /// The app's mode from its containers: a running one first, else any (a stopped app keeps its `MODE`).
    static func appMode(_ containers: [ContainerStatus], service: String) -> DeploymentMode? {
        let apps = containers.filter { $0.service == service }
        let app = apps.first { $0.state == "running" } ?? apps.first
        return app?.environment["MODE"].flatMap(DeploymentMode.init(rawValue:))
    }
}

/// Closes what a lock holder that ended while holding the lock left behind. Its description (left in the
/// lock file) names its history; the intents it wrote there carry its pid, host and start time. Each of
/// them not yet closed by an outcome is closed with an `interrupted` record stating what is running now;
/// when it had written none (it ended before changing anything), a `lock` record says so.
struct Recovery {
    let context: LifecycleContext
    let previous: LockHolder

    func run() async throws -> [String] {
        let ours = context.recorder.location?.standardizedFileURL.path
        let theirs = previous.history.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let journal: any LifecycleRecording
        if theirs == nil || theirs == ours {
            journal = context.recorder
        } else {
            journal = HistoryRecorder(
                log: HistoryLog(url: URL(fileURLWithPath: theirs!)),
                manifestURL: URL(fileURLWithPath: previous.manifest ?? context.manifestURL.path))
        }
        let since = DeployLock.timestampFormatter.string(from: previous.since)
        let records: [RecordedLifecycle]
        do { records = previous.pid == 0 ? [] : try journal.recent(since: previous.since.addingTimeInterval(-5)) } catch
        {
            throw LifecycleError.historyUnwritable(path: theirs ?? "the history", cause: ActionSession.describe(error))
        }
        let closed = Set(records.compactMap(\.closesIntent))
        let intents = records.filter { record in
            guard record.event == HistoryEvent.intent.rawValue, let holder = record.details["holder"] else {
                return false
            }
            if let nonce = previous.nonce { return holder["nonce"]?.stringValue == nonce }
            return holder["pid"] == .int(Int64(previous.pid)) && holder["host"]?.stringValue == previous.host
                && holder["since"]?.stringValue == since
        }
        let open = intents.filter { !closed.contains($0.seq) }
        let (found, foundDetails, runningMode) = await context.foundRunning()
        var notes: [String] = []
        guard !open.isEmpty else {
            let what =
                intents.isEmpty
                ? "before changing anything (it had written no intent)"
                : """
                after recording its outcome (intent #\(intents.map { String($0.seq) }.joined(separator: ", #")) \
                is closed)
                """
            let message =
                """
                a previous \(previous.action) (\(previous.description)) ended without releasing the lock \(what); \
                the kernel released its lock; found: \(found)
                """
            try await context.recordBeforeActing(
                LifecycleRecord(
                    event: .lock, outcome: "abandoned", message: message,
                    modeAfter: runningMode,
                    details: ["holder": previous.jsonValue, "found": .object(foundDetails)]))
            return [message]
        }
        for intent in open {
            let message =
                """
                \(previous.action) by \(previous.who)@\(previous.host) (pid \(previous.pid), since \(since)) was \
                interrupted before its outcome was recorded (intent #\(intent.seq)); found: \(found)
                """
            var details: [String: JSONValue] = [
                "intent_seq": .int(Int64(intent.seq)), "intent_id": .string(intent.id),
                "holder": previous.jsonValue, "found": .object(foundDetails),
            ]
            if let action = intent.details["action"] { details["action"] = action }
            let record = LifecycleRecord(
                event: .interrupted, outcome: "interrupted", message: message,
                modeBefore: intent.modeBefore.flatMap(DeploymentMode.init(rawValue:)),
                modeAfter: runningMode, details: details)
            do { try await journal.record(record, manifest: context.manifest) } catch {
                throw LifecycleError.historyUnwritable(
                    path: theirs ?? "the history", cause: ActionSession.describe(error))
            }
            notes.append(message)
        }
        if journal.location?.path != context.recorder.location?.path {
            // The intent lives in another checkout's history: say so in ours too.
            try await context.recordBeforeActing(
                LifecycleRecord(
                    event: .lock, outcome: "abandoned",
                    message:
                        """
                        closed \(open.count) interrupted intent(s) of \(previous.description) in \
                        \(theirs ?? "its history")
                        """,
                    modeAfter: runningMode, details: ["holder": previous.jsonValue, "found": .object(foundDetails)]))
        }
        return notes
    }
}
