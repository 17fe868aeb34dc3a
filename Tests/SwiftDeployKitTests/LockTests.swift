import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The project lock: `flock(2)` on a file named by the Compose project in a host-wide directory.
/// Two `DeployLock`s open the file separately, so they conflict exactly as two processes do
/// (flock locks belong to open file descriptions); the process-level races are in `LockProcessTests`.
@Suite struct LockTests {
    func lock(_ dir: TemporaryDirectory, project: String = "lockproj") -> DeployLock {
        DeployLock(project: project, directory: dir.url.appendingPathComponent("locks"))
    }

    @Test func secondHolderIsRefusedNamingTheFirstAndNothingWasChanged() async throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        let first = try await lock(dir).acquire(
            LockHolder(
                who: "alice", host: ProcessInfo.processInfo.hostName, pid: getpid(),
                action: "deploy", since: Date(), manifest: "/srv/a/manifest.yaml"))
        let error = await #expect(throws: LockError.self) {
            try await lock(dir).acquire(LockHolder.current(action: "promote canary"))
        }
        let message = error?.errorDescription ?? ""
        #expect(
            message.contains(
                """
                another swiftdeploy is working on project 'lockproj': alice@\(ProcessInfo.processInfo.hostName) \
                (pid \(getpid())) running deploy since
                """
            ))
        #expect(message.contains("from /srv/a/manifest.yaml"))
        #expect(message.contains("nothing was changed"))
        #expect(error?.exitStatus == .operationFailed)
        #expect(lock(dir).isHeld())
        first.release()
        #expect(!lock(dir).isHeld())
        // A clean release leaves an empty description: the next holder finds nothing interrupted.
        let again = try await lock(dir).acquire(LockHolder.current(action: "promote canary"))
        #expect(again.pending.isEmpty)
        again.release()
    }

    @Test func theLockFileIsNamedByTheProjectAndHoldsTheDescriptionWhileHeld() async throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        let grant = try await lock(dir).acquire(
            LockHolder(
                who: "bob", host: "h1", pid: 42, action: "deploy",
                since: Date(timeIntervalSince1970: 1_800_000_000)))
        #expect(grant.url.lastPathComponent == "lockproj.lock")
        #expect(
            try dir.read("locks/lockproj.lock")
                == #"{"action":"deploy","host":"h1","pid":42,"since":"2027-01-15T08:00:00Z","who":"bob"}"# + "\n")
        grant.release()
        #expect(try dir.read("locks/lockproj.lock") == "")
        #expect(lock(dir).read() == nil)
    }

    @Test func theHostDirectoryComesFromTheEnvironmentOrRunLock() {
        #expect(DeployLock.hostDirectory(environment: ["SWIFTDEPLOY_LOCK_DIR": "/x/y"]).path == "/x/y")
        let fallback = DeployLock.hostDirectory(environment: [:]).path
        #expect(fallback == "/run/lock/swiftdeploy" || fallback.hasSuffix("swiftdeploy-locks"))
        #expect(DeployLock(project: "shop", directory: URL(fileURLWithPath: "/x")).url.path == "/x/shop.lock")
    }

    @Test func aHolderThatEndsWhileHoldingIsReleasedByTheKernelAndReportedToTheNext() async throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        let crashed = try await lock(dir).acquire(
            LockHolder(who: "carol", host: "h", pid: 7, action: "promote canary", since: Date()))
        crashed.abandon()  // what SIGKILL does: the kernel drops the flock, the description stays
        let next = try await lock(dir).acquire(LockHolder.current(action: "deploy"))
        defer { next.release() }
        #expect(next.pending.map(\.who) == ["carol"])
        #expect(next.pending.first?.action == "promote canary")
        // Until it is settled, the next holder's own description keeps the interrupted one.
        #expect(lock(dir).read()?.interrupted?.map(\.who) == ["carol"])
        try next.settle()
        #expect(lock(dir).read()?.interrupted == nil)
        #expect(lock(dir).read()?.pid == getpid())
    }

    @Test func anInterruptedHolderIsNotLostWhenItsSuccessorEndsTooBeforeRecordingIt() async throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        try await lock(dir).acquire(LockHolder(who: "dave", host: "h", pid: 1, action: "deploy", since: Date()))
            .abandon()
        try await lock(dir).acquire(LockHolder(who: "erin", host: "h", pid: 2, action: "teardown", since: Date()))
            .abandon()
        let third = try await lock(dir).acquire(LockHolder.current(action: "deploy"))
        defer { third.release() }
        #expect(third.pending.map(\.who) == ["dave", "erin"])
    }

    @Test func anUnreadableDescriptionIsReportedAsSuch() async throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        try dir.write("garbage", to: "locks/lockproj.lock")
        let grant = try await lock(dir).acquire(LockHolder.current(action: "deploy"))
        defer { grant.release() }
        #expect(grant.pending.count == 1)
        #expect(grant.pending.first?.action.contains("unreadable: \"garbage\"") == true)
    }

    @Test func aSymlinkInPlaceOfTheLockFileIsRefused() async throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        try dir.write("precious", to: "victim")
        try FileManager.default.createDirectory(
            at: dir.url.appendingPathComponent("locks"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: dir.url.appendingPathComponent("locks/lockproj.lock").path,
            withDestinationPath: dir.url.appendingPathComponent("victim").path)
        await #expect(throws: LockError.self) { try await lock(dir).acquire(LockHolder.current(action: "deploy")) }
        #expect(try dir.read("victim") == "precious")
    }

    @Test func concurrentAcquirersGetExactlyOneGrant() async throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        let lock = self.lock(dir)
        let grants = await withTaskGroup(of: LockGrant?.self) { group in
            for index in 0..<16 {
                group.addTask {
                    try? await lock.acquire(
                        LockHolder(
                            who: "u\(index)", host: ProcessInfo.processInfo.hostName, pid: getpid(),
                            action: "deploy", since: Date()))
                }
            }
            var held: [LockGrant] = []
            for await grant in group { if let grant { held.append(grant) } }
            return held
        }
        #expect(grants.count == 1)
        grants.forEach { $0.release() }
    }
}
