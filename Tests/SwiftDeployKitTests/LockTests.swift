import Foundation
import Testing
import TestSupport
@testable import SwiftDeployKit

@Suite struct LockTests {
    func lock(_ dir: TemporaryDirectory, ttl: TimeInterval = DeployLock.defaultTTL) -> DeployLock {
        DeployLock(manifestDirectory: dir.url, ttl: ttl)
    }

    @Test func secondHolderIsRefusedNamingTheFirst() throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        let first = try lock(dir).acquire(LockHolder(who: "alice", host: ProcessInfo.processInfo.hostName, pid: getpid(),
                                                     action: "deploy", since: Date()))
        let error = #expect(throws: LockError.self) {
            try lock(dir).acquire(LockHolder.current(action: "promote canary"))
        }
        let message = error?.errorDescription ?? ""
        #expect(message.contains("alice@\(ProcessInfo.processInfo.hostName) (pid \(getpid())) running deploy since"))
        #expect(error?.exitStatus == .operationFailed)
        first.release()
        let again = try lock(dir).acquire(LockHolder.current(action: "promote canary"))
        #expect(again.broken == nil)
        again.release()
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent(".swiftdeploy/lock").path))
    }

    @Test func lockFileIsJSONWithWhoHostPidActionSince() throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        let grant = try lock(dir).acquire(LockHolder(who: "bob", host: "h1", pid: 42, action: "deploy",
                                                     since: Date(timeIntervalSince1970: 1_800_000_000)))
        defer { grant.release() }
        #expect(try dir.read(".swiftdeploy/lock") == #"{"action":"deploy","host":"h1","pid":42,"since":"2027-01-15T08:00:00Z","who":"bob"}"# + "\n")
    }

    @Test func lockOfADeadProcessOnThisHostIsBrokenAndReported() throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        // A pid that existed and is gone: a finished child.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        _ = try lock(dir).acquire(LockHolder(who: "carol", host: ProcessInfo.processInfo.hostName, pid: child.processIdentifier,
                                             action: "deploy", since: Date()))
        let grant = try lock(dir).acquire(LockHolder.current(action: "deploy"))
        defer { grant.release() }
        #expect(grant.broken?.who == "carol")
        #expect(grant.breakReason == "its process \(child.processIdentifier) on \(ProcessInfo.processInfo.hostName) no longer exists")
    }

    @Test func lockOlderThanTheTTLIsBrokenWhateverTheHost() throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        _ = try lock(dir).acquire(LockHolder(who: "dave", host: "elsewhere", pid: 1, action: "promote canary",
                                             since: Date(timeIntervalSinceNow: -3600)))
        let error = #expect(throws: LockError.self) {
            try lock(dir, ttl: 7200).acquire(LockHolder.current(action: "deploy"))
        }
        #expect(error?.errorDescription?.contains("dave@elsewhere (pid 1) running promote canary") == true)
        let grant = try lock(dir, ttl: 1800).acquire(LockHolder.current(action: "deploy"))
        defer { grant.release() }
        #expect(grant.broken?.who == "dave")
        #expect(grant.breakReason?.hasSuffix("older than the 1800s TTL") == true)
    }

    @Test func unreadableLockIsBroken() throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        try dir.write("garbage", to: ".swiftdeploy/lock")
        let grant = try lock(dir).acquire(LockHolder.current(action: "deploy"))
        defer { grant.release() }
        #expect(grant.breakReason == "its content is unreadable")
    }

    @Test func brokenLockIsRecordedByTheWorkflow() async throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        let url = try dir.write(WorkflowTests.manifestText, to: "manifest.yaml")
        _ = try lock(dir).acquire(LockHolder(who: "erin", host: "gone-host", pid: 7, action: "deploy",
                                             since: Date(timeIntervalSinceNow: -2 * DeployLock.defaultTTL)))
        let runtime = FakeContainerRuntime(modeOnDisk: { "stable" })
        let recorder = MemoryRecorder()
        let context = DeployContext(manifestURL: url, manifest: try ManifestLoader().load(from: url), runtime: runtime,
                                    renderer: FakeRenderer(), gate: FakePolicyGate(), recorder: recorder,
                                    probe: FakeHTTPProbe(runtime: runtime), pollInterval: 0.02)
        _ = try await DeployWorkflow(context: context).run()
        #expect(recorder.records.map(\.event) == [.lock, .deploy])
        #expect(recorder.records.first?.outcome == "broken")
        #expect(recorder.records.first?.message.contains("erin@gone-host (pid 7) running deploy") == true)
    }

    @Test func concurrentAcquirersGetExactlyOneGrant() async throws {
        let dir = try TemporaryDirectory(prefix: "lock")
        defer { dir.remove() }
        let lock = self.lock(dir)
        let grants = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    (try? lock.acquire(LockHolder(who: "u\(index)", host: ProcessInfo.processInfo.hostName, pid: getpid(),
                                                  action: "deploy", since: Date()))) != nil
                }
            }
            var count = 0
            for await granted in group where granted { count += 1 }
            return count
        }
        #expect(grants == 1)
    }
}
