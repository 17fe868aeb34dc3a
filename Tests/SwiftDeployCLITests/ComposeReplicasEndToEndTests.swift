import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `services.replicas: 3` on Compose (issue 13) on a real Docker engine with the real nginx image, driving the built
/// `swiftdeploy` binary. Needs `SWIFTDEPLOY_DOCKER_TESTS=1`; under `CI=true` a missing engine fails instead of skipping
/// (`.requires(.docker)`).
/// On the shared engine run under the shared lock: `flock -s <docker.lock> swift test --filter
/// ComposeReplicasEndToEndTests`.
@Suite(
    "Compose replicas end to end",
    // serialized: the host's CPU and load, which every deploy's infrastructure gate reads: two deploys of this suite
    // at once on two cores starve the tests' traffic and the gate denies for load (scripts/test-groups runs one
    // deploy per process)
    .serialized, .requires(.docker))
struct ComposeReplicasEndToEndTests {
    /// The e2e project with `services.replicas: <n>`.
    static func project(replicas: Int) throws -> EndToEndTests.Project {
        let project = try EndToEndTests.Project()
        var text = try String(contentsOf: project.manifestURL, encoding: .utf8)
        text = text.replacingOccurrences(of: "  port: 3000\n", with: "  port: 3000\n  replicas: \(replicas)\n")
        try Data(text.utf8).write(to: project.manifestURL)
        return project
    }

    static func apps(_ project: EndToEndTests.Project) async throws -> [ContainerStatus] {
        try await project.containers().filter { $0.service == "app" }
    }

    static func statusJSON(_ project: EndToEndTests.Project) async throws -> JSONValue {
        let result = try await project.run(["status", "--once", "--format", "json"])
        return try JSONValue.parse(Data(result.stdout.utf8))
    }

    static func appReplicas(_ status: JSONValue) -> (running: Int64?, desired: Int64?) {
        guard case .array(let services)? = status["services"],
            let app = services.first(where: { $0["name"]?.stringValue == "app" })
        else { return (nil, nil) }
        func int(_ v: JSONValue?) -> Int64? {
            if case .int(let n)? = v { return n }
            return nil
        }
        return (int(app["replicas"]?["running"]), int(app["replicas"]?["desired"]))
    }

    /// Runs a gated command; when the infrastructure policy denies on this busy shared host (exit 1), runs it again
    /// with the audited break-glass, as EndToEndTests does.
    static func gated(_ project: EndToEndTests.Project, _ arguments: [String], traffic: Bool = false) async throws
        -> CommandResult
    {
        let run: ([String]) async throws -> CommandResult = { args in
            traffic ? try await EndToEndTests.runUnderTraffic(project, args) : try await project.run(args)
        }
        let first = try await run(arguments)
        guard first.status == 1, first.stderr.contains("infrastructure policy denied") else { return first }
        print("ComposeReplicasEndToEndTests: the infrastructure policy denied on this host; again with --override")
        return try await run(arguments + ["--override", "e2e: host busy"])
    }

    /// Sends `count` requests through nginx's public port.
    static func traffic(_ project: EndToEndTests.Project, count: Int) async {
        for _ in 0..<count { _ = await EndToEndTests.request(URL(string: "http://127.0.0.1:\(project.publicPort)/")!) }
    }

    @Test func threeReplicasDeployBalanceReportPromoteAndTearDown() async throws {
        let project = try Self.project(replicas: 3)
        defer { project.destroy() }

        let deploy = try await Self.gated(project, ["deploy", "--timeout", "180s"])
        #expect(deploy.status == 0, "\(deploy.stderr)")
        let apps = try await Self.apps(project)
        #expect(apps.count == 3 && apps.allSatisfy(\.isReady), "\(apps.map(\.summary))")
        #expect(Set(apps.compactMap(\.address)).count == 3, "each replica has its own address: \(apps.map(\.address))")
        try await EndToEndTests.expectHardened(project)

        // Traffic through nginx reaches every replica: each one's own request counter moved, and nginx's access log
        // names each one's address as an upstream.
        let manifest = try ManifestLoader().load(from: project.manifestURL)
        let source = ReplicaMetricsSource.compose(manifest: manifest)
        let before = try await source.replicaSnapshots()
        await Self.traffic(project, count: 60)
        let after = try await source.replicaSnapshots()
        #expect(after.count == 3, "three replica series: \(after.map(\.address))")
        #expect(Set(after.map(\.address)) == Set(apps.compactMap(\.address)))
        func served(_ snapshot: MetricsSnapshot) -> Double {
            snapshot.samples(named: "http_requests_total").filter { $0[label: "path"] == "/" }.reduce(0) {
                $0 + $1.value
            }
        }
        for (address, snapshot) in after {
            let earlier = before.first { $0.address == address }.map { served($0.snapshot) } ?? 0
            #expect(served(snapshot) > earlier, "the replica at \(address) served none of 60 requests")
        }
        let nginx = try await #require(project.containers().first { $0.service == "nginx" })
        let log = try await SystemCommandRunner().run(["docker", "logs", nginx.id], timeout: 30).stdout
        for address in apps.compactMap(\.address) {
            #expect(log.contains("| \(address):3000 |"), "nginx never sent a request to \(address)")
        }
        let merged = try await source.snapshot()
        #expect(Set(merged.samples(named: "http_requests_total").compactMap { $0[label: "replica"] }).count == 3)

        // status: 3/3, healthy, traffic figures from every replica.
        let status = try await Self.statusJSON(project)
        #expect(Self.appReplicas(status).running == 3 && Self.appReplicas(status).desired == 3, "\(status)")
        #expect(status["healthy"] == .bool(true))
        let text = try await project.run(["status", "--once"])
        #expect(text.stdout.contains("app 3/3 running"), "\(text.stdout)")

        // A gated promote recreates all three in the new mode, and all three are healthy afterwards.
        let promote = try await Self.gated(project, ["promote", "canary", "--timeout", "180s"], traffic: true)
        #expect(promote.status == 0, "\(promote.stderr)")
        let promoted = try await Self.apps(project)
        #expect(promoted.count == 3 && promoted.allSatisfy(\.isReady), "\(promoted.map(\.summary))")
        #expect(
            promoted.allSatisfy { $0.environment["MODE"] == "canary" },
            "\(promoted.map { $0.environment["MODE"] ?? "-" })")

        let teardown = try await project.run(["teardown"])
        #expect(teardown.status == 0, "\(teardown.stderr)")
        let left = try await project.leftovers()
        #expect(left.isEmpty, "\(left)")
    }

    @Test func aKilledReplicaShowsTwoOfThreeAndTheGateDoesNotCallItHealthy() async throws {
        let project = try Self.project(replicas: 3)
        defer { project.destroy() }
        let deploy = try await Self.gated(project, ["deploy", "--timeout", "180s"])
        try #require(deploy.status == 0, "\(deploy.stderr)")

        // With all three up, the canary gate on the replicas' evidence allows (the control for the case below).
        let allowed = try await EndToEndTests.runUnderTraffic(project, ["gate", "canary", "--window", "3s"])
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")

        let victim = try await #require(try Self.apps(project).last)
        let kill = try await SystemCommandRunner().run(["docker", "kill", victim.id], timeout: 30)
        try #require(kill.succeeded, "\(kill.stderr)")

        let status = try await Self.statusJSON(project)
        #expect(Self.appReplicas(status).running == 2 && Self.appReplicas(status).desired == 3, "\(status)")
        #expect(status["healthy"] == .bool(false), "2 of 3 replicas is not healthy")
        let text = try await project.run(["status", "--once"])
        #expect(text.status == 1)
        #expect(text.stdout.contains("app 2/3 running"), "\(text.stdout)")
        #expect(text.stdout.contains("\(victim.name): exited"), "\(text.stdout)")

        // The evidence is two replicas' figures: inconclusive (exit 2), never allowed as if the service were whole.
        let gate = try await EndToEndTests.runUnderTraffic(project, ["gate", "canary", "--window", "3s"])
        #expect(gate.status == 2, "\(gate.stdout)\(gate.stderr)")
        #expect(
            (gate.stdout + gate.stderr).contains("only 2 of 3 replicas of app answered"), "\(gate.stdout)\(gate.stderr)"
        )
    }

    @Test func aRolloutBesideTwoStableReplicasSplitsJudgesEveryReplicaAndPromotesToTwo() async throws {
        let project = try await RolloutEndToEndTests.deployed(steps: "[50, 100]", interval: "6s", replicas: 2)
        defer { project.destroy() }
        let stable = try await Self.apps(project)
        #expect(stable.count == 2 && stable.allSatisfy(\.isReady), "\(stable.map(\.summary))")

        let traffic = TrafficRecorder(url: URL(string: "http://127.0.0.1:\(project.publicPort)/")!)
        let result = try await project.run(
            ["rollout", "start", "--image", RolloutEndToEndTests.candidate, "--version", "0.2.0"]
                + RolloutEndToEndTests.override,
            timeout: 400)
        let samples = traffic.stop()
        #expect(result.status == 0, "rollout start: \(result.stdout)\(result.stderr)")
        #expect(
            samples.contains { $0.variant == "canary" } && samples.contains { $0.variant == "stable" },
            "both sides of the split answered")
        let failed = samples.filter { !(200..<300).contains($0.status) }
        #expect(
            failed.isEmpty, "\(failed.count) of \(samples.count) requests failed: \(failed.prefix(5).map(\.status))")

        // The stable side's evidence came from both replicas, not from whichever one /stable/metrics reached.
        let history = try project.dir.read("history.jsonl")
        #expect(history.contains("scrape every replica of app"), "the baseline was not read per replica")
        // Promoted: the stable service runs the candidate, still two replicas, and no candidate container is left.
        let after = try await project.containers().filter { $0.state == "running" }
        #expect(after.filter { $0.service == "app" }.count == 2, "\(after.map(\.name))")
        #expect(
            after.filter { $0.service == "app" }.allSatisfy { $0.environment["APP_VERSION"] == "0.2.0" },
            "\(after.map { $0.environment["APP_VERSION"] ?? "-" })")
        #expect(!after.contains { $0.service == "app-canary" })
    }

    @Test func aDeployTimeoutNamesTheReplicasThatNeverBecameHealthy() async throws {
        // An image whose health check always fails: no replica ever becomes healthy.
        let probe = try EndToEndTests.Project()
        let unhealthy = "swiftdeploy/api:\(probe.name)-unhealthy"
        let dockerfile = probe.dir.url.appendingPathComponent("Dockerfile.unhealthy")
        try Data(
            "FROM swiftdeploy/api:0.1.0\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD [\"false\"]\n".utf8
        ).write(to: dockerfile)
        let built = try await SystemCommandRunner().run(
            [
                "env", "DOCKER_BUILDKIT=0", "docker", "build", "-q", "-t", unhealthy, "-f", dockerfile.path,
                probe.dir.path,
            ], timeout: 120)
        probe.dir.remove()
        try #require(built.succeeded, "\(built.stderr)")
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", unhealthy]) }
        let project = try EndToEndTests.Project(appImage: unhealthy)
        defer { project.destroy() }
        var text = try String(contentsOf: project.manifestURL, encoding: .utf8)
        text = text.replacingOccurrences(of: "  port: 3000\n", with: "  port: 3000\n  replicas: 2\n")
        try Data(text.utf8).write(to: project.manifestURL)
        let deploy = try await project.run(["deploy", "--timeout", "25s", "--override", "e2e: failure path"])
        #expect(deploy.status == 3, "\(deploy.stderr)")
        #expect(deploy.stderr.contains("the project is not ready after"), "\(deploy.stderr)")
        #expect(deploy.stderr.contains("app 0/2 running"), "\(deploy.stderr)")
        for index in 1...2 {
            #expect(
                deploy.stderr.contains("\(project.name)_app_\(index): running, "),
                "replica \(index) is not named: \(deploy.stderr)")
        }
    }
}
