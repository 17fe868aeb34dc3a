import Foundation
import SwiftDeployKit

/// A throw-away `runtime: swarm` project for tests on the real engine: its own directory, a unique stack name, free
/// loopback ports, the repository's policies and thresholds (the latency bounds relaxed for a loaded machine), and a
/// manifest written from `Tests/Fixtures/swarm/manifest.yaml.template` (the benchmark, `benchmarks/swarm/run.sh`,
/// renders the same template). It drives the built `swiftdeploy` binary and reads what Swarm reports.
public struct SwarmProject: Sendable {
    public let dir: TemporaryDirectory
    /// The stack name (`project:`), unique per test.
    public let name: String
    public let publicPort: Int
    public let adminPort: Int
    public var manifestURL: URL { dir.url.appendingPathComponent("manifest.yaml") }

    /// The manifest template shared with the benchmark.
    public static var template: URL { RepositoryPaths.fixtures.appendingPathComponent("swarm/manifest.yaml.template") }

    /// `namePrefix` starts the stack name (letters only), the rest is random; the manifest is written at once.
    public init(
        namePrefix: String = "sdsw", replicas: Int = 1, image: String = "swiftdeploy/api:0.1.0",
        placement: [String] = []
    ) throws {
        dir = try TemporaryDirectory(prefix: "swarm-\(namePrefix)")
        name = namePrefix + String(UUID().uuidString.lowercased().prefix(8))
        // Named in the manifest: reserved together (distinct), released for Swarm to publish at the deploy.
        let ports = try LoopbackPort.forServers(2)
        publicPort = ports[0]
        adminPort = ports[1]
        try write(replicas: replicas, image: image, placement: placement)
        try TestProjectFiles.writePoliciesAndRelaxedThresholds(into: dir.url)
    }

    /// Rewrites the manifest (a new image, replica count, mode or placement), as a user editing it would.
    public func write(
        replicas: Int, image: String = "swiftdeploy/api:0.1.0", mode: String = "stable",
        placement: [String] = []
    ) throws {
        let text = try Self.manifest(
            name: name, replicas: replicas, image: image, mode: mode, placement: placement,
            publicPort: publicPort, adminPort: adminPort)
        try Data(text.utf8).write(to: manifestURL)
    }

    /// The template with its values filled in.
    public static func manifest(
        name: String, replicas: Int, image: String = "swiftdeploy/api:0.1.0", mode: String = "stable",
        placement: [String] = [], publicPort: Int, adminPort: Int
    ) throws -> String {
        let constraints = placement.isEmpty ? "" : "  placement:\n" + placement.map { "    - \($0)\n" }.joined()
        var text = try String(contentsOf: template, encoding: .utf8)
        for (key, value) in [
            ("@NAME@", name), ("@RUNTIME@", "swarm"), ("@IMAGE@", image), ("@MODE@", mode),
            ("@REPLICAS@", String(replicas)), ("@PUBLIC_PORT@", String(publicPort)),
            ("@ADMIN_PORT@", String(adminPort)), ("@PLACEMENT@\n", constraints),
        ] {
            text = text.replacingOccurrences(of: key, with: value)
        }
        return text
    }

    public var runtime: SwarmRuntime {
        SwarmRuntime(project: name, stackFile: dir.url.appendingPathComponent("docker-stack.yml"))
    }

    /// Runs the built binary on the project's manifest with this process's own environment, as a user's shell and the
    /// tests' background CLIs do (so both see the same project lock: `rollout status` tells a running rollout from a
    /// paused one by it); prints the command and what it answered.
    public func run(_ arguments: [String], timeout: TimeInterval = 300) async throws -> CommandResult {
        let result = try await SystemCommandRunner().run(
            [CLIRunner.binary.path] + arguments + ["--manifest", manifestURL.path, "--no-color"],
            environment: nil, timeout: timeout)
        print("$ swiftdeploy \(arguments.joined(separator: " ")) → \(result.status)\n\(result.stdout)\(result.stderr)")
        return result
    }

    /// deploy, and on a host the infrastructure policy finds too busy, deploy again on an audited override.
    public func deploy(timeout: String = "240s") async throws -> CommandResult {
        let first = try await run(["deploy", "--timeout", timeout])
        guard first.status == 1 || first.status == 2 else { return first }
        return try await run(["deploy", "--timeout", timeout, "--override", "swarm test on a busy shared test host"])
    }

    /// The history's records, oldest first.
    public func history() throws -> [[String: Any]] {
        let text = try String(contentsOf: dir.url.appendingPathComponent("history.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The last frame of `status --once --format json`, with the exit status.
    public func statusFrame() async throws -> (status: Int32, frame: [String: Any]?) {
        let result = try await run(["status", "--once", "--format", "json"])
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return (result.status, try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// Builds `tag` from `dockerfile` (the classic builder: no registry here); the caller removes the image.
    public static func buildImage(_ tag: String, dockerfile: String) throws -> (status: Int32, output: String) {
        let dir = try TemporaryDirectory(prefix: "swarm-image")
        defer { dir.remove() }
        let file = try dir.write(dockerfile, to: "Dockerfile")
        return try ExternalTool.runBlocking(
            "/usr/bin/env",
            [
                "env", "DOCKER_BUILDKIT=0", "docker", "build", "-q", "-t", tag,
                "-f", file.path, dir.path,
            ])
    }

    /// `teardown --clean`, then `docker stack rm` in case the binary could not, then the directory. Only on a swarm
    /// manager: once the swarm is gone (a multi-node test's harness left it) nothing of the stack is on this engine,
    /// and `teardown` rightly refuses an engine that is no manager (exit 3). Synchronous, for a test's `defer`
    /// (which cannot await): it waits on the runner's blocking wait, which needs no thread of the pool.
    public func destroy() {
        if (try? SwarmTestEnvironment.state())?.manager == true {
            let arguments = [
                CLIRunner.binary.path, "teardown", "--clean", "--manifest", manifestURL.path, "--no-color",
            ]
            if let child = try? ProcessRunner.start(arguments, timeout: 240) {
                let result = child.waitBlocking()
                print("$ swiftdeploy teardown --clean → \(result.status)\n\(result.stdout)\(result.stderr)")
            }
            _ = try? DockerTestEnvironment.docker(["stack", "rm", name])
        }
        dir.remove()
    }
}
