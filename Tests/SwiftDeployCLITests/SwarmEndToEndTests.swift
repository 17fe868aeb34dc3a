import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `runtime: swarm` on a real one-node swarm, driving the built `swiftdeploy` binary (issue 13, "Done when").
/// The setup makes the engine a Swarm manager (`docker swarm init --advertise-addr 127.0.0.1`) when it is not one
/// and leaves the swarm afterwards, only if it initialised it. Under `CI=true` a missing engine fails the tests.
/// On a shared engine wrap the run in the swarm lock: `flock <lock> swift test --filter SwarmEndToEndTests`.
@Suite(
    "Swarm end to end",
    // serialized: the engine's swarm membership: SwarmTestEnvironment.begin() inits the swarm and end() leaves it
    // when its test made it, under a test of the suite still deploying its stack
    .serialized)
struct SwarmEndToEndTests {
    typealias Project = SwarmProject

    /// The tag of the demo image with a health check that always fails, for `project`.
    static func unhealthyTag(_ project: Project) -> String { "swiftdeploy/api:\(project.name)-unhealthy" }

    /// The demo image with a health check that always fails (Swarm's task never becomes healthy). The caller removes
    /// it once the project is torn down (a defer declared before the project's own: defers run last first, and an
    /// image its stack's containers still use cannot be removed).
    static func buildUnhealthyImage(_ project: Project) throws -> String {
        let tag = unhealthyTag(project)
        let built = try SwarmProject.buildImage(
            tag,
            dockerfile:
                "FROM swiftdeploy/api:0.1.0\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD [\"false\"]\n")
        #expect(built.status == 0, "\(built.output)")
        return tag
    }

    @Test(.requires(.docker))
    func fullLifecycleWithThreeReplicas() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try Project(replicas: 3)
        defer { project.destroy() }

        let deployed = try await project.deploy()
        #expect(deployed.status == 0, "deploy: \(deployed.stderr)")
        #expect(FileManager.default.fileExists(atPath: project.dir.url.appendingPathComponent("docker-stack.yml").path))
        #expect(
            !FileManager.default.fileExists(atPath: project.dir.url.appendingPathComponent("docker-compose.yml").path))
        let tasks = try await project.runtime.containers()
        #expect(tasks.filter { $0.service == "app" && $0.isReady }.count == 3, "\(tasks.map(\.name))")
        #expect(tasks.allSatisfy { $0.node != nil })

        // Traffic through nginx reaches every replica: each replica's own counters, read through nginx's admin route.
        for _ in 0..<90 { #expect(await TestHTTP.request(port: project.publicPort, path: "/")?.status == 200) }
        let manifest = try ManifestLoader().load(from: project.manifestURL)
        let perReplica = try await SwarmReplicaMetricsSource(manifest: manifest, runtime: project.runtime)
            .replicaSnapshots()
        #expect(perReplica.count == 3, "three replicas answered /metrics: \(perReplica.map(\.address))")
        for (address, snapshot) in perReplica {
            let served =
                snapshot.families.first { $0.name == "http_requests_total" }?.samples
                .filter { $0[label: "path"] == "/" }.reduce(0) { $0 + $1.value } ?? 0
            #expect(served > 0, "replica \(address) served no request through nginx")
        }
        // The admin listener is published nowhere on the host.
        #expect(await TestHTTP.request(port: project.adminPort, path: "/healthz") == nil)
        // Reviewer's finding (tests that can fail): Swarm publishes nginx's public port only ...
        let ports = try DockerTestEnvironment.docker([
            "service", "inspect", "--format",
            "{{range .Endpoint.Ports}}{{.PublishedPort}}->{{.TargetPort}}/{{.PublishMode}} {{end}}",
            "\(project.name)_nginx",
        ])
        #expect(
            ports.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(project.publicPort)->8080/host",
            "nginx's published ports: \(ports.output)")
        // ... and from a replica on the overlay network, nginx's task answers on its public listener but refuses its
        // admin port (bound to nginx's own loopback). The demo binary's probe is the HTTP client inside the replica.
        let nginxAddress = try await #require(
            try project.runtime.tasks().first { $0.status.service == "nginx" && $0.desiredState == "running" }?.address)
        let replica = try #require(
            try DockerTestEnvironment.docker([
                "ps", "-q", "--filter", "label=com.docker.swarm.service.name=\(project.name)_app",
            ])
            .output.split(separator: "\n").first.map(String.init))
        func probe(_ port: Int) throws -> String {
            try DockerTestEnvironment.docker([
                "exec", replica, "/usr/local/bin/swiftdeploy-api", "healthcheck", "--timeout", "3",
                "--url", "http://\(nginxAddress):\(port)/healthz",
            ]).output
        }
        let admin = try probe(ContainerLayout.nginxAdminPort)
        #expect(admin.contains("Connection refused"), "the admin port from the overlay network: \(admin)")
        let control = try probe(ContainerLayout.nginxPublicPort)
        #expect(
            !control.contains("Connection refused") && !control.contains("cannot connect"),
            "the same probe reaches nginx's public listener (so the refusal above is the admin port's): \(control)")

        let status = try await project.run(["status", "--once", "--format", "json"])
        #expect(status.status == 0, "status: \(status.stdout)\(status.stderr)")
        let frame = try #require(
            try JSONSerialization.jsonObject(
                with: Data(status.stdout.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8))
                as? [String: Any])
        let services = try #require(frame["services"] as? [[String: Any]])
        let app = try #require(services.first { $0["name"] as? String == "app" })
        #expect((app["replicas"] as? [String: Any])?["running"] as? Int == 3)
        #expect((app["replicas"] as? [String: Any])?["desired"] as? Int == 3)
        let appTasks = try #require(app["tasks"] as? [[String: Any]])
        #expect(
            appTasks.count == 3 && appTasks.allSatisfy { $0["node"] is String && $0["state"] as? String == "running" })
        #expect(
            (frame["metrics"] as? [String: Any])?["available"] as? Bool == true,
            "metrics from every replica: \(String(describing: frame["metrics"]))")

        // The gated promote: the canary policy judges live metrics from all three replicas, then Swarm rolls the
        // update.
        let traffic = TrafficSwitch.background(URL(string: "http://127.0.0.1:\(project.publicPort)/")!, pause: 20_000)
        let promoted = try await project.run(["promote", "canary", "--timeout", "180s"])
        traffic.turnOn()
        #expect(promoted.status == 0, "promote: \(promoted.stderr)")
        #expect(await TestHTTP.request(port: project.publicPort, path: "/")?.headers["x-mode"] == "canary")
        let afterPromote = try await project.runtime.containers().filter { $0.service == "app" }
        #expect(afterPromote.count == 3 && afterPromote.allSatisfy { $0.environment["MODE"] == "canary" && $0.isReady })

        let history = try project.history()
        let promote = try #require(history.last { $0["event"] as? String == "promote" })
        #expect(promote["outcome"] as? String == "ok")
        #expect((promote["decision"] as? [String: Any])?["domain"] as? String == "canary")
        for record in history {
            let details = record["details"] as? [String: Any] ?? [:]
            #expect(details["runtime"] as? String == "swarm", "\(record["event"] ?? "") names the runtime")
            #expect(details["nodes"] is [String], "\(record["event"] ?? "") lists the nodes")
            // Records written before anything ran (the first intent, a refused first deploy) have no node yet.
            if ["deploy", "promote", "status"].contains(record["event"] as? String ?? ""),
                record["outcome"] as? String == "ok"
            {
                #expect(
                    (details["nodes"] as? [String])?.isEmpty == false,
                    "\(record["event"] ?? "") names the nodes involved")
            }
        }

        let teardown = try await project.run(["teardown"])
        #expect(teardown.status == 0, "teardown: \(teardown.stderr)")
        let left = try await project.runtime.leftovers()
        #expect(left.isEmpty, "teardown left: \(left)")
        let ps = try DockerTestEnvironment.docker(["stack", "ps", project.name])
        #expect(ps.status != 0 || ps.output.contains("Nothing found"), "\(ps.output)")
        let last = try #require(try project.history().last { $0["event"] as? String == "teardown" })
        #expect(((last["details"] as? [String: Any])?["nodes"] as? [String])?.isEmpty == false)
    }

    @Test(.requires(.docker))
    func anUpdateFailingItsHealthCheckIsRolledBackBySwarm() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try Project(replicas: 2)
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.unhealthyTag(project)]) }
        defer { project.destroy() }
        // The same app, but its health check always fails.
        let unhealthy = try Self.buildUnhealthyImage(project)

        let deployed = try await project.deploy()
        #expect(deployed.status == 0, "deploy: \(deployed.stderr)")

        try project.write(replicas: 2, image: unhealthy)
        let update = try await project.run([
            "deploy", "--timeout", "180s", "--override", "swarm e2e: the update is meant to fail",
        ])
        #expect(update.status == 3, "a rolled-back update exits 3: \(update.stderr)")
        #expect(update.stderr.contains("Swarm rolled the update of \(project.name)_app back"), "\(update.stderr)")

        // Swarm put the previous spec back: two healthy replicas of the old image.
        let tasks = try await project.runtime.containers().filter { $0.service == "app" }
        #expect(
            tasks.count == 2 && tasks.allSatisfy { $0.image == "swiftdeploy/api:0.1.0" && $0.isReady },
            "\(tasks.map { ($0.name, $0.image, $0.state) })")
        #expect(await TestHTTP.request(port: project.publicPort, path: "/")?.status == 200)
        let record = try #require(try project.history().last { $0["event"] as? String == "deploy" })
        #expect(record["outcome"] as? String == "failed")
        #expect((record["message"] as? String)?.contains("rolled the update") == true, "\(record)")
        #expect((record["details"] as? [String: Any])?["runtime"] as? String == "swarm")
    }

    /// The one node of the test swarm as swiftdeploy names it: `hostname (id prefix)`.
    static func onlyNode() throws -> String {
        let nodes = try DockerTestEnvironment.docker(["node", "ls", "--format", "{{.ID}} {{.Hostname}}"])
        let parts =
            nodes.output.split(whereSeparator: \.isNewline).first?.split(separator: " ", maxSplits: 1).map(String.init)
            ?? []
        try #require(parts.count == 2, "docker node ls: \(nodes.output)")
        return "\(parts[1]) (\(parts[0].prefix(12)))"
    }

    /// Interface, `deploy`: "On timeout: exit 3 naming the failing tasks, their nodes and their errors." Replicas whose
    /// health check always fails: Swarm starts them on the node, kills them unhealthy and starts others, never running.
    @Test(.requires(.docker))
    func deployTimingOutNamesTheFailingTasksTheirNodesAndErrors() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try Project(replicas: 2)
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.unhealthyTag(project)]) }
        defer { project.destroy() }
        let unhealthy = try Self.buildUnhealthyImage(project)
        try project.write(replicas: 2, image: unhealthy)
        let node = try Self.onlyNode()

        let deployed = try await project.deploy(timeout: "60s")
        print(try DockerTestEnvironment.docker(["stack", "ps", "--no-trunc", project.name]).output)
        #expect(deployed.status == 3, "a deploy that times out exits 3: \(deployed.stderr)")
        // The --timeout is one deadline for the whole deploy, and the error names it.
        #expect(deployed.stderr.contains("the stack is not ready after 60s: app 0/2 running"), "\(deployed.stderr)")
        // Every task line names the task, its node and what Swarm says about it; the failures carry Swarm's error.
        let taskLines = deployed.stderr.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .map { $0.hasPrefix("| ") ? String($0.dropFirst(2)) : $0 }.filter { $0.hasPrefix("app.") }
        #expect(!taskLines.isEmpty, "no task named: \(deployed.stderr)")
        #expect(taskLines.allSatisfy { $0.contains(" on \(node): ") }, "each task names its node \(node): \(taskLines)")
        // Swarm ends a replica that fails its health check `complete` (exit 0, no error of its own): the failure names
        // what the health check said.
        let failures = taskLines.filter { $0.contains("failed health check") }
        #expect(!failures.isEmpty, "the failed tasks carry their error: \(taskLines)")

        let record = try #require(try project.history().last { $0["event"] as? String == "deploy" })
        #expect(record["outcome"] as? String == "failed", "\(record)")
        let message = record["message"] as? String ?? ""
        #expect(
            message.contains("not ready after 60s") && message.contains(" on \(node): "),
            "the record names the tasks and node: \(message)")
        #expect((record["details"] as? [String: Any])?["runtime"] as? String == "swarm")
    }

    /// The same bullet when no node may run the replicas: the tasks wait unscheduled, with Swarm's reason.
    @Test(.requires(.docker))
    func deployTimingOutOnAPlacementNoNodeSatisfiesNamesTheReason() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try Project(replicas: 1, placement: ["node.labels.swiftdeploy-test.nowhere == none"])
        defer { project.destroy() }

        let deployed = try await project.deploy(timeout: "15s")
        #expect(deployed.status == 3, "\(deployed.stderr)")
        #expect(deployed.stderr.contains("app 0/1 running"), "\(deployed.stderr)")
        #expect(deployed.stderr.contains("app.1 on no node yet: pending: no suitable node"), "\(deployed.stderr)")
        let record = try #require(try project.history().last { $0["event"] as? String == "deploy" })
        #expect(record["outcome"] as? String == "failed")
        #expect((record["message"] as? String)?.contains("no suitable node") == true, "\(record)")
    }

    /// Interface, `promote`: "an update that fails its health checks is rolled back by Swarm, and swiftdeploy reports
    /// and records that (exit 3)", through `swiftdeploy promote`. The image's app is healthy in stable mode and fails
    /// its health check in canary mode (a wrapper around the demo binary), so Swarm rolls the mode switch back.
    @Test(.requires(.docker))
    func aPromoteWhoseNewModeFailsItsHealthCheckIsRolledBackBySwarmReportedAndRecorded() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try Project(replicas: 2)
        let image = "swiftdeploy/api:\(project.name)-canary-unhealthy"
        // Removed after the teardown (defers run last first): an image the stack's containers use cannot be removed.
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", image]) }
        defer { project.destroy() }
        let built = try SwarmProject.buildImage(
            image,
            dockerfile: """
                FROM swiftdeploy/api:0.1.0
                USER root
                RUN mv /usr/local/bin/swiftdeploy-api /usr/local/bin/swiftdeploy-api.real \\
                 && printf '#!/bin/sh\\nif [ "$1" = healthcheck ] && [ "$MODE" = canary ]; then echo "canary fails \
                its health check (test image)"; exit 1; fi\\nexec /usr/local/bin/swiftdeploy-api.real "$@"\\n' > \
                /usr/local/bin/swiftdeploy-api \\
                 && chmod 755 /usr/local/bin/swiftdeploy-api
                USER 10001:10001

                """)
        try #require(built.status == 0, "\(built.output)")
        try project.write(replicas: 2, image: image)
        let deployed = try await project.deploy()
        try #require(deployed.status == 0, "deploy: \(deployed.stderr)")

        let promoted = try await project.run([
            "promote", "canary", "--timeout", "180s", "--override", "swarm e2e: the canary is meant to fail",
        ])
        #expect(promoted.status == 3, "a promote Swarm rolled back exits 3: \(promoted.stderr)")
        #expect(promoted.stderr.contains("Swarm rolled the update of \(project.name)_app back"), "\(promoted.stderr)")
        #expect(promoted.stderr.contains("services.mode is stable again"), "\(promoted.stderr)")

        // Swarm put the stable spec back, and swiftdeploy the manifest's mode.
        let tasks = try await project.runtime.containers().filter { $0.service == "app" }
        #expect(
            tasks.count == 2 && tasks.allSatisfy { $0.environment["MODE"] == "stable" && $0.isReady },
            "\(tasks.map { ($0.name, $0.environment["MODE"] ?? "-", $0.state) })")
        var answer: String = "no answer"
        for _ in 0..<20 where answer != "HTTP 200 without X-Mode" {
            let response = await TestHTTP.request(port: project.publicPort, path: "/")
            answer = response?.headers["x-mode"] ?? response.map { "HTTP \($0.status) without X-Mode" } ?? "no answer"
            if answer != "HTTP 200 without X-Mode" { try await Task.sleep(nanoseconds: 500_000_000) }
        }
        #expect(
            answer == "HTTP 200 without X-Mode",
            "the public port answers in stable mode (X-Mode is canary's only): \(answer)")
        #expect(try ManifestLoader().load(from: project.manifestURL).services.mode == .stable)
        let record = try #require(try project.history().last)
        #expect(record["event"] as? String == "rollback", "\(record)")
        #expect(record["outcome"] as? String == "ok", "\(record)")
        let message = record["message"] as? String ?? ""
        #expect(
            message.contains("promote to canary failed") && message.contains("Swarm rolled the update"), "\(message)")
        #expect((record["details"] as? [String: Any])?["runtime"] as? String == "swarm")
    }

    /// Reviewer's finding: each changed nginx.conf is a new Swarm config and `stack deploy --prune` prunes services
    /// only, so old configs piled up deploy after deploy. A deploy removes the stack's configs no service uses.
    @Test(.requires(.docker))
    func oldNginxConfigsArePrunedAcrossDeploys() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try Project(replicas: 1)
        defer { project.destroy() }
        let label = "label=com.docker.stack.namespace=\(project.name)"
        await #expect(try project.deploy().status == 0)
        let first = try DockerTestEnvironment.docker(["config", "ls", "-q", "--filter", label]).output
        // A change that reaches nginx.conf only: a new config, and nginx updated to it.
        let text = try String(contentsOf: project.manifestURL, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "nginx:\n", with: "nginx:\n  proxy_timeout: 45s\n").utf8).write(
            to: project.manifestURL)
        let again = try await project.deploy()
        #expect(again.status == 0, "\(again.stderr)")
        let configs = try DockerTestEnvironment.docker(["config", "ls", "--format", "{{.Name}}", "--filter", label])
            .output
            .split(separator: "\n").map(String.init)
        #expect(configs.count == 1, "configs of the stack after two deploys: \(configs)")
        let used = try DockerTestEnvironment.docker([
            "service", "inspect", "--format",
            "{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}}{{end}}", "\(project.name)_nginx",
        ]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(configs == [used], "the one left is nginx's current config (\(used)), the first was \(first)")
        #expect(await TestHTTP.request(port: project.publicPort, path: "/")?.status == 200)
    }

    /// Reviewer's finding: teardown removed the stack's networks and configs once its tasks were gone, but never its
    /// volumes, and spun its whole 120 s wait on one before reporting it.
    @Test(.requires(.docker))
    func teardownRemovesTheStacksVolumesWithoutSpinning() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try Project(replicas: 1)
        defer { project.destroy() }
        let volume = "\(project.name)_data"
        let created = try DockerTestEnvironment.docker([
            "volume", "create", "--label", "com.docker.stack.namespace=\(project.name)", volume,
        ])
        try #require(created.status == 0, "\(created.output)")
        defer { _ = try? DockerTestEnvironment.docker(["volume", "rm", volume]) }
        let started = Date()
        let teardown = try await project.run(["teardown"], timeout: 240)
        let elapsed = Date().timeIntervalSince(started)
        #expect(teardown.status == 0, "\(teardown.stderr)")
        #expect(elapsed < 60, "teardown took \(Int(elapsed)) s")
        #expect(
            try DockerTestEnvironment.docker(["volume", "inspect", volume]).status != 0,
            "the stack's volume is still there")
    }
}
