import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The daily metric series folds hourly buckets into days. Floating-point addition is not associative, so the
/// fold must run in hour order: a dictionary's order changes from instance to instance and run to run, and the
/// report must be byte-identical for the same history.
@Suite("Audit series order")
struct AuditSeriesOrderTests {
    static let now = Date(timeIntervalSince1970: 1_780_000_000)
    /// 20 days of hourly readings (daily resolution: more than 14 days), values whose sum depends on the order.
    static let start = Date(timeIntervalSince1970: 1_777_593_600)  // 2026-05-01T00:00:00Z
    static let hours = 20 * 24
    static func errorRate(_ h: Int) -> Double { [0.1, 0.2, 0.3, 1e-17, 0.7, 3e-16, 0.05][h % 7] * Double(1 + h % 5) }
    static func p99(_ h: Int) -> Double { [100.1, 0.3, 1e15, 7.7, -1e15, 0.01][h % 6] + Double(h % 3) * 0.1 }

    func writeHistory(_ url: URL) async throws {
        let log = HistoryLog(url: url, environment: localEnvironment)
        for h in 0..<Self.hours {
            let input: JSONValue = [
                "metrics": ["error_rate": .double(Self.errorRate(h)), "p99_ms": .double(Self.p99(h))]
            ]
            try await log.append(
                HistoryEntry(
                    event: .gate,
                    decision: HistoryDecision(domain: "canary", verdict: "allow", engine: "embedded", input: input)),
                at: Self.start.addingTimeInterval(Double(h) * 3600 + 60))
        }
    }

    @Test func theSameHistoryRendersByteIdenticalJSONAndHTML() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let history = dir.url.appendingPathComponent("history.jsonl")
        try await writeHistory(history)
        for format in [AuditFormat.json, .html] {
            var reports: [Data] = []
            for run in 0..<6 {
                let output = dir.url.appendingPathComponent("\(run).\(format.defaultFileName)")
                _ = try await AuditReport.write(
                    history: history, to: output, format: format, options: AuditOptions(now: Self.now))
                reports.append(try Data(contentsOf: output))
            }
            #expect(Set(reports).count == 1, "\(format) reports of the same history differ between renders")
        }
    }

    /// Hour-order sums, computed here independently of the renderer.
    func expectedDays() -> [(time: Date, errorRate: Double, p99: Double)] {
        let firstHour = Int(Self.start.timeIntervalSince1970) / 3600
        var days: [(Int, [Int])] = []
        for h in 0..<Self.hours {
            let day = (firstHour + h) / 24
            if days.last?.0 == day { days[days.count - 1].1.append(h) } else { days.append((day, [h])) }
        }
        return days.map { day, hs in
            var e = 0.0, p = 0.0
            for h in hs { e += Self.errorRate(h) }
            for h in hs { p += Self.p99(h) }
            return (Date(timeIntervalSince1970: Double(day) * 86_400), e / Double(hs.count), p / Double(hs.count))
        }
    }

    @Test func dictionariesInDifferentOrdersGiveTheSameDailySeries() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let history = dir.url.appendingPathComponent("history.jsonl")
        try await writeHistory(history)
        let summary = try await AuditReport.write(
            history: history, to: dir.url.appendingPathComponent("r.json"), format: .json,
            options: AuditOptions(now: Self.now))
        let firstHour = Int64(Self.start.timeIntervalSince1970) / 3600
        let buckets = (0..<Self.hours).map { h -> (Int64, MetricBucket) in
            (
                firstHour + Int64(h),
                MetricBucket(errorRateSum: Self.errorRate(h), errorRateCount: 1, p99Sum: Self.p99(h), p99Count: 1)
            )
        }
        var orders: [[Int64: MetricBucket]] = []
        var ascending: [Int64: MetricBucket] = [:]
        for (k, b) in buckets { ascending[k] = b }
        orders.append(ascending)
        var descending: [Int64: MetricBucket] = [:]
        descending.reserveCapacity(4096)
        for (k, b) in buckets.reversed() { descending[k] = b }
        orders.append(descending)
        var rng = SplitMix64(state: 7)
        for capacity in [0, 1000, 2000, 8192] {
            var shuffled: [Int64: MetricBucket] = [:]
            shuffled.reserveCapacity(capacity)
            for (k, b) in buckets.shuffled(using: &rng) { shuffled[k] = b }
            orders.append(shuffled)
        }
        #expect(Set(orders.map { $0.keys.map { $0 } }).count > 1, "the test needs dictionaries in different orders")

        let expected = expectedDays()
        for (index, hourly) in orders.enumerated() {
            let scratch = dir.url.appendingPathComponent("s\(index)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            let accumulator = try AuditAccumulator(since: nil, until: nil, scratch: scratch)
            accumulator.hourly = hourly
            let out = try AuditOutput(url: dir.url.appendingPathComponent("o\(index)"))
            let series = AuditRenderer(
                summary: summary, accumulator: accumulator, options: AuditOptions(now: Self.now), out: out
            )
            .metricSeries()
            try out.close()
            #expect(series.resolution == "day")
            #expect(series.points.map(\.time) == expected.map(\.time))
            #expect(series.points.map { $0.errorRate?.bitPattern } == expected.map { $0.errorRate.bitPattern })
            #expect(series.points.map { $0.p99?.bitPattern } == expected.map { $0.p99.bitPattern })
        }
    }
}
