import Foundation
import SwiftDeployHTTP
import TestSupport
import Testing

@testable import SwiftDeployAPI

/// Runs the built `swiftdeploy-api` executable on a loopback port and talks to it over
/// real TCP, the way Compose and Prometheus will.
@Suite struct BuiltBinaryTests {
    /// The product sits beside the test runner in the build directory.
    static var binary: URL {
        if let override = ProcessInfo.processInfo.environment["SWIFTDEPLOY_API_BINARY"] {
            return URL(fileURLWithPath: override)
        }
        let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("swiftdeploy-api")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return runner.deletingLastPathComponent().appendingPathComponent("swiftdeploy-api")
    }

    /// A running service process, its output captured in files.
    final class RunningService {
        let process: BackgroundProcess
        let port: Int
        let output: URL
        let errors: URL

        /// Starts the service on a port reserved and released immediately before it starts (it must be told its port:
        /// APP_PORT 0 is refused); when another process took the port in that window (the service exits naming
        /// "Address already in use"), once more on a fresh port.
        static func start(environment: [String: String]) async throws -> RunningService {
            try await LoopbackPort.withReleasedPort { port in
                let service = try RunningService(environment: environment, port: port)
                let deadline = ContinuousClock.now + .seconds(15)
                while ContinuousClock.now < deadline {
                    if !service.process.isRunning {
                        return LoopbackPort.isBindCollision(service.stderr) ? nil : service
                    }
                    if let (status, _, _) = try? await service.request("GET", "/healthz"), status == 200 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return service  // waitUntilHealthy reports a service that never answered
            }
        }

        init(environment: [String: String], port: Int) throws {
            let binary = BuiltBinaryTests.binary
            try #require(
                FileManager.default.isExecutableFile(atPath: binary.path),
                "no swiftdeploy-api at \(binary.path); build it with `swift build --product swiftdeploy-api`"
            )
            self.port = port
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "swiftdeploy-api-test-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            output = directory.appendingPathComponent("stdout.jsonl")
            errors = directory.appendingPathComponent("stderr.txt")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
            process = try BackgroundProcess(
                [binary.path],
                environment: ["APP_HOST": "127.0.0.1", "APP_PORT": String(port)].merging(environment) { _, new in new },
                stdout: output, stderr: errors)
        }

        var base: String { "http://127.0.0.1:\(port)" }
        var stdout: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

        /// Waits until `/healthz` answers 200, or fails naming what the service printed.
        func waitUntilHealthy(timeout: Duration = .seconds(15)) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                try #require(
                    process.isRunning, "service exited early (\(process.terminationStatus)): \(stderr) \(stdout)")
                if let (status, _, _) = try? await request("GET", "/healthz"), status == 200 { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("service did not become healthy within \(timeout): \(stderr) \(stdout)")
            throw CancellationError()
        }

        func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:])
            async throws -> (Int, String, [String: String])
        {
            let answer = try await SocketHTTPClient().send(
                method: method, url: URL(string: base + path)!, headers: headers, body: body.map { Data($0.utf8) },
                limits: HTTPLimits(connectTimeout: 20, totalTimeout: 20))
            return (answer.status, String(decoding: answer.body, as: UTF8.self), answer.headers)
        }

        /// Sends SIGTERM and waits for the exit; returns the status and how long it took.
        func terminate(timeout: Duration = .seconds(12)) async throws -> (Int32, Duration) {
            let start = ContinuousClock.now
            kill(process.processIdentifier, SIGTERM)
            while process.isRunning {
                if ContinuousClock.now - start > timeout {
                    kill(process.processIdentifier, SIGKILL)
                    Issue.record("service ignored SIGTERM for \(timeout)")
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            process.waitUntilExit()
            return (process.terminationStatus, ContinuousClock.now - start)
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: output.deletingLastPathComponent())
        }
    }

    @Test func servesRoutesChaosAndMetricsOverLoopback() async throws {
        let service = try await RunningService.start(environment: ["MODE": "canary", "APP_VERSION": "2.0.0-test"])
        try await service.waitUntilHealthy()

        let (status, body, headers) = try await service.request("GET", "/", headers: ["X-Request-ID": "e2e-1"])
        #expect(status == 200)
        #expect(headers["x-mode"] == "canary")
        #expect(headers["x-request-id"] == "e2e-1")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(root["version"] as? String == "2.0.0-test")
        #expect(root["mode"] as? String == "canary")

        #expect(try await service.request("POST", "/chaos", body: #"{"mode":"error","rate":1}"#).0 == 200)
        let failed = try await service.request("GET", "/")
        #expect(failed.0 == 500)
        #expect(failed.2["x-mode"] == "canary")
        #expect(try await service.request("GET", "/healthz").0 == 200)
        #expect(try await service.request("POST", "/chaos", body: #"{"mode":"recover"}"#).0 == 200)
        #expect(try await service.request("GET", "/nowhere").0 == 404)

        let (metricsStatus, text, metricsHeaders) = try await service.request("GET", "/metrics")
        #expect(metricsStatus == 200)
        #expect(metricsHeaders["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let metrics = try Exposition(text)
        #expect(metrics.value("http_requests_total", ["method": "GET", "path": "/", "status_code": "200"]) == 1)
        #expect(metrics.value("http_requests_total", ["method": "GET", "path": "/", "status_code": "500"]) == 1)
        #expect(metrics.value("http_requests_total", ["method": "POST", "path": "/chaos", "status_code": "200"]) == 2)
        #expect(metrics.value("http_requests_total", ["method": "GET", "path": "other", "status_code": "404"]) == 1)
        #expect(metrics.value("http_request_duration_seconds_count", ["method": "GET", "path": "/"]) == 2)
        #expect(metrics.value("app_mode") == 1)
        #expect(metrics.value("chaos_active") == 0)
        #expect((metrics.value("app_uptime_seconds") ?? -1) > 0)

        // The healthcheck subcommand, as the image's HEALTHCHECK runs it.
        await #expect(try runHealthcheck(["--url", "\(service.base)/healthz"]).status == 0)

        let (exit, _) = try await service.terminate()
        #expect(exit == 0, "stderr: \(service.stderr)")

        let lines = service.stdout.split(separator: "\n")
        let access = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["message"] as? String == "request" }
        let first = try #require(access.first { $0["request_id"] as? String == "e2e-1" })
        #expect(
            first["status"] as? Int == 200 && first["path"] as? String == "/" && first["method"] as? String == "GET")
        #expect(first["duration_ms"] is Double || first["duration_ms"] is Int)
        #expect(
            lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil },
            "every stdout line is JSON")
    }

    @Test func sigtermFinishesInFlightRequestsAndExitsZero() async throws {
        let service = try await RunningService.start(environment: ["MODE": "canary"])
        try await service.waitUntilHealthy()
        #expect(try await service.request("POST", "/chaos", body: #"{"mode":"slow","duration":30}"#).0 == 200)

        let inFlight = Task { try await service.request("GET", "/") }
        try await Task.sleep(for: .milliseconds(500))
        let (exit, took) = try await service.terminate()
        #expect(exit == 0, "stderr: \(service.stderr)")
        #expect(took < .seconds(8), "shutdown took \(took); the bound is 8 s")
        let (status, _, _) = try await inFlight.value
        #expect(status == 200, "the in-flight request must be answered, not dropped")
        // The listener is gone: new connections are refused.
        await #expect(try runHealthcheck(["--url", "\(service.base)/healthz", "--timeout", "1"]).status == 1)
    }

    @Test func badConfigurationStopsWithAClearMessage() async throws {
        let run = try await runBinary([], environment: ["MODE": "blue", "APP_PORT": "99999"])
        #expect(run.status == 65)
        #expect(run.stderr.contains("invalid configuration (2 problems):"))
        #expect(run.stderr.contains("MODE='blue' must be 'stable' or 'canary'"))
        #expect(run.stderr.contains("APP_PORT='99999' must be a whole number from 1 to 65535"))
    }

    @Test func healthcheckFailsWhenNothingListens() async throws {
        let port = LoopbackPort.refusing()
        let run = try await runHealthcheck([], environment: ["APP_PORT": String(port)])
        #expect(run.status == 1)
        #expect(run.stderr == "unhealthy: cannot connect to http://127.0.0.1:\(port)/healthz: Connection refused\n")
    }

    @Test func unknownArgumentIsAUsageError() async throws {
        let run = try await runBinary(["serve-please"], environment: [:])
        #expect(run.status == 64)
        #expect(run.stderr.hasPrefix("swiftdeploy-api: unknown argument 'serve-please'\n\nusage: swiftdeploy-api"))
    }

    private func runHealthcheck(_ arguments: [String], environment: [String: String] = [:]) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        try await runBinary(["healthcheck"] + arguments, environment: environment)
    }

    private func runBinary(_ arguments: [String], environment: [String: String]) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let result = try await ExternalTool.capture(
            [Self.binary.path] + arguments, environment: environment, timeout: 120)
        return (result.status, result.stdout, result.stderr)
    }
}
