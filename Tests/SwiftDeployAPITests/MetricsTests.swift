import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import SwiftDeployAPI

@Suite struct MetricsTests {
    private func scrape(_ client: any TestClientProtocol) async throws -> Exposition {
        try await client.execute(uri: "/metrics", method: .get) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            return try Exposition(response.text)
        }
    }

    @Test func countsRequestsByMethodPathAndStatus() async throws {
        let service = TestService(mode: .canary)
        try await service.test { client in
            for _ in 0..<3 { try await client.execute(uri: "/", method: .get) { _ in } }
            for _ in 0..<2 { try await client.execute(uri: "/healthz", method: .get) { _ in } }
            try await client.execute(uri: "/chaos", method: .post, body: ByteBuffer(json: "{}")) { _ in }
            try await client.execute(uri: "/does/not/exist", method: .get) { _ in }
            try await client.execute(uri: "/also-missing?x=1", method: .delete) { _ in }

            let metrics = try await scrape(client)
            #expect(metrics.types["http_requests_total"] == "counter")
            #expect(metrics.value("http_requests_total", ["method": "GET", "path": "/", "status_code": "200"]) == 3)
            #expect(
                metrics.value("http_requests_total", ["method": "GET", "path": "/healthz", "status_code": "200"]) == 2)
            #expect(
                metrics.value("http_requests_total", ["method": "POST", "path": "/chaos", "status_code": "400"]) == 1)
            #expect(
                metrics.value("http_requests_total", ["method": "GET", "path": "other", "status_code": "404"]) == 1)
            #expect(
                metrics.value("http_requests_total", ["method": "DELETE", "path": "other", "status_code": "404"]) == 1)
            // The scrape itself is recorded after its own response is built, so it is not in this scrape.
            #expect(metrics.series(named: "http_requests_total").count == 5)
            #expect(metrics.series(named: "http_requests_total").values.reduce(0, +) == 8)
        }
    }

    @Test func unknownPathsCollapseIntoOneLabel() async throws {
        let service = TestService()
        try await service.test { client in
            for index in 0..<50 {
                try await client.execute(uri: "/scan/\(index)/\(UUID().uuidString)", method: .get) { _ in }
            }
            let metrics = try await scrape(client)
            let paths = Set(metrics.series(named: "http_requests_total").keys.map { $0.labels["path"] ?? "" })
            #expect(paths == ["other"])
            #expect(metrics.value("http_request_duration_seconds_count", ["method": "GET", "path": "other"]) == 50)
        }
    }

    @Test func slowRequestsLandInTheRightBuckets() async throws {
        let service = TestService(mode: .canary)
        service.services.chaos.apply(.slow(seconds: 0.42))
        try await service.test { client in
            for _ in 0..<2 { try await client.execute(uri: "/", method: .get) { _ in } }
            service.services.chaos.apply(.recover)
            for _ in 0..<3 { try await client.execute(uri: "/", method: .get) { _ in } }

            let metrics = try await scrape(client)
            #expect(metrics.types["http_request_duration_seconds"] == "histogram")
            func bucket(_ le: String) -> Double? {
                metrics.value("http_request_duration_seconds_bucket", ["method": "GET", "path": "/", "le": le])
            }
            // 3 fast requests (well under 250 ms here), 2 that slept 420 ms (under 450 ms with slack).
            #expect(bucket("0.25") == 3)
            #expect(bucket("0.4") == 3)
            #expect(bucket("0.45") == 5 || bucket("0.5") == 5)
            #expect(bucket("1.0") == 5)
            #expect(bucket("+Inf") == 5)
            #expect(metrics.value("http_request_duration_seconds_count", ["method": "GET", "path": "/"]) == 5)
            let sum = try #require(metrics.value("http_request_duration_seconds_sum", ["method": "GET", "path": "/"]))
            #expect(sum >= 0.84 && sum < 1.5, "sum \(sum) should be about 2 × 0.42 s")
        }
    }

    @Test func histogramBucketsExactlyAsDeclared() throws {
        let metrics = ServiceMetrics(mode: .stable)
        for seconds in [0.001, 0.004, 0.005, 0.0051, 0.49, 0.5, 0.501, 0.56, 4.9, 7.0] {
            metrics.recordRequest(method: "GET", path: "/", status: 200, seconds: seconds)
        }
        let exposition = try Exposition(String(decoding: metrics.exposition(), as: UTF8.self))
        func bucket(_ le: String) -> Double? {
            exposition.value("http_request_duration_seconds_bucket", ["method": "GET", "path": "/", "le": le])
        }
        #expect(bucket("0.005") == 3)  // 1 ms, 4 ms and exactly 5 ms (upper bounds are inclusive)
        #expect(bucket("0.01") == 4)
        #expect(bucket("0.45") == 4)
        #expect(bucket("0.5") == 6)
        #expect(bucket("0.55") == 7)
        #expect(bucket("0.6") == 8)
        #expect(bucket("5.0") == 9)
        #expect(bucket("+Inf") == 10)
        let declared = exposition.series(named: "http_request_duration_seconds_bucket").keys.compactMap {
            $0.labels["le"]
        }
        #expect(declared.count == ServiceMetrics.durationBuckets.count + 1)
    }

    @Test func bucketsAreFineAroundHalfASecond() {
        let buckets = ServiceMetrics.durationBuckets
        #expect(buckets.first == 0.005)
        #expect(buckets.last == 5)
        #expect(buckets == buckets.sorted())
        // Between 250 ms and 1 s no gap is wider than 100 ms; around 500 ms, 50 ms.
        for (low, high) in zip(buckets, buckets.dropFirst()) where low >= 0.25 && high <= 1 {
            #expect(high - low <= 0.1 + 1e-9, "gap \(low)…\(high)")
        }
        #expect(buckets.contains(0.45) && buckets.contains(0.5) && buckets.contains(0.55))
    }

    @Test func gaugesReportModeChaosAndUptime() async throws {
        let service = TestService(mode: .canary)
        try await service.test { client in
            var metrics = try await scrape(client)
            #expect(metrics.value("app_mode") == 1)
            #expect(metrics.value("chaos_active") == 0)
            let firstUptime = try #require(metrics.value("app_uptime_seconds"))
            #expect(firstUptime >= 0)

            try await client.execute(
                uri: "/chaos", method: .post, body: ByteBuffer(json: #"{"mode":"slow","duration":0}"#)
            ) { _ in }
            metrics = try await scrape(client)
            #expect(metrics.value("chaos_active") == 1)

            try await client.execute(
                uri: "/chaos", method: .post, body: ByteBuffer(json: #"{"mode":"error","rate":0}"#)
            ) { _ in }
            try await Task.sleep(for: .milliseconds(20))
            metrics = try await scrape(client)
            #expect(metrics.value("chaos_active") == 2)
            let laterUptime = try #require(metrics.value("app_uptime_seconds"))
            #expect(laterUptime > firstUptime)

            try await client.execute(uri: "/chaos", method: .post, body: ByteBuffer(json: #"{"mode":"recover"}"#)) {
                _ in
            }
            metrics = try await scrape(client)
            #expect(metrics.value("chaos_active") == 0)
        }
        let stable = TestService(mode: .stable)
        try await stable.test { client in
            let metrics = try await scrape(client)
            #expect(metrics.value("app_mode") == 0)
        }
    }

    @Test(arguments: [
        ("/", "/"), ("/healthz", "/healthz"), ("/metrics", "/metrics"), ("/chaos", "/chaos"),
        ("/healthz/", "other"), ("/index.html", "other"), ("", "other"),
    ])
    func pathLabels(path: String, label: String) {
        #expect(ServiceMetrics.pathLabel(path) == label)
    }

    @Test func methodLabelsAreBounded() {
        #expect(ServiceMetrics.methodLabel("GET") == "GET")
        #expect(ServiceMetrics.methodLabel("PROPFIND") == "other")
    }
}
