import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

private let base = """
    # the team's manifest
    services:
      image: swiftdeploy/api:0.1.0   # current release
      port: 3000
      version: "0.1.0"   # shown by the app
    nginx:
      image: nginx:1.27
      port: 8080
    network:
      name: app-net
      driver_type: bridge

    """

private func load(_ text: String) throws -> Manifest {
    try ManifestLoader().parse(text, file: "manifest.yaml", directory: URL(fileURLWithPath: "/srv/shop"))
}

private func problems(_ text: String) -> [String] {
    do {
        _ = try load(text)
        return []
    } catch let error as ManifestError {
        return error.problems.map(\.description)
    } catch { return ["unexpected: \(error)"] }
}

@Suite("rollout: manifest block")
struct RolloutManifestTests {
    @Test func defaultsWithoutTheBlock() throws {
        let m = try load(base)
        #expect(m.rollout.steps == [10, 50, 100])
        #expect(m.rollout.interval == ManifestDuration(milliseconds: 30_000))
        #expect(m.rollout.sticky == true)
        #expect(m.rollout.onInconclusive == .pause)
    }

    @Test func everyKeyRead() throws {
        let m = try load(
            base + "rollout:\n  steps: [20, 50, 100]\n  interval: 5s\n  sticky: false\n  on_inconclusive: abort\n")
        #expect(m.rollout.steps == [20, 50, 100])
        #expect(m.rollout.interval.seconds == 5)
        #expect(m.rollout.sticky == false)
        #expect(m.rollout.onInconclusive == .abort)
    }

    @Test(arguments: [
        (
            "rollout:\n  steps: [50, 20, 100]\n",
            "manifest.yaml:13:10: error: rollout.steps must increase strictly, got [50, 20, 100]"
        ),
        (
            "rollout:\n  steps: [10, 50]\n",
            """
            manifest.yaml:13:10: error: rollout.steps must end at 100 (the candidate takes all traffic before it \
            is promoted), got [10, 50]
            """
        ),
        (
            "rollout:\n  steps: []\n",
            "manifest.yaml:13:10: error: rollout.steps must list at least one step, e.g. [10, 50, 100]"
        ),
        ("rollout:\n  steps: [0, 100]\n", "manifest.yaml:13:11: error: rollout.steps[0] must be 1-100, got 0"),
        ("rollout:\n  steps: [10, 101]\n", "manifest.yaml:13:15: error: rollout.steps[1] must be 1-100, got 101"),
        (
            "rollout:\n  steps: [\"10\", 100]\n",
            "manifest.yaml:13:11: error: rollout.steps[0] must be an integer, got string \"10\""
        ),
        (
            "rollout:\n  steps: 100\n",
            """
            manifest.yaml:13:10: error: rollout.steps must be a list of percents such as [10, 50, 100], got \
            integer 100
            """
        ),
        (
            "rollout:\n  sticky: yes\n",
            "manifest.yaml:13:11: error: rollout.sticky must be true or false, got string \"yes\""
        ),
        (
            "rollout:\n  on_inconclusive: pasue\n",
            """
            manifest.yaml:13:20: error: rollout.on_inconclusive must be one of pause, abort, got \"pasue\"; did \
            you mean 'pause'?
            """
        ),
        (
            "rollout:\n  interval: 0s\n",
            "manifest.yaml:13:13: error: rollout.interval must be between 1s and 86400s, got 0s"
        ),
        (
            "rollout:\n  stpes: [10, 100]\n",
            "manifest.yaml:13:3: error: unknown key 'stpes' at rollout; did you mean 'steps'?"
        ),
    ])
    func invalidBlocksAreRefusedWithPositions(_ block: String, _ expected: String) {
        #expect(problems(base + block) == [expected])
    }

    @Test func allProblemsAtOnce() {
        let found = problems(base + "rollout:\n  steps: [10, 5]\n  sticky: 1\n")
        #expect(found.count == 2)
    }

    @Test func stepsFromTheCommandLine() throws {
        #expect(try RolloutSteps.parse("20,50,100").get() == [20, 50, 100])
        #expect(throws: RolloutError.self) { try RolloutSteps.parse("20,,100").get() }
        #expect(throws: RolloutError.self) { try RolloutSteps.parse("20,50").get() }
        #expect(throws: RolloutError.self) { try RolloutSteps.parse("abc").get() }
    }
}

@Suite("rollout: rendering the split")
struct RolloutRenderTests {
    @Test func noRolloutRendersAsBefore() throws {
        let m = try load(base)
        let plain = try ConfigRenderer().render(m)
        #expect(!plain.nginxConf.contains("split_clients"))
        #expect(!plain.compose.contains("canary"))
        #expect(!plain.compose.contains("&swiftdeploy-app"))
    }

    @Test func canaryAddsServiceSplitAndPrefixes() throws {
        let m = try load(base)
        let r = try ConfigRenderer().render(
            m, canary: CanaryRender(image: "swiftdeploy/api:0.2.0", version: "0.2.0", weight: 20, sticky: true))
        #expect(
            r.nginxConf.contains(
                """
                split_clients \"${swiftdeploy_split_key}\" $swiftdeploy_split {\n        20% canary;\n        * \
                stable;\n    }
                """
            ))
        #expect(r.nginxConf.contains("set $swiftdeploy_upstream $swiftdeploy_variant_upstream;"))
        #expect(r.nginxConf.contains("canary http://app-canary:3000;"))
        #expect(r.nginxConf.contains("add_header X-Variant $swiftdeploy_variant always;"))
        #expect(r.nginxConf.contains("Set-Cookie \"swiftdeploy_split=$swiftdeploy_split_key"))
        for prefix in ["/stable/metrics", "/canary/metrics", "/canary/healthz", "/canary/chaos"] {
            #expect(r.nginxConf.contains("location = \(prefix) {"), "admin prefix \(prefix)")
        }
        #expect(r.compose.contains("  app-canary:\n    <<: *swiftdeploy-app\n    image: \"swiftdeploy/api:0.2.0\""))
        #expect(r.compose.contains("APP_VERSION: \"0.2.0\""))
        #expect(r.compose.contains("MODE: \"canary\""))
    }

    @Test func notStickyHasNoCookie() throws {
        let r = try ConfigRenderer().render(
            try load(base), canary: CanaryRender(image: "a/b:1", version: "1", weight: 50, sticky: false))
        #expect(!r.nginxConf.contains("Set-Cookie"))
        #expect(!r.nginxConf.contains("$cookie_swiftdeploy_split;"))
    }

    @Test(arguments: [(0, ["* stable;"]), (100, ["* canary;"]), (35, ["35% canary;", "* stable;"])])
    func weightsAtTheEdges(_ weight: Int, _ lines: [String]) {
        #expect(CanaryRender(image: "a/b:1", version: "1", weight: weight, sticky: true).splitLines == lines)
    }

    @Test func candidateValuesAreCheckedBeforeRendering() throws {
        let m = try load(base)
        #expect(throws: RenderError.self) {
            try ConfigRenderer().render(
                m, canary: CanaryRender(image: "bad image\n", version: "1", weight: 10, sticky: true))
        }
        #expect(throws: RenderError.self) {
            try ConfigRenderer().render(
                m, canary: CanaryRender(image: "a/b:1", version: "1; rm", weight: 10, sticky: true))
        }
    }
}

@Suite("rollout: finishing rewrites image and version in place")
struct RolloutManifestEditTests {
    @Test func onlyTheTwoValuesChange() throws {
        let dir = try TemporaryDirectory(prefix: "rollout-edit")
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("manifest.yaml")
        try Data(base.utf8).write(to: url)
        try ManifestEditor().setImageAndVersion(image: "swiftdeploy/api:0.2.0", version: "0.2.0", inFileAt: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(
            text
                == base.replacingOccurrences(
                    of: "image: swiftdeploy/api:0.1.0   # current release",
                    with: "image: swiftdeploy/api:0.2.0   # current release"
                )
                .replacingOccurrences(of: "version: \"0.1.0\"   # shown", with: "version: \"0.2.0\"   # shown"))
    }

    @Test func missingVersionIsInserted() throws {
        let dir = try TemporaryDirectory(prefix: "rollout-edit")
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("manifest.yaml")
        let text = base.replacingOccurrences(of: "  version: \"0.1.0\"   # shown by the app\n", with: "")
        try Data(text.utf8).write(to: url)
        try ManifestEditor().setImageAndVersion(image: "swiftdeploy/api:0.2.0", version: "0.2.0", inFileAt: url)
        let m = try ManifestLoader().load(from: url)
        #expect(m.services.image == "swiftdeploy/api:0.2.0")
        #expect(m.services.version == "0.2.0")
        #expect(
            try String(contentsOf: url, encoding: .utf8).hasPrefix(
                """
                # the team's manifest\nservices:\n  version: 0.2.0\n  image: swiftdeploy/api:0.2.0   # current \
                release\n
                """
            ))
    }
}

@Suite("rollout: state from the history")
struct RolloutStateTests {
    func manifest(in dir: TemporaryDirectory) throws -> Manifest {
        let url = dir.url.appendingPathComponent("manifest.yaml")
        try Data(base.utf8).write(to: url)
        return try ManifestLoader().load(from: url)
    }

    func write(
        _ phase: RolloutPhase, _ details: [String: JSONValue], decision: PolicyDecision? = nil, manifest: Manifest
    ) async throws {
        var all = details
        all["phase"] = .string(phase.rawValue)
        all["rollout_id"] = .string("r1")
        try await HistoryRecorder(manifest: manifest, manifestURL: manifest.fileURL)
            .record(
                LifecycleRecord(
                    event: .rollout, outcome: "ok", message: phase.rawValue, decision: decision, details: all),
                manifest: manifest)
    }

    @Test func noHistoryIsNone() throws {
        let dir = try TemporaryDirectory(prefix: "rollout-state")
        defer { dir.remove() }
        let status = try RolloutStateReader(manifest: try manifest(in: dir)).status(containers: [])
        #expect(status.state == .none)
        #expect(status.json["state"]?.stringValue == "none")
    }

    @Test func aKilledCLIIsReportedAsInterruptedAtItsStep() async throws {
        let dir = try TemporaryDirectory(prefix: "rollout-state")
        defer { dir.remove() }
        let m = try manifest(in: dir)
        // A pid that cannot be alive: the CLI that wrote these records is gone.
        let dead: JSONValue = .int(Int64(Int32.max - 7))
        try await write(
            .start,
            [
                "image": "a/b:2", "version": "2", "steps": [20, 50, 100], "interval_ms": 5000, "sticky": true,
                "on_inconclusive": "pause", "pid": dead,
            ], manifest: m)
        try await write(.step, ["step": 0, "weight": 20, "pid": dead], manifest: m)
        let allow = PolicyDecision(domain: "canary", verdict: .allow, reasons: [], engine: "embedded", input: .null)
        try await write(.decision, ["step": 0, "weight": 20, "pid": dead], decision: allow, manifest: m)
        try await write(.step, ["step": 1, "weight": 50, "pid": dead], manifest: m)
        let canary = ContainerStatus(
            id: "c", name: "x-app-canary-1", service: "app-canary", state: "running", image: "a/b:2",
            environment: ["APP_VERSION": "2"])
        let stable = ContainerStatus(
            id: "s", name: "x-app-1", service: "app", state: "running", image: "a/b:1",
            environment: ["APP_VERSION": "1"])
        let lock = DeployLock(project: "state-test", directory: dir.url.appendingPathComponent("locks"))
        let status = try RolloutStateReader(manifest: m, lock: lock).status(containers: [stable, canary])
        #expect(status.state == .paused)
        #expect(status.interrupted)
        #expect(status.step == 1)
        #expect(status.weight == 50)
        #expect(status.lastStepJudged == false)
        // Each side as its containers show it: the image and version, and (since rollout status counts replicas
        // per side) one replica, running.
        var canarySide = RolloutStatus.Side(image: "a/b:2", version: "2")
        canarySide.replicas = 1
        canarySide.running = 1
        var stableSide = RolloutStatus.Side(image: "a/b:1", version: "1")
        stableSide.replicas = 1
        stableSide.running = 1
        #expect(status.canary == canarySide)
        #expect(status.stable == stableSide)
        #expect(status.lastVerdict == "allow")
        #expect(status.steps == [20, 50, 100])
    }

    @Test func aLiveCLIIsRunningAndTheEndIsTerminal() async throws {
        let dir = try TemporaryDirectory(prefix: "rollout-state")
        defer { dir.remove() }
        let m = try manifest(in: dir)
        let me: JSONValue = .int(Int64(getpid()))
        try await write(
            .start, ["image": "a/b:2", "version": "2", "steps": [100], "interval_ms": 5000, "pid": me], manifest: m)
        try await write(.step, ["step": 0, "weight": 100, "pid": me], manifest: m)
        let canary = ContainerStatus(id: "c", name: "c", service: "app-canary", state: "running", image: "a/b:2")
        // Running while this process holds the project lock for a rollout command.
        let lock = DeployLock(project: "state-test", directory: dir.url.appendingPathComponent("locks"))
        let grant = try await lock.acquire(LockHolder.current(action: "rollout start"))
        #expect(try RolloutStateReader(manifest: m, lock: lock).status(containers: [canary]).state == .running)
        grant.release()
        #expect(try RolloutStateReader(manifest: m, lock: lock).status(containers: [canary]).state == .paused)
        try await write(.aborted, ["weight": 0, "pid": me], manifest: m)
        let ended = try RolloutStateReader(manifest: m, lock: lock).status(containers: [])
        #expect(ended.state == .aborted)
        #expect(ended.weight == 0)
    }

    /// A pause asked of a running rollout is acted on once: after `resume` the same request does not pause it again.
    @Test func aRequestActedOnIsNotActedOnAgainAfterAResume() async throws {
        let dir = try TemporaryDirectory(prefix: "rollout-state")
        defer { dir.remove() }
        let m = try manifest(in: dir)
        let reader = RolloutStateReader(
            manifest: m, lock: DeployLock(project: "state-test", directory: dir.url.appendingPathComponent("locks")))
        try await write(
            .start, ["image": "a/b:2", "version": "2", "steps": [20, 100], "interval_ms": 5000], manifest: m)
        try await write(.step, ["step": 0, "weight": 20], manifest: m)
        try await write(.request, ["action": "pause"], manifest: m)
        #expect(try reader.requests(id: "r1") == ["pause"])
        try await write(.paused, ["step": 0, "weight": 20], manifest: m)
        try await write(.resumed, ["step": 0], manifest: m)
        #expect(try reader.requests(id: "r1").isEmpty)
        try await write(.request, ["action": "abort"], manifest: m)
        #expect(try reader.requests(id: "r1") == ["abort"])
        #expect(try reader.requests(id: "another").isEmpty)
    }

    @Test func runningInTheHistoryWithoutACandidateSaysSo() async throws {
        let dir = try TemporaryDirectory(prefix: "rollout-state")
        defer { dir.remove() }
        let m = try manifest(in: dir)
        try await write(
            .start,
            ["image": "a/b:2", "version": "2", "steps": [100], "interval_ms": 5000, "pid": .int(Int64(getpid()))],
            manifest: m)
        let status = try RolloutStateReader(manifest: m).status(containers: [])
        #expect(status.notes.contains { $0.contains("no app-canary container runs") })
    }
}

@Suite("rollout: the audit's Rollouts section")
struct RolloutAuditTests {
    @Test func rolloutsAreListedAndCounted() async throws {
        let dir = try TemporaryDirectory(prefix: "rollout-audit")
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("manifest.yaml")
        try Data(base.utf8).write(to: url)
        let m = try ManifestLoader().load(from: url)
        let recorder = HistoryRecorder(manifest: m, manifestURL: url)
        func rec(
            _ id: String, _ phase: RolloutPhase, _ details: [String: JSONValue] = [:], outcome: String = "ok",
            verdict: Verdict? = nil
        ) async throws {
            var all = details
            all["phase"] = .string(phase.rawValue)
            all["rollout_id"] = .string(id)
            let decision = verdict.map {
                PolicyDecision(domain: "canary", verdict: $0, reasons: [], engine: "embedded", input: .null)
            }
            try await recorder.record(
                LifecycleRecord(
                    event: .rollout, outcome: outcome, message: phase.rawValue, decision: decision, details: all),
                manifest: m)
        }
        try await rec("a", .start, ["image": "shop/api:2", "version": "2"])
        try await rec("a", .step, ["step": 0, "weight": 20])
        try await rec("a", .decision, ["step": 0, "weight": 20], outcome: "allow", verdict: .allow)
        try await rec("a", .step, ["step": 1, "weight": 100])
        try await rec("a", .decision, ["step": 1, "weight": 100], outcome: "allow", verdict: .allow)
        try await rec("a", .promoted, ["weight": 0])
        try await rec("b", .start, ["image": "shop/api:3", "version": "3"])
        try await rec("b", .step, ["step": 0, "weight": 20])
        try await rec("b", .decision, ["step": 0, "weight": 20], outcome: "deny", verdict: .deny)
        try await rec("b", .aborted, ["weight": 0], outcome: "rolled-back")

        let out = dir.url.appendingPathComponent("audit.md")
        let summary = try await AuditReport.write(
            history: m.historyURL, to: out, format: .markdown, options: AuditOptions())
        #expect(summary.delivery.rollouts == 2)
        #expect(summary.delivery.rolloutsPromoted == 1)
        #expect(summary.delivery.preventedFailures == 1)
        #expect(summary.delivery.deployments == 1, "a promoted rollout counts as a deployment")
        let md = try String(contentsOf: out, encoding: .utf8)
        #expect(md.contains("## Rollouts\n"))
        #expect(md.contains("| shop/api:2 | 2 | 20% allow, 100% allow | promoted |"))
        #expect(md.contains("| shop/api:3 | 3 | 20% deny | aborted |"))
        let json = dir.url.appendingPathComponent("audit.json")
        _ = try await AuditReport.write(history: m.historyURL, to: json, format: .json, options: AuditOptions())
        let doc = try JSONValue.parse(Data(contentsOf: json))
        #expect(doc["delivery"]?["prevented_failures"] == .int(1))
        if case .array(let list)? = doc["rollouts"] {
            #expect(list.count == 2)
        } else {
            Issue.record("no rollouts array")
        }
    }
}

@Suite("rollout: evidence from both sides' scrapes")
struct RolloutEvidenceTests {
    /// A scrape of the demo service's metrics after `ok` 200s and `failed` 500s on `/`, all of them `seconds` long.
    func snap(at t: Double, ok: Int, failed: Int, seconds: Double, health: Int = 0) throws -> MetricsSnapshot {
        let n = ok + failed
        let text = """
            # TYPE http_requests_total counter
            http_requests_total{method="GET",path="/",status_code="200"} \(ok)
            http_requests_total{method="GET",path="/",status_code="500"} \(failed)
            http_requests_total{method="GET",path="/healthz",status_code="200"} \(health)
            # TYPE http_request_duration_seconds histogram
            http_request_duration_seconds_bucket{method="GET",path="/",le="0.05"} \(seconds <= 0.05 ? n : 0)
            http_request_duration_seconds_bucket{method="GET",path="/",le="0.5"} \(seconds <= 0.5 ? n : 0)
            http_request_duration_seconds_bucket{method="GET",path="/",le="+Inf"} \(n)
            http_request_duration_seconds_sum{method="GET",path="/"} \(Double(n) * seconds)
            http_request_duration_seconds_count{method="GET",path="/"} \(n)
            http_request_duration_seconds_bucket{method="GET",path="/healthz",le="+Inf"} \(health)
            http_request_duration_seconds_sum{method="GET",path="/healthz"} \(Double(health) * 9)
            http_request_duration_seconds_count{method="GET",path="/healthz"} \(health)

            """
        return try MetricsSnapshot.parse(Data(text.utf8), source: "test", monotonicSeconds: t)
    }

    func manifest(minRequests: Int) throws -> Manifest {
        try load(base + "metrics:\n  min_requests: \(minRequests)\n")
    }

    @Test func seriesWindowsAndComparison() throws {
        let analyzer = RolloutAnalyzer(manifest: try manifest(minRequests: 10))
        // The candidate: 10 requests a sample, half of them failing, 200 ms each; stable: 40 a sample, none failing, 20
        // ms.
        let canary = try (0...5).map {
            try snap(at: Double($0) * 2, ok: 5 * $0, failed: 5 * $0, seconds: 0.2, health: 100 * $0)
        }
        let stable = try (0...5).map { try snap(at: Double($0) * 2, ok: 40 * $0, failed: 0, seconds: 0.02) }
        let e = analyzer.evidence(canary: canary, stable: stable)
        #expect(e.samples == 5)
        #expect(e.canary.requests == 50 && e.canary.errors == 25)
        #expect(e.baseline.requests == 200 && e.baseline.errors == 0)
        #expect(e.canaryErrorRates == [0.5, 0.5, 0.5, 0.5, 0.5])
        #expect(e.baselineErrorRates == [0, 0, 0, 0, 0])
        #expect(
            e.canaryLatencyMs.allSatisfy { abs($0 - 200) < 1e-9 },
            "the /healthz series (excluded) must not count: \(e.canaryLatencyMs)")
        #expect(e.baselineLatencyMs.allSatisfy { abs($0 - 20) < 1e-9 })
        let c = e.comparison
        #expect(c["error_rate_difference"] == .double(0.5))
        #expect(c["error_rate"]?["effect_size"] == .double(1))
        if case .double(let ratio)? = c["latency"]?["mean_ratio"] {
            #expect(abs(ratio - 10) < 1e-9)
        } else {
            Issue.record("no mean_ratio")
        }
        #expect(c["latency"]?["method"]?.stringValue == "asymptotic")  // every value tied within a side
        #expect(e.canary.insufficient.isEmpty)
    }

    @Test func anIdleCandidateIsInsufficientButAnIdleBaselineIsNot() throws {
        let analyzer = RolloutAnalyzer(manifest: try manifest(minRequests: 20))
        let canary = try (0...3).map { try snap(at: Double($0), ok: 2 * $0, failed: 0, seconds: 0.01) }
        let stable = try (0...3).map { try snap(at: Double($0), ok: 0, failed: 0, seconds: 0.01) }
        let e = analyzer.evidence(canary: canary, stable: stable)
        #expect(e.canary.insufficient.contains { $0.contains("metrics.min_requests (20)") })
        #expect(e.baseline.insufficient.isEmpty)
        #expect(e.comparison["latency"] == .null, "no baseline sample: no test")
        #expect(e.comparison["error_rate_difference"] == .null)
    }

    @Test func theInputCarriesEveryPart() throws {
        let m = try manifest(minRequests: 1)
        let analyzer = RolloutAnalyzer(manifest: m)
        let snaps = try (0...2).map { try snap(at: Double($0), ok: 10 * $0, failed: 0, seconds: 0.01) }
        let e = analyzer.evidence(canary: snaps, stable: snaps)
        let plan = RolloutPlan(
            id: "x", image: "a/b:2", version: "2", steps: [20, 100], interval: ManifestDuration(milliseconds: 5000),
            sticky: true, onInconclusive: .pause, stableImage: "a/b:1", stableVersion: "1")
        let input = RolloutWorkflow.input(e, manifest: m, plan: plan, step: 0, weight: 20)
        #expect(input["action"]?.stringValue == "rollout")
        #expect(input["metrics"]?["requests"] == .double(20))
        #expect(input["baseline"]?["requests"] == .double(20))
        #expect(input["comparison"]?["p99_ratio"] == .double(1))
        #expect(input["rollout"]?["weight"] == .int(20))
        #expect(input["rollout"]?["steps"] == .array([.int(20), .int(100)]))
        #expect(input["rollout"]?["interval_seconds"] == .double(5))
    }
}
