import Foundation

/// Renders nginx.conf and docker-compose.yml for a manifest, writing them atomically
/// (what `init` does). The lifecycle workflows render before every `up`.
public protocol ConfigRendering: Sendable {
    /// Renders and writes the generated files; returns the files written (unchanged ones are skipped).
    @discardableResult
    func render(_ manifest: Manifest) throws -> [URL]
    /// Renders without writing: throws what `render` would throw for this manifest (a template or value
    /// error), so a workflow can find it before it changes anything.
    func prepare(_ manifest: Manifest) throws
    /// Every file `render` may write for this manifest (what `teardown --clean` deletes).
    func generatedFiles(for manifest: Manifest) -> [URL]
}

/// An audited break-glass: who proceeded past a deny or inconclusive decision, and why.
public struct OverrideRequest: Sendable, Equatable {
    public var reason: String
    /// The user name (`CurrentUser.name`), recorded with the reason.
    public var who: String

    public init(reason: String, who: String = OverrideRequest.currentUser) {
        self.reason = reason
        self.who = who
    }

    public static var currentUser: String { CurrentUser.name() }
}

/// One thing that happened, as the workflows report it to the history.
public struct LifecycleRecord: Sendable, Equatable {
    /// The history's own event: one type, so a record can never be mislabelled by a mapping between two lists.
    public var event: HistoryEvent
    /// `ok`, `refused`, `failed`, `noop`, `dry-run`, `rolled-back`, `broken`.
    public var outcome: String
    public var message: String
    public var modeBefore: DeploymentMode?
    public var modeAfter: DeploymentMode?
    /// The policy decision the action was gated on, when there was one.
    public var decision: PolicyDecision?
    /// The break-glass used, when there was one.
    public var override: OverrideRequest?
    public var details: [String: JSONValue]

    public init(
        event: HistoryEvent, outcome: String, message: String, modeBefore: DeploymentMode? = nil,
        modeAfter: DeploymentMode? = nil, decision: PolicyDecision? = nil, override: OverrideRequest? = nil,
        details: [String: JSONValue] = [:]
    ) {
        self.event = event
        self.outcome = outcome
        self.message = message
        self.modeBefore = modeBefore
        self.modeAfter = modeAfter
        self.decision = decision
        self.override = override
        self.details = details
    }
}

/// Where a record landed: its position in the history (`seq`) and its id.
public struct RecordReference: Sendable, Equatable {
    public var seq: Int
    public var id: String

    public init(seq: Int, id: String) {
        self.seq = seq
        self.id = id
    }

    /// The fields an outcome record carries to name the intent it closes.
    public var intentDetails: [String: JSONValue] { ["intent_seq": .int(Int64(seq)), "intent_id": .string(id)] }
}

/// A record as read back for recovery: enough to find an intent and what closed it.
public struct RecordedLifecycle: Sendable, Equatable {
    public var seq: Int
    public var id: String
    public var time: Date
    public var event: String
    public var outcome: String?
    public var message: String?
    public var modeBefore: String?
    public var modeAfter: String?
    public var details: [String: JSONValue]

    public init(
        seq: Int, id: String, time: Date, event: String, outcome: String?, message: String?, modeBefore: String?,
        modeAfter: String?, details: [String: JSONValue]
    ) {
        self.seq = seq
        self.id = id
        self.time = time
        self.event = event
        self.outcome = outcome
        self.message = message
        self.modeBefore = modeBefore
        self.modeAfter = modeAfter
        self.details = details
    }

    /// The intent this record closes (`details.intent_seq`), if it is an outcome.
    public var closesIntent: Int? {
        if case .int(let seq)? = details["intent_seq"] { return Int(seq) }
        return nil
    }
}

/// Where the workflows record what happened: the history log in production, a list in tests.
/// Every recording call of the lifecycle goes through this one protocol.
public protocol LifecycleRecording: Sendable {
    /// Appends `record`; returns where it landed.
    @discardableResult
    func record(_ record: LifecycleRecord, manifest: Manifest) async throws -> RecordReference
    /// Throws when nothing could be appended now (checked before a command changes anything).
    func checkWritable() throws
    /// The records appended at or after `since`, oldest first (to find what a crashed command left open).
    func recent(since: Date) throws -> [RecordedLifecycle]
    /// The history file, when the records go to one (named in the lock so a crash can be traced to it).
    var location: URL? { get }
}

/// Keeps records in memory, in order. Used by tests, and by `status --once` callers that print rather than log.
public final class MemoryRecorder: LifecycleRecording, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [LifecycleRecord] = []
    private var references: [(RecordReference, Date)] = []
    private var failure: String?

    public init() {}

    /// Makes every following `record` and `checkWritable` fail with `reason` (nil: succeed again).
    public func failWrites(_ reason: String?) {
        lock.lock()
        defer { lock.unlock() }
        failure = reason
    }

    @discardableResult
    public func record(_ record: LifecycleRecord, manifest: Manifest) async throws -> RecordReference {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw HistoryError.writeFailed(path: "memory", reason: failure) }
        stored.append(record)
        let reference = RecordReference(seq: stored.count, id: UUID().uuidString.lowercased())
        references.append((reference, Date()))
        return reference
    }

    public func checkWritable() throws {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw HistoryError.writeFailed(path: "memory", reason: failure) }
    }

    public func recent(since: Date) throws -> [RecordedLifecycle] {
        lock.lock()
        defer { lock.unlock() }
        return zip(stored, references).compactMap { record, reference in
            guard reference.1 >= since else { return nil }
            return RecordedLifecycle(
                seq: reference.0.seq, id: reference.0.id, time: reference.1, event: record.event.rawValue,
                outcome: record.outcome, message: record.message, modeBefore: record.modeBefore?.rawValue,
                modeAfter: record.modeAfter?.rawValue, details: record.details)
        }
    }

    public var location: URL? { nil }

    public var records: [LifecycleRecord] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

/// A test-only hook: with `SWIFTDEPLOY_TEST_PAUSE_AT=<phase>` in the environment, a lifecycle command that
/// reaches that phase writes its pid to `SWIFTDEPLOY_TEST_PAUSE_MARKER` (a file path) and then waits to be
/// killed (at most 10 minutes), or with `SWIFTDEPLOY_TEST_PAUSE_MODE=continue` goes on at once (the test
/// kills it while the next step runs). The crash tests use it to SIGKILL a command at a named phase.
/// The wait is a task sleep, so it ends when the command is cancelled (SIGINT, SIGTERM): the command then stops
/// at its next step as it would had the signal come just before the phase. Without the variable it does nothing.
public struct LifecyclePhases: Sendable {
    public var pauseAt: String?
    public var marker: String?
    public var continues: Bool

    public init(pauseAt: String? = nil, marker: String? = nil, continues: Bool = false) {
        self.pauseAt = pauseAt
        self.marker = marker
        self.continues = continues
    }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        -> LifecyclePhases
    {
        LifecyclePhases(
            pauseAt: environment["SWIFTDEPLOY_TEST_PAUSE_AT"], marker: environment["SWIFTDEPLOY_TEST_PAUSE_MARKER"],
            continues: environment["SWIFTDEPLOY_TEST_PAUSE_MODE"] == "continue")
    }

    /// Called by the workflows at each named phase (`promote.manifest-edited`, `deploy.intent`, …).
    public func reach(_ phase: String) async {
        guard let pauseAt, pauseAt == phase else { return }
        if let marker { try? Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: marker)) }
        if continues { return }
        // Throws (ends) at once when the task is cancelled; no thread is held meanwhile.
        try? await Task.sleep(for: .seconds(600))
    }
}
