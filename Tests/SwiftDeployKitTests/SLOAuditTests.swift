import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `audit` adds lead time for changes to its delivery figures, and each objective's compliance over the period
/// (from Prometheus: a loopback stand-in answering in the Prometheus HTTP API's format; the real Prometheus with
/// the generated rules is `SLOGateTests.realPrometheusWithTheGeneratedRules`).
@Suite struct SLOAuditTests {
    static let fixture = RepositoryPaths.fixtures.appendingPathComponent("history/fixture.jsonl")
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    func report(_ format: AuditFormat, options: AuditOptions) async throws -> (AuditSummary, String) {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = dir.url.appendingPathComponent(format.defaultFileName)
        let summary = try await AuditReport.write(history: Self.fixture, to: output, format: format, options: options)
        return (summary, try String(contentsOf: output, encoding: .utf8))
    }

    /// The fixture's six successful changes (three deploys, three promotes) all record commit cccc…, committed at
    /// 2026-05-01T09:00:00Z: lead times 600, 1800, 82800, 84300, 186600 and 187200 seconds.
    @Test func leadTimeForChangesFromTheRecordedCommits() async throws {
        let committed = HistoryTime.parse("2026-05-01T09:00:00.000Z")!.timeIntervalSince1970
        let asked = Counter()
        let options = AuditOptions(
            now: Self.now,
            commitTime: { commit in
                asked.increment()
                return commit == String(repeating: "c", count: 40) ? committed : nil
            })
        let (summary, json) = try await report(.json, options: options)
        #expect(summary.delivery.leadTimeSamples == 6)
        #expect(summary.delivery.leadTimeUnknown == 0)
        #expect(summary.delivery.leadTimeSecondsMedian == 83_550)
        #expect(summary.delivery.leadTimeSecondsMax == 187_200)
        #expect(asked.value == 1, "each commit is resolved once")
        let lead = try JSONValue.parse(Data(json.utf8))["delivery"]?["lead_time_seconds"]
        #expect(lead?["median"]?.doubleValue == 83_550)
        #expect(lead?["samples"] == 6)
        let (_, markdown) = try await report(.markdown, options: options)
        #expect(
            markdown.contains(
                "| Lead time for changes | median 23h 12m, max 2d 4h over 6 change(s), commit to deploy |"),
            "\(markdown)")
    }

    /// Hostile: git does not know the commit. Lead time is unknown and says so, never a made-up zero.
    @Test func unknownCommitsLeaveLeadTimeUnknown() async throws {
        let (summary, markdown) = try await report(
            .markdown, options: AuditOptions(now: Self.now, commitTime: { _ in nil }))
        #expect(summary.delivery.leadTimeSecondsMedian == nil)
        #expect(summary.delivery.leadTimeUnknown == 6)
        #expect(
            markdown.contains(
                "| Lead time for changes | unknown: none of the 6 change(s) recorded a commit git knows |"),
            "\(markdown)")
    }

    /// Each objective's compliance over the period, from one error-ratio query over the whole period.
    @Test func complianceOverThePeriodFromPrometheus() async throws {
        let seen = Lines()
        let prometheus = try LoopbackHTTPServer { request in
            seen.add(
                URLComponents(string: "http://x" + request.path)?.queryItems?.first { $0.name == "query" }?.value ?? "")
            return .json(
                #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1780000000,"0.002"]}]}}"#
            )
        }
        defer { prometheus.stop() }
        let project = try SLOGateTests.Project(prometheusURL: prometheus.url("").absoluteString.trimmingSuffix("/"))
        defer { project.dir.remove() }
        let to = Self.now, from = to.addingTimeInterval(-7 * 86_400)
        let objectives = await SLOCollector().compliance(manifest: project.manifest, from: from, to: to)
        #expect(objectives.count == 1)
        let availability = try #require(objectives.first)
        #expect(availability.name == "availability")
        #expect(availability.compliance == 0.998)
        #expect(abs((availability.budgetUsed ?? 0) - 0.4) < 1e-9, "0.002 of a 0.005 budget")
        #expect(seen.all.first?.contains("[604800s]") == true, "the period is one range: \(seen.all)")

        let (_, markdown) = try await report(.markdown, options: AuditOptions(now: Self.now, objectives: objectives))
        #expect(markdown.contains("| availability | 99.5% | 99.800% | 40.0% |"), "\(markdown)")
        let (_, json) = try await report(.json, options: AuditOptions(now: Self.now, objectives: objectives))
        #expect(
            try JSONValue.parse(Data(json.utf8))["objectives"] == [
                [
                    "name": "availability", "target": "99.5", "compliance": 0.998,
                    "budget_used": .double(0.002 / 0.005), "reason": nil,
                ]
            ])
    }

    /// Hostile: Prometheus is down, or has no requests in the period. Compliance is unknown with the reason, never
    /// 100%.
    @Test func complianceIsUnknownWithoutPrometheusOrRequests() async throws {
        let port = LoopbackHTTPServer.unusedPort()
        let down = try SLOGateTests.Project(prometheusURL: "http://127.0.0.1:\(port)")
        defer { down.dir.remove() }
        let unreachable = await SLOCollector(limits: HTTPLimits(connectTimeout: 1, totalTimeout: 3))
            .compliance(manifest: down.manifest, from: Self.now.addingTimeInterval(-86_400), to: Self.now)
        #expect(unreachable.first?.compliance == nil)
        #expect(
            unreachable.first?.reason?.hasPrefix("Prometheus at http://127.0.0.1:\(port) is not reachable: ") == true,
            "\(String(describing: unreachable.first?.reason))")

        let empty = try LoopbackHTTPServer { _ in
            .json(#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
        }
        defer { empty.stop() }
        let quiet = try SLOGateTests.Project(prometheusURL: empty.url("").absoluteString.trimmingSuffix("/"))
        defer { quiet.dir.remove() }
        let none = await SLOCollector().compliance(
            manifest: quiet.manifest, from: Self.now.addingTimeInterval(-86_400), to: Self.now)
        #expect(none.first?.compliance == nil)
        #expect(none.first?.reason?.contains("has no requests") == true)
        let (_, markdown) = try await report(.markdown, options: AuditOptions(now: Self.now, objectives: none))
        #expect(markdown.contains("| availability | 99.5% | unknown: Prometheus at"), "\(markdown)")
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func add(_ line: String) { lock.withLock { stored.append(line) } }
        var all: [String] { lock.withLock { stored } }
    }
}
