import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// SIGKILL at each phase of deploy, promote and teardown on a real Docker engine, with the built binary:
/// during the metrics window, after the manifest edit, during the recreate, during `up` and `down`.
/// After each kill: the manifest is valid YAML in the old or the new mode, `audit --verify` passes, the
/// next command reports the interruption on the console and records it, and a following promote works.
/// The kill points come from the test hook `SWIFTDEPLOY_TEST_PAUSE_AT` (docs/lifecycle.md).
/// Runs with `SWIFTDEPLOY_DOCKER_TESTS=1`, and always under `CI=true` (where a missing engine fails it).
@Suite(
    // serialized: the host's CPU and load, which every deploy's infrastructure gate reads: two deploys of this suite
    // at once on two cores starve the tests' traffic and the gate denies for load (scripts/test-groups runs one
    // deploy per process)
    .serialized, .requires(.docker))
struct CrashTests {
    typealias Project = EndToEndTests.Project
    typealias Started = LockProcessTests.Started

    /// Starts `swiftdeploy arguments` on `project`, waits until it reaches `phase`, then kills it with SIGKILL:
    /// at once when it pauses there, or `after` seconds into the next step (`continue` mode). Traffic flows
    /// through nginx meanwhile, so a metrics window has requests.
    static func kill(_ project: Project, _ arguments: [String], at phase: String, continuing after: Double? = nil)
        throws -> String
    {
        let traffic = TrafficSwitch.background(URL(string: "http://127.0.0.1:\(project.publicPort)/")!, pause: 40_000)
        defer { traffic.turnOn() }
        var environment = ["SWIFTDEPLOY_TEST_PAUSE_AT": phase]
        if after != nil { environment["SWIFTDEPLOY_TEST_PAUSE_MODE"] = "continue" }
        let name = "\(phase)-\(UUID().uuidString.prefix(6))"
        let started = try Started(
            arguments + ["--manifest", project.manifestURL.path, "--no-color"], in: project.dir.url,
            environment: environment, scratch: project.dir.url, name: name)
        let reached = LockProcessTests.waitBlocking(300) { started.paused || !started.process.isRunning }
        if started.process.isRunning, let after { usleep(useconds_t(after * 1_000_000)) }
        let wasRunning = started.process.isRunning
        if wasRunning { started.kill9() }
        let stderr = started.stderr
        print(
            """
            $ swiftdeploy \(arguments.joined(separator: " ")) killed at \
            \(phase)\(after.map { " + \($0)s" } ?? ""): \(stderr)
            """
        )
        try #require(
            reached && started.paused && wasRunning, "\(arguments) never reached \(phase) or ended first: \(stderr)")
        try? FileManager.default.removeItem(at: started.marker)
        return stderr
    }

    /// The checks after every kill.
    static func afterKill(_ project: Project, modes: Set<DeploymentMode>, _ context: String) async throws {
        let manifest = try ManifestLoader().load(from: project.manifestURL)
        #expect(modes.contains(manifest.services.mode), "\(context): the manifest says \(manifest.services.mode)")
        let audit = try await project.run(["audit", "--verify"])
        #expect(audit.status == 0, "\(context): audit --verify: \(audit.stdout)\(audit.stderr)")
        // Nothing holds the lock after the kill: the kernel released it.
        #expect(!DeployLock(project: project.name).isHeld(), "\(context): the lock is still held")
    }

    static func count(_ project: Project, _ text: String) throws -> Int {
        try project.dir.read("history.jsonl").components(separatedBy: text).count - 1
    }

    static func expectInterrupted(_ result: CommandResult, _ project: Project, recordedBefore: Int, _ context: String)
        throws
    {
        #expect(result.stderr.contains("warning: "), "\(context): \(result.stderr)")
        #expect(
            result.stderr.contains("was interrupted before its outcome was recorded (intent #"),
            "\(context): \(result.stderr)")
        #expect(try count(project, #""event":"interrupted""#) == recordedBefore + 1, "\(context): not recorded once")
    }

    @Test func sigkillAtEachPhaseLeavesAValidManifestAVerifiableHistoryAndIsRecordedByTheNextCommand() async throws {
        let project = try Project()
        defer { project.destroy() }
        var deploy = try await project.run(["deploy", "--timeout", "180s"])
        var override: [String] = []
        if deploy.status == 1 {
            override = ["--override", "crash test: host busy"]
            deploy = try await project.run(["deploy", "--timeout", "180s"] + override)
        }
        try #require(deploy.status == 0, "deploy: \(deploy.stderr)")

        // 1. promote killed during the metrics window: nothing was changed, no intent was written.
        var stderr = try Self.kill(project, ["promote", "canary"], at: "promote.window")
        try await Self.afterKill(project, modes: [.stable], "promote killed in the window")
        #expect(try !project.dir.read("history.jsonl").contains(#""action":"promote canary""#))
        var next = try await EndToEndTests.runUnderTraffic(project, ["promote", "canary"])
        #expect(next.status == 0, "promote after the window kill: \(next.stderr)")
        #expect(next.stderr.contains("warning: a previous promote canary ("), "\(next.stderr)")
        #expect(
            next.stderr.contains(
                "ended without releasing the lock before changing anything (it had written no intent)"),
            "\(next.stderr)")
        #expect(try Self.count(project, #""outcome":"abandoned""#) == 1)
        #expect(try ManifestLoader().load(from: project.manifestURL).services.mode == .canary)

        // 2. promote killed right after the manifest edit: the manifest says stable, the app still runs canary.
        stderr = try Self.kill(project, ["promote", "stable"], at: "promote.manifest-edited")
        _ = stderr
        try await Self.afterKill(project, modes: [.stable, .canary], "promote killed after the edit")
        #expect(try ManifestLoader().load(from: project.manifestURL).services.mode == .stable)
        await #expect(try project.containers().first { $0.service == "app" }?.environment["MODE"] == "canary")
        var interrupted = try Self.count(project, #""event":"interrupted""#)
        next = try await EndToEndTests.runUnderTraffic(project, ["promote", "stable"])
        #expect(next.status == 0, "promote after the edit kill: \(next.stderr)")
        try Self.expectInterrupted(next, project, recordedBefore: interrupted, "after the edit kill")
        #expect(next.stderr.contains("found: the app runs in canary mode"), "\(next.stderr)")
        await #expect(try project.containers().first { $0.service == "app" }?.environment["MODE"] == "stable")

        // 3. promote killed during the recreate (Compose is running when the kill lands).
        _ = try Self.kill(project, ["promote", "canary"], at: "promote.recreate", continuing: 0.3)
        try await Self.afterKill(project, modes: [.canary], "promote killed during the recreate")
        interrupted = try Self.count(project, #""event":"interrupted""#)
        // Compose, orphaned, may still be finishing the recreate: give it a moment.
        try await Task.sleep(nanoseconds: 5_000_000_000)
        next = try await EndToEndTests.runUnderTraffic(project, ["promote", "canary"])
        #expect(next.status == 0, "promote after the recreate kill: \(next.stderr)")
        try Self.expectInterrupted(next, project, recordedBefore: interrupted, "after the recreate kill")
        // A following promote works.
        next = try await EndToEndTests.runUnderTraffic(project, ["promote", "stable"])
        #expect(next.status == 0, "a following promote: \(next.stderr)")
        #expect(try ManifestLoader().load(from: project.manifestURL).services.mode == .stable)

        // 4. deploy killed during `up`.
        _ = try Self.kill(project, ["deploy", "--timeout", "180s"] + override, at: "deploy.up", continuing: 0.3)
        try await Self.afterKill(project, modes: [.stable], "deploy killed during up")
        interrupted = try Self.count(project, #""event":"interrupted""#)
        next = try await project.run(["deploy", "--timeout", "180s"] + override)
        #expect(next.status == 0, "deploy after the up kill: \(next.stderr)")
        try Self.expectInterrupted(next, project, recordedBefore: interrupted, "after the deploy kill")

        // 5. teardown killed during `down`.
        _ = try Self.kill(project, ["teardown"], at: "teardown.down", continuing: 0.5)
        try await Self.afterKill(project, modes: [.stable], "teardown killed during down")
        interrupted = try Self.count(project, #""event":"interrupted""#)
        next = try await project.run(["teardown"])
        #expect(next.status == 0, "teardown after the down kill: \(next.stderr)")
        try Self.expectInterrupted(next, project, recordedBefore: interrupted, "after the teardown kill")
        await #expect(try project.leftovers().isEmpty)

        // And the project comes back: deploy, then a promote that works.
        await #expect(try project.run(["deploy", "--timeout", "180s"] + override).status == 0)
        next = try await EndToEndTests.runUnderTraffic(project, ["promote", "canary"])
        #expect(next.status == 0, "promote after everything: \(next.stderr)")
        let final = try await project.run(["audit", "--verify"])
        #expect(final.status == 0, "\(final.stdout + final.stderr)")
        // Every intent in the history is closed by exactly one record.
        let lines = try project.dir.read("history.jsonl").split(separator: "\n").map {
            try JSONValue.parse(Data($0.utf8))
        }
        let intents = lines.filter { $0["event"]?.stringValue == "intent" }.compactMap { $0["seq"] }
        let closers = lines.compactMap { $0["details"]?["intent_seq"] }
        #expect(!intents.isEmpty)
        for seq in intents {
            #expect(
                closers.filter { $0 == seq }.count == 1,
                "intent \(seq) is closed \(closers.filter { $0 == seq }.count) times")
        }
    }
}
