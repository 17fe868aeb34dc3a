import Foundation
import SwiftDeployKit
import TestSupport
import Testing

/// The test hook `SWIFTDEPLOY_TEST_PAUSE_AT` holds a command at a named phase until it is killed. It must wait as
/// any other wait of the command does: one SIGINT (or SIGTERM) ends it, as it ends a deploy waiting on Docker, and
/// the command exits 130 with its lock released. (It waited in a blocking loop of one-second sleeps on a thread of the
/// cooperative pool, which no cancellation reaches: the first signal did nothing and only the second, which quits at
/// once, ended it.) No Docker: the daemon is a dead socket, as in `LockProcessTests`. A wall-time bound: the `timed`
/// group.
@Suite struct PauseHookInterruptTests {
    @Test(.requires(.swiftdeployBinary), arguments: [SIGINT, SIGTERM])
    func oneSignalEndsACommandPausedAtATestPhase(_ signal: Int32) async throws {
        let setup = try LockProcessTests.Setup()
        defer { setup.root.remove() }
        let project = "pausesig\(signal)x\(getpid())"
        let checkout = try setup.checkout("a", project: project)
        let paused = try LockProcessTests.Started(
            ["teardown"], in: checkout, environment: setup.environment(pause: true), scratch: setup.scratch,
            name: "paused")
        defer { if paused.process.isRunning { paused.kill9() } }
        try #require(
            try await LockProcessTests.wait(60) { paused.paused }, "it never reached the pause: \(paused.stderr)")

        let sent = Date()
        kill(paused.process.processIdentifier, signal)
        let ended = try await LockProcessTests.wait(20) { !paused.process.isRunning }
        #expect(
            ended,
            """
            one signal \(signal) left the command paused for \(Int(Date().timeIntervalSince(sent))) s: the pause does \
            not see the command's cancellation
            """)
        guard ended else { return }
        #expect(paused.process.terminationStatus == 130, "\(paused.stderr)")
        // The lock was released: the next command takes it (and fails on the dead daemon, not on the lock).
        let next = try await CLIRunner.run(["teardown"], in: checkout, environment: setup.environment(pause: false))
        #expect(next.status == 3, "\(next.stderr)")
        #expect(!next.stderr.contains("another swiftdeploy is working"), "\(next.stderr)")
        #expect(next.stderr.contains("the Docker daemon is not reachable"), "\(next.stderr)")
    }
}
