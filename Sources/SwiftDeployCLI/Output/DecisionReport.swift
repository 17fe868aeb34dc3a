import ArgumentParser
import Foundation
import SwiftDeployKit

/// The output formats of a decision report. `text` is for people and may change; `json`, `junit` and
/// `github` are stable machine API.
public enum DecisionOutputFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case text, json, junit, github
}

/// One or more policy decisions and what they add up to: the report every formatter renders.
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

    /// Renders the report in `format`. `summary` receives the Markdown step summary for `github`.
    public func render(_ format: DecisionOutputFormat, useColor: Bool = false) -> String {
        switch format {
        case .text: return TextDecisionFormatter(useColor: useColor).format(self)
        case .json: return JSONDecisionFormatter().format(self)
        case .junit: return JUnitDecisionFormatter().format(self)
        case .github: return GitHubDecisionFormatter().format(self)
        }
    }
}
