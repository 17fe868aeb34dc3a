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
    /// A progressive-delivery rollout: its start, every step, decision and its outcome (`details.phase`).
    case rollout

    /// Events that change what is running (shown in the report's timeline).
    public var isAction: Bool {
        switch self {
        case .`init`, .deploy, .promote, .rollback, .teardown, .override, .lock, .rollout: return true
        case .validate, .status, .gate: return false
        }
    }
}
