import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import SwiftDeployAPI

@Suite struct RouteTests {
    @Test func rootReportsMessageModeVersionAndTimestamp() async throws {
        let service = TestService(mode: .canary, version: "1.2.3")
        try await service.test { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let body = try response.json()
                #expect(Set(body.keys) == ["message", "mode", "version", "timestamp"])
                #expect(body["message"] as? String == "Hello from swiftdeploy-api")
                #expect(body["mode"] as? String == "canary")
                #expect(body["version"] as? String == "1.2.3")
                let timestamp = try #require(body["timestamp"] as? String)
                let parsed = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(timestamp)
                #expect(abs(parsed.timeIntervalSinceNow) < 60, "timestamp \(timestamp) is not now")
            }
        }
    }

    @Test func healthzReportsOkAndUptime() async throws {
        let service = TestService()
        try await Task.sleep(for: .milliseconds(50))
        try await service.test { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try response.json()
                #expect(Set(body.keys) == ["status", "uptime_seconds"])
                #expect(body["status"] as? String == "ok")
                let uptime = try #require(body["uptime_seconds"] as? Double)
                #expect(uptime >= 0.05 && uptime < 60)
            }
        }
    }

    @Test func unknownRouteIs404WithJSONErrorNamingTheRoute() async throws {
        let service = TestService()
        try await service.test { client in
            try await client.execute(uri: "/wp-admin/setup.php", method: .get) { response in
                #expect(response.status == .notFound)
                let body = try response.json()
                #expect(
                    body["error"] as? String
                        == """
                        no route for GET /wp-admin/setup.php; this service answers GET /, GET /healthz, GET \
                        /metrics, POST /chaos
                        """
                )
            }
            try await client.execute(uri: "/healthz", method: .post) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func requestIDIsEchoedOrGenerated() async throws {
        let service = TestService()
        try await service.test { client in
            try await client.execute(uri: "/", method: .get, headers: [HTTPField.Name("X-Request-ID")!: "abc-123"]) {
                response in
                #expect(response.headers[HTTPField.Name("X-Request-ID")!] == "abc-123")
            }
            try await client.execute(uri: "/", method: .get) { response in
                let generated = try #require(response.headers[HTTPField.Name("X-Request-ID")!])
                #expect(generated.count == 16 && generated.allSatisfy(\.isHexDigit))
            }
        }
    }

    @Test func canaryMarksEveryResponseIncludingErrors() async throws {
        let service = TestService(mode: .canary)
        try await service.test { client in
            for (uri, method, expected) in [
                ("/", HTTPRequest.Method.get, HTTPResponse.Status.ok),
                ("/healthz", .get, .ok),
                ("/metrics", .get, .ok),
                ("/missing", .get, .notFound),
                ("/chaos", .post, .badRequest),
            ] {
                try await client.execute(uri: uri, method: method, body: ByteBuffer(json: "nope")) { response in
                    #expect(response.status == expected, "\(method) \(uri)")
                    #expect(response.headers[HTTPField.Name("X-Mode")!] == "canary", "\(method) \(uri)")
                }
            }
        }
    }

    @Test func stableSendsNoModeHeader() async throws {
        let service = TestService(mode: .stable)
        try await service.test { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.headers[HTTPField.Name("X-Mode")!] == nil)
            }
        }
    }

    @Test func everyRequestWritesOneJSONAccessLogLine() async throws {
        let service = TestService()
        try await service.test { client in
            try await client.execute(uri: "/", method: .get, headers: [HTTPField.Name("X-Request-ID")!: "req-1"]) { _ in
            }
            try await client.execute(uri: "/nope", method: .get, headers: [HTTPField.Name("X-Request-ID")!: "req-2"]) {
                _ in
            }
        }
        let access = service.logs.records.filter { $0["message"] as? String == "request" }
        #expect(access.count == 2)
        let first = try #require(access.first)
        #expect(first["method"] as? String == "GET")
        #expect(first["path"] as? String == "/")
        #expect(first["status"] as? Int == 200)
        #expect(first["request_id"] as? String == "req-1")
        #expect(first["level"] as? String == "info")
        let duration = try #require(first["duration_ms"] as? Double)
        #expect(duration >= 0 && duration < 5000)
        #expect((first["time"] as? String)?.hasSuffix("Z") == true)
        #expect(access.last?["status"] as? Int == 404)
        #expect(access.last?["path"] as? String == "/nope")
        #expect(access.last?["request_id"] as? String == "req-2")
    }
}
