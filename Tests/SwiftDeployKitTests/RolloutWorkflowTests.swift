import Foundation
import TestSupport
import Testing
import Yams

@testable import SwiftDeployKit

/// The rollout workflow's decisions over the in-memory engine, with both sides' metrics served over real HTTP on
/// loopback (the admin listener's `/canary/metrics` and `/stable/metrics`), the repository's policies and
/// thresholds judged by the embedded engine, and the history on disk. The same workflow on a real Docker engine,
/// nginx and demo service is `RolloutEndToEndTests`.
@Suite struct RolloutWorkflowTests {
    /// Both sides' metrics as the demo service would expose them; every scrape adds that side's traffic first.
    final class Sides: @unchecked Sendable {
        private let lock = NSLock()
        private var canary = DemoMetrics()
        private var stable = DemoMetrics()
        /// Requests added per scrape: (ok, failed).
        var canaryTraffic = (ok: 20, failed: 0)
        var stableTraffic = (ok: 80, failed: 0)
        /// Applied to the candidate's exposition text (a hostile service).
        var canaryText: @Sendable (String) -> String = { $0 }
        private var scrapes = 0

        func scrape(_ path: String) -> String {
            lock.lock()
            defer { lock.unlock() }
            scrapes += 1
            let uptime = 10 + Double(scrapes)
            if path == "/canary/metrics" {
                canary.record(status: 200, seconds: 0.02, count: canaryTraffic.ok)
                canary.record(status: 500, seconds: 0.02, count: canaryTraffic.failed)
                canary.uptime = uptime
                return canaryText(canary.exposition())
            }
            stable.record(status: 200, seconds: 0.02, count: stableTraffic.ok)
            stable.record(status: 500, seconds: 0.02, count: stableTraffic.failed)
            stable.uptime = uptime
            return stable.exposition()
        }
    }

    struct Rig {
        let dir: TemporaryDirectory
        let url: URL
        let runtime: FakeContainerRuntime
        let sides = Sides()
        let server: LoopbackHTTPServer

        /// `extra`: more manifest blocks (an `slo` block), appended as written.
        init(
            steps: String = "[50, 100]", onInconclusive: String = "pause",
            thresholds: ((inout [String: JSONValue]) -> Void)? = nil,
            extra: String = ""
        ) async throws {
            dir = try TemporaryDirectory(prefix: "rollout-workflow")
            let sides = self.sides
            server = try LoopbackHTTPServer { request in
                guard request.path == "/canary/metrics" || request.path == "/stable/metrics" else {
                    return .text("not found", status: 404)
                }
                return .text(sides.scrape(request.path))
            }
            let manifest = """
                # rollout test project
                project: ro-test
                services:
                  name: app
                  image: swiftdeploy/api:0.1.0   # the release
                  port: 8080
                  version: "0.1.0"
                nginx:
                  image: swiftdeploy/nginx:bookworm
                  port: 18080
                  admin_port: \(server.port)
                network:
                  name: ro-net
                  driver_type: bridge
                policy:
                  engine: embedded
                metrics:
                  min_requests: 5
                rollout:
                  steps: \(steps)
                  interval: 1s
                  on_inconclusive: \(onInconclusive)
                \(extra)
                """
            url = try dir.write(manifest, to: "manifest.yaml")
            let policies = RepositoryPaths.root.appendingPathComponent("policies")
            for name in try FileManager.default.contentsOfDirectory(atPath: policies.path) where name.hasSuffix(".rego")
            {
                try dir.write(
                    try String(contentsOf: policies.appendingPathComponent(name), encoding: .utf8),
                    to: "policies/\(name)")
            }
            var shipped = try JSONValue.parse(
                Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
            if let thresholds, case .object(var all) = shipped, case .object(var canary)? = all["canary"] {
                thresholds(&canary)
                all["canary"] = .object(canary)
                shipped = .object(all)
            }
            try dir.write(shipped.jsonString(pretty: true), to: "thresholds.json")
            runtime = FakeContainerRuntime(modeOnDisk: { "stable" })
            runtime.mountedFiles = ["/etc/nginx/nginx.conf": dir.url.appendingPathComponent("nginx.conf")]
            // Deployed: the plain files written and the stack up.
            let loaded = try ManifestLoader().load(from: url)
            try ConfigGenerator(manifest: loaded).write()
            try await runtime.up()
        }

        var lock: DeployLock { DeployLock(project: "ro-test", directory: dir.url.appendingPathComponent("locks")) }

        var gate = FakePolicyGate()

        func context() throws -> LifecycleContext {
            let manifest = try ManifestLoader().load(from: url)
            return LifecycleContext(
                manifestURL: url, manifest: manifest, runtime: runtime, renderer: FakeRenderer(), gate: gate,
                recorder: HistoryRecorder(manifest: manifest, manifestURL: url), probe: FakeHTTPProbe(runtime: runtime),
                lock: lock, pollInterval: 0.02)
        }

        func workflow() throws -> RolloutWorkflow {
            RolloutWorkflow(context: try context(), healthTimeout: 5, drainSeconds: 0)
        }

        func start(override: OverrideRequest? = nil) async throws -> RolloutReport {
            try await workflow().start(
                image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: nil, interval: nil, override: override,
                progress: { _ in })
        }

        func status() async throws -> RolloutStatus {
            let manifest = try ManifestLoader().load(from: url)
            return try RolloutStateReader(manifest: manifest, lock: lock).status(
                containers: try await runtime.containers())
        }

        /// The history's lines, parsed.
        func history() throws -> [JSONValue] {
            try String(contentsOf: dir.url.appendingPathComponent("history.jsonl"), encoding: .utf8)
                .split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
        }

        func remove() {
            server.stop()
            dir.remove()
        }
    }

    /// Every intent the rollout wrote is closed by a later record naming it, and every record of a change
    /// (candidate, step, promoted, aborted) closes one.
    static func expectWriteAhead(_ lines: [JSONValue], sourceLocation: SourceLocation = #_sourceLocation) {
        var open: [Int64: String] = [:]
        for line in lines {
            if line["event"]?.stringValue == "intent", case .int(let seq)? = line["seq"] {
                open[seq] = line["details"]?["action"]?.stringValue ?? "?"
            }
            if case .int(let closes)? = line["details"]?["intent_seq"] { open[closes] = nil }
            if line["event"]?.stringValue == "rollout", let phase = line["details"]?["phase"]?.stringValue,
                ["candidate", "step", "promoted", "aborted"].contains(phase)
            {
                #expect(
                    line["details"]?["intent_seq"] != nil, "the \(phase) record closes no intent",
                    sourceLocation: sourceLocation)
            }
        }
        #expect(open.isEmpty, "intents left open: \(open)", sourceLocation: sourceLocation)
    }

    @Test func aHealthyCandidateIsPromotedWritingAheadEveryAction() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        let stableBefore = try #require(rig.runtime.app)
        let report = try await rig.start()
        #expect(report.outcome == .promoted, "\(report.message)")
        #expect(report.exitStatus == .success)
        let text = try String(contentsOf: rig.url, encoding: .utf8)
        #expect(text.contains("image: swiftdeploy/api:0.2.0   # the release"))
        #expect(text.contains("version: \"0.2.0\""))
        await #expect(try rig.runtime.containers().map(\.service).sorted() == ["app", "nginx"])
        #expect(rig.runtime.app?.id != stableBefore.id, "stable is recreated on the new version when promoting")
        await #expect(try rig.status().state == .promoted)
        let lines = try rig.history()
        Self.expectWriteAhead(lines)
        let actions = lines.filter { $0["event"]?.stringValue == "intent" }.compactMap {
            $0["details"]?["action"]?.stringValue
        }
        #expect(actions == ["rollout start", "rollout step", "rollout step", "rollout promote"])
        // nginx is tested and reloaded at every weight change, never restarted.
        #expect(rig.runtime.calls.filter { $0 == "exec nginx nginx -s reload" }.count >= 4)
        #expect(!rig.runtime.calls.contains("recreate nginx"))
        #expect(!(try rig.dir.read("nginx.conf")).contains("split_clients"))
    }

    /// `rollout start` asks the infrastructure policy first: a deny or inconclusive answer starts nothing and is
    /// recorded; `--override` proceeds and is audited (who, why) before the intent that names it.
    @Test(arguments: [Verdict.deny, .inconclusive])
    func theInfrastructurePolicyGatesTheStart(_ verdict: Verdict) async throws {
        var rig = try await Rig()
        defer { rig.remove() }
        rig.gate = FakePolicyGate(["infrastructure": (verdict, ["free disk 1 GB is below 2 GB"])])
        let error = await #expect(throws: LifecycleError.self) { try await rig.start() }
        #expect(error?.errorDescription?.contains("free disk 1 GB is below 2 GB") == true)
        #expect(!rig.runtime.calls.contains("recreate app-canary"))
        await #expect(try rig.runtime.containers().map(\.service).sorted() == ["app", "nginx"])
        #expect(
            try rig.history().compactMap { $0["event"]?.stringValue } == ["rollout"], "only the refusal is recorded")
        #expect(try rig.history().first?["outcome"]?.stringValue == "refused")

        let report = try await rig.start(override: OverrideRequest(reason: "disk is being cleaned", who: "bob"))
        #expect(report.outcome == .promoted, "\(report.message)")
        let lines = try rig.history()
        let override = try #require(lines.firstIndex { $0["event"]?.stringValue == "override" })
        let intent = try #require(lines.firstIndex { $0["event"]?.stringValue == "intent" })
        #expect(override < intent)
        #expect(lines[override]["message"]?.stringValue?.contains("disk is being cleaned") == true)
        #expect(lines[intent]["override"]?["reason"]?.stringValue == "disk is being cleaned")
    }

    /// A deny rolls back at once: weight 0, the candidate removed, and the stable container neither recreated nor
    /// restarted (same id), the rollback written ahead.
    @Test func aDeniedStepRollsBackWithoutTouchingStable() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        rig.sides.canaryTraffic = (ok: 10, failed: 10)
        let stableBefore = try #require(rig.runtime.app)
        let report = try await rig.start()
        #expect(report.outcome == .rolledBack)
        #expect(report.exitStatus == .failed)
        #expect(report.decision?.verdict == .deny)
        #expect(rig.runtime.app?.id == stableBefore.id)
        #expect(!rig.runtime.calls.contains("recreate app"))
        #expect(rig.runtime.calls.contains("remove app-canary"))
        await #expect(try rig.runtime.containers().map(\.service).sorted() == ["app", "nginx"])
        let status = try await rig.status()
        #expect(status.state == .aborted)
        #expect(status.weight == 0)
        #expect(!(try rig.dir.read("nginx.conf")).contains("split_clients"))
        #expect(try ManifestLoader().load(from: rig.url).services.version == "0.1.0")
        Self.expectWriteAhead(try rig.history())
    }

    /// Limits are a contract: a misspelt or missing canary key makes the step inconclusive naming it, so the rollout
    /// pauses (exit 2) with the candidate left as it was: never promoted, never judged on an undefined limit.
    @Test(arguments: ["misspelt", "missing", "mistyped"])
    func aBrokenCanaryThresholdPausesTheRollout(_ kind: String) async throws {
        let rig = try await Rig(thresholds: { canary in
            switch kind {
            case "misspelt":
                canary["max_p_valeu"] = canary["max_p_value"]
                canary["max_p_value"] = nil
            case "missing": canary["max_error_rate_increase"] = nil
            default: canary["max_p99_ratio"] = .string("1.5")
            }
        })
        defer { rig.remove() }
        let report = try await rig.start()
        #expect(report.outcome == .paused, "\(report.message)")
        #expect(report.exitStatus == .inconclusive)
        #expect(report.decision?.verdict == .inconclusive)
        let key = [
            "misspelt": "canary.max_p_value", "missing": "canary.max_error_rate_increase",
            "mistyped": "canary.max_p99_ratio",
        ][kind]!
        #expect(report.decision?.reasons.contains { $0.contains(key) } == true, "\(report.decision?.reasons ?? [])")
        if kind == "misspelt" {
            #expect(
                report.decision?.reasons.contains { $0.contains("did you mean 'canary.max_p_value'") } == true,
                "\(report.decision?.reasons ?? [])")
        }
        let status = try await rig.status()
        #expect(status.state == .paused)
        #expect(status.step == 0 && status.weight == 50)
        #expect(!rig.runtime.calls.contains("recreate app"))
        #expect(try ManifestLoader().load(from: rig.url).services.version == "0.1.0")
        Self.expectWriteAhead(try rig.history())
    }

    /// With `on_inconclusive: abort` an inconclusive step rolls back (exit 2), stable untouched, never promoted.
    @Test func anInconclusiveStepAbortsWhenAskedTo() async throws {
        let rig = try await Rig(onInconclusive: "abort", thresholds: { $0["max_p99_ratio"] = nil })
        defer { rig.remove() }
        let stableBefore = try #require(rig.runtime.app)
        let report = try await rig.start()
        #expect(report.outcome == .aborted, "\(report.message)")
        #expect(report.exitStatus == .inconclusive)
        #expect(rig.runtime.app?.id == stableBefore.id)
        await #expect(try rig.runtime.containers().map(\.service).sorted() == ["app", "nginx"])
        await #expect(try rig.status().state == .aborted)
        #expect(try ManifestLoader().load(from: rig.url).services.version == "0.1.0")
        Self.expectWriteAhead(try rig.history())
    }

    /// NaN or infinite evidence is never judged: the step is inconclusive and pauses, whatever the rules would say.
    @Test(arguments: [
        ("NaN latency sum", "http_request_duration_seconds_sum{method=\"GET\",path=\"/\"}", "NaN"),
        ("NaN request counter", "http_requests_total{method=\"GET\",path=\"/\",status_code=\"200\"}", "NaN"),
        ("+Inf request counter", "http_requests_total{method=\"GET\",path=\"/\",status_code=\"200\"}", "+Inf"),
        ("NaN bucket", "http_request_duration_seconds_bucket{method=\"GET\",path=\"/\",le=\"+Inf\"}", "NaN"),
    ])
    func nonFiniteEvidenceIsInconclusiveNeverAllow(_ name: String, _ series: String, _ value: String) async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        rig.sides.canaryText = { text in
            text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.hasPrefix(series + " ") ? series + " " + value : String(line)
            }.joined(separator: "\n")
        }
        let report = try await rig.start()
        #expect(report.outcome == .paused, "\(name): \(report.message)")
        #expect(report.decision?.verdict == .inconclusive, "\(name)")
        #expect(
            report.decision?.reasons.contains { $0.contains(value) } == true,
            "\(name): \(report.decision?.reasons ?? [])")
        #expect(try ManifestLoader().load(from: rig.url).services.version == "0.1.0")
    }

    @Test func theComparisonNamesANonFiniteSeries() {
        let figures = WindowFigures(
            requests: 10, errors: 0, errorRate: 0, requestRate: 1, p50Ms: 1, p95Ms: 1, p99Ms: 1,
            observations: 10, windowSeconds: 10, source: "test")
        let evidence = StepEvidence(
            canary: figures, baseline: figures, canaryLatencyMs: [1, .nan], baselineLatencyMs: [1, 1],
            canaryErrorRates: [0, 0], baselineErrorRates: [0, .infinity], samples: 2)
        #expect(evidence.nonFinite.count == 2)
        #expect(evidence.nonFinite.contains { $0.contains("candidate's per-sample latency") && $0.contains("NaN") })
        #expect(evidence.comparison["latency"] == .null)
    }

    /// A Swarm project is split through `docker exec` into the stack's nginx task on this node: a runtime that is not
    /// Swarm's (here the in-memory one) cannot do it, and is refused before any gate is asked or any record written.
    @Test func aSwarmProjectOnAnotherRuntimeIsRefusedBeforeAnythingIsAskedOrRecorded() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let callsBefore = rig.runtime.calls
        let error = await #expect(throws: RolloutError.self) { try await rig.start() }
        #expect(
            error == .swarmSplitUnavailable(project: "ro-test", detail: "the container runtime in use is not Swarm's"))
        #expect(error?.exitStatus == .operationFailed)
        #expect(
            rig.runtime.calls.filter { !$0.hasPrefix("preflight") } == callsBefore.filter { !$0.hasPrefix("preflight") }
        )
        #expect(!FileManager.default.fileExists(atPath: rig.dir.url.appendingPathComponent("history.jsonl").path))
    }

    /// On Swarm, when the stack's nginx task does not run on this node (docker exec cannot reach it), `rollout start`
    /// is refused naming what to do, before any gate is asked, any record written or anything deployed.
    @Test func aSwarmProjectWhoseNginxRunsElsewhereIsRefusedBeforeAnythingIsAskedOrRecorded() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let runner = ScriptedRunner([
            (["docker", "info", "--format", "{{.ServerVersion}}"], ScriptedRunner.ok("28.2.2\n")),
            (
                ["docker", "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"],
                ScriptedRunner.ok("active true\n")
            ),
            (["docker", "ps"], ScriptedRunner.ok("")),
        ])
        var context = try rig.context()
        context.runtime = SwarmRuntime(
            project: "ro-test", stackFile: rig.dir.url.appendingPathComponent("docker-stack.yml"), runner: runner,
            environment: [:])
        let gate = rig.gate
        let error = await #expect(throws: RolloutError.self) {
            try await RolloutWorkflow(context: context, healthTimeout: 5, drainSeconds: 0)
                .start(
                    image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: nil, interval: nil, override: nil,
                    progress: { _ in })
        }
        guard case .swarmSplitUnavailable(let project, let detail, _)? = error else {
            Issue.record("expected swarmSplitUnavailable, got \(String(describing: error))")
            return
        }
        #expect(project == "ro-test")
        #expect(detail.contains("no task of ro-test_nginx runs on this node"), "\(detail)")
        #expect(
            error?.errorDescription?.contains("docker service ps ro-test_nginx") == true,
            "\(error?.errorDescription ?? "")")
        #expect(error?.errorDescription?.contains("nothing was started or recorded") == true)
        #expect(gate.requests.isEmpty, "no policy was asked")
        // Nothing but the checks ran: no stack deploy, no service update, no exec.
        #expect(
            runner.commands.allSatisfy { $0.starts(with: ["docker", "info"]) || $0.starts(with: ["docker", "ps"]) },
            "\(runner.commands)")
        #expect(!FileManager.default.fileExists(atPath: rig.dir.url.appendingPathComponent("history.jsonl").path))
    }

    /// The Swarm refusal comes before the project lock is taken: a previous command killed after its intent would
    /// otherwise be closed (an `interrupted` record written) by a `rollout start` that then says "nothing was
    /// recorded".
    @Test func aSwarmRefusalRecordsNothingEvenWithAnInterruptedCommandPending() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let crashed = try await rig.context().beginAction("rollout start")
        _ = try await crashed.intend(action: "rollout start", message: "about to start the candidate")
        crashed.grant.abandon()
        let historyBefore = try rig.dir.read("history.jsonl")
        let runner = ScriptedRunner([
            (["docker", "info", "--format", "{{.ServerVersion}}"], ScriptedRunner.ok("28.2.2\n")),
            (
                ["docker", "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"],
                ScriptedRunner.ok("active true\n")
            ),
            (["docker", "ps"], ScriptedRunner.ok("")),
        ])
        var context = try rig.context()
        context.runtime = SwarmRuntime(
            project: "ro-test", stackFile: rig.dir.url.appendingPathComponent("docker-stack.yml"), runner: runner,
            environment: [:])
        let error = await #expect(throws: RolloutError.self) {
            try await RolloutWorkflow(context: context, healthTimeout: 5, drainSeconds: 0)
                .start(
                    image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: nil, interval: nil, override: nil,
                    progress: { _ in })
        }
        guard case .swarmSplitUnavailable? = error else {
            Issue.record("expected swarmSplitUnavailable, got \(String(describing: error))")
            return
        }
        #expect(
            try rig.dir.read("history.jsonl") == historyBefore,
            "nothing was recorded (the interrupted command is left for the next one)")
        #expect(rig.gate.requests.isEmpty)
    }

    /// A Swarm split whose `docker exec` runs a scripted nginx container `abc123def4567890`.
    func swarmSplit(_ rig: Rig, _ answers: [([String], Result<CommandResult, RuntimeError>)]) throws -> (
        RolloutWorkflow, SwarmRuntime, ScriptedRunner
    ) {
        let runner = ScriptedRunner(
            answers + [
                (["docker", "ps"], ScriptedRunner.ok("abc123def4567890\n")),
                (["docker", "exec"], ScriptedRunner.ok("")), (["docker", "service", "update"], ScriptedRunner.ok("")),
            ])
        var context = try rig.context()
        let swarm = SwarmRuntime(
            project: "ro-test", stackFile: rig.dir.url.appendingPathComponent("docker-stack.yml"), runner: runner,
            environment: [:])
        context.runtime = swarm
        return (RolloutWorkflow(context: context, healthTimeout: 5, drainSeconds: 0), swarm, runner)
    }

    func swarmLive(_ rig: Rig, weight: Int) throws -> String {
        let manifest = try ManifestLoader().load(from: rig.url)
        return try #require(
            try ConfigRenderer().render(
                manifest,
                canary: CanaryRender(image: "swiftdeploy/api:0.2.0", version: "0.2.0", weight: weight, sticky: true)
            ).nginxLive)
    }

    static let weightLabelFormat = [
        "docker", "service", "inspect", "--format", "{{index .Spec.Labels \"\(CanaryContext.swarmWeightLabel)\"}}",
    ]
    static let adminRequest = [
        "docker", "exec", "abc123def4567890", "bash", "-c", SwarmAdminTransport.script, "swiftdeploy-admin",
        RolloutWorkflow.loadedWeightPath,
    ]

    static func admin(_ body: String, status: String = "200 OK") -> Result<CommandResult, RuntimeError> {
        ScriptedRunner.ok("HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\n\r\n\(body)")
    }

    /// Issue 13 (the read-back checked the file): `nginx -s reload` exits 0 while the master rejects the new config and
    /// keeps running the previous one. What the master loaded is asked on the admin listener after the reload: a
    /// different weight is an error naming the container and the weights expected and loaded, and the previous config
    /// and label are put back and nginx reloaded on them.
    @Test func aReloadTheMasterRejectsIsDetectedAndThePreviousSplitPutBack() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let previous = try swarmLive(rig, weight: 35)
        let (split, swarm, runner) = try swarmSplit(
            rig,
            [
                (["docker", "exec", "abc123def4567890", "cat"], ScriptedRunner.ok(previous)),
                (Self.adminRequest, Self.admin("35")),  // the master still runs the previous config
                (Self.weightLabelFormat, ScriptedRunner.ok("20\n")),
            ])
        var workflow = split
        workflow.splitReadBackSeconds = 0.5
        let error = await #expect(throws: RolloutError.self) {
            try await workflow.setSwarmSplit(
                try swarmLive(rig, weight: 20), weight: 20, label: "step 1", runtime: swarm)
        }
        guard
            case .swarmSplitPutBack(let cause, let restored, let failed, let runs, let container, let service)? = error
        else {
            Issue.record("expected swarmSplitPutBack, got \(String(describing: error))")
            return
        }
        #expect(container == "abc123def456" && service == "ro-test_nginx")
        #expect(
            cause
                == RolloutError.swarmLoadedWeightMismatch(
                    container: "abc123def456", service: "ro-test_nginx", expected: 20, label: "20",
                    loaded: "the split of 35%"
                ).errorDescription)
        // Review 2, finding 9: what was put back is said, each step by name, and what nginx runs after it is asked
        // again
        // (here the master runs 35% while the label still reads 20: said, not assumed).
        #expect(
            restored == ["the previous config (35%)", "the weight label 35", "a reload on them"] && failed.isEmpty,
            "\(restored) \(failed)")
        #expect(runs == "the split of 35%, its label '20'", "\(runs)")
        let message = error?.errorDescription ?? ""
        #expect(
            message.contains("abc123def456") && message.contains("expected 20%")
                && message.contains("nginx runs the split of 35%"), "\(message)")
        #expect(!message.contains("were put back and"), "\(message)")
        let commands = runner.commands
        let reload = try #require(
            commands.firstIndex { $0.starts(with: ["docker", "exec", "abc123def4567890", "nginx", "-s", "reload"]) })
        let asked = try #require(commands.firstIndex { $0.starts(with: Self.adminRequest) })
        #expect(reload < asked, "what nginx loaded is asked after the reload")
        let labels = commands.filter { $0.starts(with: ["docker", "service", "update"]) }.compactMap {
            $0.first { $0.hasPrefix(CanaryContext.swarmWeightLabel) }
        }
        #expect(
            labels == ["\(CanaryContext.swarmWeightLabel)=20", "\(CanaryContext.swarmWeightLabel)=35"],
            "the label is put back: \(labels)")
        let writes = commands.filter {
            $0.starts(with: [
                "docker", "exec", "abc123def4567890", "bash", "-c", #"umask 022 && printf '%s' "$1" > "$2""#,
            ])
        }
        #expect(writes.count == 2 && writes.last?.contains(previous) == true, "the previous config is written back")
        let written = try #require(
            commands.lastIndex {
                $0.starts(with: [
                    "docker", "exec", "abc123def4567890", "bash", "-c", #"umask 022 && printf '%s' "$1" > "$2""#,
                ])
            })
        let reloaded = try #require(
            commands.lastIndex { $0.starts(with: ["docker", "exec", "abc123def4567890", "nginx", "-s", "reload"]) })
        #expect(written < reloaded, "nginx reloaded on it")
        #expect(
            commands[reloaded...].contains { $0.starts(with: Self.adminRequest) },
            "what nginx runs is asked after the put-back")
    }

    /// The read-back passes when nginx answers the weight set and the label holds it; a label that does not is an
    /// error too.
    @Test(arguments: [("20", true), ("35", false)])
    func theLoadedWeightIsComparedWithTheLabel(_ labelValue: String, _ passes: Bool) async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let (split, swarm, runner) = try swarmSplit(
            rig,
            [
                (["docker", "exec", "abc123def4567890", "cat"], ScriptedRunner.ok(try swarmLive(rig, weight: 0))),
                (Self.adminRequest, Self.admin("20")),
                (Self.weightLabelFormat, ScriptedRunner.ok(labelValue + "\n")),
            ])
        var workflow = split
        workflow.splitReadBackSeconds = 0.5
        if passes {
            try await workflow.setSwarmSplit(
                try swarmLive(rig, weight: 20), weight: 20, label: "step 1", runtime: swarm)
            #expect(runner.commands.contains { $0.starts(with: Self.adminRequest) })
        } else {
            let error = await #expect(throws: RolloutError.self) {
                try await workflow.setSwarmSplit(
                    try swarmLive(rig, weight: 20), weight: 20, label: "step 1", runtime: swarm)
            }
            guard case .swarmSplitPutBack(let cause, _, _, _, _, _)? = error else {
                Issue.record("expected swarmSplitPutBack, got \(String(describing: error))")
                return
            }
            #expect(
                cause
                    == RolloutError.swarmLoadedWeightMismatch(
                        container: "abc123def456", service: "ro-test_nginx", expected: 20, label: "35",
                        loaded: "the split of 20%"
                    ).errorDescription)
        }
    }

    /// The admin location answering the loaded weight is rendered into the config itself: the live form at each weight
    /// answers that weight, the Swarm config reads it from the label like the split.
    @Test func theLoadedWeightIsRenderedIntoTheConfig() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        for weight in [0, 20, 100] {
            let live = try swarmLive(rig, weight: weight)
            #expect(
                live.contains(
                    """
                    location = \(RolloutWorkflow.loadedWeightPath) {\n            default_type \
                    text/plain;\n            return 200 \"\(weight)\";
                    """
                ), "\(weight)")
        }
        let manifest = try ManifestLoader().load(from: rig.url)
        #expect(
            try ConfigRenderer().render(manifest).nginxConf.contains(
                "return 200 \"\(CanaryContext.swarmWeightAction)\";"))
    }

    /// A `docker exec` that fails (the write, the move, the reload) is Docker's failure, named with its command and
    /// container, not nginx refusing the templates.
    @Test(arguments: [["bash"], ["mv"], ["nginx", "-s"]])
    func aFailedExecIsNotBlamedOnTheTemplates(_ command: [String]) async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        var (workflow, swarm, _) = try swarmSplit(
            rig,
            [
                (
                    ["docker", "exec", "abc123def4567890"] + command,
                    ScriptedRunner.ok(
                        stderr: "Error response from daemon: container abc123def4567890 is not running", status: 1)
                )
            ])
        workflow.splitReadBackSeconds = 0.3
        let error = await #expect(throws: RolloutError.self) {
            try await workflow.setSwarmSplit(
                try swarmLive(rig, weight: 20), weight: 20, label: "step 1", runtime: swarm)
        }
        let message = error?.errorDescription ?? ""
        if case .nginxRejected? = error { Issue.record("reported as nginx refusing the configuration: \(message)") }
        #expect(!message.contains("check the templates"), "\(message)")
        #expect(
            message.contains("abc123def456") && message.contains(command[0]) && message.contains("is not running"),
            "\(message)")
    }

    /// A weight change failing after the new config was moved over nginx's running copy (the reload fails): the
    /// previous config and label are put back and nginx reloaded before the error is reported.
    @Test func aSwarmSplitFailingAfterTheMovePutsThePreviousConfigAndLabelBack() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let previous = try swarmLive(rig, weight: 35)
        var (workflow, swarm, runner) = try swarmSplit(
            rig,
            [
                (["docker", "exec", "abc123def4567890", "cat"], ScriptedRunner.ok(previous)),
                (
                    ["docker", "exec", "abc123def4567890", "nginx", "-s"],
                    ScriptedRunner.ok(stderr: "nginx: [error] invalid PID number", status: 1)
                ),
            ])
        workflow.splitReadBackSeconds = 0.3
        await #expect(throws: RolloutError.self) {
            try await workflow.setSwarmSplit(
                try swarmLive(rig, weight: 50), weight: 50, label: "step 2", runtime: swarm)
        }
        let labels = runner.commands.filter { $0.starts(with: ["docker", "service", "update"]) }.compactMap {
            $0.first { $0.hasPrefix(CanaryContext.swarmWeightLabel) }
        }
        #expect(
            labels == ["\(CanaryContext.swarmWeightLabel)=50", "\(CanaryContext.swarmWeightLabel)=35"], "\(labels)")
        let write = ["docker", "exec", "abc123def4567890", "bash", "-c", #"umask 022 && printf '%s' "$1" > "$2""#]
        let writes = runner.commands.filter { $0.starts(with: write) }
        #expect(writes.count == 2 && writes.last?.contains(previous) == true, "the previous config is written back")
        let written = try #require(runner.commands.lastIndex { $0.starts(with: write) })
        #expect(
            runner.commands[written...].contains {
                $0.starts(with: ["docker", "exec", "abc123def4567890", "nginx", "-s", "reload"])
            },
            "nginx is reloaded on it: \(runner.commands)")
    }

    /// docker-stack.yml takes the new weight only once the live change succeeded: after `nginx -t` refused it, the file
    /// still holds what runs.
    @Test func theStackFileKeepsTheRunningWeightWhenALiveChangeFails() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let manifest = try ManifestLoader().load(from: rig.url)
        let canary = CanaryRender(image: "swiftdeploy/api:0.2.0", version: "0.2.0", weight: 20, sticky: true)
        let rendered = try ConfigRenderer().render(manifest, canary: canary)
        try ConfigGenerator(
            manifest: manifest,
            canary: CanaryRender(image: "swiftdeploy/api:0.2.0", version: "0.2.0", weight: 10, sticky: true)
        ).write()
        let before = try rig.dir.read("docker-stack.yml")
        let wanted = StackContext.nginxConfigName(project: manifest.project, nginxConf: rendered.nginxConf)
        let (workflow, swarm, runner) = try swarmSplit(
            rig,
            [
                (["docker", "service", "inspect", "--format"], ScriptedRunner.ok(wanted + " \n")),
                (
                    ["docker", "service", "inspect"],
                    ScriptedRunner.ok(
                        #"[{"Spec":{"TaskTemplate":{"ContainerSpec":{"Image":"swiftdeploy/api:0.2.0"}}}}]"#)
                ),
                (
                    ["docker", "exec", "abc123def4567890", "nginx", "-t"],
                    ScriptedRunner.ok(stderr: "nginx: [emerg] no space left", status: 1)
                ),
            ])
        await #expect(throws: RolloutError.self) {
            try await workflow.applySwarm(canary, manifest: manifest, label: "step 1", runtime: swarm)
        }
        #expect(
            !runner.commands.contains { $0.starts(with: ["docker", "stack", "deploy"]) },
            "a live change: \(runner.commands)")
        #expect(try rig.dir.read("docker-stack.yml") == before, "the stack file still holds the running weight")
    }

    /// `nginx -t` refusing the new config is still nginx's refusal (the templates).
    @Test func nginxRefusingTheLiveConfigOnSwarmBlamesTheConfig() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let (workflow, swarm, _) = try swarmSplit(
            rig,
            [
                (
                    ["docker", "exec", "abc123def4567890", "nginx", "-t"],
                    ScriptedRunner.ok(stderr: "nginx: [emerg] unknown directive \"x\"", status: 1)
                )
            ])
        let error = await #expect(throws: RolloutError.self) {
            try await workflow.setSwarmSplit(
                try swarmLive(rig, weight: 20), weight: 20, label: "step 1", runtime: swarm)
        }
        guard case .nginxRejected? = error else {
            Issue.record("expected nginxRejected, got \(String(describing: error))")
            return
        }
    }

    /// Issue 13 (an edited manifest reached stable at the rollout's first deploy): `rollout start` on Swarm refuses a
    /// manifest that does not render to the stack that runs (the app service's digest label), before any gate is asked,
    /// any record written or anything deployed.
    @Test(arguments: ["0123456789abcdef", ""])
    func onSwarmAnUndeployedManifestIsRefusedBeforeAnythingIsAskedOrRecorded(_ running: String) async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let runner = ScriptedRunner([
            (["docker", "info", "--format", "{{.ServerVersion}}"], ScriptedRunner.ok("28.2.2\n")),
            (["docker", "info"], ScriptedRunner.ok("active true\n")),
            (["docker", "ps"], ScriptedRunner.ok("abc123def4567890\n")),
            (["docker", "exec"], ScriptedRunner.ok("")),
            (
                [
                    "docker", "service", "inspect", "--format",
                    "{{index .Spec.Labels \"\(StackContext.manifestDigestLabel)\"}}",
                ], ScriptedRunner.ok(running + "\n")
            ),
        ])
        var context = try rig.context()
        context.runtime = SwarmRuntime(
            project: "ro-test", stackFile: rig.dir.url.appendingPathComponent("docker-stack.yml"), runner: runner,
            environment: [:])
        let error = await #expect(throws: RolloutError.self) {
            try await RolloutWorkflow(context: context, healthTimeout: 5, drainSeconds: 0)
                .start(
                    image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: nil, interval: nil, override: nil,
                    progress: { _ in })
        }
        guard case .swarmManifestNotDeployed(let manifest, let service, let seen, let rendered)? = error else {
            Issue.record("expected swarmManifestNotDeployed, got \(String(describing: error))")
            return
        }
        let wanted = try ConfigRenderer().render(try ManifestLoader().load(from: rig.url)).stackDigest
        #expect(manifest == "manifest.yaml" && service == "ro-test_app" && seen == running && rendered == wanted)
        #expect(
            error?.errorDescription?.contains("swiftdeploy deploy") == true
                && error?.errorDescription?.contains("nothing was started or recorded") == true)
        #expect(rig.gate.requests.isEmpty)
        #expect(
            !runner.commands.contains {
                $0.starts(with: ["docker", "stack"]) || $0.starts(with: ["docker", "service", "update"])
            }, "\(runner.commands)")
        #expect(!FileManager.default.fileExists(atPath: rig.dir.url.appendingPathComponent("history.jsonl").path))
    }

    /// A rollout's stack deploy pins stable to the image its service runs (read from its Swarm spec, digest included)
    /// and passes `--resolve-image never`: a `services.image` changed in the manifest, or its tag moved in a registry,
    /// does not reach stable.
    @Test func onSwarmARolloutsStackDeployPinsStableAndResolvesNoImage() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let running = "swiftdeploy/api:0.1.0@sha256:" + String(repeating: "c", count: 64)
        let (workflow, swarm, runner) = try swarmSplit(
            rig,
            [
                (
                    ["docker", "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}"],
                    ScriptedRunner.ok(running + "\n")
                ),
                (Self.adminRequest, Self.admin("0")),  // after the stack deploy nginx runs 0%, as it should
                (Self.weightLabelFormat, ScriptedRunner.ok("0\n")),
                (["docker", "service", "inspect", "--format"], ScriptedRunner.ok("ro-test_nginx_000000000000 \n")),
                (["docker", "service", "ls"], ScriptedRunner.ok("")),
                (["docker", "stack", "deploy"], ScriptedRunner.ok("")),
                (["docker", "config", "ls"], ScriptedRunner.ok("")),
            ])
        var manifest = try ManifestLoader().load(from: rig.url)
        manifest.services.image = "swiftdeploy/api:0.1.9"  // edited, not deployed
        try await workflow.applySwarm(
            CanaryRender(image: "swiftdeploy/api:0.2.0", version: "0.2.0", weight: 0, sticky: true), manifest: manifest,
            label: "the candidate at 0%", runtime: swarm)
        let deploy = try #require(
            runner.commands.first { $0.starts(with: ["docker", "stack", "deploy"]) }, "\(runner.commands)")
        #expect(
            deploy.contains("--resolve-image") && deploy[deploy.firstIndex(of: "--resolve-image")! + 1] == "never",
            "\(deploy)")
        let stackFile = try #require(try Yams.load(yaml: try rig.dir.read("docker-stack.yml")) as? [String: Any])
        let services = try #require(stackFile["services"] as? [String: [String: Any]])
        #expect(services["app"]?["image"] as? String == running)
        #expect(services["app-canary"]?["image"] as? String == "swiftdeploy/api:0.2.0")
        // After the stack deploy, what nginx loaded is asked (finding 3 of review 2): it runs 0%, so nothing is
        // rewritten.
        #expect(runner.commands.contains { $0.starts(with: Self.adminRequest) }, "\(runner.commands)")
        #expect(
            !runner.commands.contains {
                $0.starts(with: ["docker", "exec", "abc123def4567890", "nginx", "-s", "reload"])
            })
    }

    /// `rollout status` on Swarm: nginx's weight label beside the history's weight (a difference is a note naming what
    /// to do, a label that cannot be read is said, not hidden) and each side's replicas, a non-running one named.
    @Test func statusShowsTheLabelsWeightAndEachSidesReplicas() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        try await Self.paused(rig)
        let manifest = try ManifestLoader().load(from: rig.url)
        let reader = RolloutStateReader(manifest: manifest, lock: rig.lock)
        let containers = [
            ContainerStatus(
                id: "t1", name: "app.1", service: "app", state: "running", image: "swiftdeploy/api:0.1.0",
                environment: ["APP_VERSION": "0.1.0"], node: "vm (abc)"),
            ContainerStatus(
                id: "t2", name: "app.2", service: "app", state: "running", image: "swiftdeploy/api:0.1.0",
                environment: ["APP_VERSION": "0.1.0"], node: "vm (abc)"),
            ContainerStatus(
                id: "t3", name: "app-canary.1", service: "app-canary", state: "running", image: "swiftdeploy/api:0.2.0",
                environment: ["APP_VERSION": "0.2.0"], node: "vm (abc)"),
            ContainerStatus(
                id: "t4", name: "app-canary.2", service: "app-canary", state: "starting",
                image: "swiftdeploy/api:0.2.0", environment: ["APP_VERSION": "0.2.0"], node: "w2 (def)"),
        ]
        let agreeing = try reader.status(containers: containers, nginxWeightLabel: .success("50"))
        #expect(agreeing.weight == 50 && agreeing.nginxWeightLabel == "50")
        #expect(!agreeing.notes.contains { $0.contains("weight label") }, "\(agreeing.notes)")
        #expect(agreeing.stable?.replicas == 2 && agreeing.stable?.running == 2 && agreeing.stable?.notRunning == [])
        #expect(
            agreeing.canary?.replicas == 2 && agreeing.canary?.running == 1
                && agreeing.canary?.notRunning == ["app-canary.2 starting on w2 (def)"])
        #expect(
            agreeing.json["canary"]?["replicas_running"] == .int(1)
                && agreeing.json["nginx_weight_label"] == .string("50"))
        let differing = try reader.status(containers: containers, nginxWeightLabel: .success("10"))
        #expect(
            differing.notes.contains { $0.contains("nginx's weight label says '10' where the history says 50%") },
            "\(differing.notes)")
        let unreadable = try reader.status(
            containers: containers,
            nginxWeightLabel: .failure(
                RuntimeError.commandFailed(command: "docker service inspect", status: 1, output: "Cannot connect")))
        #expect(
            unreadable.nginxWeightLabel == nil
                && unreadable.notes.contains { $0.contains("could not be read") && $0.contains("Cannot connect") },
            "\(unreadable.notes)")
    }

    /// A rollout paused at its first step, then the project moved to a scripted Swarm whose nginx task runs on another
    /// node (`docker ps` on this one lists no nginx container).
    func pausedOnSwarm(_ rig: Rig, _ extra: [([String], Result<CommandResult, RuntimeError>)] = []) async throws -> (
        RolloutWorkflow, ScriptedRunner
    ) {
        try await Self.paused(rig)
        try rig.dir.write(try rig.dir.read("manifest.yaml") + "\nruntime: swarm\n", to: "manifest.yaml")
        let runner = ScriptedRunner(
            extra + [
                (["docker", "info", "--format", "{{.ServerVersion}}"], ScriptedRunner.ok("28.2.2\n")),
                (["docker", "info"], ScriptedRunner.ok("active true\n")),
                (["docker", "ps"], ScriptedRunner.ok("")),
                (["docker", "stack", "ps"], ScriptedRunner.ok("")),
            ])
        var context = try rig.context()
        context.runtime = SwarmRuntime(
            project: "ro-test", stackFile: rig.dir.url.appendingPathComponent("docker-stack.yml"), runner: runner,
            environment: [:])
        return (RolloutWorkflow(context: context, healthTimeout: 5, drainSeconds: 0), runner)
    }

    static func changedNothing(_ runner: ScriptedRunner) -> Bool {
        !runner.commands.contains {
            $0.starts(with: ["docker", "exec"]) || $0.starts(with: ["docker", "service", "update"])
                || $0.starts(with: ["docker", "stack", "deploy"])
        }
    }

    /// Issue 13 (nginx moved mid-rollout): `resume`, `pause` and `promote` on a node where nginx's task does not run
    /// are
    /// refused as `start` is, before the lock or any record, naming the command and `docker service ps`; none of them
    /// starts a rollback. (`abort` is not refused: it takes the label path, see below.)
    @Test(arguments: ["resume", "pause", "promote"])
    func onSwarmResumeAndControlAreRefusedWhereNginxDoesNotRun(_ action: String) async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        let (workflow, runner) = try await pausedOnSwarm(rig)
        let before = try rig.dir.read("history.jsonl")
        let error = await #expect(throws: RolloutError.self) {
            if action == "resume" {
                _ = try await workflow.resume(progress: { _ in })
            } else {
                _ = try await workflow.control(action, override: OverrideRequest(reason: "test"), progress: { _ in })
            }
        }
        guard case .swarmSplitUnavailable(let project, _, let named)? = error else {
            Issue.record("expected swarmSplitUnavailable, got \(String(describing: error))")
            return
        }
        #expect(project == "ro-test" && named == "rollout \(action)")
        #expect(
            error?.errorDescription?.contains("docker service ps ro-test_nginx") == true,
            "\(error?.errorDescription ?? "")")
        #expect(
            error?.errorDescription?.contains("swiftdeploy rollout \(action)") == true,
            "\(error?.errorDescription ?? "")")
        #expect(try rig.dir.read("history.jsonl") == before, "nothing recorded")
        #expect(Self.changedNothing(runner), "\(runner.commands)")
    }

    /// Finishing when nginx's task moved away since the rollout started: refused before the intent, recorded as a
    /// pause (outcome `nginx-moved`) naming where to run `rollout promote`; nothing deployed or exec'd.
    @Test func onSwarmFinishingIsRefusedAndRecordedPausedWhenNginxMoved() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        let (workflow, runner) = try await pausedOnSwarm(rig)
        let plan = try await #require(try workflow.plan(of: try rig.status()))
        let session = try await workflow.context.beginAction("rollout promote")
        defer { session.release() }
        let error = await #expect(throws: RolloutError.self) {
            _ = try await workflow.finish(plan: plan, decision: nil, session: session, progress: { _ in })
        }
        guard case .swarmNginxMoved(let project, _)? = error else {
            Issue.record("expected swarmNginxMoved, got \(String(describing: error))")
            return
        }
        #expect(project == "ro-test")
        #expect(
            error?.errorDescription?.contains("docker service ps ro-test_nginx") == true
                && error?.errorDescription?.contains("rollout promote") == true)
        let last = try #require(try rig.history().last)
        #expect(
            last["details"]?["phase"]?.stringValue == "paused" && last["outcome"]?.stringValue == "nginx-moved",
            "\(last.jsonString())")
        #expect(
            !(try rig.history()).contains {
                $0["event"]?.stringValue == "intent" && $0["message"]?.stringValue?.contains("about to promote") == true
            })
        #expect(Self.changedNothing(runner), "\(runner.commands)")
    }

    /// Review 2, findings 2, 4 and 9: `rollout abort` on a manager whose nginx task runs elsewhere is not refused: the
    /// weight label is set to 0 with nginx's task replaced by Swarm (`service update --force`, so the config is
    /// rendered
    /// with it), the candidate's service removed by name, no stack deployed (stable and nginx otherwise untouched), and
    /// the rollback record says nginx was replaced.
    @Test func onSwarmAnAbortWhereNginxDoesNotRunTakesTheLabelPathAndDeploysNoStack() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        try await Self.paused(rig)
        let (workflow, runner) = try pausedOnSwarmAgain(rig) { manifest in
            try Self.swarmStack(manifest, nginxHere: false)
        }
        let report = try await workflow.control("abort", override: nil, progress: { _ in })
        #expect(report.outcome == .rolledBack)
        let commands = runner.commands
        #expect(!commands.contains { $0.starts(with: ["docker", "exec"]) }, "\(commands)")
        let update = try #require(
            commands.firstIndex { $0.starts(with: ["docker", "service", "update"]) }, "\(commands)")
        #expect(
            commands[update].contains("--force") && commands[update].contains("\(CanaryContext.swarmWeightLabel)=0")
                && commands[update].last == "ro-test_nginx", "\(commands[update])")
        let remove = try #require(
            commands.firstIndex { $0.starts(with: ["docker", "service", "rm"]) && $0.last == "ro-test_app-canary" },
            "\(commands)")
        #expect(update < remove)
        #expect(
            !commands.contains { $0.starts(with: ["docker", "stack", "deploy"]) },
            "a rollback deploys no stack: \(commands)")
        #expect(!(try rig.dir.read("docker-stack.yml")).contains("app-canary"))
        let last = try #require(try rig.history().last)
        #expect(
            last["details"]?["phase"]?.stringValue == "aborted" && last["outcome"]?.stringValue == "aborted",
            "\(last.jsonString())")
        #expect(
            last["details"]?["nginx_replaced"] == .bool(true) && last["details"]?["nginx_node"] != nil,
            "\(last.jsonString())")
        #expect(last["message"]?.stringValue?.contains("nginx's task was replaced") == true, "\(last.jsonString())")
    }

    /// As `pausedOnSwarm` for a rig already paused, with answers that depend on the swarm manifest.
    func pausedOnSwarmAgain(_ rig: Rig, _ extra: (Manifest) throws -> [([String], Result<CommandResult, RuntimeError>)])
        throws -> (RolloutWorkflow, ScriptedRunner)
    {
        try rig.dir.write(try rig.dir.read("manifest.yaml") + "\nruntime: swarm\n", to: "manifest.yaml")
        let runner = ScriptedRunner(
            try extra(try ManifestLoader().load(from: rig.url)) + [
                (["docker", "info"], ScriptedRunner.ok("active true\n")),
                (["docker", "ps"], ScriptedRunner.ok("")),
                (["docker", "stack", "ps"], ScriptedRunner.ok("")),
            ])
        var context = try rig.context()
        context.runtime = SwarmRuntime(
            project: "ro-test", stackFile: rig.dir.url.appendingPathComponent("docker-stack.yml"), runner: runner,
            environment: [:])
        return (RolloutWorkflow(context: context, healthTimeout: 5, drainSeconds: 0), runner)
    }

    /// One holder at a time: while another process holds the project lock, every acting rollout command is refused
    /// naming the holder, before anything is changed or recorded.
    @Test func aSecondHolderIsRefusedBeforeAnythingChanges() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        let other = try await rig.lock.acquire(
            LockHolder(who: "alice", host: "build-1", pid: 4242, action: "deploy", since: Date()))
        defer { other.release() }
        let callsBefore = rig.runtime.calls
        let error = await #expect(throws: LockError.self) { try await rig.start() }
        #expect(error?.errorDescription?.contains("alice") == true, "\(error?.errorDescription ?? "")")
        #expect(rig.runtime.calls == callsBefore)
        #expect(!FileManager.default.fileExists(atPath: rig.dir.url.appendingPathComponent("history.jsonl").path))
        await #expect(throws: LockError.self) { try await rig.workflow().resume(progress: { _ in }) }
    }

    /// A rollout is running only while its CLI holds the lock: the same records with the lock free are an
    /// interrupted (paused) rollout, which `resume` continues from its step and finishes.
    @Test func anInterruptedRolloutIsPausedAndResumedFromItsStep() async throws {
        let rig = try await Rig(steps: "[30, 100]")
        defer { rig.remove() }
        // Pause on a broken limit, then repair it and resume: the step is judged again, then the last one.
        let good = try rig.dir.read("thresholds.json")
        var broken = try JSONValue.parse(Data(good.utf8))
        if case .object(var all) = broken, case .object(var canary)? = all["canary"] {
            canary["max_p_value"] = nil
            all["canary"] = .object(canary)
            broken = .object(all)
        }
        try rig.dir.write(broken.jsonString(pretty: true), to: "thresholds.json")
        #expect(try await rig.start().outcome == .paused)
        await #expect(try rig.status().state == .paused)
        try rig.dir.write(good, to: "thresholds.json")
        let resumed = try await rig.workflow().resume(progress: { _ in })
        #expect(resumed.outcome == .promoted, "\(resumed.message)")
        let steps = try rig.history().filter { $0["details"]?["phase"]?.stringValue == "step" }.compactMap {
            $0["details"]?["weight"]
        }
        #expect(steps == [.int(30), .int(30), .int(100)])
        Self.expectWriteAhead(try rig.history())
    }

    /// Pauses a rollout at its first step on a missing limit, then puts the limit back.
    static func paused(_ rig: Rig) async throws {
        let good = try rig.dir.read("thresholds.json")
        try rig.dir.write(
            good.replacingOccurrences(of: "\"max_p_value\"", with: "\"max_p_valeu\""), to: "thresholds.json")
        #expect(try await rig.start().outcome == .paused)
        try rig.dir.write(good, to: "thresholds.json")
    }

    /// `rollout promote` on a paused rollout skips the remaining steps, recorded as an override (who, why) before
    /// it acts; the finish is written ahead like every other change.
    @Test func promotingAPausedRolloutIsAnAuditedOverride() async throws {
        let rig = try await Rig(steps: "[20, 50, 100]")
        defer { rig.remove() }
        try await Self.paused(rig)
        let report = try await rig.workflow().control(
            "promote", override: OverrideRequest(reason: "hotfix 42", who: "alice"), progress: { _ in })
        #expect(report.outcome == .promoted, "\(report.message)")
        #expect(try ManifestLoader().load(from: rig.url).services.version == "0.2.0")
        let lines = try rig.history()
        let override = try #require(lines.first { $0["event"]?.stringValue == "override" })
        #expect(
            override["message"]?.stringValue?.contains(
                "alice promoted the rollout of swiftdeploy/api:0.2.0 at step 1/3 (20%)") == true,
            "\(override["message"]?.stringValue ?? "")")
        #expect(override["message"]?.stringValue?.contains("hotfix 42") == true)
        #expect(
            lines.filter { $0["details"]?["phase"]?.stringValue == "step" }.count == 1,
            "the remaining steps were skipped")
        Self.expectWriteAhead(lines)
    }

    /// `rollout abort` on a paused rollout: traffic back on stable, the candidate removed, stable untouched.
    @Test func abortingAPausedRolloutLeavesStableAsItWas() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        let stableBefore = try #require(rig.runtime.app)
        let nginxBefore = try rig.dir.read("nginx.conf")
        try await Self.paused(rig)
        #expect(try rig.dir.read("nginx.conf") != nginxBefore)
        let report = try await rig.workflow().control("abort", override: nil, progress: { _ in })
        #expect(report.outcome == .rolledBack)
        #expect(rig.runtime.app?.id == stableBefore.id)
        #expect(!rig.runtime.calls.contains("recreate app"))
        await #expect(try rig.runtime.containers().map(\.service).sorted() == ["app", "nginx"])
        #expect(try rig.dir.read("nginx.conf") == nginxBefore)
        await #expect(try rig.status().state == .aborted)
        await #expect(throws: RolloutError.self) {
            try await rig.workflow().control("abort", override: nil, progress: { _ in })
        }
        Self.expectWriteAhead(try rig.history())
    }

    /// A deploy or promote during a paused rollout would re-render the files without the candidate while nginx keeps
    /// the split: both are refused, recorded, and change nothing until the rollout is resumed, promoted or aborted.
    @Test func deployAndPromoteAreRefusedWhileARolloutIsPaused() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        try await Self.paused(rig)
        let nginx = try rig.dir.read("nginx.conf")
        let calls = rig.runtime.calls.count
        let deploy = await #expect(throws: RolloutError.self) {
            try await DeployWorkflow(context: try rig.context()).run()
        }
        #expect(
            deploy?.errorDescription?.contains("is paused at step 1 (50% of clients on it)") == true,
            "\(deploy?.errorDescription ?? "")")
        #expect(deploy?.errorDescription?.contains("swiftdeploy rollout abort") == true)
        await #expect(throws: RolloutError.self) {
            try await PromoteWorkflow(context: try rig.context(), target: .canary).run()
        }
        #expect(!rig.runtime.calls.dropFirst(calls).contains { $0 == "up" || $0.hasPrefix("recreate") })
        #expect(try rig.dir.read("nginx.conf") == nginx)
        let refused = try rig.history().filter { $0["outcome"]?.stringValue == "refused" }.compactMap {
            $0["event"]?.stringValue
        }
        #expect(refused == ["deploy", "promote"])
        _ = try await rig.workflow().control("abort", override: nil, progress: { _ in })
        _ = try await DeployWorkflow(context: try rig.context()).run()
    }

    /// A teardown during a paused rollout would remove the candidate while the history still says paused (a later
    /// `rollout abort` then brought the whole stack back): it is refused, recorded, and removes nothing, naming
    /// `rollout abort`; once the rollout is aborted, teardown works.
    @Test func teardownIsRefusedWhileARolloutIsPaused() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        try await Self.paused(rig)
        let calls = rig.runtime.calls.count
        let error = await #expect(throws: RolloutError.self) {
            try await TeardownWorkflow(context: try rig.context()).run()
        }
        #expect(
            error?.errorDescription?.contains("swiftdeploy rollout abort") == true, "\(error?.errorDescription ?? "")")
        #expect(!rig.runtime.calls.dropFirst(calls).contains("down"))
        await #expect(try rig.runtime.containers().map(\.service).sorted() == ["app", "app-canary", "nginx"])
        let refused = try rig.history().filter { $0["outcome"]?.stringValue == "refused" }.compactMap {
            $0["event"]?.stringValue
        }
        #expect(refused == ["teardown"])
        _ = try await rig.workflow().control("abort", override: nil, progress: { _ in })
        _ = try await TeardownWorkflow(context: try rig.context()).run()
        await #expect(try rig.runtime.containers().isEmpty)
    }

    /// A Swarm rollback when no service of the stack exists (removed by hand, `docker stack rm`) deploys nothing: it
    /// used to `docker stack deploy` the whole stack back. The files are written without the candidate and the
    /// rollout is ended with a record saying so.
    @Test func aSwarmRollbackWithNoStackLeftDeploysNothing() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let runner = ScriptedRunner([
            (["docker", "service", "ls"], ScriptedRunner.ok("")),
            (
                ["docker", "service", "inspect"],
                ScriptedRunner.ok(stderr: "Error: no such service: ro-test_nginx", status: 1)
            ),
            (["docker", "stack", "deploy"], ScriptedRunner.ok("")),
            (["docker", "ps"], ScriptedRunner.ok("")),
        ])
        var context = try rig.context()
        context.runtime = SwarmRuntime(
            project: "ro-test", stackFile: rig.dir.url.appendingPathComponent("docker-stack.yml"), runner: runner,
            environment: [:])
        let workflow = RolloutWorkflow(context: context, healthTimeout: 5, drainSeconds: 0)
        let plan = RolloutPlan(
            image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: [50, 100],
            interval: context.manifest.rollout.interval,
            sticky: true, onInconclusive: .pause, stableImage: "swiftdeploy/api:0.1.0", stableVersion: "0.1.0")
        let session = try await context.beginAction("rollout abort")
        defer { session.release() }
        try await workflow.rollback(
            plan: plan, manifest: context.manifest, outcome: "aborted", reason: "aborted on request", session: session,
            progress: { _ in })
        #expect(!runner.commands.contains { $0.starts(with: ["docker", "stack", "deploy"]) }, "\(runner.commands)")
        let last = try #require(try rig.history().last)
        #expect(last["details"]?["phase"]?.stringValue == "aborted", "\(last)")
        #expect(
            last["message"]?.stringValue?.contains("no service of stack ro-test exists") == true,
            "\(last["message"]?.stringValue ?? "")")
        #expect(
            !(try rig.dir.read("docker-stack.yml")).contains("app-canary"),
            "the files are written without the candidate")
    }

    /// The promotion's update of the stable service rolled back by Swarm (a new replica failed its health check):
    /// manifest.yaml and the generated files go back to the stable image and version, so a later `rollout abort` does
    /// not deploy the failing image again; the record is its own (outcome `stable-update-rolled-back`), the rollout is
    /// paused with the candidate serving. The fake runtime raises Swarm's own error (a Swarm engine cannot be
    /// scripted this far without one; the error's text is SwarmRuntime's).
    @Test func aPromotionRolledBackBySwarmPutsTheManifestBackOnStable() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        rig.runtime.recreateErrors["app"] = .swarmRolledBack(
            service: "ro-test_app", state: "rollback_completed",
            message: "update rolled back due to failure or early termination of task k3j2f",
            tasks: ["ro-test_app.1 on vm: task: non-zero exit (1)"])
        let error = await #expect(throws: RolloutError.self) { try await rig.start() }
        let message = error?.errorDescription ?? ""
        #expect(
            message.contains("rolled the update of ro-test_app back") && message.contains("swiftdeploy/api:0.1.0"),
            "\(message)")
        #expect(message.contains("swiftdeploy rollout abort"), "\(message)")
        #expect(error?.exitStatus == .operationFailed)
        let manifest = try ManifestLoader().load(from: rig.url)
        #expect(manifest.services.image == "swiftdeploy/api:0.1.0" && manifest.services.version == "0.1.0")
        #expect(try rig.dir.read("manifest.yaml").contains("# the release"), "the manifest's comments are kept")
        let compose = try rig.dir.read("docker-compose.yml")
        #expect(
            compose.contains("image: \"swiftdeploy/api:0.1.0\"") || compose.contains("image: swiftdeploy/api:0.1.0"),
            "\(compose)")
        let last = try #require(try rig.history().last)
        #expect(last["details"]?["phase"]?.stringValue == "paused")
        #expect(last["outcome"]?.stringValue == "stable-update-rolled-back", "\(last)")
        #expect(last["details"]?["restored_image"]?.stringValue == "swiftdeploy/api:0.1.0")
        await #expect(try rig.status().state == .paused)
        // The abort returns traffic to stable without touching it: no update to the failing image.
        let calls = rig.runtime.calls.count
        rig.runtime.recreateErrors = [:]
        let report = try await rig.workflow().control("abort", override: nil, progress: { _ in })
        #expect(report.outcome == .rolledBack)
        #expect(!rig.runtime.calls.dropFirst(calls).contains("recreate app"))
        #expect(try ManifestLoader().load(from: rig.url).services.image == "swiftdeploy/api:0.1.0")
        #expect(!(try rig.dir.read("docker-compose.yml")).contains("0.2.0"))
    }

    @Test func theStateIsRunningOnlyWhileItsCLIHoldsTheLock() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        let manifest = try ManifestLoader().load(from: rig.url)
        let recorder = HistoryRecorder(manifest: manifest, manifestURL: rig.url)
        func write(_ phase: RolloutPhase, _ details: [String: JSONValue]) async throws {
            var all = details
            all["phase"] = .string(phase.rawValue)
            all["rollout_id"] = .string("r1")
            all["pid"] = .int(Int64(getpid()))
            try await recorder.record(
                LifecycleRecord(event: .rollout, outcome: "ok", message: phase.rawValue, details: all),
                manifest: manifest)
        }
        try await write(.start, ["image": "a/b:2", "version": "2", "steps": [50, 100], "interval_ms": 1000])
        try await write(.step, ["step": 0, "weight": 50])
        // This process is alive but holds no lock: the CLI that wrote these is not at work.
        await #expect(try rig.status().state == .paused)
        await #expect(try rig.status().interrupted)
        let grant = try await rig.lock.acquire(LockHolder.current(action: "rollout start"))
        await #expect(try rig.status().state == .running)
        grant.release()
        await #expect(try rig.status().state == .paused)
        // Held by this process for something other than a rollout: not the rollout running.
        let deploy = try await rig.lock.acquire(LockHolder.current(action: "deploy"))
        defer { deploy.release() }
        await #expect(try rig.status().state == .paused)
    }
}
