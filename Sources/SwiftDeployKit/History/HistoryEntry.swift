import Foundation

/// What a caller records: `HistoryLog.append(_:)` adds the schema version,
/// time, id, sequence number, actor, git commit and chain hash.
///
/// Every string and JSON value here passes through `HistoryRedactor` before it
/// is written, so a caller may hand over a policy input or a manifest summary
/// as it is: environment values and credential-looking fields never reach disk.
public struct HistoryEntry: Sendable, Hashable {
    public var event: HistoryEvent
    /// A short result word: `ok`, `failed`, `refused`, `skipped`…
    public var outcome: String?
    /// One human sentence about what happened.
    public var message: String?
    /// `Digest.sha256Hex(of:)` of the manifest bytes the command used.
    public var manifestHash: String?
    /// `Digest.sha256Hex(of:)` of the thresholds file the policy used.
    public var thresholdsHash: String?
    /// The deployment mode before the command (`stable`, `canary`…), when known.
    public var modeBefore: String?
    /// The deployment mode after the command; a change from `modeBefore` shows in the report.
    public var modeAfter: String?
    /// For policy decisions (`gate`, `deploy`, `promote` checks): what was judged and how.
    public var decision: HistoryDecision?
    /// For `override`: why a person overrode a decision (who is the line's actor).
    public var override: HistoryOverride?
    /// Anything else: `chaos` state, a `metrics` summary (`error_rate`, `p99_ms`), lock holder, `duration_ms`…
    public var details: [String: JSONValue]

    public init(
        event: HistoryEvent, outcome: String? = nil, message: String? = nil, manifestHash: String? = nil,
        thresholdsHash: String? = nil, modeBefore: String? = nil, modeAfter: String? = nil,
        decision: HistoryDecision? = nil, override: HistoryOverride? = nil, details: [String: JSONValue] = [:]
    ) {
        self.event = event
        self.outcome = outcome
        self.message = message
        self.manifestHash = manifestHash
        self.thresholdsHash = thresholdsHash
        self.modeBefore = modeBefore
        self.modeAfter = modeAfter
        self.decision = decision
        self.override = override
        self.details = details
    }
}

/// A policy decision as the history keeps it.
public struct HistoryDecision: Sendable, Hashable {
    /// The policy domain judged (`deploy`, `promote`, `canary`…).
    public var domain: String
    /// `allow`, `warn`, `deny` or `inconclusive`. `deny` and `inconclusive` are listed as violations by `audit`.
    public var verdict: String
    /// Why, one sentence each, in the order the engine gave them.
    public var reasons: [String]
    /// Which engine decided (`embedded`, `opa`…).
    public var engine: String
    /// The input document the engine judged (metrics, manifest summary), redacted before it is written.
    /// `audit` charts `metrics.error_rate` and `metrics.p99_ms` from it when present.
    public var input: JSONValue

    public init(domain: String, verdict: String, reasons: [String] = [], engine: String, input: JSONValue = .null) {
        self.domain = domain
        self.verdict = verdict
        self.reasons = reasons
        self.engine = engine
        self.input = input
    }
}

/// Why a decision was overridden. Who did it is the line's actor.
public struct HistoryOverride: Sendable, Hashable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}
