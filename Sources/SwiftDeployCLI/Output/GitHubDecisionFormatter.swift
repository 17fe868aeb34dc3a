import Foundation
import SwiftDeployKit

/// `--format github`: GitHub Actions workflow commands on standard output (`::error::` for each deny and
/// inconclusive reason, `::warning::` for each warn, `::notice::` for an allow), and a Markdown summary for
/// `$GITHUB_STEP_SUMMARY` from ``summary(_:)``.
public struct GitHubDecisionFormatter: Sendable {
    public init() {}

    public func format(_ report: DecisionReport) -> String {
        var lines: [String] = []
        for decision in report.decisions {
            let title = "swiftdeploy gate \(decision.domain)"
            switch decision.verdict {
            case .deny:
                lines += decision.reasons.map { command("error", title: "\(title): deny", $0) }
                lines += decision.warnings.map { command("warning", title: "\(title): warn", $0) }
            case .warn:
                let kind = report.failOnWarn ? "error" : "warning"
                lines += decision.reasons.map { command(kind, title: "\(title): warn", $0) }
            case .inconclusive:
                lines += decision.reasons.map { command("error", title: "\(title): inconclusive", $0) }
            case .allow:
                let notes = decision.reasons.isEmpty ? "" : " (" + decision.reasons.joined(separator: "; ") + ")"
                lines.append(
                    command(
                        "notice", title: "\(title): allow",
                        "every rule of swiftdeploy.\(decision.domain) passed\(notes)"))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The Markdown written to `$GITHUB_STEP_SUMMARY`: a table of verdicts, the reasons, and the figures judged.
    public func summary(_ report: DecisionReport) -> String {
        var text =
            "## swiftdeploy gate: \(report.verdict.rawValue)\n\n| Domain | Verdict | Engine |\n| --- | --- | --- |\n"
        for decision in report.decisions {
            text +=
                """
                | \(markdown(decision.domain)) | \(emoji(decision.verdict)) \(decision.verdict.rawValue) | \
                \(markdown(decision.engine)) |\n
                """
        }
        for decision in report.decisions where !decision.reasons.isEmpty || !decision.warnings.isEmpty {
            text += "\n### \(markdown(decision.domain))\n\n"
            for reason in decision.reasons { text += "- \(markdown(reason))\n" }
            for warning in decision.warnings { text += "- warning: \(markdown(warning))\n" }
        }
        let figures = report.decisions.compactMap { TextDecisionFormatter.figures($0) }
        if !figures.isEmpty {
            text += "\n### Evidence\n\n" + figures.map { "- " + markdown($0) }.joined(separator: "\n") + "\n"
        }
        return text
    }

    private func emoji(_ verdict: Verdict) -> String {
        switch verdict {
        case .allow: return "✅"
        case .warn: return "⚠️"
        case .deny: return "❌"
        case .inconclusive: return "❔"
        }
    }

    private func markdown(_ text: String) -> String {
        MarkdownText.cell(text)
    }

    /// A workflow command with its data and properties escaped as the runner expects.
    func command(_ name: String, title: String, _ message: String) -> String {
        "::\(name) title=\(escapeProperty(title))::\(escapeData(message))"
    }

    func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
}
