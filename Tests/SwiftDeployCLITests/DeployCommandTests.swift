import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The lifecycle commands as a user runs them, on paths that need no running engine:
/// usage errors, the gate refusing without a policy engine, an unreachable daemon.
@Suite struct DeployCommandTests {
    static let manifest = """
        project: clitest
        services:
          image: swiftdeploy/api:0.1.0
          port: 3000
          mode: stable
        nginx:
          image: swiftdeploy/nginx:bookworm
          port: 18581
          admin_port: 18582
        network:
          name: cli-net
          driver_type: bridge

        """

    func project() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(prefix: "cli-lifecycle")
        try dir.write(Self.manifest, to: "manifest.yaml")
        return dir
    }

    /// A socket path nothing listens on.
    func deadDocker(_ dir: TemporaryDirectory) -> [String: String] {
        ["DOCKER_HOST": "unix://\(dir.path)/no-docker.sock"]
    }

    @Test func badTimeoutIsAUsageError() async throws {
        let dir = try project()
        defer { dir.remove() }
        let result = try await CLIRunner.run(["deploy", "--timeout", "soon"], in: dir.url)
        #expect(result.status == 64)
        #expect(result.stderr.contains("--timeout must be a duration such as 60s, 500ms or 2m, got 'soon'"))
    }

    @Test func unknownModeIsAUsageError() async throws {
        let dir = try project()
        defer { dir.remove() }
        let result = try await CLIRunner.run(["promote", "blue"], in: dir.url)
        #expect(result.status == 64)
        #expect(result.stderr.contains("blue"))
    }

    @Test func emptyOverrideReasonIsAUsageError() async throws {
        let dir = try project()
        defer { dir.remove() }
        let result = try await CLIRunner.run(["deploy", "--override", " "], in: dir.url)
        #expect(result.status == 64)
        #expect(result.stderr.contains("--override needs a reason"))
    }

    @Test func statusOnceAndWatchExcludeEachOther() async throws {
        let dir = try project()
        defer { dir.remove() }
        let result = try await CLIRunner.run(["status", "--once", "--watch"], in: dir.url)
        #expect(result.status == 64)
        #expect(result.stderr.contains("--once and --watch exclude each other"))
    }

    @Test func invalidManifestIsExit65() async throws {
        let dir = try TemporaryDirectory(prefix: "cli-lifecycle")
        defer { dir.remove() }
        try dir.write("services:\n  mode: blue\n", to: "manifest.yaml")
        for command in [["deploy"], ["promote", "canary"], ["teardown"], ["status", "--once"]] {
            let result = try await CLIRunner.run(command, in: dir.url)
            #expect(result.status == 65, "\(command): \(result.stderr)")
        }
    }

    @Test func daemonUnreachableIsExit3AndNamesTheSocket() async throws {
        let dir = try project()
        defer { dir.remove() }
        for command in [["teardown"], ["status", "--once"], ["promote", "canary"]] {
            let result = try await CLIRunner.run(command, in: dir.url, environment: deadDocker(dir))
            #expect(result.status == 3, "\(command): \(result.stderr)")
            #expect(
                result.stderr.contains("the Docker daemon is not reachable at unix://\(dir.path)/no-docker.sock"),
                "\(command): \(result.stderr)")
        }
    }

    @Test func theGateDecidesBeforeDockerIsTouchedAndNothingIsWrittenBeforeTheIntent() async throws {
        let dir = try project()
        defer { dir.remove() }
        // The daemon is unreachable: a refusal by the gate must come first; nothing is written before the intent.
        let result = try await CLIRunner.run(["deploy"], in: dir.url, environment: deadDocker(dir))
        // This project has no policies/ directory: the engine cannot decide, and says why.
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("deploy refused: the infrastructure policy could not decide (embedded)"))
        #expect(
            result.stderr.contains("policy directory \(dir.url.appendingPathComponent("policies").path) does not exist")
        )
        #expect(result.stderr.contains("--override"))
        #expect(!result.stderr.contains("Docker daemon"))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("docker-compose.yml").path))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("nginx.conf").path))
        // With an override the gate is passed and the unreachable daemon is reported, still before the intent.
        let overridden = try await CLIRunner.run(
            ["deploy", "--override", "cli test"], in: dir.url, environment: deadDocker(dir))
        #expect(overridden.status == 3)
        #expect(overridden.stderr.contains("the Docker daemon is not reachable"))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("docker-compose.yml").path))
        #expect(!(try dir.read("history.jsonl")).contains(#""event":"intent""#))
        let lock = DeployLock(project: "clitest", directory: dir.url.appendingPathComponent(".swiftdeploy-test-locks"))
        #expect(!lock.isHeld() && lock.read() == nil)
    }

    @Test(.requires(.docker)) func promoteDryRunNeedsADeployment() async throws {
        let dir = try project()
        defer { dir.remove() }
        let result = try await CLIRunner.run(["promote", "canary", "--dry-run"], in: dir.url)
        #expect(result.status == 3)
        #expect(
            result.stderr.contains("project 'clitest' has no 'app' container running; run 'swiftdeploy deploy' first"))
    }

    @Test func aHeldLockRefusesEveryActingCommandNamingItsHolder() async throws {
        let dir = try project()
        defer { dir.remove() }
        let host = ProcessInfo.processInfo.hostName
        let lock = DeployLock(project: "clitest", directory: dir.url.appendingPathComponent(".swiftdeploy-test-locks"))
        let grant = try await lock.acquire(
            LockHolder(
                who: "alice", host: host, pid: getpid(), action: "deploy",
                since: Date(timeIntervalSince1970: 4_070_908_800)))
        defer { grant.release() }
        for command in [["deploy", "--override", "lock test"], ["promote", "canary"], ["teardown"]] {
            let result = try await CLIRunner.run(command, in: dir.url, environment: deadDocker(dir))
            #expect(result.status == 3, "\(command): \(result.stderr)")
            #expect(
                result.stderr.contains(
                    """
                    another swiftdeploy is working on project 'clitest': alice@\(host) (pid \(getpid())) running \
                    deploy since 2099-01-01T00:00:00Z
                    """
                ),
                "\(command): \(result.stderr)")
            #expect(result.stderr.contains("nothing was changed"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("history.jsonl").path))
    }
}
