import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `services.replicas` on Compose (issue 13): the manifest, the generated files checked by their real consumers
/// (`docker-compose config`, `nginx -t`), the per-replica metrics and the wait. The lifecycle on a real engine is in
/// `ComposeReplicasEndToEndTests`.
@Suite("Compose replicas")
struct ComposeReplicasTests {
    static let base = """
        project: shop
        services:
          image: swiftdeploy/api:0.1.0
          port: 3000
          replicas: 3
        nginx:
          image: nginx:1.27-alpine
          port: 8080
          admin_port: 8081
        network:
          name: app-net
          driver_type: bridge

        """

    func load(_ text: String) throws -> Manifest {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        return try ManifestLoader().load(from: try dir.write(text, to: "manifest.yaml"))
    }

    /// `docker-compose config` of a rendered file, as JSON-like YAML parsed by the real tool; nil when the tool is
    /// missing locally (printed), a thrown failure when it is missing under CI=true.
    func composeConfig(_ compose: String) async throws -> String? {
        guard let tool = try TestRequirement.dockerCompose.valueIfAvailable(for: "docker-compose config") else {
            return nil
        }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = try dir.write(compose, to: "docker-compose.yml")
        let result = try await ExternalTool.run(tool, ["-f", file.path, "config"], currentDirectory: dir.url)
        #expect(result.status == 0, "docker-compose config failed: \(result.output)")
        return result.output
    }

    func nginxAccepts(_ conf: String) async throws {
        guard let nginx = try TestRequirement.nginx.valueIfAvailable(for: "nginx -t") else { return }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = try dir.write(conf, to: "nginx.conf")
        let result = try await ExternalTool.run(nginx, ["-t", "-p", dir.path + "/", "-c", file.path])
        #expect(result.status == 0, "nginx -t failed: \(result.output)")
    }

    // MARK: Manifest and rendering

    @Test func composeWithReplicasLoadsInsteadOfBeingRefused() async throws {
        let m = try load(Self.base)
        #expect(m.runtime == .compose)
        #expect(m.services.replicas == 3)
    }

    @Test func theAppServiceRunsEveryReplicaWithTheSameHardeningAndNoContainerName() async throws {
        let rendered = try ConfigRenderer().render(try load(Self.base))
        #expect(
            !rendered.compose.contains("container_name"),
            "a fixed container name cannot be given to more than one container")
        guard let config = try await composeConfig(rendered.compose) else { return }
        // The real tool's reading: the app has 3 replicas and keeps every hardening key.
        let app = try #require(config.range(of: "  app:\n")).upperBound
        let appBlock = String(config[app...].prefix { _ in true }).components(separatedBy: "\n  nginx:")[0]
        for needle in [
            "replicas: 3", "read_only: true", "- ALL", "no-new-privileges:true", "/tmp:rw,noexec,nosuid,nodev,size=64m",
            "healthcheck:", "interval: 5s",
        ] {
            #expect(appBlock.contains(needle), "the app service lacks \(needle):\n\(appBlock)")
        }
    }

    @Test func oneReplicaRendersExactlyAsBefore() async throws {
        // The base golden has no replicas key: 1 (the default) must render it byte for byte (ConfigRendererTests checks
        // the golden); an explicit `replicas: 1` must be the same bytes as the default.
        let one = try ConfigRenderer().render(
            try load(Self.base.replacingOccurrences(of: "  replicas: 3\n", with: "  replicas: 1\n")))
        let none = try ConfigRenderer().render(
            try load(Self.base.replacingOccurrences(of: "  replicas: 3\n", with: "")))
        #expect(one == none)
        #expect(!one.compose.contains("deploy:"))
        #expect(!one.nginxConf.contains("/replicas/"))
    }

    @Test func nginxBalancesOverTheServiceNameAndServesEachReplicasMetrics() async throws {
        let conf = try ConfigRenderer().render(try load(Self.base)).nginxConf
        #expect(
            conf.contains("set $swiftdeploy_upstream http://app:3000;"),
            "Docker's DNS answers one address per replica of `app`")
        #expect(
            conf.contains("resolver 127.0.0.11 valid=10s ipv6=off;"),
            "re-resolved, so replicas that come and go are followed")
        #expect(
            conf.contains(
                #"location ~ "^/replicas/(?<swiftdeploy_replica>[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})/metrics$""#
            ))
        #expect(conf.contains("proxy_pass http://$swiftdeploy_replica:3000/metrics;"))
        #expect(!conf.contains("tasks.app"), "tasks.<service> is Swarm's name; Compose has none")
        try await nginxAccepts(conf)
    }

    @Test func aRolloutBesideTwoStableReplicasRunsOneCandidate() async throws {
        let m = try load(Self.base.replacingOccurrences(of: "replicas: 3", with: "replicas: 2"))
        let rendered = try ConfigRenderer().render(
            m, canary: CanaryRender(image: "swiftdeploy/api:0.2.0", version: "0.2.0", weight: 20, sticky: true))
        try await nginxAccepts(rendered.nginxConf)
        #expect(rendered.nginxConf.contains("canary http://app-canary:3000;"))
        #expect(rendered.nginxConf.contains("add_header Set-Cookie \"swiftdeploy_split="))
        guard let config = try await composeConfig(rendered.compose) else { return }
        let canary = try #require(config.components(separatedBy: "\n  app-canary:\n").dropFirst().first).components(
            separatedBy: "\n  nginx:")[0]
        let stable = try #require(config.components(separatedBy: "\n  app:\n").dropFirst().first).components(
            separatedBy: "\n  app-canary:")[0]
        #expect(canary.contains("replicas: 1"), "the candidate is one container:\n\(canary)")
        #expect(canary.contains("read_only: true") && canary.contains("- ALL"), "the candidate keeps the hardening")
        #expect(stable.contains("replicas: 2"), "\(stable)")
    }

    @Test func aHundredReplicasStayValid() async throws {
        // The fixture render/replicas (100) is also a golden and goes through nginx -t and docker-compose config in
        // ConfigRendererTests; here the real tool's reading of the count.
        let m = try ManifestLoader().load(from: fixture("render/replicas/manifest.yaml"))
        #expect(m.services.replicas == 100)
        let rendered = try ConfigRenderer().render(m)
        guard let config = try await composeConfig(rendered.compose) else { return }
        #expect(config.contains("replicas: 100"))
    }

    // MARK: Metrics of every replica

    /// A loopback admin listener answering `/replicas/<address>/metrics` with each replica's own exposition.
    final class Replicas: @unchecked Sendable {
        let lock = NSLock()
        var metrics: [String: DemoMetrics] = [:]
        var failing: Set<String> = []
        var running: [String] = []

        func server() throws -> LoopbackHTTPServer {
            try LoopbackHTTPServer { request in
                self.lock.lock()
                defer { self.lock.unlock() }
                let parts = request.path.split(separator: "/")
                guard parts.count == 3, parts[0] == "replicas", parts[2] == "metrics",
                    let m = self.metrics[String(parts[1])],
                    !self.failing.contains(String(parts[1]))
                else {
                    return .json(#"{"error":"Bad Gateway: the service is not answering","code":502}"#, status: 502)
                }
                return .text(m.exposition())
            }
        }

        func record(_ address: String, status: Int = 200, count: Int) {
            lock.lock()
            defer { lock.unlock() }
            metrics[address, default: DemoMetrics()].record(status: status, count: count)
        }

        func set(running: [String], failing: Set<String> = []) {
            lock.lock()
            defer { lock.unlock() }
            self.running = running
            self.failing = failing
        }
    }

    struct Locator: ReplicaLocating {
        let replicas: Replicas
        func replicaAddresses(service: String) throws -> [String] {
            replicas.lock.lock()
            defer { replicas.lock.unlock() }
            return replicas.running.sorted()
        }
    }

    /// A sleeper that runs `between` instead of sleeping: the world changes between the window's two scrapes.
    struct Between: Sleeper {
        let action: @Sendable () -> Void
        func sleep(seconds: Double) async { action() }
    }

    func source(_ replicas: Replicas, port: Int, between: @escaping @Sendable () -> Void = {}) -> ReplicaMetricsSource {
        ReplicaMetricsSource(
            service: "app", desired: 3, adminPort: port, locator: Locator(replicas: replicas),
            transport: SocketHTTPClient(),
            description: "scrape every replica of app", sleeper: Between(action: between))
    }

    static let a = "172.20.0.2", b = "172.20.0.3", c = "172.20.0.4"

    @Test func everyReplicaIsItsOwnSeriesAndTheWindowSumsThem() async throws {
        let replicas = Replicas()
        for address in [Self.a, Self.b, Self.c] { replicas.record(address, count: 5) }
        replicas.set(running: [Self.a, Self.b, Self.c])
        let server = try replicas.server()
        defer { server.stop() }
        let snapshot = try await source(replicas, port: server.port).snapshot()
        #expect(snapshot.replicas == [Self.a, Self.b, Self.c])
        let requests = snapshot.samples(named: "http_requests_total")
        #expect(
            Set(requests.compactMap { $0[label: "replica"] }) == [Self.a, Self.b, Self.c], "one series per replica")
        let figures = try await source(
            replicas, port: server.port,
            between: {
                replicas.record(Self.a, count: 10)
                replicas.record(Self.b, count: 10)
                replicas.record(Self.c, status: 500, count: 10)
            }
        ).window(settings: MetricsWindowSettings(window: ManifestDuration(milliseconds: 10), minRequests: 10))
        #expect(figures.requests == 30)
        #expect(figures.errors == 10, "the errors of one replica are counted beside the others' successes")
        #expect(figures.insufficient.isEmpty, "\(figures.insufficient)")
    }

    @Test func aReplicaThatDoesNotAnswerMakesTheEvidenceUnusableNamingIt() async throws {
        let replicas = Replicas()
        for address in [Self.a, Self.b, Self.c] { replicas.record(address, count: 5) }
        replicas.set(running: [Self.a, Self.b, Self.c], failing: [Self.c])
        let server = try replicas.server()
        defer { server.stop() }
        do {
            _ = try await source(replicas, port: server.port).window(
                settings: MetricsWindowSettings(window: ManifestDuration(milliseconds: 10)))
            Issue.record("a replica's failed scrape was dropped and the others' figures used")
        } catch let error as MetricsError {
            #expect(
                error.localizedDescription.contains("the replica of app at \(Self.c) did not give its metrics"),
                "\(error.localizedDescription)")
            #expect(error.localizedDescription.contains("502"), "\(error.localizedDescription)")
        }
    }

    /// A locator that also reports a replica the engine wants running but that does not run (Swarm's task reader).
    struct NamingLocator: ReplicaLocating {
        let running: [String]
        func replicaAddresses(service: String) throws -> [String] { running }
        func replicas(service: String) throws -> [RolloutReplica] {
            running.enumerated().map {
                RolloutReplica(name: "app.\($0.offset + 1)", node: "vm (abc)", state: "running", address: $0.element)
            }
                + [RolloutReplica(name: "app.3", node: "w2 (def)", state: "starting", address: nil)]
        }
    }

    /// Review finding 12: a replica that is not running is named in the window's insufficient reasons (shown by
    /// `status` and the gates), never silently dropped from the figures.
    @Test func aReplicaNotRunningIsNamedNotDropped() async throws {
        let replicas = Replicas()
        for address in [Self.a, Self.b] { replicas.record(address, count: 5) }
        replicas.set(running: [Self.a, Self.b])
        let server = try replicas.server()
        defer { server.stop() }
        let source = ReplicaMetricsSource(
            service: "app", desired: 2, adminPort: server.port, locator: NamingLocator(running: [Self.a, Self.b]),
            transport: SocketHTTPClient(), description: "scrape every replica of app", sleeper: Between(action: {}))
        let snapshot = try await source.snapshot()
        #expect(snapshot.replicas == [Self.a, Self.b] && snapshot.replicasNotRead == ["app.3 on w2 (def) (starting)"])
        let figures = try await source.window(
            settings: MetricsWindowSettings(window: ManifestDuration(milliseconds: 10), minRequests: 1))
        #expect(
            figures.insufficient.contains { $0.contains("replica app.3 on w2 (def) (starting)") },
            "\(figures.insufficient)")
    }

    @Test func aReplicaGoneFromTheWindowIsInsufficientEvidenceNotAHealthierOne() async throws {
        // Replica c serves only errors; it is killed between the two scrapes. Counting the other two alone would show
        // 0% errors: the window must say it is missing instead.
        let replicas = Replicas()
        for address in [Self.a, Self.b, Self.c] { replicas.record(address, count: 50) }
        replicas.set(running: [Self.a, Self.b, Self.c])
        let server = try replicas.server()
        defer { server.stop() }
        let figures = try await source(
            replicas, port: server.port,
            between: {
                replicas.record(Self.a, count: 20)
                replicas.record(Self.b, count: 20)
                replicas.record(Self.c, status: 500, count: 20)
                replicas.set(running: [Self.a, Self.b])
            }
        ).window(settings: MetricsWindowSettings(window: ManifestDuration(milliseconds: 10), minRequests: 10))
        #expect(
            figures.insufficient.contains { $0.contains("only 2 of 3 replicas of app answered") },
            "\(figures.insufficient)")
        #expect(
            figures.insufficient.contains {
                $0.contains("the replica of app at \(Self.c) answered the first scrape but not the last")
            },
            "\(figures.insufficient)")
        #expect(figures.json["sufficient"] == .bool(false))
    }

    @Test func fewerReplicasRunningThanWantedIsInsufficientEvenWhenTheSetIsStable() async throws {
        let replicas = Replicas()
        for address in [Self.a, Self.b] { replicas.record(address, count: 50) }
        replicas.set(running: [Self.a, Self.b])
        let server = try replicas.server()
        defer { server.stop() }
        let figures = try await source(
            replicas, port: server.port,
            between: {
                replicas.record(Self.a, count: 20)
                replicas.record(Self.b, count: 20)
            }
        ).window(settings: MetricsWindowSettings(window: ManifestDuration(milliseconds: 10), minRequests: 10))
        #expect(figures.requests == 40)
        #expect(
            figures.insufficient == [
                """
                only 2 of 3 replicas of app answered in the window (\(Self.a), \(Self.b) at its end): the missing \
                replicas' requests and errors are not counted; see `swiftdeploy status`
                """
            ])
    }

    @Test func aRolloutStepWhoseStableReplicaLeftIsInconclusiveNotABetterBaseline() async throws {
        // The stable side's merged snapshots: two replicas at the step's start, one at its end.
        func part(_ m: DemoMetrics, at t: Double) async throws -> MetricsSnapshot {
            try MetricsSnapshot.parse(Data(m.exposition().utf8), source: "replica", monotonicSeconds: t)
        }
        var a = DemoMetrics(), b = DemoMetrics(), canary = DemoMetrics()
        a.record(count: 20)
        b.record(count: 20)
        canary.record(count: 20)
        let stableStart = await ReplicaMetricsSource.merge(
            [(Self.a, try part(a, at: 0)), (Self.b, try part(b, at: 0))], source: "every replica")
        let canaryStart = try await part(canary, at: 0)
        a.record(count: 30)
        canary.record(count: 30)
        let stableEnd = await ReplicaMetricsSource.merge([(Self.a, try part(a, at: 6))], source: "every replica")
        let canaryEnd = try await part(canary, at: 6)
        let m = try load(Self.base.replacingOccurrences(of: "replicas: 3", with: "replicas: 2"))
        let evidence = RolloutAnalyzer(manifest: m).evidence(
            canary: [canaryStart, canaryEnd], stable: [stableStart, stableEnd])
        #expect(
            evidence.baseline.insufficient.contains { $0.contains("only 1 of 2 replicas of app answered") },
            "\(evidence.baseline.insufficient)")
        #expect(
            evidence.baseline.insufficient.contains {
                $0.contains("at \(Self.b) answered the first scrape but not the last")
            })
        #expect(evidence.baseline.source == "every replica")
        // One replica (no merge): as before, nothing added.
        let one = try load(Self.base.replacingOccurrences(of: "  replicas: 3\n", with: ""))
        let plain = RolloutAnalyzer(manifest: one).evidence(
            canary: [canaryStart, canaryEnd], stable: [canaryStart, canaryEnd])
        #expect(plain.baseline.insufficient.isEmpty, "\(plain.baseline.insufficient)")
    }

    @Test func theDefaultSourceOfAComposeProjectWithReplicasReadsEveryReplica() async throws {
        let m = try load(Self.base)
        let source = PolicyEvaluator.defaultMetricsSource(GateRequest(manifest: m, action: "status"))
        let replicas = try #require(source as? ReplicaMetricsSource)
        #expect(replicas.desired == 3)
        #expect(replicas.locator is ComposeRuntime)
        let one = try load(Self.base.replacingOccurrences(of: "  replicas: 3\n", with: ""))
        #expect(
            PolicyEvaluator.defaultMetricsSource(GateRequest(manifest: one, action: "status")) is ScrapeMetricsSource)
    }

    // MARK: The wait

    @Test func theWaitNamesTheReplicaThatIsNotReadyWithItsLogs() async throws {
        let runtime = FixedRuntime(
            containers: [
                ContainerStatus(id: "1", name: "shop_app_1", service: "app", state: "running", health: "healthy"),
                ContainerStatus(
                    id: "2", name: "shop_app_2", service: "app", state: "running", health: "unhealthy",
                    lastHealthOutput: "GET /healthz: 503"),
                ContainerStatus(id: "3", name: "shop_app_3", service: "app", state: "running", health: "healthy"),
                ContainerStatus(id: "4", name: "shop_nginx_1", service: "nginx", state: "running"),
            ], targets: ["app": 3, "nginx": 1])
        let waiter = HealthWaiter(
            runtime: runtime, probe: AlwaysOK(), services: ["app", "nginx"],
            healthURL: URL(string: "http://127.0.0.1:1/healthz")!, timeout: 0.2, pollInterval: 0.05)
        do {
            _ = try await waiter.wait()
            Issue.record("2 of 3 healthy replicas passed the wait")
        } catch let error as RuntimeError {
            let text = error.localizedDescription
            #expect(text.contains("app 2/3 running"), "\(text)")
            #expect(text.contains("shop_app_2: running, unhealthy: GET /healthz: 503"), "\(text)")
            #expect(text.contains("last output of shop_app_2:\n  | log of 2"), "\(text)")
            #expect(!text.contains("shop_app_1:"), "a ready replica is not blamed: \(text)")
            #expect(error.exitStatus == .operationFailed)
        }
    }

    @Test func aReplicaNeverCreatedIsCountedMissing() async throws {
        let runtime = FixedRuntime(
            containers: [
                ContainerStatus(id: "1", name: "shop_app_1", service: "app", state: "running", health: "healthy"),
                ContainerStatus(id: "4", name: "shop_nginx_1", service: "nginx", state: "running"),
            ], targets: ["app": 3, "nginx": 1])
        let waiter = HealthWaiter(
            runtime: runtime, probe: AlwaysOK(), services: ["app", "nginx"],
            healthURL: URL(string: "http://127.0.0.1:1/healthz")!, timeout: 0.2, pollInterval: 0.05)
        await #expect(throws: RuntimeError.self) { _ = try await waiter.wait() }
        do { _ = try await waiter.wait() } catch {
            #expect(error.localizedDescription.contains("app 1/3 running"), "\(error.localizedDescription)")
        }
    }

    @Test func composeRuntimeReportsTargetsOnlyWithReplicas() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var m = try load(Self.base)
        m.directory = dir.url
        #expect(ComposeRuntime(manifest: m).desiredReplicas == ["app": 3])
        m.services.replicas = 1
        #expect(ComposeRuntime(manifest: m).desiredReplicas.isEmpty)
        #expect(
            try await ComposeRuntime(manifest: m).replicaTargets() == nil,
            "one container per service: as before replicas")
    }

    @Test func theAddressOfEachContainerIsReadFromInspect() async throws {
        let json = """
            [{"Id":"c1","Name":"/shop_app_2","Config":{"Labels":{"com.docker.compose.service":"app"},"Env":["MODE=stable"]},
              "State":{"Status":"running","ExitCode":0},"NetworkSettings":{"Networks":{"shop_app-net":{"IPAddress":"172.20.0.3"}}}},
             {"Id":"c2","Name":"/shop_app_3","Config":{"Labels":{"com.docker.compose.service":"app"}},
              "State":{"Status":"exited","ExitCode":137},"NetworkSettings":{"Networks":{"shop_app-net":{"IPAddress":""}}}}]
            """
        let parsed = try ComposeRuntime.parseInspect(json, command: "docker inspect")
        #expect(parsed[0].address == "172.20.0.3")
        #expect(parsed[1].address == nil, "a stopped container has no address")
    }
}

/// A runtime whose containers do not change (for the wait's timeout).
private final class FixedRuntime: ContainerRuntime, @unchecked Sendable {
    let fixed: [ContainerStatus]
    let targets: [String: Int]
    init(containers: [ContainerStatus], targets: [String: Int]) {
        fixed = containers
        self.targets = targets
    }
    func preflight() throws {}
    func ensureImages(_ images: [String]) throws {}
    func up() throws {}
    func recreate(service: String) throws {}
    func reload(service: String) throws {}
    func down() throws {}
    func containers() throws -> [ContainerStatus] { fixed }
    func logs(container: String, lines: Int) -> String { "log of \(container)" }
    func leftovers() throws -> ProjectResources { ProjectResources() }
    func replicaTargets() throws -> [String: Int]? { targets }
}

private struct AlwaysOK: HTTPProbing {
    func get(_ url: URL, timeout: TimeInterval) async -> HTTPAnswer { HTTPAnswer(status: 200) }
}
