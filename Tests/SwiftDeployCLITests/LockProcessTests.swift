import Foundation
import SwiftDeployKit
import TestSupport
import Testing

/// The project lock between real processes of the built binary: the race the old lock lost (two
/// processes breaking one stale lock, the rename of the second delayed, both ending up holders), two
/// checkouts of one project, and a holder killed with SIGKILL. The commands pause holding the lock
/// through the test hook `SWIFTDEPLOY_TEST_PAUSE_AT=lock-acquired`; the daemon is a dead socket, so
/// nothing here needs Docker.
@Suite struct LockProcessTests {
    static func manifest(project: String) -> String {
        """
        project: \(project)
        services:
          image: swiftdeploy/api:0.1.0
          port: 3000
        nginx:
          image: swiftdeploy/nginx:bookworm
          port: 18591
          admin_port: 18592
        network:
          name: lock-net
          driver_type: bridge

        """
    }

    /// A started `swiftdeploy` process whose output goes to files.
    final class Started: @unchecked Sendable {
        let process: BackgroundProcess
        let out: URL
        let err: URL
        let marker: URL

        init(_ arguments: [String], in directory: URL, environment: [String: String], scratch: URL, name: String) throws
        {
            out = scratch.appendingPathComponent("\(name).out")
            err = scratch.appendingPathComponent("\(name).err")
            marker = scratch.appendingPathComponent("\(name).paused")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            FileManager.default.createFile(atPath: err.path, contents: nil)
            var env = [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "NO_COLOR": "1",
                "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/root",
                "SWIFTDEPLOY_TEST_PAUSE_MARKER": marker.path,
            ]
            env.merge(environment) { _, new in new }
            process = try BackgroundProcess(
                [CLIRunner.binary.path] + arguments, environment: env, currentDirectory: directory, stdout: out,
                stderr: err)
        }

        var paused: Bool { FileManager.default.fileExists(atPath: marker.path) }
        var stderr: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// `wait` for the synchronous helpers of the Docker suites (CrashTests), which run one test at a time in their own
    /// process: it blocks the calling thread between looks.
    static func waitBlocking(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// Waits up to `seconds` for `condition`.
    static func wait(_ seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    struct Setup {
        let root: TemporaryDirectory
        var locks: URL { root.url.appendingPathComponent("locks") }
        var scratch: URL { root.url.appendingPathComponent("scratch") }

        init() throws {
            root = try TemporaryDirectory(prefix: "lockproc")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        }

        func checkout(_ name: String, project: String) throws -> URL {
            try root.write(LockProcessTests.manifest(project: project), to: "\(name)/manifest.yaml")
            return root.url.appendingPathComponent(name)
        }

        func environment(pause: Bool) -> [String: String] {
            var env = ["SWIFTDEPLOY_LOCK_DIR": locks.path, "DOCKER_HOST": "unix://\(root.path)/no-docker.sock"]
            if pause { env["SWIFTDEPLOY_TEST_PAUSE_AT"] = "lock-acquired" }
            return env
        }
    }

    /// The old lock: a stale lock from a dead holder, two processes breaking it at once, the second one's
    /// rename delayed (strace fault injection) so that both held it and both recorded breaking it. Here both
    /// find the same dead holder's description and race; the one that gets the lock then stays paused in
    /// it, which is the widest possible delay. Exactly one holds it, the other is refused naming it, and
    /// the dead holder is recorded once, by whoever takes the lock next after the winner is killed too.
    @Test func theDelayedBreakRaceHasOneHolderAndTheDeadHolderIsRecordedOnce() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRunner.binary.path), "build swiftdeploy first")
        let setup = try Setup()
        defer { setup.root.remove() }
        let project = "racetest\(getpid())"
        let checkout = try setup.checkout("a", project: project)
        // A pid that names no process any more: a program that has exited.
        let dead = try ProcessRunner.start(["/bin/true"], timeout: 30)
        _ = try await dead.result()
        let host = ProcessInfo.processInfo.hostName
        try setup.root.write(
            #"{"action":"promote canary","host":"\#(host)","pid":\#(dead.pid),"since":"2026-01-01T00:00:00Z","who":"bob"}"#
                + "\n",
            to: "locks/\(project).lock")

        let racers = try (0..<2).map { index in
            try Started(
                ["teardown"], in: checkout, environment: setup.environment(pause: true), scratch: setup.scratch,
                name: "racer\(index)")
        }
        defer { racers.forEach { if $0.process.isRunning { $0.kill9() } } }
        // One pauses holding the lock; the other is refused and exits.
        #expect(
            try await Self.wait(60) { racers.contains(where: \.paused) && racers.contains { !$0.process.isRunning } })
        let holders = racers.filter(\.paused)
        let refused = racers.filter { !$0.paused }
        try #require(holders.count == 1 && refused.count == 1, "holders: \(holders.count)")
        let holder = holders[0]
        refused[0].process.waitUntilExit()
        #expect(refused[0].process.terminationStatus == 3)
        #expect(
            refused[0].stderr.contains("another swiftdeploy is working on project '\(project)': "),
            "\(refused[0].stderr)")
        #expect(
            refused[0].stderr.contains("(pid \(holder.process.processIdentifier)) running teardown"),
            "\(refused[0].stderr)")
        #expect(refused[0].stderr.contains("nothing was changed"))
        // The holder's own description keeps the dead one until it has recorded it.
        let description = try setup.root.read("locks/\(project).lock")
        #expect(description.contains("\"pid\":\(holder.process.processIdentifier)"))
        #expect(description.contains("\"interrupted\":[{"))
        #expect(description.contains("\"who\":\"bob\""))

        holder.kill9()
        let next = try await CLIRunner.run(["teardown"], in: checkout, environment: setup.environment(pause: false))
        #expect(next.status == 3, "the dead daemon: \(next.stderr)")
        #expect(next.stderr.contains("the Docker daemon is not reachable"))
        #expect(
            next.stderr.contains("warning: a previous promote canary (bob@\(host) (pid \(dead.pid))"),
            "\(next.stderr)")
        #expect(next.stderr.contains("warning: a previous teardown ("), "\(next.stderr)")
        #expect(next.stderr.contains("(pid \(holder.process.processIdentifier)) running teardown"), "\(next.stderr)")
        let history = try setup.root.read("a/history.jsonl")
        let lockRecords = history.split(separator: "\n").filter { $0.contains(#""event":"lock""#) }
        #expect(lockRecords.count == 2, "\(history)")
        #expect(lockRecords.filter { $0.contains("bob@") }.count == 1, "the dead holder is recorded once")
        #expect(lockRecords.allSatisfy { $0.contains(#""outcome":"abandoned""#) })
        // And the lock is free and clean again.
        #expect(try setup.root.read("locks/\(project).lock") == "")
        let audit = try await CLIRunner.run(["audit", "--verify"], in: checkout)
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
    }

    @Test func twoCheckoutsOfOneProjectExcludeEachOther() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRunner.binary.path), "build swiftdeploy first")
        let setup = try Setup()
        defer { setup.root.remove() }
        let project = "shared\(getpid())"
        let first = try setup.checkout("first", project: project)
        let second = try setup.checkout("second", project: project)
        let holder = try Started(
            ["deploy", "--override", "lock test"], in: first, environment: setup.environment(pause: true),
            scratch: setup.scratch, name: "first")
        defer { if holder.process.isRunning { holder.kill9() } }
        try #require(
            try await Self.wait(60) { holder.paused }, "the first checkout never took the lock: \(holder.stderr)")
        for command in [["deploy", "--override", "x"], ["promote", "canary"], ["teardown"]] {
            let result = try await CLIRunner.run(command, in: second, environment: setup.environment(pause: false))
            #expect(result.status == 3, "\(command): \(result.stderr)")
            #expect(
                result.stderr.contains("another swiftdeploy is working on project '\(project)': "),
                "\(command): \(result.stderr)")
            #expect(
                result.stderr.contains("(pid \(holder.process.processIdentifier)) running deploy since"),
                "\(command): \(result.stderr)")
            #expect(
                result.stderr.contains("from \(first.appendingPathComponent("manifest.yaml").path)"),
                "\(command): \(result.stderr)")
        }
        // A checkout of another project is not held up.
        let other = try setup.checkout("other", project: "other\(getpid())")
        let free = try await CLIRunner.run(["teardown"], in: other, environment: setup.environment(pause: false))
        #expect(free.status == 3 && free.stderr.contains("the Docker daemon is not reachable"), "\(free.stderr)")

        // Killed with SIGKILL, the holder's lock is released by the kernel; the other checkout reports it.
        holder.kill9()
        let after = try await CLIRunner.run(["teardown"], in: second, environment: setup.environment(pause: false))
        #expect(after.status == 3 && after.stderr.contains("the Docker daemon is not reachable"), "\(after.stderr)")
        #expect(after.stderr.contains("warning: a previous deploy ("), "\(after.stderr)")
        #expect(
            after.stderr.contains(
                "ended without releasing the lock before changing anything (it had written no intent)"),
            "\(after.stderr)")
        #expect(try setup.root.read("second/history.jsonl").contains(#""outcome":"abandoned""#))
    }
}
