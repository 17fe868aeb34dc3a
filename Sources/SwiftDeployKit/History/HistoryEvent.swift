import Foundation

/// What happened, as recorded in the `event` field of a history line.
///
/// The raw values are part of the history schema (`"v": 1`): renaming one
/// breaks every report over older histories, so add cases, never rename.
public enum HistoryEvent: String, Sendable, CaseIterable, Codable, Hashable {
    case `init`
    case validate
    case deploy
    case promote
    case rollback
    case teardown
    case status
    case gate
    case override
    case lock
    /// Written before a command changes anything: what it is about to do, on which decision, by whom.
    /// The outcome record that follows names it (`details.intent_seq`, `details.intent_id`).
    case intent
    /// Closes an intent whose command ended (crashed, was killed) before recording its outcome:
    /// written by the next acting command, with what it found (running mode, containers).
    case interrupted
    /// A progressive-delivery rollout: its start, every step, decision and its outcome (`details.phase`).
    case rollout

    /// Events that change what is running (shown in the report's timeline).
    public var isAction: Bool {
        switch self {
        case .`init`, .deploy, .promote, .rollback, .teardown, .override, .lock, .interrupted, .rollout: return true
        case .validate, .status, .gate, .intent: return false
        }
    }
}
