import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// A defect of the evidence, as exposition text for two scrapes, with the reason the decision must give.
struct ScrapeDefect: Sendable, CustomTestStringConvertible {
    var name: String
    var first: String
    var second: String
    var reason: String
    var testDescription: String { name }

    static func exposition(
        requests: String = "100", errors: String = "5", buckets: [(String, String)]? = nil,
        uptime: String? = nil, extra: String = ""
    ) -> String {
        var text = "# TYPE http_requests_total counter\n"
        text += "http_requests_total{method=\"GET\",path=\"/\",status_code=\"200\"} \(requests)\n"
        text += "http_requests_total{method=\"GET\",path=\"/\",status_code=\"500\"} \(errors)\n"
        text += "# TYPE http_request_duration_seconds histogram\n"
        let bounds = buckets ?? [("0.01", "0"), ("0.025", requests), ("+Inf", requests)]
        for (le, count) in bounds {
            text += "http_request_duration_seconds_bucket{method=\"GET\",path=\"/\",le=\"\(le)\"} \(count)\n"
        }
        text += "http_request_duration_seconds_count{method=\"GET\",path=\"/\"} \(bounds.last?.1 ?? "0")\n"
        if let uptime { text += "# TYPE app_uptime_seconds gauge\napp_uptime_seconds \(uptime)\n" }
        return text + extra
    }

    static let all: [ScrapeDefect] = [
        .init(
            name: "a NaN request counter", first: exposition(requests: "100"), second: exposition(requests: "NaN"),
            reason: "is NaN in the second scrape"),
        .init(
            name: "a NaN 5xx counter", first: exposition(), second: exposition(requests: "200", errors: "NaN"),
            reason: "status_code=\"500\"} is NaN"),
        .init(
            name: "a +Inf counter", first: exposition(), second: exposition(requests: "+Inf"),
            reason: "is +Inf in the second scrape"),
        .init(
            name: "a negative counter", first: exposition(requests: "-50", errors: "0"),
            second: exposition(requests: "-10", errors: "0"),
            reason: "a counter cannot be negative"),
        .init(
            name: "a bucket le=\"NaN\"",
            first: exposition(requests: "100", buckets: [("NaN", "0"), ("0.025", "100"), ("+Inf", "100")]),
            second: exposition(requests: "200", buckets: [("NaN", "0"), ("0.025", "200"), ("+Inf", "200")]),
            reason: "le=\"NaN\", not a bucket bound"),
        .init(
            name: "a histogram with only +Inf", first: exposition(requests: "100", buckets: [("+Inf", "100")]),
            second: exposition(requests: "200", buckets: [("+Inf", "200")]), reason: "has no finite bucket"),
        .init(
            name: "a counter that goes down without a restart", first: exposition(requests: "300", uptime: "100"),
            second: exposition(requests: "250", uptime: "130"),
            reason: "went down from 300 to 250 between the scrapes without a restart"),
        .init(
            name: "a counter that goes down with no restart signature at all", first: exposition(requests: "300"),
            second: exposition(requests: "250"), reason: "without a restart"),
    ]
}

/// Evidence is sane or the answer is inconclusive, from both sources through one sanity check.
@Suite("Hostile input: evidence defects")
struct HostileEvidenceTests {
    static func decide(_ project: GateProject, source: MetricsSource) async throws -> PolicyDecision {
        let gate = PolicyEvaluator(
            hostFacts: { _ in HostileThresholdTests.roomy }, metricsSourceFactory: { _ in source })
        return await gate.evaluate(
            domain: "canary", request: GateRequest(manifest: try project.manifest(), action: "gate"))
    }

    /// The scrape source over real HTTP on loopback.
    @Test(arguments: ScrapeDefect.all)
    func scrapeSource(_ defect: ScrapeDefect) async throws {
        let server = try LoopbackHTTPServer { request in .text(request.sequence == 1 ? defect.first : defect.second) }
        defer { server.stop() }
        let project = try GateProject(metrics: "  window: 200ms\n  min_requests: 1")
        defer { project.remove() }
        let decision = try await Self.decide(project, source: ScrapeMetricsSource(url: server.url()))
        #expect(decision.verdict == .inconclusive, "\(decision.reasons)")
        #expect(decision.reasons.contains { $0.contains(defect.reason) }, "\(decision.reasons)")
        #expect(decision.input["metrics"]?["sufficient"] == false)
    }

    @Test func aRestartWithItsSignatureIsANoteNotADefect() async throws {
        let first = ScrapeDefect.exposition(requests: "300", errors: "0", uptime: "500")
        let second = ScrapeDefect.exposition(requests: "40", errors: "0", uptime: "0.1")
        let server = try LoopbackHTTPServer { request in .text(request.sequence == 1 ? first : second) }
        defer { server.stop() }
        let project = try GateProject(metrics: "  window: 200ms\n  min_requests: 1")
        defer { project.remove() }
        let decision = try await Self.decide(project, source: ScrapeMetricsSource(url: server.url()))
        #expect(decision.verdict == .allow, "\(decision.reasons)")
        #expect(decision.reasons.contains { $0.contains("counter reset between the scrapes") })
    }

    /// Prometheus' API shapes from a loopback server: each figure a query answers.
    static func prometheus(_ answers: [String: String]) throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { request in
            let query = URLComponents(string: request.path)?.queryItems?.first { $0.name == "query" }?.value ?? ""
            let key: String
            if query.hasPrefix("histogram_quantile(0.99") {
                key = "p99_ms"
            } else if query.hasPrefix("histogram_quantile(0.95") {
                key = "p95_ms"
            } else if query.hasPrefix("histogram_quantile(0.5") {
                key = "p50_ms"
            } else if query.contains("status_code=~") {
                key = "errors"
            } else if query.contains("_count") {
                key = "observations"
            } else if query.hasPrefix("max(chaos_active") {
                key = "chaos_active"
            } else {
                key = "requests"
            }
            let defaults = [
                "requests": "200", "errors": "2", "observations": "200", "p50_ms": "0.01", "p95_ms": "0.02",
                "p99_ms": "0.03", "chaos_active": "0",
            ]
            guard let value = answers[key] ?? defaults[key] else {
                return .json(#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
            }
            return .json(
                #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.123,"\#(value)"]}]}}"#
            )
        }
    }

    @Test(arguments: [
        (["requests": "NaN"], "metrics requests is NaN"),
        (["errors": "NaN"], "metrics errors is NaN"),
        (["requests": "-12"], "metrics requests is -12"),
        (["errors": "+Inf"], "metrics errors is +Inf"),
        (["p99_ms": "NaN"], "metrics p99_ms is null although the latency histogram has 200 observations"),
        (["p95_ms": "-0.5"], "metrics p95_ms is -500"),
        (["observations": "NaN"], "metrics observations is NaN"),
        (["requests": "0.4", "errors": "0", "observations": "0.4"], "fewer than metrics.min_requests (1)"),
    ])
    func prometheusSourceAPIShapes(_ answers: [String: String], _ reason: String) async throws {
        let server = try Self.prometheus(answers)
        defer { server.stop() }
        let project = try GateProject(metrics: "  window: 200ms\n  min_requests: 1")
        defer { project.remove() }
        let decision = try await Self.decide(project, source: PrometheusMetricsSource(baseURL: server.url("")))
        #expect(decision.verdict == .inconclusive, "\(decision.reasons)")
        #expect(decision.reasons.contains { $0.contains(reason) }, "\(decision.reasons)")
    }

    /// The shared check's own floor: fewer than 1 request is never judged, even with `min_requests` 0 (which the
    /// manifest refuses; settings built in code can still hold it).
    @Test func fewerThanOneRequestWhateverMinRequestsSays() {
        let settings = MetricsWindowSettings(window: ManifestDuration(milliseconds: 1000), minRequests: 0)
        let figures = EvidenceSanity.checked(
            WindowFigures(requests: 0, windowSeconds: 1, source: "x"), settings: settings)
        #expect(
            figures.insufficient.contains { $0.contains("fewer than 1 request, whatever metrics.min_requests says") })
    }

    @Test func aConfiguredPrometheusNeverFallsBackToScraping() async throws {
        let project = try GateProject(
            metrics:
                """
                  window: 200ms\n  min_requests: 1\n  source: prometheus\n  prometheus_url: \
                http://127.0.0.1:\(LoopbackHTTPServer.unusedPort())
                """
        )
        defer { project.remove() }
        let manifest = try project.manifest()
        let source = PolicyEvaluator.defaultMetricsSource(GateRequest(manifest: manifest, action: "gate"))
        #expect(source is PrometheusMetricsSource)
        let gate = PolicyEvaluator(hostFacts: { _ in HostileThresholdTests.roomy })
        let decision = await gate.evaluate(domain: "canary", request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decision.verdict == .inconclusive)
        #expect(decision.reasons.contains { $0.contains("refused") || $0.contains("connect") }, "\(decision.reasons)")
        #expect(!decision.reasons.contains { $0.contains("scrape") }, "\(decision.reasons)")

        var broken = manifest
        broken.metrics.prometheusURL = nil
        let unusable = PolicyEvaluator.defaultMetricsSource(GateRequest(manifest: broken, action: "gate"))
        #expect(unusable is UnusableMetricsSource)
        await #expect(throws: MetricsError.self) { try await unusable.window(settings: MetricsWindowSettings()) }
    }

    @Test func minRequestsBelowOneIsAnInvalidManifest() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let text =
            """
            services:\n  image: a:1\n  port: 3000\nnginx:\n  image: nginx:1\n  port: 8080\nnetwork:\n  name: n\n  \
            driver_type: bridge\nmetrics:\n  min_requests: 0\n
            """
        let error = #expect(throws: ManifestError.self) {
            try ManifestLoader().parse(text, file: "manifest.yaml", directory: dir.url)
        }
        #expect(error?.exitStatus == .invalidInput)
        #expect(error?.errorDescription?.contains("manifest.yaml:11:") == true, "\(error?.errorDescription ?? "")")
        #expect(
            error?.errorDescription?.contains("metrics.min_requests must be 1-") == true,
            "\(error?.errorDescription ?? "")")
    }

    // MARK: A real Prometheus where it can produce the case

    @Test(
        .requires(.prometheus),
        arguments: [
            ("a NaN 5xx counter", "errors"),
            ("a histogram with only +Inf", "p99_ms"),
        ])
    func realPrometheus(_ name: String, _ figure: String) async throws {
        let binary = try TestRequirement.prometheus.value()
        let counter = ScrapeCounter()
        let target = try LoopbackHTTPServer { _ in
            let n = counter.next() * 100
            if figure == "errors" {
                return .text(ScrapeDefect.exposition(requests: "\(n)", errors: "NaN"))
            }
            return .text(ScrapeDefect.exposition(requests: "\(n)", errors: "0", buckets: [("+Inf", "\(n)")]))
        }
        defer { target.stop() }
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-prom")
        defer { dir.remove() }
        let job = "swiftdeploy_hostile_\(UUID().uuidString.prefix(8).lowercased())"
        let config =
            """
            global:\n  scrape_interval: 300ms\nscrape_configs:\n  - job_name: \(job)\n    static_configs:\n      \
            - targets: ['127.0.0.1:\(target.port)']\n
            """
        let configURL = try dir.write(config, to: "prometheus.yml")
        let process = try await PrometheusServer(
            binary: binary, config: configURL, dataDirectory: dir.url.appendingPathComponent("data"),
            log: dir.url.appendingPathComponent("prometheus.log"))
        defer { process.stop() }

        let source = PrometheusMetricsSource(
            baseURL: URL(string: process.url)!, limits: HTTPLimits(connectTimeout: 1, totalTimeout: 3))
        let project = try GateProject(metrics: "  window: 3s\n  min_requests: 1")
        defer { project.remove() }
        var decision: PolicyDecision? = nil
        let deadline = MonotonicClock.now() + 40
        while MonotonicClock.now() < deadline {
            try await Task.sleep(nanoseconds: 500_000_000)
            guard process.isRunning else { break }
            // Wait for a window Prometheus has filled: requests counted (so the defect is the only problem).
            guard
                let requests = try? await source.instant("sum(increase(http_requests_total{status_code=\"200\"}[3s]))"),
                requests >= 300
            else { continue }
            decision = try await Self.decide(project, source: source)
            break
        }
        let found = try #require(decision, "Prometheus never filled a window of job \(job)")
        #expect(found.verdict == .inconclusive, "\(found.reasons)")
        let expected =
            figure == "errors"
            ? "metrics errors is NaN" : "metrics p50_ms, p95_ms, p99_ms are null although the latency histogram has"
        #expect(found.reasons.contains { $0.contains(expected) }, "\(name): \(found.reasons)")
    }
}

final class ScrapeCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}
