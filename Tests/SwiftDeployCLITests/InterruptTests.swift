import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The built CLI sent SIGINT or SIGTERM in the middle of a deploy on a real Docker engine, while it waits for a
/// health check that never passes and while one of its `docker` children runs: it exits 130, no program it started
/// is left running, the history's chain verifies and records the interruption (the deploy's intent closed by an
/// `interrupted` record naming the signal), the lock is free, and the next command finds nothing left open.
@Suite(
    // serialized: the host's CPU and load, which every deploy's infrastructure gate reads: two deploys of this suite
    // at once on two cores starve the tests' traffic and the gate denies for load (scripts/test-groups runs one
    // deploy per process)
    .serialized, .requires(.docker))
struct InterruptTests {
    typealias Project = EndToEndTests.Project

    /// The processes (pid, command line) whose environment holds `marker`: the CLI and every program it started.
    static func processes(marked marker: String) -> [(pid: Int32, command: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), pid != getpid(),
                let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                environ.split(separator: 0).contains(where: { $0.elementsEqual(marker.utf8) })
            else { return nil }
            let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline").map {
                String(decoding: $0.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            }
            return (pid, command ?? "?")
        }
    }

    /// An image whose health check always fails: a deploy of it waits for health until its timeout.
    static func unhealthyImage(_ name: String) async throws -> String {
        let tag = "swiftdeploy/api:\(name)-unhealthy"
        let dir = try TemporaryDirectory(prefix: "interrupt-image")
        defer { dir.remove() }
        let dockerfile = try dir.write(
            "FROM swiftdeploy/api:0.1.0\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD [\"false\"]\n",
            to: "Dockerfile")
        let built = try await SystemCommandRunner().run(
            ["env", "DOCKER_BUILDKIT=0", "docker", "build", "-q", "-t", tag, "-f", dockerfile.path, dir.path],
            timeout: 120)
        try #require(built.succeeded, "\(built.stderr)")
        return tag
    }

    @Test(arguments: [("SIGINT", SIGINT), ("SIGTERM", SIGTERM)])
    func aSignalDuringTheHealthWaitStopsTheChildrenAndClosesTheIntent(name: String, signal: Int32) async throws {
        let probe = try Project()
        let image = try await Self.unhealthyImage(probe.name)
        probe.dir.remove()
        defer { _ = try? ExternalTool.runBlocking("/usr/bin/env", ["docker", "image", "rm", image], timeout: 60) }
        let project = try Project(appImage: image)
        defer { project.destroy() }

        let marker = "SWIFTDEPLOY_TEST_RUN=\(UUID().uuidString)"
        let paused = project.dir.url.appendingPathComponent("health-wait.reached")
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFTDEPLOY_TEST_PAUSE_AT"] = "deploy.started"
        environment["SWIFTDEPLOY_TEST_PAUSE_MODE"] = "continue"
        environment["SWIFTDEPLOY_TEST_PAUSE_MARKER"] = paused.path
        environment["SWIFTDEPLOY_TEST_RUN"] = String(marker.split(separator: "=", maxSplits: 1)[1])
        let cli = try ProcessRunner.start(
            [
                CLIRunner.binary.path, "deploy", "--timeout", "300s", "--override", "interrupt test: host busy",
                "--manifest", project.manifestURL.path, "--no-color",
            ], environment: environment, timeout: 600)

        // In the health wait (the containers are up, the app never healthy), with a docker child running.
        let inWait = await RolloutEndToEndTests.waitFor(240) {
            FileManager.default.fileExists(atPath: paused.path) || !cli.isRunning
        }
        try #require(inWait && cli.isRunning, "the deploy never reached its health wait")
        // The signal goes the moment a child of the CLI (a docker command of the health wait) is seen running.
        var children: [(pid: Int32, command: String)] = []
        var sent: Date?
        let seeking = Date().addingTimeInterval(60)
        while Date() < seeking, cli.isRunning {
            children = Self.processes(marked: marker).filter { $0.pid != cli.pid }
            if !children.isEmpty {
                kill(cli.pid, signal)
                sent = Date()
                break
            }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        let signalled = try #require(sent, "no docker child of the CLI was seen running")
        let result = try await cli.result()
        let took = Date().timeIntervalSince(signalled)
        print(
            "$ swiftdeploy deploy (\(name) after the health wait began; children then: \(children.map(\.command)))"
                + " → \(result.status) in \(took) s\n\(result.stdout)\(result.stderr)")

        #expect(result.status == ExitStatus.interrupted.rawValue, "\(result.stderr)")
        #expect(took < 30, "the deploy took \(took) s to stop after \(name)")
        #expect(result.stderr.contains("interrupted by \(name)"), "\(result.stderr)")
        // No program the CLI started is left (every process that inherited the marker is gone).
        let left = await RolloutEndToEndTests.waitFor(5) { Self.processes(marked: marker).isEmpty }
        #expect(left, "left running: \(Self.processes(marked: marker).map(\.command))")

        // The history: the chain verifies; the deploy's intent is closed by an interrupted record naming the signal.
        let audit = try await project.run(["audit", "--verify"])
        #expect(audit.status == 0, "audit --verify: \(audit.stdout)\(audit.stderr)")
        let lines = try project.dir.read("history.jsonl").split(separator: "\n").map {
            try JSONValue.parse(Data($0.utf8))
        }
        let intent = try #require(lines.last { $0["event"] == "intent" && $0["details"]?["action"] == "deploy" })
        let last = try #require(lines.last)
        #expect(last["event"] == "interrupted" && last["outcome"] == "interrupted", "\(last)")
        #expect(last["details"]?["intent_seq"] == intent["seq"], "\(last)")
        #expect(last["details"]?["reason"] == .string("\(name) received"), "\(last)")
        #expect(!lines.contains { $0["event"] == "deploy" && $0["outcome"] == "failed" })

        // The lock is free and nothing is left open: the next acting command recovers nothing.
        #expect(!DeployLock(project: project.name).isHeld())
        let teardown = try await project.run(["teardown"])
        #expect(teardown.status == 0, "\(teardown.stderr)")
        #expect(!teardown.stderr.contains("was interrupted before its outcome was recorded"), "\(teardown.stderr)")
        #expect(!teardown.stderr.contains("ended without releasing the lock"), "\(teardown.stderr)")
    }
}
