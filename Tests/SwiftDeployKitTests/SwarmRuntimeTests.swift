import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `SwarmRuntime`'s decisions on canned engine answers (the real engine runs them in SwarmEndToEndTests).
@Suite("Swarm runtime: preflight, tasks, the admin transport")
struct SwarmRuntimeTests {
    private func runtime(_ runner: ScriptedRunner) -> SwarmRuntime {
        SwarmRuntime(
            project: "shop", stackFile: URL(fileURLWithPath: "/srv/shop/docker-stack.yml"), runner: runner,
            environment: [:], pollInterval: 0.01)
    }

    @Test(arguments: [
        ("inactive false", "inactive"), ("active false", "a worker"), ("pending false", "pending"),
        ("locked false", "locked"),
    ])
    func deployRefusesAnEngineThatIsNotASwarmManager(_ answer: String, _ named: String) async throws {
        let runner = ScriptedRunner([
            (["docker", "info", "--format", "{{.ServerVersion}}"], ScriptedRunner.ok("28.2.2\n")),
            (["docker", "info", "--format"], ScriptedRunner.ok(answer + "\n")),
        ])
        let error = await #expect(throws: RuntimeError.self) { try await runtime(runner).preflight() }
        #expect(error == .notSwarmManager(state: named))
        let message = error?.errorDescription ?? ""
        #expect(message.contains("docker swarm init --advertise-addr <addr>"), "\(message)")
        #expect(message.contains("nothing was changed"))
        #expect(error?.exitStatus == .operationFailed)
    }

    @Test func aManagerPassesPreflight() async throws {
        let runner = ScriptedRunner([
            (["docker", "info", "--format", "{{.ServerVersion}}"], ScriptedRunner.ok("28.2.2\n")),
            (["docker", "info", "--format"], ScriptedRunner.ok("active true\n")),
        ])
        try await runtime(runner).preflight()
    }

    @Test func tasksBecomeContainersWithTheirNodeStateAndError() throws {
        let json = """
            [{"ID":"t1","Slot":1,"NodeID":"n1aaaaaaaaaaaaaaaaaaaaaaa","ServiceID":"s1","DesiredState":"running",
              "Status":{"State":"running","Timestamp":"2026-11-26T18:00:00.123456789Z","ContainerStatus":{"ContainerID":"c1","ExitCode":0}},
              "Spec":{"ContainerSpec":{"Image":"swiftdeploy/api:0.1.0@sha256:abc","Env":["MODE=stable","APP_PORT=3000"]}},
              "NetworksAttachments":[{"Network":{"Spec":{"Name":"shop_app-net"}},"Addresses":["10.0.1.5/24"]}]},
             {"ID":"t2","Slot":2,"NodeID":"n2bbbbbbbbbbbbbbbbbbbbbbb","ServiceID":"s1","DesiredState":"running",
              "Status":{"State":"starting","Err":""},"Spec":{"ContainerSpec":{"Image":"swiftdeploy/api:0.1.0"}}},
             {"ID":"t3","Slot":2,"NodeID":"n2bbbbbbbbbbbbbbbbbbbbbbb","ServiceID":"s1","DesiredState":"shutdown",
              "Status":{"State":"failed","Err":"task: non-zero exit \
            (1)"},"Spec":{"ContainerSpec":{"Image":"swiftdeploy/api:0.1.0"}}}]
            """
        let tasks = try SwarmTask.parse(
            json, command: "docker inspect", services: ["s1": "app"],
            nodes: ["n1aaaaaaaaaaaaaaaaaaaaaaa": "vm (n1aaaaaaaaaa)"])
        #expect(tasks.map(\.status.name) == ["app.1", "app.2", "app.2"])
        #expect(tasks[0].status.isReady)
        #expect(!tasks[1].status.isReady, "a task still starting (health check not passed) is not ready")
        #expect(tasks[0].status.node == "vm (n1aaaaaaaaaa)")
        #expect(tasks[1].status.node == "n2bbbbbbbbbb", "an unknown node is named by its id prefix")
        #expect(tasks[0].status.image == "swiftdeploy/api:0.1.0")
        #expect(tasks[0].status.environment["MODE"] == "stable")
        #expect(tasks[0].address == "10.0.1.5")
        #expect(tasks[2].line == "app.2 on n2bbbbbbbbbb: failed: task: non-zero exit (1)")
    }

    /// Found by the end-to-end timeout test: Swarm ends a replica whose health check fails as `complete`, `finished`,
    /// exit 0, with no error, so a timeout named no failure at all. Such tasks are failures, with what their health
    /// check said.
    @Test func aReplicaSwarmStoppedAsUnhealthyIsAFailureWithItsHealthCheckOutput() async throws {
        let tasks = """
            [{"ID":"t1","Slot":1,"NodeID":"n1","ServiceID":"s1","DesiredState":"shutdown",
              "Status":{"State":"complete","Message":"finished","Timestamp":"2026-11-26T21:00:37.824426099Z","ContainerStatus":{"ContainerID":"c1","ExitCode":0}},
              "Spec":{"ContainerSpec":{"Image":"api:0.1.0"}}},
             {"ID":"t2","Slot":1,"NodeID":"n1","ServiceID":"s1","DesiredState":"running",
              "Status":{"State":"starting","Message":"starting","ContainerStatus":{"ContainerID":"c2"}},"Spec":{"ContainerSpec":{"Image":"api:0.1.0"}}}]
            """
        let health =
            #"{"Status":"unhealthy","FailingStreak":3,"Log":[{"ExitCode":1,"Output":""},{"ExitCode":1,"Output":"GET /healthz: 503\n"}]}"#
        let runner = ScriptedRunner([
            (["docker", "stack", "ps"], ScriptedRunner.ok("t1\nt2\n")),
            (["docker", "inspect", "--type", "task"], ScriptedRunner.ok(tasks)),
            (["docker", "service", "ls"], ScriptedRunner.ok("s1\n")),
            (
                ["docker", "service", "inspect"],
                ScriptedRunner.ok(#"[{"ID":"s1","Spec":{"Name":"shop_app","Mode":{"Replicated":{"Replicas":1}}}}]"#)
            ),
            (["docker", "node", "ls"], ScriptedRunner.ok("n1 vm\n")),
            (
                ["docker", "inspect", "--type", "container", "--format", "{{json .State.Health}}", "c1"],
                ScriptedRunner.ok(health)
            ),
        ])
        #expect(
            await runtime(runner).failedTaskLines() == [
                """
                app.1 on vm (n1): complete: finished (unhealthy: 3 failed health checks in a row, the last exit \
                1: GET /healthz: 503)
                """
            ])
    }

    /// The engine after a deploy that changed the app's image: the service has the new spec; its tasks run `taskImage`.
    private func deployedRunner(
        serviceImage: String, taskImage: String, update: String = "null",
        pruned: Bool = false
    ) -> ScriptedRunner {
        let service = """
            [{"ID":"s1","Spec":{"Name":"shop_app","Mode":{"Replicated":{"Replicas":1}},
              "TaskTemplate":{"ContainerSpec":{"Image":"\(serviceImage)","Env":["MODE=stable"],"StopGracePeriod":10000000000}}},"UpdateStatus":\(update)}]
            """
        let task = """
            [{"ID":"t1","Slot":1,"NodeID":"n1","ServiceID":"s1","DesiredState":"running",
              "Status":{"State":"running"},"Spec":{"ContainerSpec":{"Image":"\(taskImage)","Env":["MODE=stable"]}}}]
            """
        var answers: [([String], Result<CommandResult, RuntimeError>)] = []
        if pruned {
            answers.append(
                (
                    ["docker", "service", "inspect", "shop_app"],
                    ScriptedRunner.ok(stderr: "Error: no such service: shop_app", status: 1)
                ))
        }
        answers += [
            (["docker", "service", "ls"], ScriptedRunner.ok("s1\n")),
            (["docker", "service", "inspect"], ScriptedRunner.ok(service)),
            (["docker", "stack", "deploy"], ScriptedRunner.ok()),
            (["docker", "service", "ps"], ScriptedRunner.ok("t1\n")),
            (["docker", "stack", "ps"], ScriptedRunner.ok("t1\n")),
            (["docker", "inspect", "--type", "task"], ScriptedRunner.ok(task)),
            (["docker", "node", "ls"], ScriptedRunner.ok("n1 vm\n")),
        ]
        return ScriptedRunner(answers)
    }

    @Test func anUpdateSwarmHasNotStartedYetIsWaitedForNeverTakenAsNothingToDo() async throws {
        // The old task still runs the old image and Swarm has not started the update (a busy manager): the deploy
        // must not report success on the old tasks, however long Swarm takes. It waited 5 s, then took it as done.
        var swarm = runtime(deployedRunner(serviceImage: "api:0.2.0", taskImage: "api:0.1.0"))
        swarm.commandTimeout = 6
        let started = Date()
        let error = await #expect(throws: RuntimeError.self) { try await swarm.up() }
        #expect(Date().timeIntervalSince(started) >= 6, "the wait ended before the timeout")
        guard case .swarmUpdateTimedOut(let seconds, let services, _, _) = error else {
            Issue.record("expected swarmUpdateTimedOut, got \(String(describing: error))")
            return
        }
        #expect(seconds == 6)
        #expect(services == ["shop_app (update not started yet)"])
        let message = error?.errorDescription ?? ""
        #expect(message.contains("docker service rollback"), "\(message)")
        #expect(error?.exitStatus == .operationFailed)
    }

    /// The update wait ends at the action's deadline (shared with the health wait that follows), not a fresh
    /// `commandTimeout` after its own start, and its error names how the default budget follows from the manifest.
    @Test func theUpdateWaitEndsAtTheActionsDeadline() async throws {
        var swarm = runtime(deployedRunner(serviceImage: "api:0.2.0", taskImage: "api:0.1.0"))
        swarm.commandTimeout = 300
        swarm.budget = "3 replicas × 35s update monitor + 30s = 135s"
        let started = Date()
        let error = await #expect(throws: RuntimeError.self) {
            try await swarm.up(until: started.addingTimeInterval(2))
        }
        #expect(Date().timeIntervalSince(started) < 10, "the wait ignored the deadline")
        let message = error?.errorDescription ?? ""
        #expect(message.contains("the default --timeout is 3 replicas × 35s update monitor + 30s = 135s"), "\(message)")
    }

    @Test func aDeployWhoseTasksRunTheCurrentSpecDoesNotWait() async throws {
        var swarm = runtime(deployedRunner(serviceImage: "api:0.1.0", taskImage: "api:0.1.0"))
        swarm.commandTimeout = 30
        let started = Date()
        try await swarm.up()
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// Review 2, finding 8: a plain deploy (and the mode switch) asks the registry only for images whose text changed
    /// in
    /// the stack file (`--resolve-image changed`), so a re-pushed `nginx:1.27` or app tag does not replace a task of a
    /// deploy that changed nothing; a rollout's runtime resolves nothing (`never`).
    @Test func aDeployResolvesOnlyTheImagesThatChanged() async throws {
        let runner = deployedRunner(serviceImage: "api:0.1.0", taskImage: "api:0.1.0")
        var swarm = runtime(runner)
        swarm.commandTimeout = 30
        try await swarm.up()
        let deploy = try #require(runner.commands.first { $0.starts(with: ["docker", "stack", "deploy"]) })
        let flag = try #require(deploy.firstIndex(of: "--resolve-image"), "\(deploy)")
        #expect(deploy[flag + 1] == "changed", "\(deploy)")
        #expect(RolloutWorkflow.pinned(swarm).resolveImage == "never")
    }

    /// Review 2, finding 1: the reference that pins an image to its registry digest is the `RepoDigests` entry of the
    /// same repository (Docker Hub's implicit `docker.io/library/` removed); none is nil; a digest reference is itself.
    @Test(
        arguments: [
            ("nginx:1.27", #"["nginx@sha256:aaaa"]"#, "nginx:1.27@sha256:aaaa"),
            ("docker.io/library/nginx:1.27", #"["nginx@sha256:aaaa"]"#, "docker.io/library/nginx:1.27@sha256:aaaa"),
            (
                "registry.example.com:5000/team/app:2.0",
                #"["other/app@sha256:bbbb","registry.example.com:5000/team/app@sha256:cccc"]"#,
                "registry.example.com:5000/team/app:2.0@sha256:cccc"
            ),
            ("team/app:2.0", #"["other/app@sha256:bbbb"]"#, nil),
            ("team/app:2.0", "[]", nil),
        ] as [(String, String, String?)])
    func anImageIsPinnedByTheDigestOfItsOwnRepository(_ image: String, _ repoDigests: String, _ pinned: String?)
        async throws
    {
        let runner = ScriptedRunner([
            (
                ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image],
                ScriptedRunner.ok(repoDigests + "\n")
            )
        ])
        #expect(try await runtime(runner).digestReference(image) == pinned)
        let already = "team/app:2.0@sha256:" + String(repeating: "d", count: 64)
        #expect(try await runtime(ScriptedRunner([])).digestReference(already) == already)
    }

    @Test func aCompletedUpdateEndsTheWaitOnceTheTasksRunIt() async throws {
        let completed = #"{"State":"completed","Message":"update completed","StartedAt":"2026-11-26T19:00:00Z"}"#
        var swarm = runtime(deployedRunner(serviceImage: "api:0.2.0", taskImage: "api:0.2.0", update: completed))
        swarm.commandTimeout = 30
        try await swarm.up()
    }

    @Test func anUpdateSwarmRolledBackIsAnError() async throws {
        // The status recorded before the deploy had no update; now Swarm reports it rolled this one back.
        let before = SwarmRuntime.ServiceState(containerSpec: Data("{}".utf8), update: nil)
        let rolled = deployedRunner(
            serviceImage: "api:0.1.0", taskImage: "api:0.1.0",
            update: #"{"State":"rollback_completed","Message":"rollback completed","StartedAt":"x"}"#)
        let error = await #expect(throws: RuntimeError.self) {
            try await runtime(rolled).waitForUpdates(since: ["app": before])
        }
        guard case .swarmRolledBack(let service, let state, _, _) = error else {
            Issue.record("expected swarmRolledBack, got \(String(describing: error))")
            return
        }
        #expect(service == "shop_app")
        #expect(state == "rollback_completed")
    }

    @Test func aServiceTheDeployPrunedIsNotWaitedFor() async throws {
        let before = SwarmRuntime.ServiceState(containerSpec: Data("{}".utf8), update: nil)
        var swarm = runtime(deployedRunner(serviceImage: "api:0.1.0", taskImage: "api:0.1.0", pruned: true))
        swarm.commandTimeout = 5
        try await swarm.waitForUpdates(since: ["app": before])
    }

    /// Reviewer's finding: a replica count missing or unreadable in Docker's answer was read as 1, so the wait for
    /// "all replicas running" could end with one of three running. It is an error naming the service and what was
    /// found.
    @Test(arguments: [
        #"{"Replicated":{}}"#, #"{"Replicated":{"Replicas":"3"}}"#, #"{"Replicated":{"Replicas":2.5}}"#,
        #"{"Replicated":{"Replicas":-1}}"#, #"{"Global":{}}"#, "null",
    ])
    func aReplicaCountDockerDoesNotStateReadablyIsAnError(_ mode: String) async throws {
        let runner = ScriptedRunner([
            (["docker", "service", "ls"], ScriptedRunner.ok("s1\n")),
            (
                ["docker", "service", "inspect"],
                ScriptedRunner.ok(#"[{"ID":"s1","Spec":{"Name":"shop_app","Mode":"# + mode + "}}]")
            ),
        ])
        let error = await #expect(throws: RuntimeError.self) { try await runtime(runner).services() }
        guard case .unreadableAnswer(_, let detail)? = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(detail.contains("service shop_app has no readable replica count"), "\(detail)")
        #expect(detail.contains("docker service inspect shop_app"), "\(detail)")
        #expect(error?.exitStatus == .operationFailed)
    }

    @Test func aReadableReplicaCountIsTaken() async throws {
        let runner = ScriptedRunner([
            (["docker", "service", "ls"], ScriptedRunner.ok("s1\n")),
            (
                ["docker", "service", "inspect"],
                ScriptedRunner.ok(#"[{"ID":"s1","Spec":{"Name":"shop_app","Mode":{"Replicated":{"Replicas":0}}}}]"#)
            ),
        ])
        let services = try await runtime(runner).services()
        #expect(services.map(\.name) == ["app"] && services.map(\.desired) == [0])
    }

    @Test func theWaitCountsEveryReplica() {
        let ready = ContainerStatus(id: "a", name: "app.1", service: "app", state: "running")
        let starting = ContainerStatus(id: "b", name: "app.2", service: "app", state: "starting")
        #expect(HealthWaiter.replicasReady([ready, ready, ready], service: "app", desired: 3))
        #expect(!HealthWaiter.replicasReady([ready, ready], service: "app", desired: 3), "2 of 3 is not ready")
        #expect(
            !HealthWaiter.replicasReady([ready, ready, starting], service: "app", desired: 2),
            "a task still starting blocks")
        #expect(HealthWaiter.replicaSummary([ready, starting], service: "app", desired: 3) == "1/3 running")
    }

    @Test func adminAnswersAreParsed() throws {
        let raw = Data(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nX-Deployed-By: swiftdeploy\r\n\r\nup 1\n"
                .utf8)
        let response = try SwarmAdminTransport.parse(raw, url: "http://127.0.0.1:9180/metrics")
        #expect(response.status == 200)
        #expect(response.headers["x-deployed-by"] == "swiftdeploy")
        #expect(String(decoding: response.body, as: UTF8.self) == "up 1\n")
        #expect(throws: HTTPClientError.self) { try SwarmAdminTransport.parse(Data("garbage".utf8), url: "x") }
        #expect(throws: HTTPClientError.self) { try SwarmAdminTransport.parse(Data("SSH-2.0\r\n\r\n".utf8), url: "x") }
    }

    @Test func onlyTheAdminURLGoesThroughDockerExecAndItsPathIsAnArgument() async throws {
        let runner = ScriptedRunner([
            (["docker", "ps"], ScriptedRunner.ok("c0ffee\n")),
            (["docker", "exec", "c0ffee", "bash", "-c"], ScriptedRunner.ok("HTTP/1.1 200 OK\r\n\r\nok")),
        ])
        let transport = SwarmAdminTransport(runtime: runtime(runner), adminPort: 9180)
        let answer = await transport.get(URL(string: "http://127.0.0.1:9180/healthz")!, timeout: 2)
        #expect(answer.status == 200)
        let exec = try #require(runner.commands.first { $0.starts(with: ["docker", "exec"]) })
        #expect(
            exec.suffix(4) == ["swiftdeploy-admin", "/healthz", "*/*", "8081"],
            "the path is passed as an argument: \(exec)")
        #expect(transport.isAdmin(URL(string: "http://127.0.0.1:9180/metrics")!))
        #expect(!transport.isAdmin(URL(string: "http://127.0.0.1:8080/")!), "the public port is plain HTTP")
        // A path outside the URL-path grammar never reaches the shell.
        await #expect(throws: HTTPClientError.self) {
            _ = try await transport.send(
                method: "GET", url: URL(string: "http://127.0.0.1:9180/a%27%3Bb")!, headers: [:], body: nil,
                limits: HTTPLimits())
        }
    }

    // MARK: reviewer's findings on the admin transport

    /// The caller's timeout bounds the docker exec (it ran with a fixed 60 s whatever the caller asked for), and an
    /// exec that runs past it is a timeout, not a refusal.
    @Test func theCallersTimeoutBoundsTheDockerExec() async throws {
        let runner = ScriptedRunner([
            (["docker", "ps"], ScriptedRunner.ok("c0ffee\n")),
            (
                ["docker", "exec"],
                .success(CommandResult(commandLine: "", status: -1, stdout: "", stderr: "", timedOut: true))
            ),
        ])
        let transport = SwarmAdminTransport(runtime: runtime(runner), adminPort: 9180)
        let answer = await transport.get(URL(string: "http://127.0.0.1:9180/healthz")!, timeout: 2)
        #expect(answer.status == nil)
        #expect(answer.summary.contains("2"), "\(answer.summary)")
        let exec = try #require(runner.commands.firstIndex { $0.starts(with: ["docker", "exec"]) })
        #expect(runner.timeouts[exec] <= 2, "docker exec ran with \(runner.timeouts[exec]) s for a 2 s request")
        #expect(runner.timeouts.allSatisfy { $0 <= 2 }, "\(runner.timeouts)")
        await #expect(throws: HTTPClientError.timedOut(url: "http://127.0.0.1:9180/healthz", seconds: 2)) {
            _ = try await transport.send(
                method: "GET", url: URL(string: "http://127.0.0.1:9180/healthz")!, headers: [:], body: nil,
                limits: HTTPLimits(connectTimeout: 2, totalTimeout: 2, maxBodyBytes: 1024))
        }
    }

    /// A header value with CR or LF would add a header (or a second request) to what bash writes to nginx: refused
    /// before anything runs.
    @Test(arguments: ["text/plain\r\nX-Injected: 1", "text/plain\nGET /chaos HTTP/1.0", "a\u{0}b", "x\ry"])
    func aHeaderValueWithAControlCharacterIsRefusedBeforeAnythingRuns(_ accept: String) async throws {
        let runner = ScriptedRunner([
            (["docker", "ps"], ScriptedRunner.ok("c0ffee\n")),
            (["docker", "exec"], ScriptedRunner.ok("HTTP/1.1 200 OK\r\n\r\nok")),
        ])
        let transport = SwarmAdminTransport(runtime: runtime(runner), adminPort: 9180)
        let error = await #expect(throws: HTTPClientError.self) {
            _ = try await transport.send(
                method: "GET", url: URL(string: "http://127.0.0.1:9180/metrics")!, headers: ["Accept": accept],
                body: nil, limits: HTTPLimits())
        }
        #expect(error?.summary.contains("control character") == true, "\(String(describing: error))")
        #expect(runner.commands.isEmpty, "ran: \(runner.commands)")
    }

    /// The admin port inside the nginx container is the one the generated nginx.conf listens on (it was 8081 in the
    /// script whatever the configuration said); an nginx.conf without a loopback listener is an error, never a guess.
    @Test func theAdminPortComesFromTheGeneratedNginxConf() async throws {
        let dir = try TemporaryDirectory(prefix: "admin-port")
        defer { dir.remove() }
        let conf = try dir.write(
            "http {\n  server {\n    listen 8080;\n  }\n  server {\n    listen 127.0.0.1:9191;\n  }\n}\n",
            to: "nginx.conf")
        let runner = ScriptedRunner([
            (["docker", "ps"], ScriptedRunner.ok("c0ffee\n")),
            (["docker", "exec"], ScriptedRunner.ok("HTTP/1.1 200 OK\r\n\r\nok")),
        ])
        let transport = SwarmAdminTransport(runtime: runtime(runner), adminPort: 9180, nginxConf: conf)
        #expect(await transport.get(URL(string: "http://127.0.0.1:9180/healthz")!, timeout: 2).status == 200)
        let exec = try #require(runner.commands.first { $0.starts(with: ["docker", "exec"]) })
        #expect(exec.suffix(4) == ["swiftdeploy-admin", "/healthz", "*/*", "9191"], "\(exec)")
        #expect(!SwarmAdminTransport.script.contains("8081"))

        // The repository's own template, rendered for Swarm, names the listener the transport then uses.
        // The Swarm tests' own manifest (Tests/Fixtures/swarm), rendered by the built-in templates.
        let text = try SwarmProject.manifest(name: "shop", replicas: 2, publicPort: 8080, adminPort: 9180)
        let manifest = try ManifestLoader().parse(text, file: "manifest.yaml", directory: dir.url)
        let rendered = try ConfigRenderer().render(manifest).nginxConf
        #expect(SwarmAdminTransport.adminListenPort(inNginxConf: rendered) == ContainerLayout.nginxAdminPort)

        try Data("http { server { listen 8080; } }\n".utf8).write(to: conf)
        let answer = await transport.get(URL(string: "http://127.0.0.1:9180/healthz")!, timeout: 2)
        #expect(answer.status == nil && answer.summary.contains("no 'listen 127.0.0.1:<port>;'"), "\(answer.summary)")
    }
}
