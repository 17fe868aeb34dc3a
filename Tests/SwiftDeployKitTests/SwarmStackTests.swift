import Foundation
import TestSupport
import Testing
import Yams

@testable import SwiftDeployKit

private let base = """
    services:
      image: swiftdeploy/api:0.1.0
      port: 3000
    nginx:
      image: swiftdeploy/nginx:bookworm
      port: 8080
    network:
      name: app-net
      driver_type: bridge

    """

private func load(_ text: String) throws -> Manifest {
    try ManifestLoader().parse(text, file: "manifest.yaml", directory: URL(fileURLWithPath: "/srv/shop"))
}

private func problems(_ text: String) -> [String] {
    do {
        _ = try load(text)
        return []
    } catch let error as ManifestError {
        return error.problems.map(\.description)
    } catch {
        return ["unexpected: \(error)"]
    }
}

/// `runtime`, `services.replicas`, `services.placement` and the generated `docker-stack.yml` (issue 13).
@Suite("Swarm: manifest keys and docker-stack.yml")
struct SwarmStackTests {
    static let goldenCases = ["swarm", "swarm-minimal"]

    private func manifest(_ name: String) throws -> Manifest {
        try ManifestLoader().load(from: fixture("render/\(name)/manifest.yaml"))
    }

    // MARK: The manifest keys

    @Test func defaultsAreComposeOneReplicaNoPlacement() throws {
        let m = try load(base)
        #expect(m.runtime == .compose)
        #expect(m.services.replicas == 1)
        #expect(m.services.placement.isEmpty)
        #expect(m.runtimeFileURL.lastPathComponent == "docker-compose.yml")
    }

    @Test func swarmKeysAreRead() throws {
        let m = try manifest("swarm")
        #expect(m.runtime == .swarm)
        #expect(m.services.replicas == 3)
        #expect(m.services.placement == ["node.role == worker", "node.labels.zone != eu-west-1a"])
        #expect(m.runtimeFileURL.lastPathComponent == "docker-stack.yml")
    }

    static let invalid: [(String, [String])] = [
        (
            base + "runtime: kubernetes\n",
            [
                "manifest.yaml:10:10: error: runtime must be one of compose, swarm, got \"kubernetes\""
            ]
        ),
        (
            base + "runtime: swam\n",
            [
                "manifest.yaml:10:10: error: runtime must be one of compose, swarm, got \"swam\"; did you mean 'swarm'?"
            ]
        ),
        (
            base.replacingOccurrences(of: "  port: 3000", with: "  port: 3000\n  replicas: 0"),
            [
                "manifest.yaml:4:13: error: services.replicas must be 1-100, got 0"
            ]
        ),
        (
            base.replacingOccurrences(of: "  port: 3000", with: "  port: 3000\n  replicas: 101"),
            [
                "manifest.yaml:4:13: error: services.replicas must be 1-100, got 101"
            ]
        ),
        (
            base.replacingOccurrences(of: "  port: 3000", with: "  port: 3000\n  replicas: \"3\""),
            [
                "manifest.yaml:4:13: error: services.replicas must be an integer, got string \"3\""
            ]
        ),
        (
            base.replacingOccurrences(of: "  port: 3000", with: "  port: 3000\n  replicas: 2.5"),
            [
                "manifest.yaml:4:13: error: services.replicas must be an integer, got number 2.5"
            ]
        ),
        (
            base.replacingOccurrences(of: "  port: 3000", with: "  port: 3000\n  placement: node.role == worker"),
            [
                "manifest.yaml:4:14: error: services.placement must be a list, got string \"node.role == worker\""
            ]
        ),
        // A quote and a newline cannot carry YAML out of the list item.
        (
            base.replacingOccurrences(
                of: "  port: 3000", with: "  port: 3000\n  placement: [\"node.role == worker\\\"]\\n    x: [\\\"\"]"),
            [
                """
                manifest.yaml:4:15: error: services.placement[0] must be \(placementExpectation), got \"node.role \
                == worker\\\"]\\n    x: [\\\"\"
                """
            ]
        ),
        (
            base.replacingOccurrences(
                of: "  port: 3000",
                with:
                    """
                      port: 3000\n  placement:\n    - node.role == boss\n    - node.labels.zone = eu\n    - \
                    node.role == worker
                    """
            ),
            [
                """
                manifest.yaml:5:7: error: services.placement[0] must be \(placementExpectation), got \"node.role \
                == boss\"
                """,
                """
                manifest.yaml:6:7: error: services.placement[1] must be \(placementExpectation), got \
                \"node.labels.zone = eu\"
                """,
            ]
        ),
        (
            base + "runtime: swarm\npolicy:\n  engine: opa\nobservability:\n  prometheus: true\n",
            [
                """
                manifest.yaml:12:3: error: policy.engine opa without policy.opa.url needs an OPA sidecar, which \
                runtime: swarm does not generate; set policy.opa.url to an OPA server, use policy.engine: \
                embedded, or runtime: compose
                """,
                """
                manifest.yaml:14:3: error: observability.prometheus and observability.alertmanager run inside a \
                Compose stack only; with runtime: swarm run Prometheus outside the stack and set \
                metrics.prometheus_url, or use runtime: compose
                """,
            ]
        ),
    ]

    static let placementExpectation =
        """
        a placement constraint such as 'node.role == worker' or 'node.labels.zone != eu-1' ('<key> == <value>' or \
        '<key> != <value>'; key node.id, node.hostname, node.role (manager or worker), node.platform.os, \
        node.platform.arch, node.labels.<name> or engine.labels.<name>; value of letters, digits, '.', '_' and \
        '-')
        """

    @Test(arguments: invalid.indices)
    func invalidSwarmKeysAreReportedWithTheirPosition(_ index: Int) {
        let (text, expected) = Self.invalid[index]
        #expect(problems(text) == expected)
    }

    @Test(arguments: [
        "node.role == worker", "node.role!=manager", "node.hostname == build-1.example.com", "node.id != 2x7tq9f0k3",
        "node.platform.os == linux", "node.platform.arch != aarch64", "node.labels.zone == eu-west-1a",
        "engine.labels.storage == ssd",
    ])
    func placementConstraintsSwarmTakesAreAccepted(_ text: String) {
        #expect(ManifestGrammar.placementConstraint(text) == nil)
    }

    @Test(arguments: [
        "", "node.role == leader", "node.role == worker\n", "node.role == 'worker'", "node.roles == worker",
        "node.labels. == x", "node.labels.zone == a b", "node.labels.zone == ${ZONE}", "node.labels.zone === a",
        "node.labels.zone == a\"]", "node.labels.zone == a # comment", "container.label == x", "== worker",
    ])
    func placementConstraintsOutsideTheGrammarAreRefused(_ text: String) {
        // "node.role == worker\n" once passed: ICU's `$` matches before a final newline.
        #expect(ManifestGrammar.placementConstraint(text) != nil, "accepted \(text.debugDescription)")
    }

    // MARK: The generated stack file

    @Test(arguments: goldenCases)
    func stackGoldenFilesMatch(_ name: String) throws {
        let rendered = try ConfigRenderer().render(try manifest(name))
        let stack = try #require(rendered.stack)
        if let diff = Golden.compare(rendered.nginxConf, to: fixture("render/\(name)/nginx.conf")) {
            Issue.record(Comment(rawValue: diff))
        }
        if let diff = Golden.compare(stack, to: fixture("render/\(name)/docker-stack.yml")) {
            Issue.record(Comment(rawValue: diff))
        }
    }

    @Test func composeManifestsRenderNoStackFile() throws {
        #expect(try ConfigRenderer().render(try load(base)).stack == nil)
    }

    @Test func stackRenderingIsDeterministic() throws {
        let m = try manifest("swarm")
        let first = try ConfigRenderer().render(m)
        for _ in 0..<5 { #expect(try ConfigRenderer().render(m) == first) }
    }

    @Test func builtInStackTemplateIsTheRepositorysTemplate() throws {
        let onDisk = try TemplateSet.directory(RepositoryPaths.root.appendingPathComponent("templates"))
        #expect(
            onDisk.stack == TemplateSet.builtin.stack,
            "templates/docker-stack.yml.mustache changed: run scripts/sync-templates")
    }

    /// The services' keys as YAML, and the keys `docker stack deploy` ignores (checked on Docker 28.2: it prints
    /// "Ignoring unsupported options: restart, security_opt", deprecates container_name and expose, drops the
    /// short `tmpfs` syntax and depends_on without a word; its schema forbids mem_limit and cpus).
    static let ignoredByStackDeploy = [
        "container_name", "depends_on", "restart", "security_opt", "expose", "tmpfs", "mem_limit",
        "cpus", "links", "build", "cgroup_parent", "devices", "network_mode", "userns_mode",
        "sysctls", "privileged", "cap_add", "ulimits", "external_links", "scale",
    ]

    private func stackYAML(_ name: String) throws -> [String: Any] {
        let stack = try #require(try ConfigRenderer().render(try manifest(name)).stack)
        return try #require(try Yams.load(yaml: stack) as? [String: Any])
    }

    @Test(arguments: goldenCases)
    func stackUsesOnlyKeysStackDeployHonours(_ name: String) throws {
        let yaml = try stackYAML(name)
        let services = try #require(yaml["services"] as? [String: [String: Any]])
        for (service, keys) in services {
            for ignored in Self.ignoredByStackDeploy {
                #expect(
                    keys[ignored] == nil, "\(service) uses \(ignored), which docker stack deploy ignores or refuses")
            }
            // Their intent, carried another way.
            let deploy = try #require(keys["deploy"] as? [String: Any], "\(service) has no deploy section")
            #expect((deploy["restart_policy"] as? [String: Any])?["condition"] != nil, "\(service): restart_policy")
            #expect(keys["cap_drop"] as? [String] == ["ALL"], "\(service): cap_drop")
            #expect(keys["read_only"] as? Bool == true, "\(service): read_only")
            let mounts = try #require(keys["volumes"] as? [[String: Any]], "\(service): a tmpfs /tmp")
            #expect(
                mounts.contains { $0["type"] as? String == "tmpfs" && $0["target"] as? String == "/tmp" },
                "\(service): tmpfs /tmp")
            #expect(keys["user"] != nil || service != "nginx", "nginx runs as nobody")
        }
        #expect(yaml["version"] as? String == "3.8")
        let networks = try #require(yaml["networks"] as? [String: [String: Any]])
        #expect(
            networks.values.allSatisfy { $0["driver"] as? String == "overlay" },
            "the stack's network is an overlay: \(networks)")
    }

    @Test func appServiceCarriesReplicasUpdatesRollbackResourcesPlacementAndHealth() throws {
        let m = try manifest("swarm")
        let yaml = try stackYAML("swarm")
        let services = try #require(yaml["services"] as? [String: [String: Any]])
        let app = try #require(services["checkout"])
        let deploy = try #require(app["deploy"] as? [String: Any])
        #expect(deploy["replicas"] as? Int == 3)
        let update = try #require(deploy["update_config"] as? [String: Any])
        #expect(update["parallelism"] as? Int == 1)
        #expect(update["order"] as? String == "start-first")
        #expect(update["failure_action"] as? String == "rollback")
        let monitorText = try #require(update["monitor"] as? String)
        let monitor = try #require(ManifestDuration.parse(monitorText))
        let health = m.services.healthcheck
        // The monitor must outlast the time the health check needs to fail a replica.
        #expect(
            monitor.milliseconds >= health.interval.milliseconds * health.retries + health.timeout.milliseconds,
            "monitor \(monitor)")
        let rollback = try #require(deploy["rollback_config"] as? [String: Any])
        #expect(rollback["parallelism"] as? Int == 1)
        #expect(rollback["monitor"] as? String == update["monitor"] as? String)
        let limits = try #require((deploy["resources"] as? [String: Any])?["limits"] as? [String: Any])
        #expect(limits["memory"] as? String == "512m")
        #expect(limits["cpus"] as? String == "1.5")
        #expect(
            (deploy["placement"] as? [String: Any])?["constraints"] as? [String] == [
                "node.role == worker", "node.labels.zone != eu-west-1a",
            ])
        #expect((deploy["restart_policy"] as? [String: Any])?["condition"] as? String == "on-failure")
        let healthcheck = try #require(app["healthcheck"] as? [String: Any])
        #expect(healthcheck["interval"] as? String == "10s")
        #expect(healthcheck["retries"] as? Int == 3)
        #expect(app["user"] as? String == "10001:10001")
    }

    @Test func nginxPublishesThePublicPortInHostModeAndTheAdminPortNowhere() throws {
        let yaml = try stackYAML("swarm")
        let nginx = try #require((yaml["services"] as? [String: [String: Any]])?["nginx"])
        let ports = try #require(nginx["ports"] as? [[String: Any]])
        #expect(ports.count == 1, "only the public port is published: \(ports)")
        #expect(ports.first?["published"] as? Int == 8443)
        #expect(ports.first?["target"] as? Int == ContainerLayout.nginxPublicPort)
        #expect(ports.first?["mode"] as? String == "host")
        #expect(nginx["user"] as? String == ContainerLayout.unprivilegedUser)
        // A host port cannot be bound twice on a node: nginx's own update stops the old task first.
        let update = try #require((nginx["deploy"] as? [String: Any])?["update_config"] as? [String: Any])
        #expect(update["order"] as? String == "stop-first")
        let conf = try ConfigRenderer().render(try manifest("swarm")).nginxConf
        #expect(conf.contains("listen 127.0.0.1:8081;"), "the admin listener is bound to nginx's own loopback")
        #expect(
            conf.contains("set $swiftdeploy_upstream http://tasks.checkout:8000;"),
            "nginx reaches every replica through tasks.<service>")
        #expect(conf.contains("resolver 127.0.0.11 valid=10s ipv6=off;"), "nginx re-resolves the replicas")
    }

    @Test func restartPoliciesMapToSwarmConditions() {
        #expect(StackContext.restartCondition("no") == "none")
        #expect(StackContext.restartCondition("always") == "any")
        #expect(StackContext.restartCondition("unless-stopped") == "any")
        #expect(StackContext.restartCondition("on-failure") == "on-failure")
    }

    @Test func theNginxConfigIsNamedByItsDigestSoAChangeIsANewConfig() throws {
        var m = try manifest("swarm")
        func configName(_ manifest: Manifest) throws -> String? {
            let yaml = try Yams.load(yaml: try #require(try ConfigRenderer().render(manifest).stack)) as? [String: Any]
            return ((yaml?["configs"] as? [String: Any])?["nginx_conf"] as? [String: Any])?["name"] as? String
        }
        let before = try #require(try configName(m))
        #expect(before.hasPrefix("shop-checkout_nginx_") && before.count == "shop-checkout_nginx_".count + 12)
        #expect(try configName(m) == before)
        m.nginx.proxyTimeout = ManifestDuration(milliseconds: 60_000)
        #expect(try configName(m) != before)
    }

    @Test func valuesCannotEscapeTheirYAMLScalar() throws {
        let m = try manifest("swarm")
        let yaml = try stackYAML("swarm")
        let app = try #require((yaml["services"] as? [String: [String: Any]])?["checkout"])
        let environment = try #require(app["environment"] as? [String: String])
        // `$` is doubled so stack deploy's interpolation gives the value back as written.
        #expect(
            environment["ALPHA"]
                == m.services.env.first { $0.name == "ALPHA" }?.value.replacingOccurrences(of: "$", with: "$$"))
        #expect(Set(environment.keys) == ["MODE", "APP_VERSION", "APP_PORT", "ALPHA", "ZETA"])
        // A value that bypassed the loader is refused by the renderer, never written.
        var hostile = m
        hostile.services.placement = ["node.role == worker\"]\n      x: [\""]
        #expect(throws: RenderError.self) { try ConfigRenderer().render(hostile) }
    }

    @Test func initWithSwarmWritesTheStackFileOwnerOnly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let text = try String(contentsOf: fixture("render/swarm-minimal/manifest.yaml"), encoding: .utf8)
        let m = try ManifestLoader().parse(text, file: "manifest.yaml", directory: dir.url)
        let written = try ConfigGenerator(manifest: m).write()
        #expect(written.map { $0.file.url.lastPathComponent }.sorted() == ["docker-stack.yml", "nginx.conf"])
        #expect(written.allSatisfy { $0.outcome == .created })
        #expect(
            !FileManager.default.fileExists(atPath: m.composeFileURL.path), "Swarm projects get no docker-compose.yml")
        let mode = try FileManager.default.attributesOfItem(atPath: m.stackFileURL.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600, "docker-stack.yml holds services.env values")
        #expect(try ConfigGenerator(manifest: m).write().allSatisfy { $0.outcome == .unchanged })
        #expect(
            GeneratorRenderer().generatedFiles(for: m).map(\.lastPathComponent) == ["nginx.conf", "docker-stack.yml"])
    }

    @Test func aTemplateDirectoryWithoutTheStackTemplateIsNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let templates = dir.url.appendingPathComponent("templates")
        try FileManager.default.createDirectory(at: templates, withIntermediateDirectories: true)
        try Data(TemplateSet.builtin.nginx.utf8).write(to: templates.appendingPathComponent(TemplateSet.nginxFileName))
        try Data(TemplateSet.builtin.compose.utf8).write(
            to: templates.appendingPathComponent(TemplateSet.composeFileName))
        let text =
            try String(contentsOf: fixture("render/swarm-minimal/manifest.yaml"), encoding: .utf8)
            + "templates: templates\n"
        let m = try ManifestLoader().parse(text, file: "manifest.yaml", directory: dir.url)
        let error = #expect(throws: RenderError.self) { try ConfigGenerator(manifest: m).render() }
        #expect(
            error?.localizedDescription.contains("docker-stack.yml.mustache") == true, "\(String(describing: error))")
    }

    // MARK: The real engine

    /// `docker stack config` (the CLI's own loader and schema for stack files; it needs no swarm) accepts each file.
    @Test(.requires(.docker), arguments: goldenCases)
    func dockerStackConfigAcceptsTheStackFile(_ name: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let rendered = try ConfigRenderer().render(try manifest(name))
        _ = try dir.write(rendered.nginxConf, to: "nginx.conf")
        let file = try dir.write(try #require(rendered.stack), to: "docker-stack.yml")
        let result = try DockerTestEnvironment.docker(["stack", "config", "-c", file.path])
        #expect(result.status == 0, "docker stack config failed: \(result.output)")
        #expect(!result.output.contains("forbidden") && !result.output.contains("not allowed"), "\(result.output)")
    }
}

/// `docker stack deploy` on a one-node swarm: the file is accepted with no key ignored, the services get what the
/// manifest says, nginx answers on the public port and reaches the replicas, and the admin listener is published
/// nowhere but answers through `docker exec`. Leaves the swarm if it initialised it.
@Suite(
    "Swarm: docker stack deploy accepts docker-stack.yml",
    // serialized: the engine's swarm membership: SwarmTestEnvironment.begin() inits the swarm and end() leaves it
    // when its test made it, under a test of the suite still deploying its stack
    .serialized)
struct SwarmStackDeployTests {
    @Test(.requires(.docker))
    func stackDeployAcceptsTheFileWithNothingIgnored() throws {
        let session = try SwarmTestEnvironment.begin()
        defer { session.end() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let project = "sdswarm\(UInt32.random(in: 0...UInt32.max) % 1_000_000)"
        // Named in the stack file: reserved together (distinct), released for Swarm to publish.
        let ports = try LoopbackPort.forServers(2)
        let port = ports[0]
        let adminPort = ports[1]
        let text = """
            project: \(project)
            runtime: swarm
            services:
              image: swiftdeploy/api:0.1.0
              port: 3000
              replicas: 2
              placement: ["node.role == manager"]
              healthcheck:
                interval: 1s
                retries: 3
              resources:
                memory: 256m
            nginx:
              image: swiftdeploy/nginx:bookworm
              port: \(port)
              admin_port: \(adminPort)
            network:
              name: app-net
              driver_type: bridge

            """
        let m = try ManifestLoader().parse(text, file: "manifest.yaml", directory: dir.url)
        try ConfigGenerator(manifest: m).write()
        defer {
            _ = try? DockerTestEnvironment.docker(["stack", "rm", project])
            for _ in 0..<30 {
                let left = try? DockerTestEnvironment.docker([
                    "network", "ls", "-q", "--filter", "label=com.docker.stack.namespace=\(project)",
                ])
                if left?.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true { break }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        let deploy = try ExternalTool.runBlocking(
            "/usr/bin/env", ["docker", "stack", "deploy", "--detach=true", "-c", "docker-stack.yml", project],
            currentDirectory: dir.url)
        #expect(deploy.status == 0, "\(deploy.output)")
        #expect(!deploy.output.contains("Ignoring"), "docker stack deploy ignored part of the file: \(deploy.output)")
        #expect(!deploy.output.contains("deprecated"), "\(deploy.output)")

        let inspect = try DockerTestEnvironment.docker(["service", "inspect", "\(project)_app"])
        let spec = try #require(
            (try JSONSerialization.jsonObject(with: Data(inspect.output.utf8)) as? [[String: Any]])?.first?["Spec"]
                as? [String: Any])
        let task = try #require(spec["TaskTemplate"] as? [String: Any])
        let container = try #require(task["ContainerSpec"] as? [String: Any])
        #expect(container["ReadOnly"] as? Bool == true)
        #expect(container["CapabilityDrop"] as? [String] == ["ALL"])
        #expect(
            (container["Mounts"] as? [[String: Any]])?.contains {
                $0["Type"] as? String == "tmpfs" && $0["Target"] as? String == "/tmp"
            } == true)
        #expect((task["RestartPolicy"] as? [String: Any])?["Condition"] as? String == "any")
        #expect(
            (task["Resources"] as? [String: Any]).flatMap { ($0["Limits"] as? [String: Any])?["MemoryBytes"] as? Int }
                == 256 * 1024 * 1024)
        #expect((task["Placement"] as? [String: Any])?["Constraints"] as? [String] == ["node.role == manager"])
        let update = try #require(spec["UpdateConfig"] as? [String: Any])
        #expect(update["FailureAction"] as? String == "rollback")
        #expect(update["Order"] as? String == "start-first")
        #expect(update["Parallelism"] as? Int == 1)
        #expect(
            (spec["Mode"] as? [String: Any]).flatMap { ($0["Replicated"] as? [String: Any])?["Replicas"] as? Int } == 2)
        #expect(spec["RollbackConfig"] != nil)

        // Both replicas running, then nginx answers on the public port through tasks.app.
        var replicas = ""
        for _ in 0..<90 {
            replicas =
                (try? DockerTestEnvironment.docker([
                    "service", "ls", "--filter", "name=\(project)_", "--format", "{{.Name}} {{.Replicas}}",
                ]))?.output ?? ""
            if replicas.contains("\(project)_app 2/2"), replicas.contains("\(project)_nginx 1/1") { break }
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(replicas.contains("\(project)_app 2/2") && replicas.contains("\(project)_nginx 1/1"), "\(replicas)")
        var answer: TestHTTP.Response?
        for _ in 0..<20 {
            answer = TestHTTP.requestBlocking(port: port, path: "/")
            if answer?.status == 200 { break }
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(answer?.status == 200, "nginx on the public port: \(String(describing: answer))")
        #expect(answer?.headers["x-deployed-by"] == "swiftdeploy")
        // The admin listener: not published on the host, reachable inside nginx's container only.
        #expect(
            TestHTTP.requestBlocking(port: adminPort, path: "/healthz") == nil, "the admin port must not be published")
        let nginx = try DockerTestEnvironment.docker([
            "ps", "-q", "--filter", "label=com.docker.swarm.service.name=\(project)_nginx",
        ])
        let id = try #require(nginx.output.split(separator: "\n").first.map(String.init))
        let health = try DockerTestEnvironment.docker([
            "exec", id, "bash", "-c",
            "exec 3<>/dev/tcp/127.0.0.1/8081 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3",
        ])
        #expect(health.output.hasPrefix("HTTP/1.1 200"), "\(health.output)")
    }
}

/// ICU's `$` matches before a final newline; no grammar rule may accept a value ending in one.
@Suite("Manifest grammar: a trailing newline never matches")
struct GrammarTrailingNewlineTests {
    @Test(arguments: ["\n", "\r\n", "\r", "\u{2028}"])
    func noRuleAcceptsATrailingLineTerminator(_ ending: String) {
        let rules: [(String, ManifestGrammar.Rule)] = [
            ("dnsLabel", ManifestGrammar.dnsLabelRule), ("projectName", ManifestGrammar.projectNameRule),
            ("imageReference", ManifestGrammar.imageReferenceRule), ("version", ManifestGrammar.versionRule),
            ("httpPath", ManifestGrammar.httpPathRule),
            ("placementConstraint", ManifestGrammar.placementConstraintRule),
            ("networkName", ManifestGrammar.networkNameRule), ("email", ManifestGrammar.emailRule),
            ("filePath", ManifestGrammar.filePathRule), ("containerUser", ManifestGrammar.containerUserRule),
            ("httpURL", ManifestGrammar.httpURLRule), ("memory", ManifestGrammar.memoryRule),
        ]
        for (name, rule) in rules {
            #expect(rule.check(rule.example) == nil, "\(name) rejects its own example")
            #expect(
                rule.check(rule.example + ending) != nil,
                "\(name) accepts its example followed by \(ending.debugDescription)")
        }
    }
}
