import Foundation
import SwiftDeployKit
import Testing

@testable import SwiftDeployCLI

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite struct GateFormatterTests {
    static let deny = PolicyDecision(
        domain: "canary", verdict: .deny, reasons: ["error rate is 5% <of> \"all\" & more,\nnext: line"],
        warnings: ["p95 50%"], engine: "opa http://127.0.0.1:8181",
        input: ["metrics": ["requests": 100, "errors": 5, "error_rate": 0.05, "p99_ms": 120]],
        timingsMs: ["collect_metrics": 300, "evaluate": 2])
    static let inconclusive = PolicyDecision(
        domain: "infrastructure", verdict: .inconclusive,
        reasons: ["cannot read /proc/loadavg"], engine: "embedded", input: [:])
    static let allow = PolicyDecision(domain: "capacity", verdict: .allow, reasons: [], engine: "embedded", input: [:])

    @Test func overallVerdictIsTheWorst() {
        #expect(DecisionReport(decisions: [Self.allow, Self.inconclusive]).verdict == .inconclusive)
        #expect(DecisionReport(decisions: [Self.allow, Self.inconclusive, Self.deny]).exitStatus == .failed)
        #expect(DecisionReport(decisions: [Self.allow]).exitStatus == .success)
        #expect(DecisionReport(decisions: []).verdict == .inconclusive)
        let warn = PolicyDecision(domain: "canary", verdict: .warn, reasons: ["w"], engine: "e", input: [:])
        #expect(DecisionReport(decisions: [warn]).exitStatus == .success)
        #expect(DecisionReport(decisions: [warn], failOnWarn: true).exitStatus == .failed)
    }

    @Test func jsonIsStableAndComplete() throws {
        let report = DecisionReport(decisions: [Self.deny, Self.allow], totalMs: 310.5)
        let text = report.render(.json)
        #expect(text == report.render(.json))
        let document = try JSONValue.parse(Data(text.utf8))
        #expect(document["schema"] == 1)
        #expect(document["verdict"] == "deny")
        #expect(document["exit_code"] == 1)
        #expect(document["timings_ms"]?["total"] == .double(310.5))
        guard case .array(let decisions)? = document["decisions"] else {
            Issue.record("no decisions")
            return
        }
        #expect(decisions[0]["warnings"] == ["p95 50%"])
        #expect(decisions[0]["input"]?["metrics"]?["requests"] == 100)
        #expect(decisions[0]["timings_ms"]?["evaluate"]?.doubleValue == 2)
    }

    @Test func junitEscapesAndCounts() throws {
        let xmlText = DecisionReport(decisions: [Self.deny, Self.inconclusive, Self.allow]).render(.junit)
        #expect(XMLParser(data: Data(xmlText.utf8)).parse(), "\(xmlText)")
        #expect(xmlText.contains(#"tests="4" failures="1" errors="1""#))
        #expect(xmlText.contains("error rate is 5% &lt;of&gt; &quot;all&quot; &amp; more,&#10;next: line"))
        #expect(xmlText.contains(#"<error type="inconclusive" message="cannot read /proc/loadavg">"#))
        #expect(xmlText.contains(#"name="all rules passed""#))
        #expect(xmlText.contains(#"<property name="verdict" value="deny"/>"#))
    }

    @Test func githubCommandsEscapeDataAndProperties() {
        let text = DecisionReport(decisions: [Self.deny, Self.inconclusive, Self.allow]).render(.github)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(
            lines[0]
                == "::error title=swiftdeploy gate canary%3A deny::error rate is 5%25 <of> \"all\" & more,%0Anext: line"
        )
        #expect(lines[1] == "::warning title=swiftdeploy gate canary%3A warn::p95 50%25")
        #expect(lines[2] == "::error title=swiftdeploy gate infrastructure%3A inconclusive::cannot read /proc/loadavg")
        #expect(lines[3].hasPrefix("::notice title=swiftdeploy gate capacity%3A allow::"))
        let summary = GitHubDecisionFormatter().summary(DecisionReport(decisions: [Self.deny]))
        #expect(summary.contains("| canary | ❌ deny | opa http:&#47;&#47;127.0.0.1:8181 |"), "URLs are not auto-linked")
        #expect(summary.contains("- warning: p95 50%"))
        #expect(summary.contains("requests 100 · errors 5 · error rate 5.00%"))
    }

    @Test func textNamesVerdictReasonsAndFigures() {
        let text = DecisionReport(decisions: [Self.deny]).render(.text)
        #expect(text.contains("canary: DENY (engine opa http://127.0.0.1:8181, 302 ms)"))
        #expect(text.contains("  ✗ error rate is 5%"))
        #expect(text.contains("  ! p95 50%"))
        #expect(text.contains("p99 120.0 ms"))
        #expect(text.hasSuffix("verdict: deny (exit 1)"))
        #expect(!text.contains("\u{1B}["))
        #expect(DecisionReport(decisions: [Self.deny]).render(.text, useColor: true).contains("\u{1B}[31mDENY"))
    }
}
