import Foundation
import SwiftDeployKit
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The two-node swarm harness on the real engine: what it builds works across nodes, and nothing it made
/// survives a tear-down, a start that fails half-way, or an owner that died.
/// Run under the swarm lock (one swarm test at a time on the shared engine).
@Suite(
    // serialized: the engine's swarm and the second engine SwarmCluster starts: one cluster at a time (its start
    // makes this engine the manager and sweeps what a crashed run left, its end leaves the swarm)
    .serialized,
    .enabled(if: SwarmCluster.enabled, "needs a Docker engine, root, ip and nsenter (see SwarmCluster.enabled)"))
struct SwarmClusterTests {
    static let debian = "swiftdeploy/debian:bookworm"
    static let api = "swiftdeploy/api:0.1.0"

    static func swarmState() throws -> String {
        try DockerTestEnvironment.docker(["info", "--format", "{{.Swarm.LocalNodeState}}"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func clusterDirectories() -> Set<String> {
        let base = NSTemporaryDirectory()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        let tmp = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        return Set((entries + tmp).filter(SwarmCluster.isClusterName))
    }

    static func clusterNamespacesAndLinks() throws -> Set<String> {
        let ns = try ExternalTool.runBlocking("/usr/bin/env", ["ip", "netns", "list"]).output
        let links = try ExternalTool.runBlocking("/usr/bin/env", ["ip", "-o", "link", "show"]).output
        let words = (ns + "\n" + links).split(whereSeparator: { " :@\n".contains($0) }).map(String.init)
        return Set(words.filter { $0.hasPrefix(SwarmCluster.prefix) })
    }

    @Test(
        """
        two engines: the worker joins, images are copied, a task on the worker answers a container on the manager \
        over the overlay; stopping the worker's engine shows it down; tear-down leaves nothing
        """
    )
    func twoNodesWorkAndTearDownLeavesNothing() throws {
        #expect(try Self.swarmState() == "inactive", "the shared engine must not be in a swarm before the test")
        let gwbridgeBefore = try DockerTestEnvironment.docker(["network", "inspect", "docker_gwbridge"]).status == 0
        // A descriptor the test process holds open without close-on-exec, like the flock around the run:
        // the worker's dockerd must not inherit it (it would hold the swarm lock after a crash).
        let marker = try TemporaryDirectory(prefix: "swarm-test-marker")
        defer { marker.remove() }
        let markerPath = marker.url.appendingPathComponent("held.lock").path
        let fd = open(markerPath, O_CREAT | O_RDWR, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }

        let cluster = try SwarmCluster.start(images: [Self.api, Self.debian])
        defer { #expect(cluster.tearDown().isEmpty) }

        #expect(try cluster.state(of: .manager) == "ready")
        #expect(try cluster.state(of: .worker) == "ready")
        #expect(cluster.managerNodeID != cluster.workerNodeID)
        let roles = try DockerTestEnvironment.docker(["node", "ls", "--format", "{{.ID}} {{.ManagerStatus}}"]).output
        #expect(roles.contains("\(cluster.managerNodeID) Leader"))
        let workerAddress = try DockerTestEnvironment.docker([
            "node", "inspect", "--format", "{{.Status.Addr}}", cluster.workerNodeID,
        ]).output
        #expect(workerAddress.trimmingCharacters(in: .whitespacesAndNewlines) == cluster.workerAddress)
        for image in [Self.api, Self.debian] {
            #expect(
                try cluster.workerDocker(["image", "inspect", image]).status == 0, "image \(image) is not on the worker"
            )
        }
        let workerPID = try #require(cluster.workerPID)
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(workerPID)/fd")) ?? []
        let targets = descriptors.compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(workerPID)/fd/\($0)")
        }
        #expect(!targets.isEmpty, "cannot read the worker dockerd's descriptors")
        #expect(!targets.contains(markerPath), "the worker's dockerd inherited a descriptor of the test process")

        // The api on the worker only; a container on the manager reaches it through the overlay network.
        let net = "\(cluster.name)-net"
        let svc = "\(cluster.name)-api"
        #expect(
            try DockerTestEnvironment.docker(["network", "create", "-d", "overlay", "--attachable", net]).status == 0)
        let create = try DockerTestEnvironment.docker([
            "service", "create", "-d", "--name", svc, "--network", net, "--replicas", "1",
            "--constraint", "node.role == worker", "--env", "APP_PORT=3000", Self.api,
        ])
        #expect(create.status == 0, "\(create.output)")
        var runningOn = ""
        for _ in 0..<120 {
            runningOn = try DockerTestEnvironment.docker([
                "service", "ps", svc, "--filter", "desired-state=running",
                "--format", "{{.Node}} {{.CurrentState}}", "--no-trunc",
            ]).output
            let tasks = try DockerTestEnvironment.docker([
                "node", "ps", cluster.workerNodeID, "--filter", "desired-state=running",
                "--format", "{{.Name}} {{.CurrentState}}",
            ]).output
            if tasks.contains(svc) && tasks.contains("Running") { break }
            Thread.sleep(forTimeInterval: 1)
        }
        let onWorker = try DockerTestEnvironment.docker([
            "node", "ps", cluster.workerNodeID, "--filter", "desired-state=running",
            "--format", "{{.Name}} {{.CurrentState}}",
        ]).output
        #expect(
            onWorker.contains(svc) && onWorker.contains("Running"),
            "the api task is not running on the worker: \(runningOn)")
        let onManager = try DockerTestEnvironment.docker([
            "node", "ps", cluster.managerNodeID, "--filter", "desired-state=running",
            "--format", "{{.Name}}",
        ]).output
        #expect(!onManager.contains(svc))
        let probe =
            """
            for i in $(seq 1 30); do if exec 3<>/dev/tcp/tasks.\(svc)/3000; then printf 'GET /healthz \
            HTTP/1.1\\r\\nHost: api\\r\\nConnection: close\\r\\n\\r\\n' >&3; timeout 10 cat <&3; exit 0; fi; \
            sleep 1; done; exit 1
            """
        let answer = try DockerTestEnvironment.docker([
            "run", "--rm", "--network", net, Self.debian, "bash", "-c", probe,
        ])
        #expect(
            answer.status == 0 && answer.output.contains("200"),
            "no answer from the worker's task over the overlay: \(answer.output)")

        // Stopping the worker's engine: its process ends, the manager sees the node down.
        try cluster.stopWorkerEngine()
        #expect(cluster.workerPID == nil)
        #expect(!SwarmClusterTests.alive(workerPID))
        try cluster.waitFor(node: .worker, state: "down", timeout: 90)

        let problems = cluster.tearDown()
        #expect(problems.isEmpty, "\(problems)")
        #expect(cluster.leftovers().isEmpty, "\(cluster.leftovers())")
        #expect(try Self.swarmState() == "inactive")
        #expect(try DockerTestEnvironment.docker(["network", "inspect", net]).status != 0)
        if !gwbridgeBefore {
            #expect(try DockerTestEnvironment.docker(["network", "inspect", "docker_gwbridge"]).status != 0)
        }
        let tasks = try DockerTestEnvironment.docker([
            "ps", "-a", "--filter", "label=com.docker.swarm.service.name=\(svc)", "-q",
        ]).output
        #expect(tasks.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "task containers left: \(tasks)")
        #expect(cluster.tearDown().isEmpty, "a second tear-down is harmless")
    }

    @Test("a start that fails half-way (an image that does not exist) removes everything it made and names the step")
    func failedStartLeavesNothing() throws {
        let directoriesBefore = Self.clusterDirectories()
        let namesBefore = try Self.clusterNamespacesAndLinks()
        let missing = "swiftdeploy/no-such-image:0.0.0-sdsn"
        do {
            let cluster = try SwarmCluster.start(images: [Self.debian, missing])
            cluster.tearDown()
            Issue.record("the start succeeded with an image that does not exist")
        } catch let error as SwarmClusterError {
            let message = error.localizedDescription
            #expect(message.contains("copy the image \(missing) to the worker"), "\(message)")
            #expect(message.contains("scripts/build-images"), "\(message)")
        }
        #expect(Self.clusterDirectories() == directoriesBefore)
        #expect(try Self.clusterNamespacesAndLinks() == namesBefore)
        #expect(try Self.swarmState() == "inactive")
    }

    @Test(
        """
        the leftovers of a cluster whose owner died (engine running, swarm on, namespace, links, directory) are \
        swept by the next start's sweep
        """
    )
    func staleLeftoversAreSwept() throws {
        let cluster = try SwarmCluster.start(images: [])
        defer { cluster.tearDown() }
        #expect(try Self.swarmState() == "active")
        // The owner dies: a process that has exited stands in for the crashed test run.
        let gone = try ProcessRunner.start(["/bin/true"], timeout: 30)
        _ = gone.waitBlocking()
        try Data("\(gone.pid)\n".utf8).write(to: cluster.directory.appendingPathComponent("owner"))
        #expect(!cluster.leftovers().isEmpty)

        let swept = SwarmCluster.sweepStale()
        #expect(swept.contains(cluster.name))
        #expect(cluster.leftovers().isEmpty, "\(cluster.leftovers())")
        #expect(try Self.swarmState() == "inactive")
        if let pid = cluster.workerPID { #expect(!Self.alive(pid)) }
    }

    @Test("a live cluster is not swept, and a start refuses a swarm it did not make, naming what to do")
    func liveClustersAndForeignSwarmsAreLeftAlone() throws {
        let init1 = try DockerTestEnvironment.docker(["swarm", "init", "--advertise-addr", "127.0.0.1"])
        try #require(init1.status == 0, "\(init1.output)")
        defer { _ = try? DockerTestEnvironment.docker(["swarm", "leave", "--force"]) }
        do {
            let cluster = try SwarmCluster.start(images: [])
            cluster.tearDown()
            Issue.record("the start joined a swarm it did not make")
        } catch let error as SwarmClusterError {
            #expect(error.localizedDescription.contains("already in a swarm"))
            #expect(error.localizedDescription.contains("docker swarm leave --force"))
        }
        #expect(try Self.swarmState() == "active", "the foreign swarm was left alone")
        _ = try DockerTestEnvironment.docker(["swarm", "leave", "--force"])

        let cluster = try SwarmCluster.start(images: [])
        defer { cluster.tearDown() }
        #expect(!SwarmCluster.sweepStale().contains(cluster.name))
        #expect(try cluster.state(of: .worker) == "ready")
    }

    /// Reviewer's finding: the harness left the shared engine's swarm whenever its manager carried a stale
    /// `swiftdeploy.harness=sdsn-…` label, which anyone can set; it is keyed on the cluster ID it created now.
    @Test("a swarm the harness did not create is never left, whatever label its manager carries")
    func aForeignSwarmWithTheHarnessLabelIsNotLeft() throws {
        let initialised = try DockerTestEnvironment.docker(["swarm", "init", "--advertise-addr", "127.0.0.1"])
        try #require(initialised.status == 0, "\(initialised.output)")
        defer { _ = try? DockerTestEnvironment.docker(["swarm", "leave", "--force"]) }
        let foreign = try #require(SwarmCluster.currentClusterID())
        // The label of a cluster whose directory and owner are long gone, on someone else's swarm.
        let stale = "sdsn-" + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(6))
        let node = try DockerTestEnvironment.docker(["info", "--format", "{{.Swarm.NodeID}}"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let labelled = try DockerTestEnvironment.docker([
            "node", "update", "--label-add", "\(SwarmCluster.labelKey)=\(stale)", node,
        ])
        try #require(labelled.status == 0, "\(labelled.output)")
        SwarmCluster.sweepStale()
        #expect(try Self.swarmState() == "active", "the sweep left a swarm it did not create")
        #expect(SwarmCluster.currentClusterID() == foreign)
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(stale)
        #expect(
            SwarmCluster.leftovers(named: stale, directory: dir).isEmpty, "a foreign swarm is no leftover of \(stale)")
    }

    @Test(
        """
        the sweep touches only names of the harness's exact shape (sdsn-<6 hex>), never a file or directory that \
        merely starts alike
        """
    )
    func sweepKeepsLookalikes() throws {
        #expect(SwarmCluster.isClusterName("sdsn-0a9f3c"))
        for name in [
            "sdsn-test1.log", "sdsn-0A9F3C", "sdsn-0a9f3", "sdsn-0a9f3c1", "sdsn-", "xsdsn-0a9f3c", "sdsn-0a9g3c",
        ] {
            #expect(!SwarmCluster.isClusterName(name), "\(name)")
        }
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
        let lookalike = base.appendingPathComponent("sdsn-lookalike-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: lookalike, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: lookalike) }
        let old = Date(timeIntervalSinceNow: -3600)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: lookalike.path)
        SwarmCluster.sweepStale()
        #expect(FileManager.default.fileExists(atPath: lookalike.path))
    }

    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }
}
