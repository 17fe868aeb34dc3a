import ArgumentParser
import Foundation
import SwiftDeployKit

/// The output formats of a decision report. `text` is for people and may change; `json`, `junit` and
/// `github` are stable machine API.
public enum DecisionOutputFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case text, json, junit, github
}

/// The gate's report (``DecisionReport``, in the library with the verdicts it adds up) in an output format.
extension DecisionReport {
    /// Renders the report in `format`.
    public func render(_ format: DecisionOutputFormat, useColor: Bool = false) -> String {
        switch format {
        case .text: return TextDecisionFormatter(useColor: useColor).format(self)
        case .json: return JSONDecisionFormatter().format(self)
        case .junit: return JUnitDecisionFormatter().format(self)
        case .github: return GitHubDecisionFormatter().format(self)
        }
    }
}
