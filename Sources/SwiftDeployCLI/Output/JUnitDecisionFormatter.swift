import Foundation
import SwiftDeployKit

/// `--format junit`: JUnit XML for CI dashboards. One `<testsuite>` per domain (`swiftdeploy.<domain>`) and one
/// `<testcase>` per rule outcome: each deny message is a failing case, each warn message a passing case with the
/// message in `<system-out>` (failing with `--fail-on-warn`), an inconclusive decision one erroring case per reason,
/// and a domain where no rule fired one passing case `all rules passed`.
public struct JUnitDecisionFormatter: Sendable {
    public init() {}

    public func format(_ report: DecisionReport) -> String {
        var suites: [String] = []
        var totals = (tests: 0, failures: 0, errors: 0)
        for decision in report.decisions {
            let suiteName = "swiftdeploy.\(decision.domain)"
            var cases: [String] = []
            var failures = 0, errors = 0
            let seconds = String(format: "%.3f", (decision.timingsMs.values.reduce(0, +)) / 1000)
            func testcase(_ name: String, body: String = "") -> String {
                let open = "    <testcase classname=\"\(xml(suiteName))\" name=\"\(xml(name))\""
                return body.isEmpty ? open + "/>" : open + ">\n" + body + "\n    </testcase>"
            }
            switch decision.verdict {
            case .inconclusive:
                for reason in decision.reasons {
                    errors += 1
                    cases.append(
                        testcase(
                            "inconclusive: \(reason)",
                            body: "      <error type=\"inconclusive\" message=\"\(xml(reason))\">\(xml(reason))</error>"
                        ))
                }
            case .deny, .warn, .allow:
                let denies = decision.verdict == .deny ? decision.reasons : []
                let warns = decision.verdict == .warn ? decision.reasons : decision.warnings
                for message in denies {
                    failures += 1
                    cases.append(
                        testcase(
                            "deny: \(message)",
                            body: "      <failure type=\"deny\" message=\"\(xml(message))\">\(xml(message))</failure>"))
                }
                for message in warns {
                    if report.failOnWarn {
                        failures += 1
                        cases.append(
                            testcase(
                                "warn: \(message)",
                                body:
                                    "      <failure type=\"warn\" message=\"\(xml(message))\">\(xml(message))</failure>"
                            ))
                    } else {
                        cases.append(
                            testcase("warn: \(message)", body: "      <system-out>\(xml(message))</system-out>"))
                    }
                }
                if denies.isEmpty && warns.isEmpty {
                    let notes =
                        decision.reasons.isEmpty
                        ? "" : "      <system-out>\(xml(decision.reasons.joined(separator: "\n")))</system-out>"
                    cases.append(testcase("all rules passed", body: notes))
                }
            }
            totals.tests += cases.count
            totals.failures += failures
            totals.errors += errors
            suites.append(
                """
                  <testsuite name="\(xml(suiteName))" tests="\(cases.count)" failures="\(failures)" \
                errors="\(errors)" skipped="0" time="\(seconds)">
                    <properties>
                      <property name="verdict" value="\(decision.verdict.rawValue)"/>
                      <property name="engine" value="\(xml(decision.engine))"/>
                    </properties>
                \(cases.joined(separator: "\n"))
                  </testsuite>
                """)
        }
        let time = String(format: "%.3f", report.totalMs / 1000)
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites name="swiftdeploy gate" tests="\(totals.tests)" failures="\(totals.failures)" \
            errors="\(totals.errors)" time="\(time)">
            \(suites.joined(separator: "\n"))
            </testsuites>
            """
    }
}

/// Escapes text for an XML attribute or element; drops characters XML 1.0 cannot hold.
func xml(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        case "\n": out += "&#10;"
        case "\t", "\r": out.unicodeScalars.append(scalar)
        default:
            if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { continue }
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
