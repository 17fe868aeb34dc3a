import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

@Suite struct HostFactsTests {
    @Test func readsLoadMemoryAndDiskFromFixtureProc() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("2.50 1.20 0.80 3/412 12345\n", to: "proc/loadavg")
        try dir.write(
            "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\n",
            to: "proc/meminfo")
        let collector = HostFactsCollector(
            procRoot: dir.path + "/proc", fallbackDirectory: dir.path, dockerRootDir: { nil })
        let facts = await collector.collect()
        #expect(facts.load1 == 2.5)
        #expect(facts.loadSource == dir.path + "/proc/loadavg")
        #expect(facts.memoryUsedPercent == 75)
        #expect(facts.memorySource == dir.path + "/proc/meminfo (MemTotal, MemAvailable)")
        #expect(facts.cpuCount >= 1)
        #expect(facts.loadPerCPU == 2.5 / Double(facts.cpuCount))
        #expect(facts.diskFreeGB != nil)
        #expect(facts.diskFreeGB! > 0)
        #expect(facts.problems.isEmpty)
        if !FileManager.default.fileExists(atPath: "/var/lib/docker") {
            #expect(facts.diskPath == dir.path)
            #expect(facts.diskSource == "statvfs \(dir.path) (manifest directory; Docker's data root not found)")
        }
        let json = facts.json
        #expect(json["load1"] == .double(2.5))
        #expect(json["sources"]?["memory"]?.stringValue?.hasSuffix("(MemTotal, MemAvailable)") == true)
    }

    @Test func diskMatchesStatvfsOfTheChosenPath() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let facts = await HostFactsCollector(diskPath: dir.path, fallbackDirectory: "/", dockerRootDir: { nil })
            .collect()
        var stats = statvfs()
        #expect(statvfs(dir.path, &stats) == 0)
        let expected = Double(stats.f_bavail) * Double(stats.f_frsize) / 1e9
        #expect(abs(facts.diskFreeGB! - expected) < 0.01)
        #expect(facts.diskSource == "statvfs \(dir.path) (configured)")
    }

    @Test func dockerDataRootWinsWhenDockerAnswers() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path
        let facts = await HostFactsCollector(fallbackDirectory: "/", dockerRootDir: { root }).collect()
        #expect(facts.diskPath == root)
        #expect(facts.diskSource == "statvfs \(root) (docker info DockerRootDir)")
    }

    @Test func unreadableFactsAreProblemsNotZeros() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("garbage\n", to: "proc/loadavg")
        try dir.write("MemTotal: 100 kB\n", to: "proc/meminfo")
        let facts = await HostFactsCollector(
            procRoot: dir.path + "/proc", diskPath: dir.path + "/missing", fallbackDirectory: "/",
            dockerRootDir: { nil }
        ).collect()
        #expect(facts.load1 == nil)
        #expect(facts.memoryUsedPercent == nil)
        #expect(facts.diskFreeGB == nil)
        #expect(facts.problems.count == 3)
        #expect(facts.problems[0].contains("does not start with a load average"))
        #expect(facts.problems[1].contains("has no MemTotal/MemAvailable"))
        #expect(facts.problems[2].contains("statvfs \(dir.path)/missing failed"))
        #expect(facts.json["disk_free_gb"] == .null)
    }

    /// Linux only (the facts come from /proc): on a system without /proc it shows as skipped, not passed.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/loadavg"), "no /proc on this system"))
    func realKernelFactsAreRead() async throws {
        let facts = await HostFactsCollector(fallbackDirectory: "/").collect()
        #expect(facts.load1 != nil)
        #expect(facts.memoryUsedPercent != nil)
        #expect((0...100).contains(facts.memoryUsedPercent!))
        #expect(facts.diskFreeGB != nil)
    }
}

/// Docker's data root is asked once per engine start (keyed by the engine socket's identity), not once per gate.
@Suite struct DockerDataRootTests {
    final class Asker: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var answer: String?
        init(_ answer: String?) { self.answer = answer }
        var calls: Int {
            lock.lock()
            defer { lock.unlock() }
            return count
        }
        func ask() -> String? {
            lock.lock()
            defer { lock.unlock() }
            count += 1
            return answer
        }
    }

    func rig(_ answer: String?) throws -> (TemporaryDirectory, Asker, DockerDataRoot) {
        let dir = try TemporaryDirectory()
        try dir.write("", to: "docker.sock")
        try FileManager.default.createDirectory(atPath: dir.path + "/data-root", withIntermediateDirectories: true)
        let asker = Asker(answer.map { dir.path + "/" + $0 })
        let root = DockerDataRoot(
            socketPath: dir.path + "/docker.sock", cacheFile: dir.url.appendingPathComponent("cache/root"),
            ask: { asker.ask() })
        return (dir, asker, root)
    }

    @Test func askedOnceWhileTheEngineSocketIsTheSame() async throws {
        let (dir, asker, root) = try rig("data-root")
        defer { dir.remove() }
        #expect(await root.resolve() == dir.path + "/data-root")
        #expect(await root.resolve() == dir.path + "/data-root")
        #expect(asker.calls == 1)
    }

    @Test func aRestartedEngineIsAskedAgain() async throws {
        let (dir, asker, root) = try rig("data-root")
        defer { dir.remove() }
        _ = await root.resolve()
        // The engine restarts: a new socket replaces the old one (created before the old one goes: another inode).
        try dir.write("", to: "docker.sock.new")
        #expect(rename(dir.path + "/docker.sock.new", dir.path + "/docker.sock") == 0)
        try FileManager.default.createDirectory(atPath: dir.path + "/moved", withIntermediateDirectories: true)
        asker.answer = dir.path + "/moved"
        await #expect(root.resolve() == dir.path + "/moved")
        #expect(asker.calls == 2)
    }

    @Test func aDataRootThatIsGoneIsAskedAgain() async throws {
        let (dir, asker, root) = try rig("data-root")
        defer { dir.remove() }
        _ = await root.resolve()
        try FileManager.default.removeItem(atPath: dir.path + "/data-root")
        await #expect(root.resolve() == dir.path + "/data-root")
        #expect(asker.calls == 2)
    }

    @Test func noAnswerIsNotCachedAndNoSocketMeansNoCache() async throws {
        let (dir, asker, root) = try rig(nil)
        defer { dir.remove() }
        await #expect(root.resolve() == nil)
        await #expect(root.resolve() == nil)
        #expect(asker.calls == 2)
        var missing = root
        missing.socketPath = dir.path + "/no-such.sock"
        asker.answer = dir.path + "/data-root"
        _ = await missing.resolve()
        _ = await missing.resolve()
        #expect(asker.calls == 4)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/cache/root"))
    }

    @Test func aForeignOrGarbledCacheIsNotTrusted() async throws {
        let (dir, asker, root) = try rig("data-root")
        defer { dir.remove() }
        try dir.write("v1 1:2:3.4 /var/run/docker.sock\n/etc\n", to: "cache/root")
        #expect(await root.resolve() == dir.path + "/data-root")
        try dir.write("garbage", to: "cache/root")
        var fresh = root
        fresh.cacheFile = dir.url.appendingPathComponent("cache/root")
        #expect(await fresh.resolve() == dir.path + "/data-root")
        #expect(asker.calls == 2)
    }

    @Test func onlyAnEngineOnACheckableUnixSocketIsCached() {
        #expect(DockerDataRoot.socketPath(environment: ["HOME": "/nonexistent"]) == "/var/run/docker.sock")
        #expect(
            DockerDataRoot.socketPath(environment: ["DOCKER_HOST": "unix:///run/user/1000/docker.sock"])
                == "/run/user/1000/docker.sock")
        #expect(DockerDataRoot.socketPath(environment: ["DOCKER_HOST": "tcp://10.0.0.2:2376"]) == nil)
        #expect(DockerDataRoot.socketPath(environment: ["DOCKER_HOST": "ssh://me@host"]) == nil)
        #expect(DockerDataRoot.socketPath(environment: ["DOCKER_CONTEXT": "remote"]) == nil)
        #expect(
            DockerDataRoot.cacheFile(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"])?.path
                == "/c/swiftdeploy/docker-data-root")
        #expect(DockerDataRoot.cacheFile(environment: ["HOME": "/h"])?.path == "/h/.cache/swiftdeploy/docker-data-root")
        #expect(DockerDataRoot.cacheFile(environment: [:]) == nil)
    }

    @Test func aDockerContextInTheConfigIsNotCached() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write(#"{"currentContext": "remote"}"#, to: "config.json")
        #expect(DockerDataRoot.socketPath(environment: ["DOCKER_CONFIG": dir.path]) == nil)
        try dir.write(#"{"currentContext": "default"}"#, to: "config.json")
        #expect(DockerDataRoot.socketPath(environment: ["DOCKER_CONFIG": dir.path]) == "/var/run/docker.sock")
    }
}
