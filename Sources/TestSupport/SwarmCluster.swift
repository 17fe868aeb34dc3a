import Foundation
import SwiftDeployKit

#if canImport(Glibc)
import Glibc
#endif

/// A two-node Docker Swarm on one machine, for the multi-node tests.
///
/// The shared Docker engine becomes the swarm's manager; a second engine, started here in a network
/// namespace of its own, joins it as a worker. The two are linked by a veth pair on a private /24
/// that no address or route of the host uses (`10.250.X.0/24`, X chosen free at start); the manager
/// is advertised on the host end, the worker listens on the namespace end. Nothing else is addressed.
///
/// Everything the cluster creates is named with `SwarmCluster.prefix` and its own id: the namespace
/// `sdsn-<id>`, the links `sdsn<id>h`/`sdsn<id>n`, the directory `<tmp>/sdsn-<id>` (the worker's data and
/// exec roots, socket, pid file, log and an `owner` file with the pid of the process that started it),
/// and the manager node's label `swiftdeploy.harness=sdsn-<id>` (for a person reading `docker node ls`). The swarm
/// is left only when it is the one this cluster created: its cluster ID, recorded at `swarm init` (in memory and in the
/// directory's `cluster-id` file), must be the engine's (`docker info` `.Swarm.Cluster.ID`); a label anyone can set
/// decides nothing. `tearDown()` removes all of it, in every
/// state the cluster can be in (a half-made start cleans up before it throws); `sweepStale()`, run at
/// every start, removes whatever a cluster whose owner process died left behind.
///
/// One swarm test at a time per engine: run them under `flock <lock file> swift test …`. The worker's
/// engine inherits no descriptor from the test process, so it never holds that lock after a crash.
public final class SwarmCluster: @unchecked Sendable {
    /// The prefix of every name the harness gives (namespaces, links, directories, the manager's label).
    public static let prefix = "sdsn"
    /// The manager node's label key naming the cluster that initialised the swarm.
    public static let labelKey = "swiftdeploy.harness"

    public enum Node: String, Sendable { case manager, worker }

    /// `sdsn-<6 hex>`: the cluster's name, its namespace's and directory's name and the manager's label value.
    public let name: String
    public let namespace: String
    public let hostLink: String
    public let nodeLink: String
    public let managerAddress: String
    public let workerAddress: String
    public let directory: URL
    /// The worker engine's socket, for `DOCKER_HOST`.
    public var workerHost: String { "unix://\(directory.path)/docker.sock" }
    public private(set) var managerNodeID = ""
    public private(set) var workerNodeID = ""
    /// The ID of the swarm this cluster created (`docker info` `.Swarm.Cluster.ID` right after `swarm init`).
    public private(set) var clusterID = ""
    /// The worker's dockerd, while it runs.
    public private(set) var workerPID: Int32?

    private let lock = NSLock()
    private var createdSwarm = false
    private var gwbridgeExisted = true
    private var tornDown = false

    // MARK: - Availability

    /// Whether the swarm tests can run here. Locally they need `SWIFTDEPLOY_DOCKER_TESTS=1`, root, `ip`,
    /// `nsenter` and `dockerd`, and print why they skip otherwise; under `CI=true` this is always true,
    /// so a missing tool makes `start` throw and the test fail.
    public static var enabled: Bool {
        if TestRequirement.isCI { return true }
        guard TestRequirement.docker.isMet else { return false }
        if let reason = missingRequirement() {
            print("skipping: the multi-node swarm tests need \(reason)")
            return false
        }
        return true
    }

    /// What this machine lacks for a second engine, or nil.
    public static func missingRequirement() -> String? {
        if geteuid() != 0 { return "root (network namespaces and a second dockerd); run the tests as root" }
        for tool in ["ip", "nsenter", "dockerd", "docker"] where path(of: tool) == nil {
            return "`\(tool)` on PATH (scripts/bootstrap installs iproute2, util-linux and docker.io)"
        }
        return nil
    }

    // MARK: - Start

    /// Sweeps stale leftovers, then builds the cluster: namespace and veth pair, the worker's engine, the swarm
    /// (the shared engine as manager advertised on the host end, the worker joined), and `images` copied into
    /// the worker (`docker save | docker load`; the worker has no registry either). Any failure tears down what
    /// was made so far and throws a `SwarmClusterError` naming the step.
    public static func start(images: [String], timeout: TimeInterval = 120) throws -> SwarmCluster {
        if let reason = missingRequirement() { throw SwarmClusterError.unavailable(reason) }
        _ = sweepStale()
        let cluster = try SwarmCluster()
        do {
            try cluster.build(images: images, timeout: timeout)
        } catch {
            let problems = cluster.tearDown()
            if problems.isEmpty { throw error }
            throw SwarmClusterError.step(
                "start",
                "\(error.localizedDescription); the cleanup after it also failed: \(problems.joined(separator: "; "))")
        }
        return cluster
    }

    private init() throws {
        let base = SwarmCluster.baseDirectory
        var chosen: (String, URL)?
        for _ in 0..<20 {
            let id = String(format: "%06x", UInt32.random(in: 0...0xFFFFFF))
            let dir = base.appendingPathComponent("\(SwarmCluster.prefix)-\(id)", isDirectory: true)
            if (try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)) != nil {
                chosen = (id, dir)
                break
            }
        }
        guard let (id, dir) = chosen else {
            throw SwarmClusterError.step("create a directory", "no free name under \(base.path)")
        }
        // The owner file comes first: the sweep treats a directory without a live owner as stale.
        try Data("\(getpid())\n".utf8).write(to: dir.appendingPathComponent("owner"))
        name = "\(SwarmCluster.prefix)-\(id)"
        namespace = name
        hostLink = "\(SwarmCluster.prefix)\(id)h"
        nodeLink = "\(SwarmCluster.prefix)\(id)n"
        directory = dir
        guard let octet = SwarmCluster.freeSubnetOctet() else {
            try? FileManager.default.removeItem(at: dir)
            throw SwarmClusterError.step(
                "choose a subnet", "every 10.250.X.0/24 is in use by an address or route of this host")
        }
        managerAddress = "10.250.\(octet).1"
        workerAddress = "10.250.\(octet).2"
    }

    private func build(images: [String], timeout: TimeInterval) throws {
        let state = try SwarmCluster.docker(["info", "--format", "{{.Swarm.LocalNodeState}}"])
        guard state.status == 0 else {
            throw SwarmClusterError.step("ask the shared engine", "docker info failed: \(state.output)")
        }
        let swarmState = state.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard swarmState == "inactive" else {
            throw SwarmClusterError.step(
                "check the shared engine",
                "it is already in a swarm (state \(swarmState)) that this harness did not start; "
                    + """
                    another swarm test may be running (run swarm tests under the same flock), or leave a leftover \
                    swarm with `docker swarm leave --force`
                    """
            )
        }
        gwbridgeExisted = (try? SwarmCluster.docker(["network", "inspect", "docker_gwbridge"]))?.status == 0

        try run("create the network namespace", ["ip", "netns", "add", namespace])
        try run("create the veth pair", ["ip", "link", "add", hostLink, "type", "veth", "peer", "name", nodeLink])
        try run("move the veth end into the namespace", ["ip", "link", "set", nodeLink, "netns", namespace])
        try run("address the host end", ["ip", "addr", "add", "\(managerAddress)/24", "dev", hostLink])
        try run("bring the host end up", ["ip", "link", "set", hostLink, "up"])
        let inNamespace = ["nsenter", "--net=/var/run/netns/\(namespace)"]
        try run(
            "address the namespace end", inNamespace + ["ip", "addr", "add", "\(workerAddress)/24", "dev", nodeLink])
        try run("bring the namespace end up", inNamespace + ["ip", "link", "set", nodeLink, "up"])
        try run("bring the namespace's loopback up", inNamespace + ["ip", "link", "set", "lo", "up"])

        try startWorkerEngine(timeout: timeout)

        let initResult = try SwarmCluster.docker([
            "swarm", "init", "--advertise-addr", managerAddress, "--listen-addr", "\(managerAddress):2377",
        ])
        guard initResult.status == 0 else {
            throw SwarmClusterError.step("docker swarm init on the shared engine", initResult.output)
        }
        lock.withLock { createdSwarm = true }
        clusterID = SwarmCluster.currentClusterID() ?? ""
        guard !clusterID.isEmpty else {
            throw SwarmClusterError.step("read the new swarm's cluster ID", "docker info names no .Swarm.Cluster.ID")
        }
        try Data("\(clusterID)\n".utf8).write(to: directory.appendingPathComponent("cluster-id"))
        managerNodeID = try SwarmCluster.docker(["info", "--format", "{{.Swarm.NodeID}}"]).output.trimmingCharacters(
            in: .whitespacesAndNewlines)
        try run(
            "label the manager node",
            ["docker", "node", "update", "--label-add", "\(SwarmCluster.labelKey)=\(name)", managerNodeID])
        let token = try SwarmCluster.docker(["swarm", "join-token", "-q", "worker"])
        guard token.status == 0 else { throw SwarmClusterError.step("read the worker join token", token.output) }
        let join = try workerDocker([
            "swarm", "join", "--token", token.output.trimmingCharacters(in: .whitespacesAndNewlines),
            "--advertise-addr", workerAddress, "\(managerAddress):2377",
        ])
        guard join.status == 0 else { throw SwarmClusterError.step("join the worker to the swarm", join.output) }
        workerNodeID = try workerDocker(["info", "--format", "{{.Swarm.NodeID}}"]).output.trimmingCharacters(
            in: .whitespacesAndNewlines)
        try waitFor(node: .worker, state: "ready", timeout: timeout)

        for image in images { try copyImage(image) }
    }

    private func startWorkerEngine(timeout: TimeInterval) throws {
        let data = directory.appendingPathComponent("data")
        let exec = directory.appendingPathComponent("exec")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: exec, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("dockerd.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        // nsenter, not `ip netns exec`: the latter remounts /sys and dockerd then finds no devices cgroup.
        // Through the runner: the child gets no descriptor but 0-2 (closefrom), so dockerd holds no lock of ours, and
        // nsenter execs dockerd in place, so the pid is dockerd's.
        let process = try BackgroundProcess(
            [
                SwarmCluster.path(of: "nsenter") ?? "/usr/bin/nsenter", "--net=/var/run/netns/\(namespace)",
                SwarmCluster.path(of: "dockerd") ?? "dockerd", "--storage-driver=vfs", "--data-root", data.path,
                "--exec-root", exec.path, "--pidfile", directory.appendingPathComponent("docker.pid").path,
                "-H", workerHost, "--iptables=false", "--bridge=none",
            ], stdout: log, stderr: log)
        lock.withLock { workerPID = process.processIdentifier }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? workerDocker(["info", "--format", "{{.ID}}"]))?.status == 0 { return }
            if !process.isRunning {
                throw SwarmClusterError.step(
                    "start the worker's dockerd", "it exited with status \(process.terminationStatus): \(tail(of: log))"
                )
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        throw SwarmClusterError.step(
            "start the worker's dockerd", "no answer on \(workerHost) within \(Int(timeout)) s: \(tail(of: log))")
    }

    /// `docker save` on the manager's engine, then `docker load` on the worker's, through the runner and an archive in
    /// the cluster's directory (removed after): each command's status and error output apart.
    private func copyImage(_ image: String) throws {
        let docker = SwarmCluster.path(of: "docker") ?? "/usr/bin/docker"
        let archive = directory.appendingPathComponent("image.tar")
        defer { try? FileManager.default.removeItem(at: archive) }
        let save = try ExternalTool.captureBlocking([docker, "save", "-o", archive.path, image])
        let load =
            save.status == 0
            ? try ExternalTool.captureBlocking([docker, "-H", workerHost, "load", "-q", "-i", archive.path]) : nil
        guard save.status == 0, let load, load.status == 0 else {
            let loaded =
                load.map { load in
                    let output = (load.stdout + load.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
                    return "docker load exited \(load.status) (\(output))"
                } ?? "docker load did not run"
            throw SwarmClusterError.step(
                "copy the image \(image) to the worker",
                """
                docker save exited \(save.status) \
                (\(save.stderr.trimmingCharacters(in: .whitespacesAndNewlines))), \(loaded); build the images first \
                (scripts/build-images)
                """)
        }
    }

    // MARK: - Using the cluster

    /// Runs `docker arguments…` against the worker's engine.
    @discardableResult
    public func workerDocker(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try ExternalTool.runBlocking(
            SwarmCluster.path(of: "docker") ?? "/usr/bin/docker", ["-H", workerHost] + arguments)
    }

    /// The swarm node id of `node`.
    public func nodeID(_ node: Node) -> String { node == .manager ? managerNodeID : workerNodeID }

    /// `docker node update --label-add key=value` on `node` (run on the manager).
    public func addLabel(_ key: String, _ value: String, to node: Node) throws {
        try run(
            "label the \(node.rawValue) node",
            ["docker", "node", "update", "--label-add", "\(key)=\(value)", nodeID(node)])
    }

    /// The node's state as the manager sees it (`ready`, `down`, `unknown`, `disconnected`).
    public func state(of node: Node) throws -> String {
        let result = try SwarmCluster.docker(["node", "inspect", "--format", "{{.Status.State}}", nodeID(node)])
        guard result.status == 0 else {
            throw SwarmClusterError.step("inspect the \(node.rawValue) node", result.output)
        }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until the manager reports `node` in `state`; throws naming the last state seen.
    public func waitFor(node: Node, state expected: String, timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = (try? state(of: node)) ?? "not answering"
            if last == expected { return }
            Thread.sleep(forTimeInterval: 0.5)
        }
        throw SwarmClusterError.step(
            "wait for the \(node.rawValue) node to be \(expected)", "it is still \(last) after \(Int(timeout)) s")
    }

    /// Stops the worker's engine the way an operator or a crash-free shutdown does (SIGTERM: dockerd stops
    /// its containers and exits), and waits until the process is gone. The swarm is not told: the manager
    /// notices the node is down by its missed heartbeats and reschedules its tasks.
    public func stopWorkerEngine(timeout: TimeInterval = 60) throws {
        guard let pid = lock.withLock({ workerPID }) else { return }
        guard SwarmCluster.stop(pid: pid, timeout: timeout) else {
            throw SwarmClusterError.step(
                "stop the worker's dockerd (pid \(pid))",
                "it was still running \(Int(timeout)) s after SIGTERM and SIGKILL")
        }
        lock.withLock { workerPID = nil }
        SwarmCluster.killProcesses(mentioning: directory.path)
    }

    // MARK: - Cleanup

    /// Removes everything the cluster created: the swarm on both engines (the worker leaves first; the manager
    /// leaves with `--force`, which removes every service, task and overlay network of the swarm), the worker's
    /// engine and its containerd, the `docker_gwbridge` network when the swarm created it, the namespace, the
    /// links and the directory. Safe to call in any state and more than once. Returns what could not be
    /// removed (empty when everything is gone).
    @discardableResult
    public func tearDown() -> [String] {
        let first = lock.withLock { () -> Bool in
            defer { tornDown = true }
            return !tornDown
        }
        guard first else { return [] }
        var problems: [String] = []
        if let pid = lock.withLock({ workerPID }) {
            _ = try? ExternalTool.runBlocking(
                "/usr/bin/timeout",
                ["20", SwarmCluster.path(of: "docker") ?? "docker", "-H", workerHost, "swarm", "leave", "--force"])
            if !SwarmCluster.stop(pid: pid, timeout: 60) {
                problems.append("the worker's dockerd (pid \(pid)) did not stop")
            }
            lock.withLock { workerPID = nil }
        }
        if lock.withLock({ createdSwarm }) {
            problems += SwarmCluster.leaveManagerSwarm(expectedClusterID: clusterID)
            if !gwbridgeExisted { _ = try? SwarmCluster.docker(["network", "rm", "docker_gwbridge"]) }
        }
        problems += SwarmCluster.removeLocal(name: name, directory: directory)
        return problems
    }

    /// What of this cluster is still on the machine (names), for tests of the cleanup.
    public func leftovers() -> [String] {
        SwarmCluster.leftovers(named: name, directory: directory, clusterID: clusterID)
    }

    /// What of the cluster `name` is still on the machine: its namespace, links, directory, processes and
    /// the shared engine's swarm when it is the one the cluster created (`clusterID`, or the directory's record).
    public static func leftovers(named name: String, directory: URL, clusterID: String? = nil) -> [String] {
        let id = String(name.dropFirst(prefix.count + 1))
        var found: [String] = []
        if namespaces().contains(name) { found.append("network namespace \(name)") }
        for link in links() where link == "\(prefix)\(id)h" || link == "\(prefix)\(id)n" {
            found.append("link \(link)")
        }
        if FileManager.default.fileExists(atPath: directory.path) { found.append("directory \(directory.path)") }
        for pid in processes(mentioning: directory.path) { found.append("process \(pid)") }
        if let id = clusterID.flatMap({ $0.isEmpty ? nil : $0 }) ?? recordedClusterID(directory),
            currentClusterID() == id
        {
            found.append("the shared engine's swarm (cluster \(id), created by \(name))")
        }
        return found
    }

    /// Removes what clusters whose owner process is gone left behind: their engines, swarm, namespaces,
    /// links and directories (only names with `prefix`). Returns what it removed, for the log.
    @discardableResult
    public static func sweepStale() -> [String] {
        var removed: [String] = []
        let base = baseDirectory
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []
        var live: Set<String> = []
        var stale: Set<String> = []
        for entry in entries where isClusterName(entry) {
            let dir = base.appendingPathComponent(entry)
            if ownerAlive(dir) { live.insert(entry) } else { stale.insert(entry) }
        }
        // Names known only from the namespace or the links are stale too (their directory is gone).
        for ns in namespaces() where isClusterName(ns) && !live.contains(ns) { stale.insert(ns) }
        for link in links() where link.hasPrefix(prefix) && (link.hasSuffix("h") || link.hasSuffix("n")) {
            let ns = "\(prefix)-\(link.dropFirst(prefix.count).dropLast())"
            if isClusterName(ns) && !live.contains(ns) { stale.insert(ns) }
        }
        // A swarm is never judged stale by the manager's label (anyone can set one): only a stale directory's
        // recorded cluster ID, when it is the engine's, makes the sweep leave the swarm.
        for name in stale.sorted() {
            let dir = base.appendingPathComponent(name)
            let pidFile = dir.appendingPathComponent("docker.pid")
            if let text = try? String(contentsOf: pidFile, encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                processes(mentioning: dir.path).contains(pid)
            {
                _ = stop(pid: pid, timeout: 60)
            }
            if let id = recordedClusterID(dir) { _ = leaveManagerSwarm(expectedClusterID: id) }
            _ = removeLocal(name: name, directory: dir)
            removed.append(name)
        }
        if !removed.isEmpty { print("SwarmCluster: swept stale leftovers of \(removed.joined(separator: ", "))") }
        return removed
    }

    // MARK: - Helpers

    /// `sdsn-` and six lower-case hex digits: only names of that exact shape are ever swept.
    public static func isClusterName(_ name: String) -> Bool {
        guard name.hasPrefix("\(prefix)-") else { return false }
        let id = name.dropFirst(prefix.count + 1)
        return id.count == 6 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    private static var baseDirectory: URL {
        let tmp = URL(fileURLWithPath: NSTemporaryDirectory(), isDirectory: true)
        // A unix socket path is limited to 108 bytes: fall back to /tmp when TMPDIR is deep.
        return tmp.path.count > 60 ? URL(fileURLWithPath: "/tmp", isDirectory: true) : tmp
    }

    static func docker(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try ExternalTool.runBlocking(path(of: "docker") ?? "/usr/bin/docker", arguments)
    }

    private func run(_ step: String, _ command: [String]) throws {
        let result = try ExternalTool.runBlocking(
            SwarmCluster.path(of: command[0]) ?? command[0], Array(command.dropFirst()))
        guard result.status == 0 else {
            throw SwarmClusterError.step(
                step,
                """
                `\(command.joined(separator: " "))` exited \(result.status): \
                \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))
                """
            )
        }
    }

    private func tail(of log: URL) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(5).joined(separator: " | ")
    }

    static func path(of tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return ProcessRunner.locate(tool, path: path + ":/usr/sbin:/sbin:/usr/bin:/bin")?.path
    }

    /// A third octet X such that no address or route of the host lies in 10.250.X.0/24.
    private static func freeSubnetOctet() -> Int? {
        let addresses = (try? ExternalTool.runBlocking(path(of: "ip") ?? "ip", ["-4", "addr"]))?.output ?? ""
        let routes =
            (try? ExternalTool.runBlocking(path(of: "ip") ?? "ip", ["-4", "route", "show", "table", "all"]))?.output
            ?? ""
        let used = addresses + "\n" + routes
        for octet in (1...254).shuffled()
        where !used.contains("10.250.\(octet).") && !used.contains("10.250.0.0/16") && !used.contains("10.0.0.0/8") {
            return octet
        }
        return nil
    }

    private static func namespaces() -> [String] {
        let output = (try? ExternalTool.runBlocking(path(of: "ip") ?? "ip", ["netns", "list"]))?.output ?? ""
        return output.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    private static func links() -> [String] {
        let output = (try? ExternalTool.runBlocking(path(of: "ip") ?? "ip", ["-o", "link", "show"]))?.output ?? ""
        // `7: sdsnabc123h@if6: <…>`: the name ends at `@` or `:`.
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", maxSplits: 2)
            guard fields.count >= 2 else { return nil }
            return String(fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first ?? "")
        }
    }

    /// The ID of the swarm the shared engine is in (`docker info` `.Swarm.Cluster.ID`); nil in no swarm.
    public static func currentClusterID() -> String? {
        guard let result = try? docker(["info", "--format", "{{.Swarm.Cluster.ID}}"]), result.status == 0 else {
            return nil
        }
        let id = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty || id == "<no value>" ? nil : id
    }

    /// The cluster ID a cluster's directory recorded at `swarm init`; nil when it recorded none.
    static func recordedClusterID(_ directory: URL) -> String? {
        let text = (try? String(contentsOf: directory.appendingPathComponent("cluster-id"), encoding: .utf8)) ?? ""
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// Leaves the shared engine's swarm, only when it is the swarm `expectedClusterID` names (never someone else's).
    private static func leaveManagerSwarm(expectedClusterID: String) -> [String] {
        guard !expectedClusterID.isEmpty, currentClusterID() == expectedClusterID else { return [] }
        let result = try? docker(["swarm", "leave", "--force"])
        if result?.status != 0 {
            return ["the shared engine did not leave the swarm: \(result?.output ?? "docker did not run")"]
        }
        return []
    }

    /// Kills leftover processes of the directory, unmounts what is mounted below it, deletes the namespace,
    /// the links and the directory.
    private static func removeLocal(name: String, directory: URL) -> [String] {
        var problems: [String] = []
        killProcesses(mentioning: directory.path)
        // A dockerd that did not stop cleanly can leave namespace bind mounts below its exec root.
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        let below = mounts.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = String(fields[4])
            return point.hasPrefix(directory.path + "/") ? point : nil
        }
        for point in below.sorted(by: { $0.count > $1.count }) {
            _ = try? ExternalTool.runBlocking(path(of: "umount") ?? "umount", ["-l", point])
        }
        let id = String(name.dropFirst(prefix.count + 1))
        if namespaces().contains(name) {
            if let result = try? ExternalTool.runBlocking(path(of: "ip") ?? "ip", ["netns", "del", name]),
                result.status != 0
            {
                problems.append(
                    "network namespace \(name): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
        // Deleting the namespace deletes its end of the pair and so the host end; delete both anyway.
        for link in ["\(prefix)\(id)h", "\(prefix)\(id)n"] where links().contains(link) {
            _ = try? ExternalTool.runBlocking(path(of: "ip") ?? "ip", ["link", "del", link])
            if links().contains(link) { problems.append("link \(link) is still there") }
        }
        if FileManager.default.fileExists(atPath: directory.path) {
            do { try FileManager.default.removeItem(at: directory) } catch {
                // vfs layers hold read-only directories Foundation may refuse; rm knows them.
                _ = try? ExternalTool.runBlocking("/bin/rm", ["-rf", directory.path])
                if FileManager.default.fileExists(atPath: directory.path) {
                    problems.append("directory \(directory.path): \(error.localizedDescription)")
                }
            }
        }
        return problems
    }

    /// Whether the process named in `<dir>/owner` is alive (a directory younger than a minute without one
    /// is being created right now, and is live too).
    private static func ownerAlive(_ dir: URL) -> Bool {
        guard let text = try? String(contentsOf: dir.appendingPathComponent("owner"), encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            let created =
                (try? FileManager.default.attributesOfItem(atPath: dir.path)[.modificationDate] as? Date)
                ?? .distantPast
            return Date().timeIntervalSince(created) < 60
        }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Pids whose command line mentions `path` (the worker's dockerd, its containerd and shims).
    static func processes(mentioning path: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), pid != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let cmdline = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return cmdline.contains(path + "/") || cmdline.hasSuffix(path) ? pid : nil
        }
    }

    static func killProcesses(mentioning path: String) {
        for pid in processes(mentioning: path) { _ = stop(pid: pid, timeout: 15) }
    }

    /// SIGTERM, then SIGKILL after `timeout`; true when the process is gone.
    static func stop(pid: Int32, timeout: TimeInterval) -> Bool {
        guard pid > 1 else { return true }
        if kill(pid, SIGTERM) != 0 { return true }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !isAlive(pid) { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        kill(pid, SIGKILL)
        for _ in 0..<50 where isAlive(pid) { Thread.sleep(forTimeInterval: 0.1) }
        return !isAlive(pid)
    }

    /// Alive and not a zombie (a child of ours that exited but was not reaped yet counts as gone).
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        if let close = stat.lastIndex(of: ")") {
            let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
            return state != "Z"
        }
        return true
    }
}

/// Why a `SwarmCluster` could not be made.
public enum SwarmClusterError: Error, LocalizedError, Equatable {
    case unavailable(String)
    case step(String, String)

    public var errorDescription: String? {
        switch self {
        case .unavailable(let reason): return "the multi-node swarm harness cannot run here: it needs \(reason)"
        case .step(let step, let reason): return "SwarmCluster could not \(step): \(reason)"
        }
    }
}
