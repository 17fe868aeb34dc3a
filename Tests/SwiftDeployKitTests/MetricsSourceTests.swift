import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// A demo service whose counters move by a fixed step on every scrape.
final class MovingMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var demo = DemoMetrics()
    let step: @Sendable (inout DemoMetrics) -> Void

    init(
        initial: @Sendable (inout DemoMetrics) -> Void = { _ in }, step: @escaping @Sendable (inout DemoMetrics) -> Void
    ) {
        initial(&demo)
        self.step = step
    }

    /// The exposition as of now, then advance by one step.
    func scrape() -> String {
        lock.lock()
        defer { lock.unlock() }
        let text = demo.exposition()
        step(&demo)
        return text
    }
}

@Suite struct MetricsSourceTests {
    let fast = HTTPLimits(connectTimeout: 1, totalTimeout: 1, maxBodyBytes: 1 << 20)

    @Test func scrapesTwiceAWindowApartOverRealHTTP() async throws {
        let moving = MovingMetrics(initial: { $0.record(count: 1000) }) { demo in
            demo.record(path: "/", status: 200, seconds: 0.02, count: 57)
            demo.record(path: "/", status: 500, seconds: 0.02, count: 3)
        }
        let server = try LoopbackHTTPServer { _ in .text(moving.scrape()) }
        defer { server.stop() }
        let source = ScrapeMetricsSource(url: server.url(), limits: fast)
        let figures = try await source.window(
            settings: MetricsWindowSettings(window: ManifestDuration(milliseconds: 200), minRequests: 20))
        #expect(figures.requests == 60)
        #expect(figures.errors == 3)
        #expect(figures.errorRate == 0.05)
        #expect(figures.windowSeconds >= 0.19)
        #expect(figures.source == "scrape \(server.url().absoluteString)")
        #expect(server.requests.count == 2)
        #expect(server.requests[0].headers["accept"]?.contains("text/plain") == true)
    }

    @Test func refusedIsNamed() async throws {
        let url = URL(string: "http://127.0.0.1:\(LoopbackHTTPServer.unusedPort())/metrics")!
        let error = try await #require(throws: MetricsError.self) {
            try await ScrapeMetricsSource(url: url, limits: fast).snapshot()
        }
        #expect(error == .unreachable(.refused(url: url.absoluteString)))
        #expect(error.errorDescription?.contains("connection refused by \(url.absoluteString)") == true)
        #expect(error.exitStatus == .inconclusive)
    }

    @Test func slowEndpointTimesOut() async throws {
        let server = try LoopbackHTTPServer { _ in
            LoopbackHTTPServer.Response(status: 200, body: Data("x 1\n".utf8), delay: 10)
        }
        defer { server.stop() }
        let limits = HTTPLimits(connectTimeout: 1, totalTimeout: 0.3, maxBodyBytes: 1 << 20)
        // The answer would come after 10 s; a timeout error proves the client gave up at its own limit.
        let error = try await #require(throws: MetricsError.self) {
            try await ScrapeMetricsSource(url: server.url(), limits: limits).snapshot()
        }
        #expect(error == .unreachable(.timedOut(url: server.url().absoluteString, seconds: 0.3)))
        #expect(error.errorDescription?.contains("did not answer within 300ms") == true)
    }

    @Test func totalTimeoutBoundsTheExchange() throws {
        let server = try LoopbackHTTPServer { _ in
            LoopbackHTTPServer.Response(status: 200, body: Data("x 1\n".utf8), delay: 10)
        }
        defer { server.stop() }
        // Measured on this thread, without the async pool, so a loaded machine does not blur the figure.
        let start = MonotonicClock.now()
        #expect(throws: HTTPClientError.timedOut(url: server.url().absoluteString, seconds: 0.5)) {
            try SocketHTTPClient().sendBlocking(
                method: "GET", url: server.url(), limits: HTTPLimits(connectTimeout: 1, totalTimeout: 0.5))
        }
        let took = MonotonicClock.now() - start
        #expect(took >= 0.45)
        #expect(took < 5)
    }

    @Test func connectTimeoutIsNamed() throws {
        let listener = try SaturatedListener()
        defer { listener.stop() }
        let url = URL(string: "http://127.0.0.1:\(listener.port)/metrics")!
        let start = MonotonicClock.now()
        #expect(throws: HTTPClientError.connectTimedOut(url: url.absoluteString, seconds: 0.3)) {
            try SocketHTTPClient().sendBlocking(
                method: "GET", url: url, limits: HTTPLimits(connectTimeout: 0.3, totalTimeout: 5))
        }
        let took = MonotonicClock.now() - start
        #expect(took >= 0.25)
        #expect(took < 4)  // the connect limit, not the 5 s total
        #expect(
            HTTPClientError.connectTimedOut(url: url.absoluteString, seconds: 0.3).summary
                == "connecting to \(url.absoluteString) timed out after 300ms")
    }

    @Test func httpStatusIsNamed() async throws {
        let server = try LoopbackHTTPServer { _ in .text("upstream unavailable", status: 503) }
        defer { server.stop() }
        let error = try await #require(throws: MetricsError.self) {
            try await ScrapeMetricsSource(url: server.url(), limits: fast).snapshot()
        }
        #expect(error == .httpStatus(url: server.url().absoluteString, status: 503, excerpt: "upstream unavailable"))
        #expect(error.errorDescription?.contains("answered HTTP 503") == true)
    }

    @Test func garbageIsUnparsableWithTheLine() async throws {
        let server = try LoopbackHTTPServer { _ in .text("ok 1\n<html>oops</html>\n") }
        defer { server.stop() }
        let error = try await #require(throws: MetricsError.self) {
            try await ScrapeMetricsSource(url: server.url(), limits: fast).snapshot()
        }
        guard case .unparsable(_, let parse) = error else {
            Issue.record("expected unparsable, got \(error)")
            return
        }
        #expect(parse.line == 2)
        #expect(error.errorDescription?.contains("metrics line 2:1") == true)
    }

    @Test func oversizedBodyIsRefused() async throws {
        let big = String(repeating: "padding_metric 1\n", count: 10_000)
        let server = try LoopbackHTTPServer { _ in .text(big) }
        defer { server.stop() }
        let limits = HTTPLimits(connectTimeout: 1, totalTimeout: 2, maxBodyBytes: 50_000)
        let error = try await #require(throws: MetricsError.self) {
            try await ScrapeMetricsSource(url: server.url(), limits: limits).snapshot()
        }
        #expect(error == .unreachable(.tooLarge(url: server.url().absoluteString, limit: 50_000)))
    }

    @Test func nonHTTPURLIsRejected() async throws {
        let error = try await #require(throws: MetricsError.self) {
            try await ScrapeMetricsSource(url: URL(string: "https://127.0.0.1/metrics")!, limits: fast).snapshot()
        }
        #expect(error == .unreachable(.invalidURL("https://127.0.0.1/metrics")))
    }

    @Test func decodesChunkedBodies() throws {
        // A raw chunked response, as Go's net/http (Prometheus) sends for large answers.
        let server = try LoopbackHTTPServer { _ in
            LoopbackHTTPServer.Response(
                status: 200, headers: ["Transfer-Encoding": "chunked"],
                body: Data("4\r\nx 1\n\r\n4\r\ny 2\n\r\n0\r\n\r\n".utf8))
        }
        defer { server.stop() }
        // The test server also sends Content-Length; the client must prefer Transfer-Encoding.
        let response = try SocketHTTPClient().sendBlocking(method: "GET", url: server.url(), limits: fast)
        #expect(String(decoding: response.body, as: UTF8.self) == "x 1\ny 2\n")
    }

    @Test func promQLQueriesExcludePathsAndUseTheWindow() {
        let queries = PrometheusMetricsSource.queries(
            settings: MetricsWindowSettings(
                window: ManifestDuration(milliseconds: 30_000),
                excludePaths: ["/healthz", "/metrics"]))
        #expect(queries["requests"] == #"sum(increase(http_requests_total{path!~"/healthz|/metrics"}[30s]))"#)
        #expect(
            queries["errors"]
                == #"sum(increase(http_requests_total{path!~"/healthz|/metrics",status_code=~"5.."}[30s]))"#)
        #expect(
            queries["p99_ms"]
                == #"histogram_quantile(0.99, sum by (le) (increase(http_request_duration_seconds_bucket{path!~"/healthz|/metrics"}[30s])))"#
        )
        let none = PrometheusMetricsSource.queries(
            settings: MetricsWindowSettings(window: ManifestDuration(milliseconds: 1500), excludePaths: []))
        #expect(none["requests"] == "sum(increase(http_requests_total[1500ms]))")
        #expect(none["errors"] == #"sum(increase(http_requests_total{status_code=~"5.."}[1500ms]))"#)
    }

    @Test func prometheusErrorsAreNamed() async throws {
        let server = try LoopbackHTTPServer { _ in
            .json(
                #"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": parse error"}"#,
                status: 400)
        }
        defer { server.stop() }
        let source = PrometheusMetricsSource(baseURL: server.url(""), limits: fast)
        let error = try await #require(throws: MetricsError.self) { try await source.instant("up") }
        #expect(error.errorDescription?.contains("bad_data: invalid parameter") == true)
        #expect(server.requests.first?.path.hasPrefix("/api/v1/query?query=up") == true)
    }
}

/// The Prometheus source against a real Prometheus server (Debian's `prometheus`) scraping a loopback endpoint.
@Suite struct MetricsPrometheusServerTests {
    @Test(.requires(.prometheus)) func realPrometheusAnswersTheSameFigures() async throws {
        let binary = try TestRequirement.prometheus.value()
        let moving = MovingMetrics { demo in
            demo.record(path: "/", status: 200, seconds: 0.02, count: 95)
            demo.record(path: "/", status: 500, seconds: 0.02, count: 5)
            demo.record(path: "/healthz", status: 200, seconds: 0.001, count: 50)
        }
        let target = try LoopbackHTTPServer { _ in .text(moving.scrape()) }
        defer { target.stop() }
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-prom")
        defer { dir.remove() }
        // A job name of our own: the answers must come from this Prometheus scraping this target, not from
        // another Prometheus that happens to hold the port.
        let job = "swiftdeploy_test_\(UUID().uuidString.prefix(8).lowercased())"
        let config = """
            global:
              scrape_interval: 500ms
            scrape_configs:
              - job_name: \(job)
                static_configs:
                  - targets: ['127.0.0.1:\(target.port)']
            """
        let configURL = try dir.write(config, to: "prometheus.yml")
        let process = try await PrometheusServer(
            binary: binary, config: configURL, dataDirectory: dir.url.appendingPathComponent("data"),
            log: dir.url.appendingPathComponent("prometheus.log"))
        defer { process.stop() }

        let source = PrometheusMetricsSource(
            baseURL: URL(string: process.url)!, limits: HTTPLimits(connectTimeout: 1, totalTimeout: 3))
        let settings = MetricsWindowSettings(window: ManifestDuration(milliseconds: 3_000), minRequests: 20)
        var figures: WindowFigures? = nil
        let deadline = MonotonicClock.now() + 40
        while MonotonicClock.now() < deadline {
            try await Task.sleep(nanoseconds: 500_000_000)
            guard process.isRunning else { break }
            guard let ours = try? await source.instant("count(up{job=\"\(job)\"} == 1)"), ours == 1 else { continue }
            if let attempt = try? await source.window(settings: settings), attempt.insufficient.isEmpty,
                attempt.requests >= 300
            {
                figures = attempt
                break
            }
        }
        guard let figures else {
            Issue.record(
                """
                Prometheus (running: \(process.isRunning)) never had a full window of job \(job): \
                \(try dir.read("prometheus.log").suffix(800))
                """
            )
            return
        }
        // Every scrape adds 95 ok + 5 errors on / (and /healthz, excluded): the ratio survives extrapolation.
        #expect(abs(figures.errorRate! - 0.05) < 0.002)
        // All latencies in (0.01, 0.025]: p99 = 0.01 + 0.015 × 0.99, p50 = 0.01 + 0.015 × 0.5.
        #expect(abs(figures.p99Ms! - 24.85) < 0.01)
        #expect(abs(figures.p50Ms! - 17.5) < 0.01)
        #expect(figures.source == "prometheus http://127.0.0.1:\(process.port)")
        #expect(figures.chaosActive == 0)
    }
}
