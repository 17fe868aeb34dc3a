import Foundation
import Testing
@testable import SwiftDeployKit
import TestSupport

@Suite struct HostFactsTests {
    @Test func readsLoadMemoryAndDiskFromFixtureProc() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("2.50 1.20 0.80 3/412 12345\n", to: "proc/loadavg")
        try dir.write("MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\n", to: "proc/meminfo")
        let collector = HostFactsCollector(procRoot: dir.path + "/proc", fallbackDirectory: dir.path, dockerRootDir: { nil })
        let facts = collector.collect()
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

    @Test func diskMatchesStatvfsOfTheChosenPath() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let facts = HostFactsCollector(diskPath: dir.path, fallbackDirectory: "/", dockerRootDir: { nil }).collect()
        var stats = statvfs()
        #expect(statvfs(dir.path, &stats) == 0)
        let expected = Double(stats.f_bavail) * Double(stats.f_frsize) / 1e9
        #expect(abs(facts.diskFreeGB! - expected) < 0.01)
        #expect(facts.diskSource == "statvfs \(dir.path) (configured)")
    }

    @Test func dockerDataRootWinsWhenDockerAnswers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path
        let facts = HostFactsCollector(fallbackDirectory: "/", dockerRootDir: { root }).collect()
        #expect(facts.diskPath == root)
        #expect(facts.diskSource == "statvfs \(root) (docker info DockerRootDir)")
    }

    @Test func unreadableFactsAreProblemsNotZeros() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("garbage\n", to: "proc/loadavg")
        try dir.write("MemTotal: 100 kB\n", to: "proc/meminfo")
        let facts = HostFactsCollector(procRoot: dir.path + "/proc", diskPath: dir.path + "/missing", fallbackDirectory: "/",
                                       dockerRootDir: { nil }).collect()
        #expect(facts.load1 == nil)
        #expect(facts.memoryUsedPercent == nil)
        #expect(facts.diskFreeGB == nil)
        #expect(facts.problems.count == 3)
        #expect(facts.problems[0].contains("does not start with a load average"))
        #expect(facts.problems[1].contains("has no MemTotal/MemAvailable"))
        #expect(facts.problems[2].contains("statvfs \(dir.path)/missing failed"))
        #expect(facts.json["disk_free_gb"] == .null)
    }

    @Test func realKernelFactsAreRead() throws {
        guard FileManager.default.fileExists(atPath: "/proc/loadavg") else {
            print("skipping: no /proc on this system")
            return
        }
        let facts = HostFactsCollector(fallbackDirectory: "/").collect()
        #expect(facts.load1 != nil)
        #expect(facts.memoryUsedPercent != nil)
        #expect((0...100).contains(facts.memoryUsedPercent!))
        #expect(facts.diskFreeGB != nil)
    }
}
