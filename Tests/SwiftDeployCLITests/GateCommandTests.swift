import Foundation
import SwiftDeployKit
import TestSupport
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// One `opa-ref serve` over the default policies for the whole test process, stopped at exit.
enum SharedOPA {
    static let server: Result<OPARef.Server, Error> = {
        let root = RepositoryPaths.root
        let server = Result {
            try TestRequirement.opaRef.value()
            return try OPARef.Server(data: [
                root.appendingPathComponent("policies").path,
                "thresholds:" + root.appendingPathComponent("thresholds.json").path,
            ])
        }
        atexit { try? SharedOPA.server.get().stop() }
        return server
    }()
}

struct GateRun {
    var stdout: String
    var stderr: String
    var status: Int32
}

/// Runs the built `swiftdeploy gate` against a project.
func runGate(_ arguments: [String], project: GateProject, environment: [String: String] = [:]) async throws -> GateRun {
    // CLIRunner drains stdout and stderr on their own threads: reading one pipe to its end before the other
    // deadlocks once the child fills the other pipe's buffer (64 KiB of stderr).
    // Its minimal environment also keeps this job's GITHUB_STEP_SUMMARY away from the gate.
    let run = try await CLIRunner.run(
        ["gate"] + arguments + ["--manifest", project.manifestURL.path, "--no-color"],
        in: project.manifestURL.deletingLastPathComponent(), environment: environment, timeout: 120)
    return GateRun(stdout: run.stdout, stderr: run.stderr, status: run.status)
}

/// A metrics endpoint whose counters move between scrapes: the first scrape sees `before`, every later one
/// sees `before` plus `step`.
func movingEndpoint(step: @escaping @Sendable (inout DemoMetrics) -> Void) throws -> LoopbackHTTPServer {
    var before = DemoMetrics()
    before.record(path: "/", status: 200, seconds: 0.02, count: 1_000)
    before.record(path: "/healthz", status: 200, seconds: 0.001, count: 100)
    var after = before
    step(&after)
    let first = before.exposition(), later = after.exposition()
    return try LoopbackHTTPServer { request in .text(request.sequence == 1 ? first : later) }
}

/// A gate project on the shared `opa-ref serve`; throws when it is missing or did not start (gate the test with
/// `.requires(.opaRef)`).
func opaProject(thresholds: String? = nil) throws -> GateProject {
    let opa = try SharedOPA.server.get()
    return try GateProject(policy: "  engine: opa\n  opa:\n    url: \(opa.url.absoluteString)", thresholds: thresholds)
}

@Suite struct GateCommandTests {
    @Test func healthyCanaryAllowsWithExitZero() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let server = try movingEndpoint { $0.record(path: "/", status: 200, seconds: 0.02, count: 100) }
        defer { server.stop() }
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms"], project: project)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("canary: ALLOW"))
        #expect(run.stdout.contains("requests 100 · errors 0 · error rate 0.00%"))
        #expect(run.stdout.hasSuffix("verdict: allow (exit 0)\n"))
        #expect(server.requests.count == 2)
        // The decision is in the history, with its input.
        let history = try project.directory.read("history.jsonl")
        let line = try JSONValue.parse(Data(try #require(history.split(separator: "\n").last).utf8))
        #expect(line["event"] == "gate")
        #expect(line["outcome"] == "allow")
        #expect(line["decision"]?["domain"] == "canary")
        #expect(line["decision"]?["engine"] == "embedded")
        #expect(line["decision"]?["input"]?["metrics"]?["requests"]?.doubleValue == 100)
        #expect(line["thresholds_hash"]?.stringValue?.count == 64)
    }

    @Test func fivePercentErrorsDenyWithTheReason() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let server = try movingEndpoint {
            $0.record(path: "/", status: 200, seconds: 0.02, count: 95)
            $0.record(path: "/", status: 500, seconds: 0.02, count: 5)
        }
        defer { server.stop() }
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms"], project: project)
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("canary: DENY"))
        #expect(
            run.stdout.contains(
                """
                ✗ error rate is 5% (5 of 100 requests answered 5xx), above the maximum ratio of 0.01 \
                (thresholds.json canary.max_error_rate)
                """
            ))
    }

    @Test func p99OverTheLimitDenies() async throws {
        let project = try GateProject()
        defer { project.remove() }
        // 5 of 100 requests take 2 s: p99 = 1 + 1.5 × 4/5 = 2.2 s.
        let server = try movingEndpoint {
            $0.record(path: "/", status: 200, seconds: 0.02, count: 95)
            $0.record(path: "/", status: 200, seconds: 2, count: 5)
        }
        defer { server.stop() }
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms", "--format", "json"],
            project: project)
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        let report = try JSONValue.parse(Data(run.stdout.utf8))
        #expect(report["verdict"] == "deny")
        #expect(report["exit_code"] == 1)
        guard case .array(let decisions)? = report["decisions"], let canary = decisions.first else {
            Issue.record("no decisions")
            return
        }
        #expect(
            canary["reasons"] == [
                "p99 latency is 2200 ms, above the maximum of 500 ms (thresholds.json canary.max_p99_ms)"
            ])
        #expect(canary["input"]?["metrics"]?["p99_ms"]?.doubleValue.map { abs($0 - 2200) < 1e-6 } == true)
        #expect(canary["input"]?["metrics"]?["requests"]?.doubleValue == 100)
        #expect(canary["engine"] == "embedded")
        #expect(canary["timings_ms"]?["collect_metrics"]?.doubleValue.map { $0 >= 300 } == true)
        #expect(report["timings_ms"]?["total"]?.doubleValue != nil)
    }

    @Test func noTrafficIsInconclusive() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let server = try movingEndpoint { $0.record(path: "/healthz", status: 200, seconds: 0.001, count: 10) }
        defer { server.stop() }
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms"], project: project)
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("canary: INCONCLUSIVE"))
        #expect(run.stdout.contains("only 0 requests in the"))
        #expect(run.stdout.contains("fewer than metrics.min_requests (20)"))
    }

    @Test func endpointDownIsInconclusive() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let url = "http://127.0.0.1:\(LoopbackHTTPServer.unusedPort())/metrics"
        let run = try await runGate(["canary", "--metrics-url", url, "--window", "300ms"], project: project)
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("connection refused by \(url)"))
    }

    @Test func garbageBodyIsInconclusive() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let server = try LoopbackHTTPServer { _ in .text("<html><body>502 Bad Gateway</body></html>\n") }
        defer { server.stop() }
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms"], project: project)
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("is not parsable: metrics line 1:1: expected a metric name"))
    }

    @Test func warnExitsZeroUnlessFailOnWarn() async throws {
        let project = try GateProject()
        defer { project.remove() }
        // 10 of 100 at 400 ms: p95 = 0.25 + 0.25 × 5/10 = 375 ms (warn > 300), p99 = 475 ms (≤ 500).
        let step: @Sendable (inout DemoMetrics) -> Void = {
            $0.record(path: "/", status: 200, seconds: 0.02, count: 90)
            $0.record(path: "/", status: 200, seconds: 0.4, count: 10)
        }
        let server = try movingEndpoint(step: step)
        defer { server.stop() }
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms"], project: project)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("canary: WARN"))
        #expect(run.stdout.contains("p95 latency is 375 ms, above the comfortable 300 ms"))
        let strict = try movingEndpoint(step: step)
        defer { strict.stop() }
        let failing = try await runGate(
            ["canary", "--metrics-url", strict.url().absoluteString, "--window", "300ms", "--fail-on-warn"],
            project: project)
        #expect(failing.status == 1, "\(failing.stdout)\n\(failing.stderr)")
        #expect(failing.stdout.contains("verdict: warn (exit 1, --fail-on-warn)"))
    }

    @Test func githubFormatWritesCommandsAndTheStepSummary() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let server = try movingEndpoint {
            $0.record(path: "/", status: 200, seconds: 0.02, count: 90)
            $0.record(path: "/", status: 503, seconds: 0.02, count: 10)
        }
        defer { server.stop() }
        let summary = project.directory.url.appendingPathComponent("summary.md")
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms", "--format", "github"],
            project: project, environment: ["GITHUB_STEP_SUMMARY": summary.path])
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(
            run.stdout.hasPrefix(
                "::error title=swiftdeploy gate canary%3A deny::error rate is 10%25 (10 of 100 requests answered 5xx)"))
        let markdown = try String(contentsOf: summary, encoding: .utf8)
        #expect(markdown.contains("## swiftdeploy gate: deny"))
        #expect(markdown.contains("| canary | ❌ deny |"))
        #expect(markdown.contains("- error rate is 10%"))
    }

    @Test func junitFormatIsWellFormedWithOneCasePerRuleOutcome() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let server = try movingEndpoint {
            $0.record(path: "/", status: 200, seconds: 0.02, count: 50)
            $0.record(path: "/", status: 500, seconds: 3, count: 50)
        }
        defer { server.stop() }
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms", "--format", "junit"],
            project: project)
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        let parser = XMLParser(data: Data(run.stdout.utf8))
        #expect(parser.parse(), "not well-formed XML: \(run.stdout)")
        #expect(run.stdout.contains(#"<testsuites name="swiftdeploy gate" tests="3" failures="2" errors="0""#))
        #expect(run.stdout.contains(#"<failure type="deny" message="error rate is 50%"#))
        #expect(run.stdout.contains(#"<failure type="deny" message="p99 latency is"#))
        #expect(run.stdout.contains(#"name="warn: p95 latency is"#))
    }

    @Test func allDecidesEveryDomainOnOneWindow() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let server = try movingEndpoint { $0.record(path: "/", status: 200, seconds: 0.02, count: 100) }
        defer { server.stop() }
        let run = try await runGate(
            ["all", "--metrics-url", server.url().absoluteString, "--window", "300ms", "--format", "json"],
            project: project)
        // Infrastructure is judged on this host's real facts, which may deny on a busy machine; what is asserted is
        // that both domains were decided, on one metrics window (two scrapes).
        let report = try JSONValue.parse(Data(run.stdout.utf8))
        guard case .array(let decisions)? = report["decisions"] else {
            Issue.record("no decisions: \(run.stdout)")
            return
        }
        #expect(decisions.map { $0["domain"] } == ["infrastructure", "canary"])
        #expect(decisions[1]["verdict"] == "allow")
        #expect(decisions[0]["input"]?["host"]?["sources"]?["load"] != nil)
        #expect(server.requests.count == 2)
    }

    @Test(.requires(.opaRef)) func opaEngineDecidesTheSame() async throws {
        let project = try opaProject()
        defer { project.remove() }
        let server = try movingEndpoint {
            $0.record(path: "/", status: 200, seconds: 0.02, count: 95)
            $0.record(path: "/", status: 500, seconds: 0.02, count: 5)
        }
        defer { server.stop() }
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms"], project: project)
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("canary: DENY (engine opa http://127.0.0.1:"))
        #expect(run.stdout.contains("✗ error rate is 5% (5 of 100 requests answered 5xx)"))
    }

    @Test func opaServerDownIsInconclusive() async throws {
        let project = try GateProject(
            policy: "  engine: opa\n  opa:\n    url: http://127.0.0.1:\(LoopbackHTTPServer.unusedPort())")
        defer { project.remove() }
        let server = try movingEndpoint { $0.record(path: "/", status: 200, seconds: 0.02, count: 100) }
        defer { server.stop() }
        let run = try await runGate(
            ["canary", "--metrics-url", server.url().absoluteString, "--window", "300ms"], project: project)
        #expect(run.status == 2, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("refused the connection: no OPA listens there"))
    }

    /// runGate reads stdout and stderr at once: a gate that writes more than a pipe holds (64 KiB) to stderr before
    /// it ends must not hang the test. A reader that drained stdout to its end first would wait for a child blocked
    /// on the full stderr pipe until the timeout killed it, and the status would not be 64.
    @Test func moreThanAPipeOfStderrDoesNotDeadlockRunGate() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let domain = String(repeating: "x", count: 100_000)
        let started = Date()
        let run = try await runGate([domain], project: project)
        #expect(run.status == 64, "\(run.stderr.prefix(300))")
        #expect(run.stderr.utf8.count > 100_000, "all of stderr arrived: \(run.stderr.utf8.count) bytes")
        #expect(run.stderr.contains("no policy declares package swiftdeploy.\(domain)"))
        #expect(Date().timeIntervalSince(started) < 60, "ended by itself, long before runGate's 120 s timeout")
    }

    @Test func defaultPolicyUnitTestsPassOnTheEmbeddedEngine() async throws {
        let result = try await ExternalTool.capture(
            [
                RepositoryPaths.builtProduct("swiftdeploy").path, "policy", "test",
                RepositoryPaths.root.appendingPathComponent("policies").path, "--no-color",
            ], timeout: 300)
        let text = result.stdout + result.stderr
        #expect(result.status == 0, "\(text)")
        for test in [
            "test_error_rate_above_limit_denies", "test_p99_above_limit_denies", "test_low_disk_denies",
            "test_overloaded_host_denies",
        ] {
            #expect(text.contains(test), "\(test) did not run: \(text)")
        }
        #expect(!text.contains("FAIL"), "\(text)")
    }

    @Test func usageAndInputErrorsUseTheirExitCodes() async throws {
        let project = try GateProject()
        defer { project.remove() }
        let badWindow = try await runGate(["canary", "--window", "soon"], project: project)
        #expect(badWindow.status == 64)
        #expect(badWindow.stderr.contains("--window \"soon\" is not a duration"))
        let unknown = try await runGate(["canry"], project: project)
        #expect(unknown.status == 64)
        #expect(
            unknown.stderr.contains(
                "no policy declares package swiftdeploy.canry; domains found: infrastructure, canary"))
        let badURL = try await runGate(["canary", "--metrics-url", "ftp://x"], project: project)
        #expect(badURL.status == 64)
        try project.directory.write("{\"canary\": [1]", to: "thresholds.json")
        let badThresholds = try await runGate(["canary"], project: project)
        #expect(badThresholds.status == 65)
        #expect(badThresholds.stderr.contains("thresholds.json is invalid: not valid JSON"))
    }
}
