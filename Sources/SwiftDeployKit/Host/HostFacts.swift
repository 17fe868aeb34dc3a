import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Facts about this host read from the kernel, each with where it came from. `input.host` of the policy input.
public struct HostFacts: Sendable, Equatable {
    /// Free space (GB, 10^9 bytes, available to unprivileged users) on `diskPath`.
    public var diskFreeGB: Double?
    /// The filesystem measured: the Docker data root, a configured path or the manifest directory.
    public var diskPath: String?
    /// How `diskPath` was chosen and read, e.g. `statvfs /var/lib/docker (docker info DockerRootDir)`.
    public var diskSource: String?
    /// The 1-minute load average.
    public var load1: Double?
    public var loadSource: String?
    /// Online CPUs.
    public var cpuCount: Int
    public var cpuSource: String
    /// Used memory in percent: (MemTotal − MemAvailable) / MemTotal × 100.
    public var memoryUsedPercent: Double?
    public var memorySource: String?
    /// Facts that could not be read, with why. A policy sees the fact as null.
    public var problems: [String]

    public init(
        diskFreeGB: Double? = nil, diskPath: String? = nil, diskSource: String? = nil, load1: Double? = nil,
        loadSource: String? = nil, cpuCount: Int = 1, cpuSource: String = "", memoryUsedPercent: Double? = nil,
        memorySource: String? = nil, problems: [String] = []
    ) {
        self.diskFreeGB = diskFreeGB
        self.diskPath = diskPath
        self.diskSource = diskSource
        self.load1 = load1
        self.loadSource = loadSource
        self.cpuCount = cpuCount
        self.cpuSource = cpuSource
        self.memoryUsedPercent = memoryUsedPercent
        self.memorySource = memorySource
        self.problems = problems
    }

    /// The load average divided by the CPU count, or nil without a load figure.
    public var loadPerCPU: Double? { load1.map { $0 / Double(max(cpuCount, 1)) } }

    /// `input.host`: every figure with its source; a fact that could not be read is null.
    public var json: JSONValue {
        func number(_ v: Double?) -> JSONValue { v.map { .double(($0 * 1000).rounded() / 1000) } ?? .null }
        func text(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        return [
            "disk_free_gb": number(diskFreeGB),
            "disk_path": text(diskPath),
            "load1": number(load1),
            "cpu_count": .int(Int64(cpuCount)),
            "load_per_cpu": number(loadPerCPU),
            "memory_used_percent": number(memoryUsedPercent),
            "sources": [
                "disk": text(diskSource),
                "load": text(loadSource),
                "cpu": .string(cpuSource),
                "memory": text(memorySource),
            ],
            "problems": .array(problems.map { .string($0) }),
        ]
    }
}

/// Reads ``HostFacts`` from `/proc/loadavg`, `/proc/meminfo` (MemAvailable) and `statvfs`.
///
/// The disk measured is, in order: `diskPath` when configured, Docker's data root when `docker info` answers
/// (asked once per engine start: ``DockerDataRoot``),
/// `/var/lib/docker` when it exists, else the manifest directory. `procRoot` lets tests point at fixture files.
public struct HostFactsCollector: Sendable {
    public var procRoot: String
    public var diskPath: String?
    public var fallbackDirectory: String
    /// Asks Docker for its data root; nil when Docker does not answer. Replaceable in tests.
    public var dockerRootDir: @Sendable () async -> String?

    public init(
        procRoot: String = "/proc", diskPath: String? = nil, fallbackDirectory: String,
        dockerRootDir: @escaping @Sendable () async -> String? = { await DockerDataRoot.standard().resolve() }
    ) {
        self.procRoot = procRoot
        self.diskPath = diskPath
        self.fallbackDirectory = fallbackDirectory
        self.dockerRootDir = dockerRootDir
    }

    public func collect() async -> HostFacts {
        var facts = HostFacts()
        let cpus = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        facts.cpuCount = max(Int(cpus), 1)
        facts.cpuSource = "sysconf(_SC_NPROCESSORS_ONLN)"

        let loadPath = procRoot + "/loadavg"
        if let text = try? String(contentsOfFile: loadPath, encoding: .utf8) {
            if let first = text.split(separator: " ").first, let load = Double(first) {
                facts.load1 = load
                facts.loadSource = loadPath
            } else {
                facts.problems.append(
                    "\(loadPath) does not start with a load average: \(String(text.prefix(40)).debugDescription)")
            }
        } else {
            facts.problems.append("cannot read \(loadPath) (not Linux?): load average unknown")
        }

        let memPath = procRoot + "/meminfo"
        if let text = try? String(contentsOfFile: memPath, encoding: .utf8) {
            var fields: [String: Double] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
                if parts.count >= 2, let value = Double(parts[1]) { fields[String(parts[0])] = value }
            }
            if let total = fields["MemTotal"], let available = fields["MemAvailable"], total > 0 {
                facts.memoryUsedPercent = ((total - available) / total * 100 * 100).rounded() / 100
                facts.memorySource = "\(memPath) (MemTotal, MemAvailable)"
            } else {
                facts.problems.append(
                    "\(memPath) has no MemTotal/MemAvailable (kernel older than 3.14?): memory use unknown")
            }
        } else {
            facts.problems.append("cannot read \(memPath) (not Linux?): memory use unknown")
        }

        let (path, how) = await chooseDiskPath()
        var stats = statvfs()
        if statvfs(path, &stats) == 0 {
            let bytes = Double(stats.f_bavail) * Double(stats.f_frsize)
            facts.diskFreeGB = (bytes / 1e9 * 1000).rounded() / 1000
            facts.diskPath = path
            facts.diskSource = "statvfs \(path) (\(how))"
        } else {
            facts.problems.append("statvfs \(path) failed: \(String(cString: strerror(errno))); free disk unknown")
        }
        return facts
    }

    func chooseDiskPath() async -> (String, String) {
        if let diskPath { return (diskPath, "configured") }
        if let root = await dockerRootDir(), !root.isEmpty, FileManager.default.fileExists(atPath: root) {
            return (root, "docker info DockerRootDir")
        }
        if FileManager.default.fileExists(atPath: "/var/lib/docker") {
            return ("/var/lib/docker", "Docker's default data root")
        }
        return (fallbackDirectory, "manifest directory; Docker's data root not found")
    }

    /// `docker info -f '{{.DockerRootDir}}'` with a 3-second limit; nil when Docker is missing or does not answer.
    @Sendable public static func askDocker() async -> String? { await askDocker(environment: nil) }

    /// `askDocker()` with `environment` as docker's whole environment (nil: this process's), e.g. another `PATH`.
    static func askDocker(environment: [String: String]?) async -> String? {
        guard
            let result = try? await ProcessRunner.run(
                ["docker", "info", "-f", "{{.DockerRootDir}}"], environment: environment, timeout: 3),
            result.succeeded
        else { return nil }
        let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.hasPrefix("/") ? text : nil
    }
}
