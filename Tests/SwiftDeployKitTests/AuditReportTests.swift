import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The report over `Tests/Fixtures/history/fixture.jsonl` (written by
/// `make_fixture.py`, an independent implementation of the line format).
@Suite("Audit report")
struct AuditReportTests {
    static let fixture = RepositoryPaths.fixtures.appendingPathComponent("history/fixture.jsonl")
    static let fixtureHead = "6e21591bc9e708a81b27dcae81411e9d175c752b43cd1316389939ec39c01605"
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    func render(_ format: AuditFormat, history: URL = fixture, options: AuditOptions = AuditOptions(now: now))
        async throws -> (AuditSummary, String)
    {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = dir.url.appendingPathComponent(format.defaultFileName)
        let summary = try await AuditReport.write(history: history, to: output, format: format, options: options)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(leftovers == [format.defaultFileName], "no temporary file is left beside the report")
        return (summary, try String(contentsOf: output, encoding: .utf8))
    }

    @Test func summaryNumbersOnTheFixture() async throws {
        let (s, _) = try await render(.markdown)
        #expect(s.chain.isIntact)
        #expect(s.chain.head == Self.fixtureHead)
        #expect(s.records == 18)
        #expect(
            s.events == [
                "init": 1, "validate": 1, "deploy": 4, "gate": 4, "promote": 3, "rollback": 1, "override": 1,
                "status": 1, "lock": 1, "teardown": 1,
            ])
        #expect(s.verdicts == ["allow": 4, "deny": 1, "inconclusive": 1])
        #expect(s.currentMode == "stopped")
        #expect(s.violations == 2)
        #expect(s.overrides == 1)
        let d = s.delivery
        #expect(d.deployments == 3 && d.promotions == 3 && d.failedDeployments == 1)
        #expect(d.failedPromotions == 1)
        #expect(d.changeFailureRate == 1.0 / 3.0)
        #expect(d.incidents == 2)
        #expect(d.restoreSecondsMedian == 1050 && d.restoreSecondsMean == 1050 && d.restoreSecondsMax == 1200)
        #expect(d.openIncidentSince == nil)
        #expect(abs(d.periodDays - 53.0 / 24.0) < 1e-9)
        #expect(s.exitStatus == .success)
    }

    @Test func markdownHasEverySectionWithTheFixturesNumbers() async throws {
        let (_, md) = try await render(.markdown)
        for heading in [
            "# swiftdeploy audit report", "## Summary", "### Events", "### Decisions by verdict", "## Delivery",
            "## Timeline", "## Mode and chaos changes", "## Violations", "## Overrides",
        ] {
            #expect(md.contains("\n\(heading)\n") || md.hasPrefix("\(heading)\n"), "missing \(heading)")
        }
        #expect(md.contains("| Period | 2026-05-01T09:00:00.000Z to 2026-05-03T14:00:00.000Z (2.2 days) |"))
        #expect(md.contains("| Records in period | 18 |"))
        #expect(md.contains("| Current mode | stopped |"))
        #expect(md.contains("| Chain | intact: 18 records in 18 lines |"))
        #expect(md.contains("| Head hash | `\(Self.fixtureHead)` (record #18) |"))
        #expect(md.contains("| deploy | 4 |") && md.contains("| gate | 4 |") && md.contains("| promote | 3 |"))
        #expect(md.contains("| allow | 4 |") && md.contains("| deny | 1 |") && md.contains("| inconclusive | 1 |"))
        #expect(
            md.contains(
                """
                | Deployment frequency | 6 successful deploys/promotions (3 deploys, 3 promotions) in 2.2 days: \
                2.72 per day |
                """
            ))
        #expect(
            md.contains("| Change failure rate | 33.3% (1 of 3 promotions rolled back or followed by a failed gate) |"))
        #expect(
            md.contains("| Time to restore | median 17m 30s, mean 17m 30s, max 20m 0s over 2 restored incident(s) |"))

        let timeline = rows(of: md, section: "## Timeline")
        #expect(timeline.count == 12, "init, 4 deploys, 3 promotions, rollback, override, lock, teardown")
        #expect(
            timeline.first?.hasPrefix("| 1 | 2026-05-01T09:00:00.000Z | init | alice@build-host | ok | stable |")
                == true)
        let changes = rows(of: md, section: "## Mode and chaos changes")
        #expect(changes.count == 8)
        #expect(changes.contains { $0.contains("mode stable → canary; chaos none → latency") })
        #expect(changes.contains { $0.contains("chaos latency → none") })
        let violations = rows(of: md, section: "## Violations")
        #expect(violations.count == 2)
        #expect(
            violations[0].hasPrefix(
                "| 6 | 2026-05-01T10:00:00.000Z | gate | canary | deny | embedded | octobot (github-actions job 42) |"))
        #expect(violations[0].contains("error rate 7.5% is above the 5% limit<br>p99 \\| 900 ms is above 500 ms"))
        #expect(violations[1].hasPrefix("| 9 | 2026-05-02T08:10:00.000Z | gate | canary | inconclusive |"))
        let overrides = rows(of: md, section: "## Overrides")
        #expect(
            overrides == [
                """
                | 10 | 2026-05-02T08:20:00.000Z | carol@laptop | hotfix \\| approved by on-call | promoting \
                despite missing metrics |
                """
            ])
        #expect(md.contains("swiftdeploy audit --verify --expect-head \(Self.fixtureHead)"))
    }

    @Test func aCellHoldingAPipeDoesNotBreakTheTable() async throws {
        let (_, md) = try await render(.markdown)
        try expectWellFormedTables(md)
        // And with hostile text from a live log.
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        let log = HistoryLog(url: url, environment: localEnvironment)
        try await log.append(
            HistoryEntry(
                event: .deploy, outcome: "a|b", message: "x | y \\| z\n| new row? |<script>alert(1)</script>`code|`"))
        try await log.append(
            HistoryEntry(
                event: .gate,
                decision: HistoryDecision(domain: "d|1", verdict: "deny", reasons: ["|", "||"], engine: "e")))
        try await log.append(HistoryEntry(event: .override, override: HistoryOverride(reason: "why | not")))
        let (_, hostile) = try await render(.markdown, history: url)
        try expectWellFormedTables(hostile)
        #expect(!hostile.contains("<script>"))
        #expect(hostile.contains("x \\| y \\\\\\| z<br>\\| new row? \\|&lt;script&gt;"))
        let (_, html) = try await render(.html, history: url)
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test func sinceAndUntilBoundWhatIsCountedButTheWholeChainIsChecked() async throws {
        let since = try HistoryTime.parseBound("2026-05-02")
        let (later, md) = try await render(.markdown, options: AuditOptions(since: since, now: Self.now))
        #expect(later.records == 11)
        #expect(later.violations == 1)
        #expect(later.events["deploy"] == 3)
        #expect(later.chain.records == 18)
        #expect(md.contains("| Period | 2026-05-02T00:00:00.000Z to 2026-05-03T14:00:00.000Z (1.6 days) |"))

        let until = try HistoryTime.parseBound("2026-05-01T23:59:59Z")
        let (earlier, _) = try await render(.markdown, options: AuditOptions(until: until, now: Self.now))
        #expect(earlier.records == 7)
        #expect(earlier.currentMode == "stable")
        #expect(earlier.delivery.changeFailureRate == 1.0)
        #expect(earlier.delivery.deployments == 1 && earlier.delivery.promotions == 1)
    }

    /// The reports over `edge-cases.jsonl` (times in every form, absent and mistyped fields, upper-case verdicts and
    /// outcomes, non-ASCII and escaped text, overrides, rollouts, a broken link, a torn line), whole and bounded by
    /// since/until, in every format, are byte for byte what main's release binary wrote before the per-line work
    /// moved (the time parsed where the line is decoded, list items made only for the lines that go to a list, the
    /// SHA extensions): `edge-cases[.bounded].expected.*`, written by `record_edge_cases.sh` (generation time aside).
    @Test(arguments: AuditFormat.allCases, [false, true])
    func edgeCaseReportsAreThoseMainWrote(format: AuditFormat, bounded: Bool) async throws {
        let fixtures = RepositoryPaths.fixtures.appendingPathComponent("history")
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        var options = AuditOptions(now: now, commitTimes: { _ in [:] })
        if bounded {
            options.since = try HistoryTime.parseBound("2026-05-01T12:00:00Z")
            options.until = try HistoryTime.parseBound("2026-05-02T01:00:00Z")
        }
        let (summary, report) = try await render(
            format, history: fixtures.appendingPathComponent("edge-cases.jsonl"), options: options)
        #expect(summary.exitStatus == .failed, "the fixture's chain is broken on purpose")
        let name = "edge-cases.\(bounded ? "bounded." : "")expected.\(format.rawValue)"
        let expected = try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
        let generated = HistoryTime.format(now)
        let written = report.replacingOccurrences(of: "generated \(generated)", with: "generated GENERATED")
            .replacingOccurrences(of: "\"generated\": \"\(generated)\"", with: "\"generated\": \"GENERATED\"")
        if written != expected {
            let got = written.split(separator: "\n", omittingEmptySubsequences: false)
            let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
            Issue.record(
                """
                \(name) differs from line \(line + 1):
                - \(line < want.count ? String(want[line]) : "(end)")
                + \(line < got.count ? String(got[line]) : "(end)")
                """)
        }
    }

    @Test func jsonIsCompleteAndParses() async throws {
        let (_, text) = try await render(.json, options: AuditOptions(expectedHead: Self.fixtureHead, now: Self.now))
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(doc["schema"] as? String == "swiftdeploy.audit/v1")
        #expect(doc["records"] as? Int == 18)
        #expect(doc["current_mode"] as? String == "stopped")
        let chain = try #require(doc["chain"] as? [String: Any])
        #expect(chain["intact"] as? Bool == true)
        #expect(chain["head"] as? String == Self.fixtureHead)
        #expect(chain["head_matches"] as? Bool == true)
        let events = try #require(doc["events"] as? [String: Int])
        #expect(events["gate"] == 4)
        let delivery = try #require(doc["delivery"] as? [String: Any])
        #expect(delivery["failed_promotions"] as? Int == 1)
        #expect((delivery["restore_seconds"] as? [String: Any])?["median"] as? Double == 1050)
        #expect((doc["timeline"] as? [Any])?.count == 12)
        #expect((doc["changes"] as? [Any])?.count == 8)
        #expect((doc["violations"] as? [[String: Any]])?.map { $0["line"] as? Int } == [6, 9] as [Int?])
        #expect((doc["overrides"] as? [[String: Any]])?.first?["reason"] as? String == "hotfix | approved by on-call")
        let series = try #require(doc["series"] as? [String: Any])
        #expect(series["resolution"] as? String == "hour")
        let metrics = try #require(series["metrics"] as? [[String: Any]])
        #expect(metrics.count == 3)
        #expect(metrics.first?["p99_ms"] as? Double == 120)
        let perDay = try #require(series["decisions_per_day"] as? [[String: Any]])
        #expect(perDay.map { $0["day"] as? String } == ["2026-05-01", "2026-05-02"] as [String?])
    }

    @Test func htmlIsSelfContainedWithThreeCharts() async throws {
        let (_, html) = try await render(.html)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 3)
        #expect(html.contains("<polyline"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"))
        for heading in [
            "Summary", "Delivery", "Charts", "Timeline", "Mode and chaos changes", "Violations", "Overrides",
        ] {
            #expect(html.contains("<h2>\(heading)</h2>"))
        }
        #expect(html.contains("hotfix | approved by on-call"))
    }

    @Test func aBrokenChainAndATornLineShowInTheReport() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var lines = try historyLines(Self.fixture)
        lines[3] = lines[3].replacingOccurrences(of: "\"outcome\":\"ok\"", with: "\"outcome\":\"failed\"")
        let url = dir.url.appendingPathComponent("history.jsonl")
        try Data((lines.joined(separator: "\n") + "\n{\"half").utf8).write(to: url)
        let (s, md) = try await render(.markdown, history: url)
        #expect(s.exitStatus == .failed)
        #expect(s.chain.firstBreak?.line == 4)
        #expect(md.contains("| Chain | BROKEN at line 4: line 4 was altered"))
        #expect(md.contains("| Torn lines | 1: line 19 (last line, awaiting the next append) |"))
        #expect(s.records == 18, "the report still counts every record")
    }

    @Test func aMissingHistoryIsInvalidInputNamingThePath() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("none.jsonl")
        await #expect(throws: HistoryError.missing(path: url.path)) {
            _ = try await AuditReport.write(history: url, to: dir.url.appendingPathComponent("r.md"), format: .markdown)
        }
        #expect(HistoryError.missing(path: url.path).exitStatus == .invalidInput)
    }

    // MARK: helpers

    /// The data rows of the first table after `section`.
    func rows(of md: String, section: String) -> [String] {
        guard let range = md.range(of: "\n\(section)\n") else { return [] }
        let rest = md[range.upperBound...]
        let lines = rest.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var table: [String] = []
        var started = false
        for line in lines {
            if line.hasPrefix("## ") { break }
            if line.hasPrefix("|") {
                started = true
                table.append(line)
            } else if started {
                break
            }
        }
        return Array(table.dropFirst(2))
    }

    /// Every row of every table has as many cells as its header.
    func expectWellFormedTables(_ md: String) throws {
        var expected: Int?
        for line in md.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("|") else {
                expected = nil
                continue
            }
            let cells = unescapedPipes(String(line)) - 1
            if let expected {
                #expect(cells == expected, "row has \(cells) cells, header \(expected): \(line)")
            } else {
                expected = cells
            }
        }
    }

    func unescapedPipes(_ line: String) -> Int {
        var count = 0
        var escaped = false
        for ch in line {
            if escaped {
                escaped = false
                continue
            }
            if ch == "\\" { escaped = true } else if ch == "|" { count += 1 }
        }
        return count
    }
}
