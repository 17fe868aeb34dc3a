import Foundation

/// The outcome of a policy decision. When evidence or the engine is missing
/// the verdict is `inconclusive`, never `allow`.
public enum Verdict: String, Sendable, Codable, CaseIterable, Comparable {
    case allow, warn, deny, inconclusive

    /// The verdict's exit status under the contract: allow and warn 0 (warn 1 with `failOnWarn`), deny 1, inconclusive
    /// 2.
    public func exitStatus(failOnWarn: Bool = false) -> ExitStatus {
        switch self {
        case .allow: return .success
        case .warn: return failOnWarn ? .failed : .success
        case .deny: return .failed
        case .inconclusive: return .inconclusive
        }
    }

    /// The worst of several verdicts (deny > inconclusive > warn > allow); `inconclusive` when there are none:
    /// no decision is never an allow.
    public static func worst<S: Sequence>(of verdicts: S) -> Verdict where S.Element == Verdict {
        verdicts.max() ?? .inconclusive
    }

    /// Whether a risky action may proceed on this verdict without an override.
    public var permitsAction: Bool { self == .allow || self == .warn }

    /// Severity order: allow < warn < inconclusive < deny. The worst verdict of several decisions is their max.
    public static func < (a: Verdict, b: Verdict) -> Bool { a.severity < b.severity }

    private var severity: Int {
        switch self {
        case .allow: return 0
        case .warn: return 1
        case .inconclusive: return 2
        case .deny: return 3
        }
    }
}

/// One domain's decision, with everything needed to explain and record it.
public struct PolicyDecision: Sendable, Equatable {
    /// The policy domain: `infrastructure`, `canary`, or any other `swiftdeploy.<name>` package.
    public var domain: String
    public var verdict: Verdict
    /// Why: the deny messages, or the warn messages, or why the decision is inconclusive. Never empty
    /// for deny, warn or inconclusive.
    public var reasons: [String]
    /// Warnings that accompany a deny (a deny's `reasons` are its deny messages).
    public var warnings: [String]
    /// The engine that decided: `embedded` or `opa <url>`.
    public var engine: String
    /// The input document the policy judged.
    public var input: JSONValue
    /// Timings in milliseconds by phase (e.g. `collect`, `evaluate`).
    public var timingsMs: [String: Double]

    public init(
        domain: String, verdict: Verdict, reasons: [String], warnings: [String] = [], engine: String,
        input: JSONValue, timingsMs: [String: Double] = [:]
    ) {
        self.domain = domain
        self.verdict = verdict
        self.reasons = reasons
        self.warnings = warnings
        self.engine = engine
        self.input = input
        self.timingsMs = timingsMs
    }
}

/// One or more policy decisions and what they add up to (what `gate` answers, in every output format).
public struct DecisionReport: Sendable {
    public var decisions: [PolicyDecision]
    /// Whether a warn verdict counts as a failure (`--fail-on-warn`).
    public var failOnWarn: Bool
    /// Wall time of the whole gate in milliseconds, evidence collection included.
    public var totalMs: Double

    public init(decisions: [PolicyDecision], failOnWarn: Bool = false, totalMs: Double = 0) {
        self.decisions = decisions
        self.failOnWarn = failOnWarn
        self.totalMs = totalMs
    }

    /// The worst verdict (``Verdict/worst(of:)``); `inconclusive` for an empty report.
    public var verdict: Verdict { Verdict.worst(of: decisions.lazy.map(\.verdict)) }

    /// The exit status under the contract: 0 allow/warn, 1 deny (or warn with `failOnWarn`), 2 inconclusive.
    public var exitStatus: ExitStatus { verdict.exitStatus(failOnWarn: failOnWarn) }
}

/// What a gate is asked about: the action about to happen and the mode change it would make.
public struct GateRequest: Sendable {
    public var manifest: Manifest
    /// `deploy`, `promote`, `gate` or `status`: goes into `input.action`.
    public var action: String
    /// The mode the action would switch to (`input.mode.target`); nil when the action changes no mode.
    public var targetMode: DeploymentMode?
    /// Overrides the manifest's metrics source (`gate --metrics-url`).
    public var metricsURL: URL?
    /// Overrides `metrics.window` (`gate --window`).
    public var window: ManifestDuration?

    public init(
        manifest: Manifest, action: String, targetMode: DeploymentMode? = nil, metricsURL: URL? = nil,
        window: ManifestDuration? = nil
    ) {
        self.manifest = manifest
        self.action = action
        self.targetMode = targetMode
        self.metricsURL = metricsURL
        self.window = window
    }
}

/// Collects the evidence a domain needs (host facts, a metrics window) and decides.
/// `deploy` asks for `infrastructure`, `promote` for `canary`, `gate` for any.
/// Implementations never throw for a missing source: they answer `inconclusive` with the reason.
public protocol PolicyGate: Sendable {
    func evaluate(domain: String, request: GateRequest) async -> PolicyDecision
    /// Decides several domains for one request, in order. ``PolicyEvaluator`` collects the evidence once for all of
    /// them; the default asks ``evaluate(domain:request:)`` for each in turn.
    func evaluate(domains: [String], request: GateRequest) async -> [PolicyDecision]
}

extension PolicyGate {
    public func evaluate(domains: [String], request: GateRequest) async -> [PolicyDecision] {
        var decisions: [PolicyDecision] = []
        for domain in domains { decisions.append(await evaluate(domain: domain, request: request)) }
        return decisions
    }
}
