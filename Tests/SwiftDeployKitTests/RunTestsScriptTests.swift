import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// scripts/run-tests, stopped by a signal (Ctrl-C, a CI job cancelled): every test process it started (and what
/// they started) must be gone BEFORE it leaves the swarm it made, or a Swarm test still deploying finds its engine
/// out of swarm mode under it, and the processes outlive the run. The script runs here with a group file, a test
/// bundle and a `docker` of this test's own (test hooks of the script: SWIFTDEPLOY_TEST_GROUPS,
/// SWIFTDEPLOY_TEST_BUNDLE), which write what happens to one events file: no engine and no real test process.
@Suite struct RunTestsScriptTests {
    /// Whether `pid` names a process that has not ended (not a zombie), by /proc/<pid>/stat.
    static func runs(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }

    @Test(.requires(.tool("bash"), .tool("ps")), arguments: [SIGTERM, SIGINT])
    func aSignalStopsEveryTestProcessBeforeTheSwarmIsLeft(_ signal: Int32) async throws {
        let dir = try TemporaryDirectory(prefix: "run-tests-signal")
        defer { dir.remove() }
        let events = dir.url.appendingPathComponent("events")
        let quoted = ProcessRunner.shellQuoted(events.path)
        try dir.write("swarm-x      FakeTarget.FakeSwarmSuite\n", to: "groups")
        let docker = try dir.write(
            """
            #!/bin/sh
            case "$*" in
              "info --format {{.Swarm.LocalNodeState}}") echo inactive ;;
              "swarm init"*) echo "swarm init" >> \(quoted) ;;
              "swarm leave"*) echo "swarm leave" >> \(quoted) ;;
            esac

            """, to: "bin/docker")
        // A test process: its start and its stop (SIGTERM; bash runs background jobs with SIGINT ignored, so SIGTERM
        // is what reaches it), and a child of its own (as a test's CLI or docker, in the background) that it leaves
        // behind when it is stopped: run-tests must stop that one too. It waits in short sleeps, so that one of them
        // killed beside it is no way out; only 90 s of them are ("ran out").
        let bundle = try dir.write(
            """
            #!/bin/bash
            name=no-engine; case "$*" in *--filter*FakeSwarmSuite*) name=swarm ;; esac
            sleep 90 & child=$!
            trap 'echo "stopped $name" >> \(quoted); exit 143' TERM
            echo "started $name $$ $child" >> \(quoted)
            for _ in $(seq 900); do sleep 0.1; done
            echo "ran out $name" >> \(quoted)

            """, to: "bundle")
        for file in [docker, bundle] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        }
        var environment = ProcessInfo.processInfo.environment
        for key in ["CI", "SWIFTDEPLOY_TEST_ONLY", "SWIFTDEPLOY_TEST_SERIAL", "SWIFTDEPLOY_SWARM_PROCESSES"] {
            environment[key] = nil
        }
        environment["PATH"] =
            dir.url.appendingPathComponent("bin").path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["SWIFTDEPLOY_DOCKER_TESTS"] = "1"
        environment["SWIFTDEPLOY_TEST_GROUPS"] = dir.url.appendingPathComponent("groups").path
        environment["SWIFTDEPLOY_TEST_BUNDLE"] = bundle.path
        environment["TMPDIR"] = dir.path
        func lines() -> [String] {
            ((try? String(contentsOf: events, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        // Whatever happens, no fake outlives the test.
        defer {
            for line in lines() where line.hasPrefix("started ") {
                for pid in line.split(separator: " ").dropFirst(2).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
        }
        let script = try ProcessRunner.start(
            [RepositoryPaths.root.appendingPathComponent("scripts/run-tests").path], environment: environment,
            timeout: 120)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !lines().contains(where: { $0.hasPrefix("started swarm ") }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(
            lines().contains { $0.hasPrefix("started swarm ") } && lines().contains("swarm init"),
            "run-tests never reached its swarm phase: \(lines())")
        try #require(lines().contains { $0.hasPrefix("started no-engine ") }, "\(lines())")
        kill(script.pid, signal)
        let result = try await script.result()
        let seen = lines()
        #expect(!result.timedOut, "run-tests did not end within 120 s of signal \(signal): \(seen)")
        #expect(result.status == 128 + signal, "exit \(result.status): \(result.stdout)\(result.stderr)")
        let leave = seen.firstIndex(of: "swarm leave")
        #expect(leave != nil, "run-tests did not leave the swarm it made: \(seen)")
        for name in ["no-engine", "swarm"] {
            let stopped = seen.firstIndex(of: "stopped \(name)")
            #expect(stopped != nil, "the \(name) test process was not stopped: \(seen)")
            if let stopped, let leave {
                #expect(stopped < leave, "the swarm was left before the \(name) test process was stopped: \(seen)")
            }
        }
        #expect(!seen.contains { $0.hasPrefix("ran out") }, "\(seen)")
        // Their children too: none of the fakes' pids runs (a zombie waiting for init to reap it has ended).
        for line in seen where line.hasPrefix("started ") {
            for pid in line.split(separator: " ").dropFirst(2).compactMap({ Int32($0) }) {
                #expect(!Self.runs(pid), "\(line): pid \(pid) still runs")
            }
        }
    }
}
