import Foundation
import SwiftDeployKit

/// `--format text`: for people. One block per domain (verdict, engine, reasons, the figures judged) and a last
/// line with the overall verdict and exit code. Colour only when asked (TTY and no `NO_COLOR`).
public struct TextDecisionFormatter: Sendable {
    public var useColor: Bool

    public init(useColor: Bool = false) { self.useColor = useColor }

    public func format(_ report: DecisionReport) -> String {
        var lines: [String] = []
        for decision in report.decisions {
            let took = decision.timingsMs.values.reduce(0, +)
            lines.append(
                """
                \(decision.domain): \(paint(decision.verdict.rawValue.uppercased(), decision.verdict)) (engine \
                \(decision.engine), \(FixedPoint.text(took, digits: 0)) ms)
                """
            )
            let mark: String
            switch decision.verdict {
            case .deny: mark = "✗"
            case .warn: mark = "!"
            case .inconclusive: mark = "?"
            case .allow: mark = "·"
            }
            for reason in decision.reasons { lines.append("  \(mark) \(reason)") }
            for warning in decision.warnings { lines.append("  ! \(warning)") }
            if let figures = TextDecisionFormatter.figures(decision) { lines.append("  \(figures)") }
        }
        let status = report.exitStatus.rawValue
        lines.append(
            """
            verdict: \(paint(report.verdict.rawValue, report.verdict)) (exit \
            \(status)\(report.failOnWarn && report.verdict == .warn ? ", --fail-on-warn" : ""))
            """
        )
        return lines.joined(separator: "\n")
    }

    /// A one-line summary of the evidence in a decision's input, or nil when it has none.
    public static func figures(_ decision: PolicyDecision) -> String? {
        var parts: [String] = []
        if let metrics = decision.input["metrics"], metrics != .null {
            func number(_ key: String, _ digits: Int, _ suffix: String = "") -> String? {
                metrics[key]?.doubleValue.map { FixedPoint.text($0, digits: digits) + suffix }
            }
            var items = ["requests \(number("requests", 0) ?? "?")", "errors \(number("errors", 0) ?? "?")"]
            items.append(
                "error rate "
                    + (metrics["error_rate"]?.doubleValue.map { FixedPoint.text($0 * 100, digits: 2) + "%" } ?? "n/a")
            )
            items.append((number("request_rate", 1) ?? "?") + " req/s")
            for key in ["p50_ms", "p95_ms", "p99_ms"] {
                items.append("\(key.dropLast(3)) " + (number(key, 1, " ms") ?? "n/a"))
            }
            parts.append(
                items.joined(separator: " · ")
                    + """
                     (window \(number("window_seconds", 1, "s") ?? "?"), \
                    \(metrics["source"]?.stringValue ?? "?"))
                    """
            )
        }
        if let host = decision.input["host"], host != .null {
            var items: [String] = []
            if let disk = host["disk_free_gb"]?.doubleValue {
                items.append(
                    "disk \(FixedPoint.text(disk, digits: 1)) GB free on \(host["disk_path"]?.stringValue ?? "?")")
            }
            if let load = host["load_per_cpu"]?.doubleValue {
                items.append("load \(FixedPoint.text(load, digits: 2)) per CPU")
            }
            if let memory = host["memory_used_percent"]?.doubleValue {
                items.append("memory \(FixedPoint.text(memory, digits: 1))% used")
            }
            if !items.isEmpty { parts.append(items.joined(separator: " · ")) }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "\n  ")
    }

    private func paint(_ text: String, _ verdict: Verdict) -> String {
        guard useColor else { return text }
        let code: String
        switch verdict {
        case .allow: code = "32"
        case .warn: code = "33"
        case .deny: code = "31"
        case .inconclusive: code = "35"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
