import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

@Suite struct MetricsWindowTests {
    func snapshot(_ demo: DemoMetrics, at seconds: Double) throws -> MetricsSnapshot {
        try MetricsSnapshot.parse(
            Data(demo.exposition().utf8), source: "http://127.0.0.1:1/metrics", monotonicSeconds: seconds)
    }

    let settings = MetricsWindowSettings(window: ManifestDuration(milliseconds: 10_000), minRequests: 20)

    @Test func differencesCountersAndComputesRatesAndQuantiles() throws {
        var demo = DemoMetrics()
        demo.record(path: "/", status: 200, seconds: 0.02, count: 500)
        demo.record(path: "/healthz", status: 200, seconds: 0.001, count: 50)
        let first = try snapshot(demo, at: 100)
        demo.record(path: "/", status: 200, seconds: 0.02, count: 95)  // (0.01, 0.025]
        demo.record(path: "/", status: 500, seconds: 0.3, count: 5)  // (0.25, 0.5]
        demo.record(path: "/healthz", status: 200, seconds: 0.001, count: 40)
        demo.record(path: "/metrics", status: 200, seconds: 0.001, count: 3)
        let second = try snapshot(demo, at: 110)
        let figures = MetricsWindow(settings: settings).figures(from: first, to: second)
        #expect(figures.requests == 100)
        #expect(figures.errors == 5)
        #expect(figures.errorRate == 0.05)
        #expect(figures.requestRate == 10)
        #expect(figures.windowSeconds == 10)
        #expect(figures.observations == 100)
        // p50: rank 50 in (0.01, 0.025] holding 95 → 0.01 + 0.015 × 50/95
        #expect(abs(figures.p50Ms! - (0.01 + 0.015 * 50 / 95) * 1000) < 1e-9)
        // p99: rank 99 → (0.25, 0.5] holds 5, rank within 4 → 0.25 + 0.25 × 4/5 = 0.45
        #expect(abs(figures.p99Ms! - 450) < 1e-9)
        #expect(figures.insufficient.isEmpty)
        #expect(figures.counterResets.isEmpty)
        #expect(figures.json["error_rate"] == .double(0.05))
        #expect(figures.json["sufficient"] == .bool(true))
    }

    /// Reviewer's finding: on Swarm the window merges every replica's counters (labelled `replica`). A replica
    /// replaced inside the window took its errors with it: the second scrape no longer had its series, so the window
    /// counted only the healthy replicas and looked healthier than what happened. It is insufficient now.
    @Test func aReplicaReplacedInsideTheWindowMakesItInsufficientNeverHealthier() throws {
        func replica(ok: Int, errors: Int) -> DemoMetrics {
            var demo = DemoMetrics()
            demo.record(path: "/", status: 200, seconds: 0.02, count: ok)
            if errors > 0 { demo.record(path: "/", status: 500, seconds: 0.02, count: errors) }
            return demo
        }
        let source = "scrape every replica"
        // The first scrape: replica .5 failing (40 errors so far), .6 healthy.
        let first = SwarmReplicaMetricsSource.merge(
            [
                ("10.0.1.5", try snapshot(replica(ok: 100, errors: 40), at: 0)),
                ("10.0.1.6", try snapshot(replica(ok: 100, errors: 0), at: 0)),
            ], source: source)
        // Within the window .5 served 50 more errors, then Swarm replaced it by .7: the second scrape sees .6 and .7
        // only.
        let second = SwarmReplicaMetricsSource.merge(
            [
                ("10.0.1.6", try snapshot(replica(ok: 150, errors: 0), at: 10)),
                ("10.0.1.7", try snapshot(replica(ok: 30, errors: 0), at: 10)),
            ], source: source)
        let figures = MetricsWindow(settings: settings).figures(from: first, to: second)
        #expect(
            figures.insufficient.contains { $0.contains("replica 10.0.1.5 left within the window") },
            "\(figures.insufficient)")
        #expect(figures.json["sufficient"] == .bool(false))

        // The same replicas in both scrapes: judged as usual, every replica's errors counted.
        let stayed = SwarmReplicaMetricsSource.merge(
            [
                ("10.0.1.5", try snapshot(replica(ok: 110, errors: 90), at: 10)),
                ("10.0.1.6", try snapshot(replica(ok: 150, errors: 0), at: 10)),
            ], source: source)
        let judged = MetricsWindow(settings: settings).figures(from: first, to: stayed)
        #expect(judged.insufficient.isEmpty, "\(judged.insufficient)")
        #expect(judged.errors == 50 && judged.requests == 110)
    }

    @Test func counterResetCountsFromZeroLikeRate() throws {
        var before = DemoMetrics()
        before.record(path: "/", status: 200, seconds: 0.02, count: 300)
        before.record(path: "/", status: 500, seconds: 0.02, count: 10)
        let first = try snapshot(before, at: 0)
        // The service restarted: its counters start again from zero and reach 40 ok + 2 errors.
        var after = DemoMetrics()
        after.record(path: "/", status: 200, seconds: 0.02, count: 40)
        after.record(path: "/", status: 500, seconds: 0.02, count: 2)
        let second = try snapshot(after, at: 10)
        let figures = MetricsWindow(settings: settings).figures(from: first, to: second)
        #expect(figures.requests == 42)
        #expect(figures.errors == 2)
        #expect(figures.observations == 42)
        #expect(figures.counterResets.contains(#"http_requests_total{method="GET",path="/",status_code="200"}"#))
        #expect(figures.notes.count == 1)
        #expect(figures.notes[0].contains("counter reset between the scrapes"))
        #expect(figures.notes[0].contains("as Prometheus rate() does"))
        // All 42 in (0.01, 0.025]: p99 = 0.01 + 0.015 × 41.58/42
        #expect(abs(figures.p99Ms! - (0.01 + 0.015 * 41.58 / 42) * 1000) < 1e-9)
    }

    @Test func aSeriesBornInTheWindowCountsFromZero() throws {
        var demo = DemoMetrics()
        demo.record(path: "/", status: 200, count: 100)
        let first = try snapshot(demo, at: 0)
        demo.record(path: "/", status: 200, count: 30)
        demo.record(path: "/", status: 503, count: 3)  // first 503 ever: a new series
        let figures = MetricsWindow(settings: settings).figures(from: first, to: try snapshot(demo, at: 5))
        #expect(figures.requests == 33)
        #expect(figures.errors == 3)
        #expect(figures.counterResets.isEmpty)
    }

    @Test func idleWindowIsInsufficient() throws {
        var demo = DemoMetrics()
        demo.record(path: "/", status: 200, count: 100)
        demo.record(path: "/healthz", status: 200, count: 10)
        let first = try snapshot(demo, at: 0)
        demo.record(path: "/healthz", status: 200, count: 10)  // only excluded traffic
        let figures = MetricsWindow(settings: settings).figures(from: first, to: try snapshot(demo, at: 10))
        #expect(figures.requests == 0)
        #expect(figures.errorRate == nil)
        #expect(figures.p99Ms == nil)
        #expect(
            figures.insufficient == [
                """
                only 0 requests in the 10.0s window, fewer than metrics.min_requests (20): send traffic or \
                lengthen the window
                """
            ])
        #expect(figures.json["p99_ms"] == .null)
    }

    @Test func missingMetricsAreInsufficientNotZero() throws {
        let empty = try MetricsSnapshot.parse(Data("up 1\n".utf8), source: "http://x/metrics", monotonicSeconds: 0)
        let later = try MetricsSnapshot.parse(Data("up 1\n".utf8), source: "http://x/metrics", monotonicSeconds: 1)
        let figures = MetricsWindow(settings: settings).figures(from: empty, to: later)
        #expect(figures.insufficient.count == 2)
        #expect(figures.insufficient[0].contains("has no http_requests_total counter"))
        #expect(figures.insufficient[1].contains("has no http_request_duration_seconds histogram"))
    }

    @Test func requestsWithoutHistogramAreInsufficient() throws {
        let text1 = "http_requests_total{path=\"/\",status_code=\"200\"} 10\n"
        let text2 = "http_requests_total{path=\"/\",status_code=\"200\"} 100\n"
        let figures = MetricsWindow(settings: settings).figures(
            from: try MetricsSnapshot.parse(Data(text1.utf8), source: "s", monotonicSeconds: 0),
            to: try MetricsSnapshot.parse(Data(text2.utf8), source: "s", monotonicSeconds: 1))
        #expect(figures.requests == 90)
        #expect(figures.insufficient.count == 1)
        #expect(figures.insufficient[0].contains("no http_request_duration_seconds histogram"))
    }

    @Test func chaosGaugeIsPassedThrough() throws {
        var demo = DemoMetrics()
        let first = try snapshot(demo, at: 0)
        demo.chaosActive = 2
        demo.record(count: 30)
        let figures = MetricsWindow(settings: settings).figures(from: first, to: try snapshot(demo, at: 1))
        #expect(figures.chaosActive == 2)
        #expect(figures.json["chaos_active"] == .double(2))
    }
}
