import Foundation

/// Renders nginx.conf and docker-compose.yml for a manifest, writing them atomically
/// (what `init` does). The lifecycle workflows render before every `up`.
public protocol ConfigRendering: Sendable {
    /// Renders and writes the generated files; returns the files written (unchanged ones are skipped).
    @discardableResult
    func render(_ manifest: Manifest) throws -> [URL]
    /// Every file `render` may write for this manifest (what `teardown --clean` deletes).
    func generatedFiles(for manifest: Manifest) -> [URL]
}

/// The events the workflows record are the history's own events: one type, so a record can never be
/// mislabelled by a mapping between two lists.
public typealias LifecycleEvent = HistoryEvent

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
    public var event: LifecycleEvent
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

    public init(event: LifecycleEvent, outcome: String, message: String, modeBefore: DeploymentMode? = nil,
                modeAfter: DeploymentMode? = nil, decision: PolicyDecision? = nil, override: OverrideRequest? = nil,
                details: [String: JSONValue] = [:]) {
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

/// Where the workflows record what happened: the history log in production, a list in tests.
/// Every recording call of the lifecycle goes through this one protocol.
public protocol LifecycleRecording: Sendable {
    func record(_ record: LifecycleRecord, manifest: Manifest) throws
}

/// Keeps records in memory, in order. Used by tests, and by `status --once` callers that print rather than log.
public final class MemoryRecorder: LifecycleRecording, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [LifecycleRecord] = []

    public init() {}

    public func record(_ record: LifecycleRecord, manifest: Manifest) throws {
        lock.lock(); defer { lock.unlock() }
        stored.append(record)
    }

    public var records: [LifecycleRecord] {
        lock.lock(); defer { lock.unlock() }
        return stored
    }
}
