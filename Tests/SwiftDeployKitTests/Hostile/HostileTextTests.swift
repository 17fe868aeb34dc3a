import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// Free-text secrets never reach the history or the reports; Markdown/HTML in messages never becomes a link, an
/// image or markup in them.
@Suite("Hostile input: secrets and markup in free text")
struct HostileTextTests {
    static let env = ["USER": "tester", "HOSTNAME": "box"]

    @Test(arguments: [
        ("password=hunter2horse", "hunter2horse"),
        ("db_password: 's3cr3t value'", "s3cr3t value"),
        ("the API_KEY=abcd1234efgh was rotated", "abcd1234efgh"),
        ("token is tk_live_998877", "tk_live_998877"),
        ("Authorization: xyzzy-plugh-42", "xyzzy-plugh-42"),
    ])
    func anOverrideReasonKeepsNoSecret(_ reason: String, _ secret: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        try await HistoryLog(url: url, environment: Self.env).append(
            HistoryEntry(event: .override, message: "override: \(reason)", override: HistoryOverride(reason: reason)))
        let line = try String(contentsOf: url, encoding: .utf8)
        #expect(!line.contains(secret), "\(line)")
        #expect(line.contains(HistoryRedactor.placeholder))
        let report = dir.url.appendingPathComponent("audit_report.md")
        _ = try await AuditReport.write(history: url, to: report, format: .markdown, options: AuditOptions(now: Date()))
        #expect(try !String(contentsOf: report, encoding: .utf8).contains(secret))
    }

    @Test func theManifestsOwnSecretEnvValuesAreScrubbedEverywhere() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = try dir.write(
            """
            services:
              image: a:1
              port: 3000
              env:
                DB_PASSWORD: correct-horse-battery
                STRIPE_API_KEY: sk9988776655
                GREETING: hello-world
            nginx:
              image: nginx:1
              port: 8080
            network:
              name: n
              driver_type: bridge
            """, to: "manifest.yaml")
        let manifest = try ManifestLoader().load(from: url)
        #expect(manifest.secretValues == ["correct-horse-battery", "sk9988776655"])
        try await HistoryLog(manifest: manifest, environment: Self.env).append(
            HistoryEntry(
                event: .deploy,
                message: "app said: connecting with correct-horse-battery failed; key sk9988776655; hello-world",
                details: ["log": "correct-horse-battery"]))
        let line = try String(contentsOf: manifest.historyURL, encoding: .utf8)
        #expect(!line.contains("correct-horse-battery"))
        #expect(!line.contains("sk9988776655"))
        #expect(line.contains("hello-world"), "a value of a harmless key stays")
    }

    @Test(arguments: [
        "[click me](http://evil.example/phish)",
        "![pixel](http://evil.example/track.png)",
        "<img src=x onerror=alert(1)>",
        "see http://evil.example/x or www.evil.example",
        "[ref][1]\n\n[1]: http://evil.example",
        "**bold** _em_ ~~gone~~ `code`",
    ])
    func markupInMessagesIsEscapedInTheReports(_ message: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        let log = HistoryLog(url: url, environment: Self.env)
        try await log.append(
            HistoryEntry(
                event: .gate,
                decision: HistoryDecision(domain: "canary", verdict: "deny", reasons: [message], engine: "embedded")))
        try await log.append(HistoryEntry(event: .override, override: HistoryOverride(reason: message)))
        let md = dir.url.appendingPathComponent("audit_report.md")
        _ = try await AuditReport.write(history: url, to: md, format: .markdown, options: AuditOptions(now: Date()))
        let text = try String(contentsOf: md, encoding: .utf8)
        #expect(text.range(of: #"(?<!\\)\]\("#, options: .regularExpression) == nil, "an unescaped ]( in \(text)")
        for forbidden in ["![", "<img", "http://evil", "www.evil", "**bold**", "_em_", "~~gone~~", "`code`", "[1]:"] {
            #expect(!text.contains(forbidden), "\(forbidden) in \(text)")
        }
        let html = dir.url.appendingPathComponent("audit_report.html")
        _ = try await AuditReport.write(history: url, to: html, format: .html, options: AuditOptions(now: Date()))
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(!page.contains("<img src=x"))
        #expect(!page.contains("href=\"http://evil"))
    }

    @Test func escapedMarkdownStillReadsTheSame() {
        #expect(MarkdownText.cell("[a](b)") == "\\[a\\](b)")
        #expect(MarkdownText.cell("http://x") == "http:&#47;&#47;x")
        #expect(MarkdownText.cell("policies/canary.rego:12") == "policies/canary.rego:12")
    }
}
