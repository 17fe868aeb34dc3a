import Foundation
import TestSupport
import Testing

@testable import SwiftDeployAPI

/// The probe speaks HTTP through the shared client (SocketHTTPClient); these run it against a real loopback server.
@Suite struct HealthProbeHTTPTests {
    func probe(_ server: LoopbackHTTPServer, timeout: Double = 2) -> HealthProbe.Outcome {
        HealthProbe(target: .init(host: "127.0.0.1", port: server.port, path: "/healthz"), timeout: timeout).run()
    }

    @Test func statusOkIsHealthy() throws {
        let server = try LoopbackHTTPServer { _ in .json(#"{"status": "ok", "mode": "stable"}"#) }
        defer { server.stop() }
        guard case .healthy(let detail) = probe(server) else {
            Issue.record("expected healthy")
            return
        }
        #expect(detail.hasPrefix("http://127.0.0.1:\(server.port)/healthz answered 200 "))
        #expect(server.requests.first?.headers["x-request-id"] == "healthcheck")
    }

    @Test func anErrorStatusIsUnhealthyWithTheBody() throws {
        let server = try LoopbackHTTPServer { _ in .json(#"{"status": "degraded"}"#, status: 503) }
        defer { server.stop() }
        #expect(
            probe(server)
                == .unhealthy("http://127.0.0.1:\(server.port)/healthz answered 503: {\"status\": \"degraded\"}"))
    }

    @Test func twoHundredWithoutStatusOkIsUnhealthy() throws {
        let server = try LoopbackHTTPServer { _ in .text("fine") }
        defer { server.stop() }
        #expect(
            probe(server)
                == .unhealthy("http://127.0.0.1:\(server.port)/healthz answered 200 without \"status\":\"ok\": fine"))
    }

    @Test func aLateAnswerIsUnhealthyWithinTheTimeout() throws {
        let server = try LoopbackHTTPServer { _ in .init(status: 200, body: Data(#"{"status":"ok"}"#.utf8), delay: 5) }
        defer { server.stop() }
        let started = Date()
        #expect(
            probe(server, timeout: 0.5)
                == .unhealthy("http://127.0.0.1:\(server.port)/healthz did not answer within 0.5s"))
        #expect(Date().timeIntervalSince(started) < 3)
    }
}
