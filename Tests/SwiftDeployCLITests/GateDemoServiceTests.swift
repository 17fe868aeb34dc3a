import Foundation
import SwiftDeployKit
import TestSupport
import Testing

/// `swiftdeploy gate` against the real demo service (`swiftdeploy-api`) on loopback: its own swift-prometheus
/// exposition, real traffic, and its chaos endpoint turning on errors.
@Suite struct GateDemoServiceTests {
    /// Sends GET / to the service from a background thread until stopped (bounded to 20 s and 5,000 requests).
    final class Traffic: @unchecked Sendable {
        private let lock = NSLock()
        private var running = true
        init(url: URL) {
            let thread = Thread { [self] in
                let deadline = MonotonicClock.now() + 20
                var sent = 0
                while self.isRunning, MonotonicClock.now() < deadline, sent < 5_000 {
                    _ = try? SocketHTTPClient().sendBlocking(
                        method: "GET", url: url, limits: HTTPLimits(connectTimeout: 1, totalTimeout: 2))
                    sent += 1
                    usleep(5_000)
                }
            }
            thread.start()
        }
        var isRunning: Bool { lock.withLock { running } }
        func stop() { lock.withLock { running = false } }
    }

    @Test(.requires(.demoServiceBinary)) func gateFollowsTheDemoServiceIntoChaos() async throws {
        let binary = URL(fileURLWithPath: try TestRequirement.demoServiceBinary.value())
        let logs = try TemporaryDirectory(prefix: "gate-demo-service")
        defer { logs.remove() }
        let client = SocketHTTPClient()
        // The service must be told its port (APP_PORT 0 is refused): reserved and released right before it starts,
        // and once more on a fresh port if another process took it in between (the service exits naming it).
        let (service, port, ready) = try await LoopbackPort.withReleasedPort { port -> (TestServer, Int, Bool)? in
            var environment = ProcessInfo.processInfo.environment
            environment["APP_PORT"] = String(port)
            environment["MODE"] = "canary"
            let log = try logs.write("", to: "service-\(port).log")
            let service = try TestServer([binary.path], environment: environment, log: log)
            for _ in 0..<200 {
                if (try? await client.send(
                    method: "GET", url: URL(string: "http://127.0.0.1:\(port)/healthz")!,
                    limits: HTTPLimits(connectTimeout: 1, totalTimeout: 2)))?.status == 200
                {
                    return (service, port, true)
                }
                if !service.isRunning, LoopbackPort.isBindCollision((try? logs.read("service-\(port).log")) ?? "") {
                    return nil
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            return (service, port, false)
        }
        defer { service.stop() }
        let base = "http://127.0.0.1:\(port)"
        try #require(ready, "the demo service did not answer /healthz on port \(port)")

        let project = try GateProject(metrics: "  window: 1500ms\n  min_requests: 5")
        defer { project.remove() }
        let traffic = Traffic(url: URL(string: base + "/")!)
        defer { traffic.stop() }
        try await Task.sleep(for: .milliseconds(300))

        let healthy = try await runGate(
            ["canary", "--metrics-url", base + "/metrics", "--format", "json"], project: project)
        #expect(healthy.status == 0, "\(healthy.stdout)\n\(healthy.stderr)")
        let report = try JSONValue.parse(Data(healthy.stdout.utf8))
        guard case .array(let decisions)? = report["decisions"], let decision = decisions.first else {
            Issue.record("no decision: \(healthy.stdout)")
            return
        }
        #expect(decision["verdict"] == "allow")
        #expect((decision["input"]?["metrics"]?["requests"]?.doubleValue ?? 0) >= 5)
        #expect(decision["input"]?["metrics"]?["p99_ms"]?.doubleValue != nil)
        #expect(decision["input"]?["metrics"]?["chaos_active"]?.doubleValue == 0)

        let chaos = try await client.send(
            method: "POST", url: URL(string: base + "/chaos")!, headers: ["Content-Type": "application/json"],
            body: Data(#"{"mode":"error","rate":1}"#.utf8), limits: HTTPLimits(connectTimeout: 1, totalTimeout: 5))
        #expect(chaos.status == 200, "\(String(decoding: chaos.body, as: UTF8.self))")
        let failing = try await runGate(["canary", "--metrics-url", base + "/metrics"], project: project)
        #expect(failing.status == 1, "\(failing.stdout)\n\(failing.stderr)")
        #expect(failing.stdout.contains("canary: DENY"))
        #expect(failing.stdout.contains("✗ error rate is "))
        #expect(failing.stdout.contains("! chaos mode is active on the service (chaos_active = 2)"))
    }
}
