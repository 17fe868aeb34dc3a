import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The lifecycle on a real Docker engine, driving the built `swiftdeploy` binary.
/// Runs with `SWIFTDEPLOY_DOCKER_TESTS=1` (scripts/test starts the engine, builds the images and sets it), and always
/// under `CI=true`, where a missing engine fails it; otherwise it shows as skipped with the reason.
/// Every test uses its own project name and free ports, and always tears down.
@Suite(
    // serialized: the host's CPU and load, which every deploy's infrastructure gate reads: two deploys of this suite
    // at once on two cores starve the tests' traffic and the gate denies for load (scripts/test-groups runs one
    // deploy per process)
    .serialized, .requires(.docker))
struct EndToEndTests {
    /// A throwaway project directory with a manifest from Tests/Fixtures/e2e.
    struct Project {
        let dir: TemporaryDirectory
        let name: String
        let publicPort: Int
        let adminPort: Int
        /// Ports for more published services (Prometheus, Alertmanager), distinct from the project's two.
        let sparePorts: [Int]
        var manifestURL: URL { dir.url.appendingPathComponent("manifest.yaml") }

        /// The manifest names its published ports, so they are reserved together here (distinct) and released for
        /// Compose to bind at the deploy (`LoopbackPort.forServers`).
        init(appImage: String = "swiftdeploy/api:0.1.0", healthPath: String = "/healthz", sparePorts: Int = 0) throws {
            dir = try TemporaryDirectory(prefix: "e2e")
            name = "sde2e" + String(UUID().uuidString.lowercased().prefix(8))
            let ports = try LoopbackPort.forServers(2 + sparePorts)
            publicPort = ports[0]
            adminPort = ports[1]
            self.sparePorts = Array(ports.dropFirst(2))
            var text = try String(
                contentsOf: RepositoryPaths.fixtures.appendingPathComponent("e2e/manifest.yaml.template"),
                encoding: .utf8)
            let values = [
                "project": name, "app_image": appImage, "health_path": healthPath, "public_port": String(publicPort),
                "admin_port": String(adminPort),
            ]
            for (key, value) in values { text = text.replacingOccurrences(of: "{{\(key)}}", with: value) }
            try Data(text.utf8).write(to: manifestURL)
            // The repository's own policies and thresholds, the latency bounds relaxed (TestProjectFiles).
            try TestProjectFiles.writePoliciesAndRelaxedThresholds(into: dir.url)
        }

        /// Runs `swiftdeploy <arguments> --manifest <this project>`.
        func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 240) async throws
            -> CommandResult
        {
            let binary = RepositoryPaths.builtProduct("swiftdeploy").path
            let result = try await SystemCommandRunner().run(
                [binary] + arguments + ["--manifest", manifestURL.path, "--no-color"],
                environment: environment, timeout: timeout)
            print(
                "$ swiftdeploy \(arguments.joined(separator: " ")) → \(result.status)\n\(result.stdout)\(result.stderr)"
            )
            return result
        }

        /// What Docker still has of this project (containers, networks, volumes by label).
        func leftovers() async throws -> ProjectResources {
            try await ComposeRuntime(project: name, composeFile: dir.url.appendingPathComponent("docker-compose.yml"))
                .leftovers()
        }

        /// The project's containers on the engine.
        func containers() async throws -> [ContainerStatus] {
            try await ComposeRuntime(project: name, composeFile: dir.url.appendingPathComponent("docker-compose.yml"))
                .containers()
        }

        /// Always called: removes the project whatever state the test left it in.
        /// Synchronous, for a test's `defer` (which cannot await): the runner's blocking wait needs no pool thread.
        func destroy() {
            let binary = RepositoryPaths.builtProduct("swiftdeploy").path
            if let result = try? ExternalTool.runBlocking(
                binary, ["teardown", "--clean", "--manifest", manifestURL.path, "--no-color"],
                timeout: 120)
            {
                print("$ swiftdeploy teardown --clean → \(result.status)\n\(result.output)")
            }
            // In case the binary could not: Compose's own down, whichever Compose there is.
            let file = dir.url.appendingPathComponent("docker-compose.yml").path
            let down =
                "docker compose -p \(name) -f '\(file)' down -v --remove-orphans"
                + " || docker-compose -p \(name) -f '\(file)' down -v --remove-orphans"
            _ = try? ExternalTool.runBlocking("/bin/sh", ["-c", down], timeout: 120)
            dir.remove()
        }
    }

    /// Listens on 0.0.0.0:`port` until closed (the "port already taken" case).
    static func occupy(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = INADDR_ANY
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard ok, listen(fd, 8) == 0 else {
            close(fd)
            throw RuntimeError.portTaken(port: port, detail: "the test could not bind it")
        }
        return fd
    }

    /// `method url` through the tests' one HTTP client (`TestHTTP`): status, headers (names lower-cased) and body;
    /// `(0, [:], "")` when nothing answers within `timeout` seconds.
    static func request(_ url: URL, method: String = "GET", body: String? = nil, timeout: TimeInterval = 10) async -> (
        Int, [String: String], String
    ) {
        guard let answer = await TestHTTP.request(url, method: method, body: body, timeout: timeout) else {
            return (0, [:], "")
        }
        return (answer.status, answer.headers, answer.body)
    }

    /// Runs a command while sending traffic through nginx, so the metrics window it scrapes has requests in it.
    /// Both run on their own threads: blocking work on Swift's small cooperative pool would starve the traffic.
    static func runUnderTraffic(_ project: Project, _ arguments: [String]) async throws -> CommandResult {
        let done = TrafficSwitch()
        let url = URL(string: "http://127.0.0.1:\(project.publicPort)/")!
        Thread.detachNewThread {
            while !done.isOn {
                _ = TestHTTP.requestBlocking(url, timeout: 10)
                usleep(40_000)
            }
        }
        defer { done.turnOn() }
        return try await project.run(arguments)
    }

    @Test func fullLifecycle() async throws {
        let project = try Project()
        defer { project.destroy() }
        let publicURL = URL(string: "http://127.0.0.1:\(project.publicPort)/")!
        let adminURL = URL(string: "http://127.0.0.1:\(project.adminPort)")!

        // Deploy. The infrastructure policy judges this host: on a quiet machine it allows; on a busy one
        // (load, memory) it denies with its reasons, and the audited --override is the way through.
        var deploy = try await project.run(["deploy", "--timeout", "180s"])
        #expect(deploy.status == 0 || deploy.status == 1, "deploy: \(deploy.stderr)")
        var overrideArguments: [String] = []
        if deploy.status == 1 {
            print("EndToEndTests: the infrastructure policy denied on this host; deploying with --override")
            #expect(deploy.stderr.contains("deploy refused: the infrastructure policy denied"))
            #expect(!DeployLock(project: project.name).isHeld() && DeployLock(project: project.name).read() == nil)
            await #expect(try project.containers().isEmpty)
            overrideArguments = ["--override", "e2e: host busy"]
            deploy = try await project.run(["deploy", "--timeout", "180s"] + overrideArguments)
            #expect(deploy.stderr.contains("deployed on --override past the infrastructure policy's deny decision"))
            #expect(try project.dir.read("history.jsonl").contains("e2e: host busy"))
        }
        #expect(deploy.status == 0, "deploy failed: \(deploy.stderr)")
        try #require(deploy.status == 0)
        #expect(deploy.stdout.contains("deployed \(project.name) (stable mode)"))
        try await Self.expectHardened(project)
        let requestIDs = try await Self.headerLines("x-request-id", url: publicURL)
        #expect(requestIDs.count == 1, "the proxied response carries X-Request-ID once: \(requestIDs)")
        // Deploying again is harmless: same containers, still healthy.
        let containersBefore = try await Set(project.containers().map(\.id))
        let again = try await project.run(["deploy", "--timeout", "120s"] + overrideArguments)
        #expect(again.status == 0)
        await #expect(try Set(project.containers().map(\.id)) == containersBefore)

        // Requests through nginx: JSON from the app, mode stable, no X-Mode in stable.
        let (status, headers, body) = await Self.request(publicURL)
        #expect(status == 200)
        #expect(headers["content-type"]?.contains("application/json") == true)
        #expect(body.contains("\"mode\":\"stable\""))
        #expect(headers["x-mode"] == nil)
        #expect(headers["x-deployed-by"] == "swiftdeploy")
        #expect(headers["x-request-id"]?.isEmpty == false)
        // /metrics is not public: only the loopback admin listener serves it.
        let (metricsStatus, _, _) = await Self.request(publicURL.appendingPathComponent("metrics"))
        #expect(metricsStatus == 404)
        let (adminMetricsStatus, _, adminMetrics) = await Self.request(adminURL.appendingPathComponent("metrics"))
        #expect(adminMetricsStatus == 200 && adminMetrics.contains("chaos_active"))

        // The app stopped: nginx answers with a JSON error body; a deploy brings it back.
        let app = try await #require(try project.containers().first { $0.service == "app" })
        _ = try await SystemCommandRunner().run(["docker", "stop", "-t", "2", app.id], timeout: 60)
        // nginx may still hold the stopped container's address: its connect timeout (proxy_timeout 5s) bounds the wait.
        let (downStatus, downHeaders, downBody) = await Self.request(publicURL, timeout: 30)
        #expect(
            [502, 503, 504].contains(downStatus), "expected a gateway error with the app stopped, got \(downStatus)")
        #expect(downHeaders["content-type"]?.contains("json") == true)
        #expect(downHeaders["x-deployed-by"] == "swiftdeploy")
        #expect((try? JSONValue.parse(Data(downBody.utf8))) != nil, "error body is not JSON: \(downBody)")
        await #expect(try project.run(["deploy", "--timeout", "120s"] + overrideArguments).status == 0)

        // Manifest edited while deployed: status and promote say so.
        let original = try String(contentsOf: project.manifestURL, encoding: .utf8)
        try Data(original.replacingOccurrences(of: "mode: stable ", with: "mode: canary ").utf8).write(
            to: project.manifestURL)
        let drifted = try await project.run(["status", "--once", "--format", "json", "--interval", "1s"])
        #expect(drifted.stdout.contains("the manifest was edited while deployed"))
        let dryRun = try await project.run(["promote", "canary", "--dry-run"])
        #expect(dryRun.stderr.contains("the running app is in stable mode"))
        try Data(original.utf8).write(to: project.manifestURL)

        // Chaos is refused in stable mode (the service allows it in canary only).
        let stableChaos = await Self.request(
            adminURL.appendingPathComponent("chaos"), method: "POST", body: #"{"mode": "recover"}"#)
        #expect(stableChaos.0 == 403, "POST /chaos in stable mode answered \(stableChaos.0): \(stableChaos.2)")

        // Promote to canary on healthy traffic: only the mode's bytes change, and X-Mode confirms it.
        let promoted = try await Self.runUnderTraffic(project, ["promote", "canary"])
        #expect(promoted.status == 0, "promote failed: \(promoted.stderr)")
        #expect(promoted.stdout.contains("X-Mode: canary"))
        let canaryManifest = original.replacingOccurrences(
            of: "  mode: stable        #", with: "  mode: canary        #")
        #expect(canaryManifest != original)
        #expect(try String(contentsOf: project.manifestURL, encoding: .utf8) == canaryManifest)
        let (_, canaryHeaders, _) = await Self.request(publicURL)
        #expect(canaryHeaders["x-mode"] == "canary")
        let noop = try await project.run(["promote", "canary"])
        #expect(noop.status == 0 && noop.stdout.contains("already in canary mode"))

        // Chaos error mode on the canary: promoting it to stable is denied; nothing changes.
        let chaos = await Self.request(
            adminURL.appendingPathComponent("chaos"), method: "POST", body: #"{"mode": "error", "rate": 1.0}"#)
        #expect(chaos.0 == 200, "POST /chaos answered \(chaos.0): \(chaos.2)")
        let denied = try await Self.runUnderTraffic(project, ["promote", "stable"])
        #expect(denied.status == 1, "promote under chaos should be denied (1), got \(denied.status): \(denied.stderr)")
        #expect(denied.stderr.contains("promote to stable refused: the canary policy denied"))
        #expect(try String(contentsOf: project.manifestURL, encoding: .utf8) == canaryManifest)
        let (_, stillCanary, _) = await Self.request(publicURL)
        #expect(stillCanary["x-mode"] == "canary")

        // Recover: the promote to stable is allowed and confirmed from the service's own answer.
        let recover = await Self.request(
            adminURL.appendingPathComponent("chaos"), method: "POST", body: #"{"mode": "recover"}"#)
        #expect(recover.0 == 200)
        let back = try await Self.runUnderTraffic(project, ["promote", "stable"])
        #expect(back.status == 0, "promote to stable failed: \(back.stderr)")
        #expect(back.stdout.contains("mode stable in its JSON body"))
        #expect(try String(contentsOf: project.manifestURL, encoding: .utf8) == original)
        let (_, stableHeaders, stableBody) = await Self.request(publicURL)
        #expect(stableHeaders["x-mode"] == nil && stableBody.contains("\"mode\":\"stable\""))

        let frameRun = try await project.run(["status", "--once", "--format", "json", "--interval", "1s"])
        #expect(frameRun.status == 0, "status --once should report healthy: \(frameRun.stdout)")
        let frame = try JSONValue.parse(Data(frameRun.stdout.utf8))
        #expect(frame["mode"]?["running"]?.stringValue == "stable")
        #expect(frame["healthy"] == .bool(true))

        // Teardown leaves nothing of the project behind.
        let teardown = try await project.run(["teardown", "--clean"])
        #expect(teardown.status == 0)
        await #expect(try project.leftovers().isEmpty)
        #expect(
            !FileManager.default.fileExists(atPath: project.dir.url.appendingPathComponent("docker-compose.yml").path))
    }

    /// The running stack as the engine reports it (`docker inspect`) and as its processes see themselves
    /// (`/proc/1/status`): no capabilities, no privilege gain, read-only root with a tmpfs /tmp, not root.
    /// `services`: the services the stack must run (Prometheus and Alertmanager with `observability`).
    static func expectHardened(_ project: Project, services: Set<String> = ["app", "nginx"]) async throws {
        let containers = try await project.containers()
        #expect(Set(containers.map(\.service)) == services)
        for container in containers {
            let inspect = try await SystemCommandRunner().run(["docker", "inspect", container.id], timeout: 30)
            guard case .array(let list) = try JSONValue.parse(Data(inspect.stdout.utf8)), let info = list.first,
                let host = info["HostConfig"], let config = info["Config"]
            else {
                Issue.record("docker inspect \(container.name): \(inspect.stderr)")
                continue
            }
            let name = container.service
            #expect(host["CapDrop"] == .array(["ALL"]), "\(name): CapDrop \(String(describing: host["CapDrop"]))")
            #expect(host["CapAdd"] == nil || host["CapAdd"] == .null || host["CapAdd"] == .array([]), "\(name): CapAdd")
            #expect(host["SecurityOpt"] == .array(["no-new-privileges:true"]), "\(name): SecurityOpt")
            #expect(host["ReadonlyRootfs"] == .bool(true), "\(name): ReadonlyRootfs")
            #expect(host["Privileged"] == .bool(false), "\(name): Privileged")
            guard case .object(let tmpfs)? = host["Tmpfs"] else {
                Issue.record("\(name): no Tmpfs")
                continue
            }
            #expect(tmpfs.keys.contains("/tmp"), "\(name): Tmpfs \(tmpfs)")
            let user = config["User"]?.stringValue ?? ""
            #expect(!ManifestGrammar.isRoot(user), "\(name): Config.User '\(user)'")
            let status = try await SystemCommandRunner().run(
                ["docker", "exec", container.id, "cat", "/proc/1/status"], timeout: 30)
            let fields = Dictionary(
                status.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
                }, uniquingKeysWith: { first, _ in first })
            let uid = fields["Uid"]?.split(whereSeparator: \.isWhitespace).first.map(String.init)
            #expect(
                uid != nil && uid != "0", "\(name): pid 1 runs as uid \(uid ?? "?"): \(status.stdout)\(status.stderr)")
            #expect(
                fields["CapEff"] == "0000000000000000", "\(name): effective capabilities \(fields["CapEff"] ?? "?")")
            #expect(
                fields["CapPrm"] == "0000000000000000", "\(name): permitted capabilities \(fields["CapPrm"] ?? "?")")
            #expect(fields["NoNewPrivs"] == "1", "\(name): NoNewPrivs \(fields["NoNewPrivs"] ?? "?")")
            if name != "app" { #expect(uid == "65534", "\(name) runs as nobody") }
            // The root filesystem refuses writes; /tmp takes them.
            let write = try await SystemCommandRunner().run(
                ["docker", "exec", container.id, "sh", "-c", "echo x > /probe"], timeout: 30)
            #expect(!write.succeeded, "\(name): the root filesystem took a write")
        }
        // docker-compose.yml holds services.env values: owner-only.
        let mode =
            try FileManager.default.attributesOfItem(
                atPath: project.dir.url.appendingPathComponent("docker-compose.yml").path)[.posixPermissions]
            as? NSNumber
        #expect(mode.map { $0.intValue & 0o777 } == 0o600)
    }

    /// Every line of a response header, repeats apart (`TestHTTP.Response.fields`; `headers` joins them).
    static func headerLines(_ header: String, url: URL) async throws -> [String] {
        guard let answer = await TestHTTP.request(url, timeout: 10) else { return ["(no answer from \(url))"] }
        return answer.fields.filter { $0.name == header.lowercased() }.map { "\($0.name): \($0.value)" }
    }

    @Test func daemonUnreachableIsNamed() async throws {
        let project = try Project()
        defer { project.dir.remove() }
        let dead = ["DOCKER_HOST": "unix://\(project.dir.path)/no-docker.sock"]
        let teardown = try await project.run(["teardown"], environment: dead)
        #expect(teardown.status == 3)
        #expect(
            teardown.stderr.contains("the Docker daemon is not reachable at unix://\(project.dir.path)/no-docker.sock"))
        let deploy = try await project.run(["deploy", "--override", "e2e: daemon check"], environment: dead)
        #expect(deploy.status == 3)
        #expect(deploy.stderr.contains("Docker daemon is not reachable"))
    }

    @Test func missingImageIsNamed() async throws {
        let project = try Project(appImage: "swiftdeploy/no-such-image:0.0.0")
        defer { project.destroy() }
        let deploy = try await project.run(["deploy", "--timeout", "60s", "--override", "e2e: failure path"])
        #expect(deploy.status == 3)
        #expect(deploy.stderr.contains("image 'swiftdeploy/no-such-image:0.0.0' is not on this host"))
    }

    @Test func appNeverHealthyTimesOutWithLogs() async throws {
        let project = try Project(healthPath: "/no-such-health-path")
        defer { project.destroy() }
        let deploy = try await project.run(["deploy", "--timeout", "60s", "--override", "e2e: failure path"])
        #expect(deploy.status == 3)
        #expect(deploy.stderr.contains("did not answer 200") || deploy.stderr.contains("is not healthy after"))
        #expect(deploy.stderr.contains("last log lines of 'app'"))
    }

    @Test func portAlreadyTakenIsNamed() async throws {
        let project = try Project()
        defer { project.destroy() }
        let fd = try Self.occupy(project.publicPort)
        defer { close(fd) }
        let deploy = try await project.run(["deploy", "--timeout", "60s", "--override", "e2e: failure path"])
        #expect(deploy.status == 3)
        #expect(deploy.stderr.contains("port \(project.publicPort) is already in use"))
    }
}

/// Tells the traffic thread to stop.
final class TrafficSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var on = false
    var isOn: Bool { lock.withLock { on } }
    func turnOn() { lock.withLock { on = true } }

    /// Sends `GET url` on a thread of its own, one request at a time with `pause` between them, until the returned
    /// switch is turned on (callers `defer { traffic.turnOn() }`).
    static func background(_ url: URL, pause microseconds: UInt32) -> TrafficSwitch {
        let traffic = TrafficSwitch()
        Thread.detachNewThread {
            while !traffic.isOn {
                _ = TestHTTP.requestBlocking(url, timeout: 10)
                usleep(microseconds)
            }
        }
        return traffic
    }
}
