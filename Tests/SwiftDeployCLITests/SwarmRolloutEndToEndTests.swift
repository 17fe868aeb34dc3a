import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `swiftdeploy rollout` on a real one-node swarm with real nginx and the demo service (issue 13: "Progressive delivery
/// works on Swarm with stable and canary as two services behind the same nginx"), driving the built binary.
/// The candidate is the api image under another tag, its version from --version (APP_VERSION).
/// Each test makes the engine a Swarm manager only when it is in no swarm and leaves it afterwards. On a shared
/// engine run it under the exclusive engine lock and the swarm lock (see the README's Development section).
@Suite(
    "Swarm rollout end to end",
    // serialized: the engine's swarm membership: SwarmTestEnvironment.begin() inits the swarm and end() leaves it
    // when its test made it, under a test of the suite still deploying its stack
    .serialized)
struct SwarmRolloutEndToEndTests {
    /// The candidate's tag, this test process's own: scripts/run-tests runs the suite's tests in several processes at
    /// once, and each test removes the tag when it ends (one process's removal must not pull the image from under a
    /// rollout of another). Within a process the suite is serial and each test tags it again (`deployed`).
    static let candidate = "swiftdeploy/api:0.2.0-swarm-rollout-\(ProcessInfo.processInfo.processIdentifier)"
    static let override = ["--override", "swarm rollout e2e: the shared host may be busy"]

    /// A deployed Swarm project with `replicas` replicas, a rollout block and the candidate's tag present.
    /// `stableImage`: the image the manifest names for stable (a tag of the api image).
    static func deployed(replicas: Int, steps: String, interval: String, stableImage: String = "swiftdeploy/api:0.1.0")
        async throws -> SwarmEndToEndTests.Project
    {
        let tag = try DockerTestEnvironment.docker(["tag", "swiftdeploy/api:0.1.0", candidate])
        try #require(tag.status == 0, "docker tag: \(tag.output)")
        let project = try SwarmEndToEndTests.Project(replicas: replicas)
        let text = try String(contentsOf: project.manifestURL, encoding: .utf8)
            .replacingOccurrences(
                of: "  image: swiftdeploy/api:0.1.0\n", with: "  image: \(stableImage)\n  version: \"0.1.0\"\n")
        try Data(text.utf8).write(to: project.manifestURL)
        try RolloutEndToEndTests.prepare(manifestURL: project.manifestURL, steps: steps, interval: interval)
        let deploy = try await project.deploy()
        try #require(deploy.status == 0, "deploy failed: \(deploy.stderr)")
        return project
    }

    static func status(_ project: SwarmEndToEndTests.Project) async throws -> JSONValue {
        let result = try await project.run(["rollout", "status", "--format", "json"])
        return try JSONValue.parse(Data(result.stdout.utf8))
    }

    static func start(_ project: SwarmEndToEndTests.Project, environment: [String: String] = [:]) throws
        -> BackgroundCLI
    {
        try BackgroundCLI(
            ["rollout", "start", "--image", candidate, "--version", "0.2.0", "--timeout", "180s"] + override,
            manifestURL: project.manifestURL, directory: project.dir.url, environment: environment)
    }

    static func waitFor(_ seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
        try await RolloutEndToEndTests.waitFor(seconds, condition)
    }

    /// The nginx service's labels (`docker service inspect`).
    static func nginxLabels(_ project: SwarmEndToEndTests.Project) throws -> [String: String] {
        let result = try DockerTestEnvironment.docker([
            "service", "inspect", "--format", "{{json .Spec.Labels}}", "\(project.name)_nginx",
        ])
        return (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: String]) ?? [:]
    }

    /// The IDs of the nginx service's tasks Swarm wants running (`docker service ps`): one, unchanged while nginx is
    /// not
    /// replaced.
    static func nginxTasks(_ project: SwarmEndToEndTests.Project) throws -> [String] {
        let result = try DockerTestEnvironment.docker([
            "service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", "\(project.name)_nginx",
        ])
        return result.output.split(whereSeparator: \.isWhitespace).map(String.init).sorted()
    }

    static func serviceExists(_ project: SwarmEndToEndTests.Project, _ service: String) throws -> Bool {
        let result = try DockerTestEnvironment.docker([
            "service", "ls", "-q", "--filter", "name=\(project.name)_\(service)",
        ])
        return !result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }

    /// The share of `count` cookieless requests through the public port that the candidate served.
    static func canaryShare(_ project: SwarmEndToEndTests.Project, count: Int) async -> (share: Double, answered: Int) {
        let url = URL(string: "http://127.0.0.1:\(project.publicPort)/")!
        let client = ClientSession()
        var canary = 0, answered = 0
        for _ in 0..<count {
            let answer = await client.get(url)
            if answer.status == 200 { answered += 1 }
            if answer.variant == "canary" { canary += 1 }
        }
        return (Double(canary) / Double(count), answered)
    }

    /// The rollout records of the history, every one naming the runtime and the nodes.
    static func expectRolloutRecordsNameSwarm(
        _ history: [[String: Any]], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let rollout = history.filter { $0["event"] as? String == "rollout" || $0["event"] as? String == "intent" }
        #expect(!rollout.isEmpty, sourceLocation: sourceLocation)
        for record in rollout {
            let details = record["details"] as? [String: Any] ?? [:]
            #expect(
                details["runtime"] as? String == "swarm",
                "\(record["event"] ?? "") \(details["phase"] ?? "") names the runtime",
                sourceLocation: sourceLocation)
            #expect(
                details["nodes"] is [String], "\(record["event"] ?? "") \(details["phase"] ?? "") lists the nodes",
                sourceLocation: sourceLocation)
        }
    }

    /// A healthy candidate: two services behind the one nginx, the candidate with its own two replicas; traffic split
    /// at the step's weight with a sticky cookie; each step judged on metrics from every replica of both sides; then
    /// promoted by a Swarm rolling update of the stable service, the candidate service removed, all of it recorded.
    @Test(.requires(.docker))
    func aHealthyCandidateGetsItsStickyShareAndIsPromoted() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try await Self.deployed(replicas: 2, steps: "[30, 100]", interval: "40s")
        defer { project.destroy() }
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.candidate]) }
        let nginxBefore = try Self.nginxTasks(project)
        try #require(nginxBefore.count == 1, "nginx tasks after deploy: \(nginxBefore)")
        let traffic = TrafficRecorder(url: URL(string: "http://127.0.0.1:\(project.publicPort)/")!, pause: 20_000)
        let cli = try Self.start(project)
        let inStep = await Self.waitFor(240) {
            let state = try? await Self.status(project)
            return state?["state"]?.stringValue == "running" && state?["weight"] == .int(30)
        }
        try #require(inStep, "the rollout did not reach its 30% step: \(cli.output)")
        // `status` shows both sides under traffic, each read from every replica of its service.
        let frame = try await project.run(["status", "--once", "--format", "json"])
        let rollout = try JSONValue.parse(Data((frame.stdout.split(separator: "\n").last.map(String.init) ?? "").utf8))[
            "rollout"]
        #expect(rollout?["weight"] == .int(30), "status: \(frame.stdout) \(frame.stderr)")
        for side in ["stable", "canary"] {
            #expect(
                rollout?["sides"]?[side]?["available"] == .bool(true),
                "\(side): \(rollout?["sides"]?.jsonString() ?? "none")")
            #expect(
                (rollout?["sides"]?[side]?["request_rate"]?.doubleValue ?? 0) > 0,
                "\(side): \(rollout?.jsonString() ?? "none")")
        }

        // Two services behind the same nginx: stable's two replicas and the candidate's own two.
        let tasks = try await project.runtime.containers()
        #expect(tasks.filter { $0.service == "app" && $0.isReady }.count == 2, "\(tasks.map { ($0.name, $0.state) })")
        let candidates = tasks.filter { $0.service == "app-canary" && $0.isReady }
        #expect(candidates.count == 2, "\(tasks.map { ($0.name, $0.state) })")
        #expect(
            candidates.allSatisfy {
                $0.image == Self.candidate && $0.environment["APP_VERSION"] == "0.2.0"
                    && $0.environment["MODE"] == "canary"
            })
        // The weight is Swarm's too: the nginx service's label, from which a new nginx task renders its config.
        #expect(try Self.nginxLabels(project)["swiftdeploy.canary.weight"] == "30")
        #expect(try Self.nginxTasks(project) == nginxBefore, "rollout start or the 30% step replaced the nginx task")

        // About 30% of new clients on the candidate; a returned cookie keeps its side; X-Canary forces one.
        let split = await Self.canaryShare(project, count: 400)
        #expect(split.answered == 400)
        #expect(split.share >= 0.22 && split.share <= 0.38, "canary share \(split.share) of 400 at a 30% step")
        let url = URL(string: "http://127.0.0.1:\(project.publicPort)/")!
        let client = ClientSession()
        var sidesSeen = Set<String>()
        for _ in 0..<6 {
            let first = await client.get(url)
            let cookie = try #require(first.setCookie?.split(separator: ";").first.map(String.init), "no split cookie")
            var sides = Set<String>()
            for _ in 0..<30 { sides.insert(await client.get(url, headers: ["Cookie": cookie]).variant ?? "none") }
            #expect(sides == [first.variant ?? "none"], "cookie \(cookie) saw \(sides)")
            sidesSeen.insert(first.variant ?? "none")
        }
        let forced = await client.get(url, headers: ["X-Canary": "always"])
        #expect(forced.variant == "canary" && forced.body.contains("\"version\":\"0.2.0\""), "\(forced.body)")
        #expect(await client.get(url, headers: ["X-Canary": "never"]).body.contains("\"version\":\"0.1.0\""))

        let exit = try await offPool { cli.wait(timeout: 480) }
        let samples = traffic.stop()
        #expect(exit == 0, "rollout start: \(cli.output)")

        // Promoted: stable runs the new version (a Swarm rolling update), the candidate service is gone, the split too.
        let after = try await project.runtime.containers()
        let stable = after.filter { $0.service == "app" }
        #expect(
            stable.count == 2
                && stable.allSatisfy {
                    $0.image == Self.candidate && $0.environment["APP_VERSION"] == "0.2.0" && $0.isReady
                },
            "\(stable.map { ($0.name, $0.image, $0.state) })")
        #expect(!after.contains { $0.service == "app-canary" })
        #expect(try !Self.serviceExists(project, "app-canary"))
        #expect(try Self.nginxLabels(project)["swiftdeploy.canary.weight"] == "0")
        let nginxAfter = try Self.nginxTasks(project)
        print(
            """
            swarm rollout: nginx task before \(nginxBefore.map { $0.prefix(12) }), after \
            \(nginxAfter.map { $0.prefix(12) })
            """
        )
        #expect(nginxAfter == nginxBefore, "the rollout replaced the nginx task")
        let (status, _, body) = await EndToEndTests.request(url)
        #expect(status == 200 && body.contains("\"version\":\"0.2.0\""), "GET / answered \(status) \(body)")
        let manifest = try ManifestLoader().load(from: project.manifestURL)
        #expect(manifest.services.image == Self.candidate && manifest.services.version == "0.2.0")
        await #expect(try Self.status(project)["state"]?.stringValue == "promoted")
        #expect(
            !(try String(contentsOf: project.dir.url.appendingPathComponent("docker-stack.yml"), encoding: .utf8))
                .contains("app-canary"))

        // The history: every phase, each step judged on every replica of both sides, every record naming Swarm.
        let history = try project.history()
        let phases = history.compactMap { ($0["details"] as? [String: Any])?["phase"] as? String }
        for phase in ["start", "candidate", "step", "decision", "promoted"] {
            #expect(phases.contains(phase), "no \(phase) record: \(phases)")
        }
        let decisions = history.filter { ($0["details"] as? [String: Any])?["phase"] as? String == "decision" }
        #expect(decisions.count == 2)
        for decision in decisions {
            let input = (decision["decision"] as? [String: Any])?["input"] as? [String: Any]
            let canarySource = (input?["metrics"] as? [String: Any])?["source"] as? String
            #expect(
                canarySource?.contains("every replica of app-canary") == true, "\(String(describing: canarySource))")
            #expect(
                ((decision["decision"] as? [String: Any])?["verdict"] as? String).map {
                    ["allow", "warn"].contains($0)
                } == true)
        }
        let firstInput = (decisions.first?["decision"] as? [String: Any])?["input"] as? [String: Any]
        #expect(
            ((firstInput?["baseline"] as? [String: Any])?["source"] as? String)?.contains("every replica of app")
                == true)
        #expect(
            ((firstInput?["metrics"] as? [String: Any])?["requests"] as? Double ?? 0) >= 10,
            "\(String(describing: firstInput?["metrics"]))")
        Self.expectRolloutRecordsNameSwarm(history)
        let promoted = try #require(
            history.last { ($0["details"] as? [String: Any])?["phase"] as? String == "promoted" })
        #expect(((promoted["details"] as? [String: Any])?["nodes"] as? [String])?.isEmpty == false)
        // The start record says what the candidate ran (a local build: no registry digest, said so) and the digest of
        // the manifest's stack; stable was promoted to exactly the reference recorded (review 2, findings 1 and 4).
        let started = try #require(history.first { ($0["details"] as? [String: Any])?["phase"] as? String == "start" })
        let startDetails = started["details"] as? [String: Any] ?? [:]
        #expect(
            startDetails["candidate_image"] as? String == Self.candidate
                && startDetails["candidate_pinned"] as? Bool == false, "\(startDetails)")
        #expect(
            (started["message"] as? String)?.contains("has no registry digest") == true, "\(started["message"] ?? "")")
        #expect(startDetails["manifest_digest"] is String && startDetails["stable_pinned"] is Bool, "\(startDetails)")
        let stableSpec = try DockerTestEnvironment.docker([
            "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", "\(project.name)_app",
        ])
        #expect(
            stableSpec.output.trimmingCharacters(in: .whitespacesAndNewlines) == startDetails["candidate_image"]
                as? String, "\(stableSpec.output)")
        #expect(
            cli.output.contains("has no registry digest"),
            "the progress says the candidate is not pinned: \(cli.output)")

        let failed = samples.filter { !(200..<300).contains($0.status) }
        print(
            """
            swarm rollout: \(samples.count) requests during the rollout, \(failed.count) not 2xx (statuses \
            \(Set(failed.map(\.status))))
            """
        )
        #expect(samples.count > 100)
        #expect(samples.contains { $0.variant == "canary" } && samples.contains { $0.variant == "stable" })
        // nginx is never replaced (its Swarm config is the same template at every weight): not one request of the
        // whole rollout (start, steps, Swarm's rolling update of stable, the candidate removed) may fail.
        let gaps = Self.gaps(failed)
        print("swarm rollout: connection gaps (s) \(gaps.map { String(format: "%.2f", $0) })")
        #expect(
            failed.isEmpty,
            "\(failed.count) of \(samples.count) requests failed (statuses \(Set(failed.map(\.status))), gaps \(gaps))")
    }

    /// A candidate answering every request with 500 (the demo's chaos route, set in each of its replicas): the first
    /// step is denied on the evidence of every replica, the rollout rolls back by itself: the split back to 100%
    /// stable,
    /// the candidate service removed, the stable service's tasks untouched.
    @Test(.requires(.docker))
    func anErroringCandidateIsRolledBackAutomatically() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try await Self.deployed(replicas: 2, steps: "[50, 100]", interval: "20s")
        defer { project.destroy() }
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.candidate]) }
        let stableBefore = try await project.runtime.containers().filter { $0.service == "app" }.map(\.id).sorted()
        let nginxBefore = try Self.nginxTasks(project)
        let traffic = TrafficRecorder(url: URL(string: "http://127.0.0.1:\(project.publicPort)/")!, pause: 20_000)
        let cli = try Self.start(project)
        // As soon as the candidate's replicas run, each is told to fail every request (through its own loopback).
        var chaosSet = Set<String>(), answers: [String: String] = [:]
        let body = #"{"mode": "error", "rate": 1.0}"#
        let script =
            """
            exec 3<>/dev/tcp/127.0.0.1/3000 && printf 'POST /chaos HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\nConnection: \
            close\\r\\nContent-Type: application/json\\r\\nContent-Length: \(body.utf8.count)\\r\\n\\r\\n%s' \
            '\(body)' >&3 && cat <&3
            """
        let ready = try await Self.waitFor(240) {
            for id in try await project.runtime.localContainers(service: "app-canary") where !chaosSet.contains(id) {
                let answer = try DockerTestEnvironment.docker(["exec", id, "bash", "-c", script])
                answers[String(id.prefix(12))] = "\(answer.status): \(answer.output.prefix(200))"
                if answer.output.contains(" 200 ") { chaosSet.insert(id) }
            }
            return chaosSet.count == 2 || (!chaosSet.isEmpty && !cli.process.isRunning)
        }
        print("chaos set in \(chaosSet.count) candidate replica(s); last answers: \(answers)")
        try #require(
            ready, "could not set chaos on the candidate (\(chaosSet.count) replica(s)): \(answers) \(cli.output)")
        let exit = try await offPool { cli.wait(timeout: 300) }
        let samples = traffic.stop()
        #expect(exit == 1, "rollout start: \(cli.output)")
        #expect(cli.output.contains("step 1/2") && !cli.output.contains("step 2/2"), "\(cli.output)")

        let state = try await Self.status(project)
        #expect(state["state"]?.stringValue == "aborted")
        #expect(state["weight"] == .int(0))
        #expect(state["last_decision"]?["verdict"]?.stringValue == "deny")
        #expect(try !Self.serviceExists(project, "app-canary"))
        #expect(try Self.nginxLabels(project)["swiftdeploy.canary.weight"] == "0")
        let stableAfter = try await project.runtime.containers().filter { $0.service == "app" }
        #expect(stableAfter.map(\.id).sorted() == stableBefore, "the stable service's tasks were not replaced")
        #expect(try Self.nginxTasks(project) == nginxBefore, "the rollout and its rollback replaced the nginx task")
        #expect(stableAfter.allSatisfy { $0.isReady && $0.image == "swiftdeploy/api:0.1.0" })
        // 100% on stable: no split, no variant, the old version.
        let url = URL(string: "http://127.0.0.1:\(project.publicPort)/")!
        let client = ClientSession()
        for _ in 0..<40 {
            let answer = await client.get(url, headers: ["X-Canary": "always"])
            #expect(
                answer.status == 200 && answer.variant == nil && answer.body.contains("\"version\":\"0.1.0\""),
                "\(answer)")
        }
        #expect(try ManifestLoader().load(from: project.manifestURL).services.version == "0.1.0")
        let history = try project.history()
        let aborted = try #require(history.last { ($0["details"] as? [String: Any])?["phase"] as? String == "aborted" })
        #expect(aborted["outcome"] as? String == "rolled-back")
        Self.expectRolloutRecordsNameSwarm(history)
        let failedShare =
            Double(samples.filter { !(200..<300).contains($0.status) }.count) / Double(max(samples.count, 1))
        print("swarm rollback: \(samples.count) requests, failed share \(failedShare)")
        #expect(failedShare <= 0.5 + 0.1, "failed share \(failedShare) of \(samples.count)")
    }

    /// Review 2, findings 3 and 4, on the real engine: a rollout killed at its 30% step, then its candidate service
    /// removed by hand and the manifest edited (`rollout.sticky`, which changes nginx.conf, and `services.replicas`,
    /// which would change stable). `rollout resume` refuses the edited manifest; `rollout abort` takes traffic back
    /// live
    /// from the config nginx runs (nginx's live copy at 0%, its label 0), deploys no stack, and leaves nginx's task and
    /// stable's tasks as they were.
    @Test(.requires(.docker))
    func anAbortAfterTheCandidateWasRemovedAndTheManifestEditedTakesTrafficBackLiveAndTouchesNothingElse() async throws
    {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try await Self.deployed(replicas: 1, steps: "[30, 100]", interval: "300s")
        defer { project.destroy() }
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.candidate]) }
        let nginxBefore = try Self.nginxTasks(project)
        let stableBefore = try await project.runtime.containers().filter { $0.service == "app" }.map(\.id).sorted()
        let cli = try Self.start(project)
        let inStep = await Self.waitFor(240) { (try? await Self.status(project))?["weight"] == .int(30) }
        try #require(inStep, "no step began: \(cli.output)")
        kill(cli.process.processIdentifier, SIGKILL)
        _ = try await offPool { cli.wait(timeout: 20) }
        let removed = try DockerTestEnvironment.docker(["service", "rm", "\(project.name)_app-canary"])
        try #require(removed.status == 0, "\(removed.output)")
        let text = try String(contentsOf: project.manifestURL, encoding: .utf8)
        let edited = text.replacingOccurrences(of: "  sticky: true\n", with: "  sticky: false\n").replacingOccurrences(
            of: "  replicas: 1\n", with: "  replicas: 2\n")
        try #require(edited != text)
        try Data(edited.utf8).write(to: project.manifestURL)

        let resume = try await project.run(["rollout", "resume"])
        #expect(resume.status == 3 && resume.stderr.contains("was changed during the rollout"), "\(resume.stderr)")
        let abort = try await project.run(["rollout", "abort"])
        #expect(
            abort.status == 0, "an abort that rolled back exits 0 (the command did what was asked): \(abort.stderr)")
        await #expect(try Self.status(project)["state"]?.stringValue == "aborted")
        #expect(try Self.nginxTasks(project) == nginxBefore, "the abort replaced nginx's task")
        let stableAfter = try await project.runtime.containers().filter { $0.service == "app" }
        #expect(
            stableAfter.map(\.id).sorted() == stableBefore,
            "the abort touched stable: \(stableAfter.map { ($0.name, $0.state) })")
        #expect(try Self.nginxLabels(project)["swiftdeploy.canary.weight"] == "0")
        let nginx = try await #require(try project.runtime.localContainers(service: "nginx").first)
        let live = try DockerTestEnvironment.docker(["exec", nginx, "cat", RolloutWorkflow.swarmLiveConfig]).output
        #expect(RolloutWorkflow.splitWeight(in: live) == 0, "nginx's live copy after the abort:\n\(live)")
        let client = ClientSession()
        for _ in 0..<20 {
            let answer = await client.get(
                URL(string: "http://127.0.0.1:\(project.publicPort)/")!, headers: ["X-Canary": "always"])
            #expect(
                answer.status == 200 && answer.variant == nil && answer.body.contains("\"version\":\"0.1.0\""),
                "\(answer)")
        }
        let aborted = try #require(
            try project.history().last { ($0["details"] as? [String: Any])?["phase"] as? String == "aborted" })
        #expect((aborted["details"] as? [String: Any])?["nginx_replaced"] as? Bool == false, "\(aborted)")

        // Review 2, finding 11: a hostile weight label on the real engine. Swarm renders the config of a new nginx task
        // from the label `50%` (not a weight): the task runs the 0% form byte for byte, no candidate, no injected text.
        let hostile = try DockerTestEnvironment.docker([
            "service", "update", "--detach=false", "--quiet", "--force", "--label-add",
            "swiftdeploy.canary.weight=50%", "\(project.name)_nginx",
        ])
        try #require(hostile.status == 0, "\(hostile.output)")
        var replaced = ""
        let back = try await Self.waitFor(90) {
            guard let now = try await project.runtime.localContainers(service: "nginx").first, now != nginx else {
                return false
            }
            let read = try DockerTestEnvironment.docker(["exec", now, "cat", RolloutWorkflow.swarmLiveConfig])
            replaced = read.output
            return read.status == 0 && !replaced.isEmpty
        }
        try #require(back, "no new nginx task after the forced update")
        #expect(replaced == live, "a label of '50%' does not give the 0% form:\n\(Golden.diff(live, replaced))")
    }

    /// kill -9 during a step: a second process is refused by the project lock while the CLI runs; after the kill
    /// `rollout status` (on the Swarm runtime) reports the step, interrupted; the nginx task Swarm starts after a crash
    /// comes back on the same weight (its config rendered from the service's label, byte for byte the live one);
    /// `rollout promote` from another process then finishes it (stable updated by Swarm, the candidate removed).
    @Test(.requires(.docker))
    func aKilledRolloutKeepsItsStepAndARestartedNginxKeepsTheWeightThenIsPromoted() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try await Self.deployed(replicas: 2, steps: "[20, 100]", interval: "300s")
        defer { project.destroy() }
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.candidate]) }
        let cli = try Self.start(project)
        let inStep = await Self.waitFor(240) { (try? await Self.status(project))?["weight"] == .int(20) }
        try #require(inStep, "no step began: \(cli.output)")
        let second = try await project.run(["rollout", "resume"])
        #expect(second.status != 0)
        #expect(second.stderr.contains("another swiftdeploy is working on project"), "\(second.stderr)")
        #expect(second.stderr.contains("rollout start"), "the refusal names the holder's action: \(second.stderr)")
        kill(cli.process.processIdentifier, SIGKILL)
        _ = try await offPool { cli.wait(timeout: 20) }
        let state = try await Self.status(project)
        #expect(state["state"]?.stringValue == "paused")
        #expect(state["interrupted"] == .bool(true))
        #expect(state["weight"] == .int(20))
        #expect(state["canary"]?["version"]?.stringValue == "0.2.0")
        #expect(state["stable"]?["version"]?.stringValue == "0.1.0")

        // nginx crashes: Swarm starts a new task, which must split at 20% again.
        let before = try await #require(try project.runtime.localContainers(service: "nginx").first)
        _ = try DockerTestEnvironment.docker(["kill", before])
        var live = ""
        let back = try await Self.waitFor(90) {
            guard let now = try await project.runtime.localContainers(service: "nginx").first, now != before else {
                return false
            }
            let read = try DockerTestEnvironment.docker(["exec", now, "cat", RolloutWorkflow.swarmLiveConfig])
            live = read.output
            return read.status == 0 && !live.isEmpty
        }
        try #require(back, "no new nginx task came back")
        let manifest = try ManifestLoader().load(from: project.manifestURL)
        let expected = try #require(
            try ConfigRenderer().render(
                manifest, canary: CanaryRender(image: Self.candidate, version: "0.2.0", weight: 20, sticky: true)
            ).nginxLive)
        #expect(
            live == expected,
            "the restarted nginx does not run the 20% split byte for byte:\n\(Golden.diff(expected, live))")
        var split = (share: 0.0, answered: 0)
        _ = await Self.waitForAnswer(project)
        split = await Self.canaryShare(project, count: 300)
        #expect(split.answered == 300)
        #expect(
            split.share >= 0.12 && split.share <= 0.28,
            "canary share \(split.share) after nginx restarted at a 20% step")

        // Promoted from a second process (the remaining step skipped, recorded as an override): stable updated by
        // Swarm.
        let promote = try await project.run(
            ["rollout", "promote", "--override", "swarm rollout e2e: skip the 300s step"], timeout: 400)
        #expect(promote.status == 0, "\(promote.stderr)")
        await #expect(try Self.status(project)["state"]?.stringValue == "promoted")
        #expect(try !Self.serviceExists(project, "app-canary"))
        let stable = try await project.runtime.containers().filter { $0.service == "app" }
        #expect(
            stable.count == 2
                && stable.allSatisfy {
                    $0.image == Self.candidate && $0.environment["APP_VERSION"] == "0.2.0" && $0.isReady
                })
        let history = try project.history()
        #expect(
            history.contains { $0["event"] as? String == "lock" || $0["event"] as? String == "interrupted" },
            "nothing recorded the kill")
        #expect(history.contains { $0["event"] as? String == "override" })
        Self.expectRolloutRecordsNameSwarm(history)
    }

    /// kill -9 during a step, inside its write-ahead intent (the candidate running, nginx on the rollout's config, the
    /// step's weight not set yet): the intent stays open, `rollout status` says the rollout is interrupted at that
    /// step,
    /// and the next acting command (`rollout abort`) reports the open intent as interrupted before it rolls back.
    @Test(.requires(.docker))
    func aCrashInsideAStepsIntentIsReportedByTheNextCommand() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try await Self.deployed(replicas: 2, steps: "[50, 100]", interval: "10s")
        defer { project.destroy() }
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.candidate]) }
        let marker = project.dir.url.appendingPathComponent("paused-in-step-intent")
        let cli = try Self.start(
            project,
            environment: [
                "SWIFTDEPLOY_TEST_PAUSE_AT": "rollout.step.intent", "SWIFTDEPLOY_TEST_PAUSE_MARKER": marker.path,
            ])
        let paused = await Self.waitFor(240) { FileManager.default.fileExists(atPath: marker.path) }
        try #require(paused, "the CLI never reached rollout.step.intent: \(cli.output)")
        kill(cli.process.processIdentifier, SIGKILL)
        _ = try await offPool { cli.wait(timeout: 20) }
        let open = try project.history()
        let intent = try #require(open.last)
        #expect(intent["event"] as? String == "intent", "the last record is the step's open intent: \(intent)")
        #expect((intent["message"] as? String)?.contains("about to set the split") == true, "\(intent)")
        #expect(try Self.serviceExists(project, "app-canary"), "the candidate runs")
        let state = try await Self.status(project)
        #expect(state["state"]?.stringValue == "paused" && state["interrupted"] == .bool(true), "\(state.jsonString())")

        let abort = try await project.run(["rollout", "abort"])
        #expect(abort.status == 0, "\(abort.stderr)")
        #expect(
            abort.stderr.contains("interrupted") || abort.stdout.contains("interrupted"),
            "the abort says what it found: \(abort.stderr)")
        let history = try project.history()
        let interrupted = try #require(
            history.first { $0["event"] as? String == "interrupted" }, "the open intent was not reported")
        #expect(
            ((interrupted["details"] as? [String: Any])?["intent_seq"] as? Int) == intent["seq"] as? Int,
            "\(interrupted)")
        await #expect(try Self.status(project)["state"]?.stringValue == "aborted")
        #expect(try !Self.serviceExists(project, "app-canary"))
        #expect(try Self.nginxLabels(project)["swiftdeploy.canary.weight"] == "0")
        let answer = await ClientSession().get(
            URL(string: "http://127.0.0.1:\(project.publicPort)/")!, headers: ["X-Canary": "always"])
        #expect(
            answer.status == 200 && answer.variant == nil && answer.body.contains("\"version\":\"0.1.0\""), "\(answer)")
        Self.expectRolloutRecordsNameSwarm(history)
    }

    /// Issue 13 (the read-back checked the file): a live config that `nginx -t` accepts but nginx's master rejects on
    /// reload (it listens on a port another process in the container holds: `nginx -t` tolerates EADDRINUSE, the master
    /// cannot bind it), on the real engine. `nginx -s reload` exits 0; the read-back of what the master loaded sees the
    /// previous weight, names container and weights, and the previous config and label are back.
    @Test(.requires(.docker))
    func aReloadTheMasterRejectsIsDetectedOnTheRealEngine() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try await Self.deployed(replicas: 1, steps: "[30, 100]", interval: "10s")
        defer { project.destroy() }
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.candidate]) }
        let nginx = try #require(try await project.runtime.localContainers(service: "nginx").first)
        let previous = try DockerTestEnvironment.docker(["exec", nginx, "cat", RolloutWorkflow.swarmLiveConfig]).output
        // A second process in nginx's container holding 127.0.0.1:18099.
        let blocker = """
            pid /tmp/blocker.pid; error_log /dev/stderr warn; events {}
            http { access_log off; client_body_temp_path /tmp/b1; proxy_temp_path /tmp/b2; fastcgi_temp_path /tmp/b3;
                   uwsgi_temp_path /tmp/b4; scgi_temp_path /tmp/b5; server { listen 127.0.0.1:18099; return 200 \
            "blocker"; } }
            """
        let written = try DockerTestEnvironment.docker([
            "exec", nginx, "bash", "-c", #"printf '%s' "$1" > /tmp/blocker.conf"#, "x", blocker,
        ])
        try #require(written.status == 0, "\(written.output)")
        let started = try DockerTestEnvironment.docker([
            "exec", "-d", nginx, "nginx", "-c", "/tmp/blocker.conf", "-g", "daemon off;",
        ])
        try #require(started.status == 0, "\(started.output)")
        let holding = await Self.waitFor(10) {
            (try? DockerTestEnvironment.docker(["exec", nginx, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/18099"]).status)
                == 0
        }
        try #require(holding, "the blocker does not listen")
        let manifest = try ManifestLoader().load(from: project.manifestURL)
        let good = try #require(
            try ConfigRenderer().render(
                manifest, canary: CanaryRender(image: Self.candidate, version: "0.2.0", weight: 30, sticky: true)
            ).nginxLive)
        let listen = "listen 127.0.0.1:\(ContainerLayout.nginxAdminPort);"
        try #require(good.contains(listen))
        let rejected = good.replacingOccurrences(of: listen, with: listen + "\n        listen 127.0.0.1:18099;")
        let error = await #expect(throws: RolloutError.self) {
            try await RolloutWorkflow.setSwarmSplit(
                rejected, weight: 30, label: "e2e step", runtime: project.runtime, readBackSeconds: 8)
        }
        print("master rejection: \(error?.errorDescription ?? "no error")")
        guard case .swarmSplitPutBack(let cause, let restored, let failed, let runs, let container, _)? = error else {
            Issue.record(
                "expected swarmSplitPutBack (nginx -t passed, the master rejected), got \(String(describing: error))")
            return
        }
        #expect(
            container == String(nginx.prefix(12)) && cause.contains("expected 30%")
                && cause.contains("nginx runs the split of 0%"), "\(cause)")
        // What was put back is said, and what nginx runs after it was asked again (review 2, finding 9).
        #expect(
            restored.count == 3 && failed.isEmpty && runs == "the split of 0% (its label agrees)",
            "\(restored) \(failed) \(runs)")
        let logs = try DockerTestEnvironment.docker(["logs", "--tail", "50", nginx]).output
        #expect(logs.contains("18099"), "the master's own refusal is in its log: \(logs.suffix(800))")
        // Put back: the previous file, the label, and nginx still all on stable.
        #expect(
            try DockerTestEnvironment.docker(["exec", nginx, "cat", RolloutWorkflow.swarmLiveConfig]).output == previous
        )
        #expect(try Self.nginxLabels(project)["swiftdeploy.canary.weight"] == "0")
        let answer = await ClientSession().get(
            URL(string: "http://127.0.0.1:\(project.publicPort)/")!, headers: ["X-Canary": "always"])
        #expect(
            answer.status == 200 && answer.variant == nil && answer.body.contains("\"version\":\"0.1.0\""), "\(answer)")
        // The same change without the blocked port goes through, and nginx answers the new weight.
        try await RolloutWorkflow.setSwarmSplit(
            good, weight: 30, label: "e2e step", runtime: project.runtime,
            readBackSeconds: 8)
        #expect(try Self.nginxLabels(project)["swiftdeploy.canary.weight"] == "30")
        _ = try? DockerTestEnvironment.docker(["exec", nginx, "bash", "-c", "kill $(cat /tmp/blocker.pid)"])
    }

    /// The stable service's Swarm spec image, its task IDs and the image IDs its containers run.
    static func stableState(_ project: SwarmEndToEndTests.Project) async throws -> (
        spec: String, tasks: [String], images: [String]
    ) {
        let spec = try DockerTestEnvironment.docker([
            "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", "\(project.name)_app",
        ])
        let tasks = try await project.runtime.containers().filter { $0.service == "app" }.map(\.id).sorted()
        var images: [String] = []
        for container in try await project.runtime.localContainers(service: "app") {
            images.append(
                try DockerTestEnvironment.docker(["inspect", "--format", "{{.Image}}", container]).output
                    .trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return (spec.output.trimmingCharacters(in: .whitespacesAndNewlines), tasks, images.sorted())
    }

    /// Issue 13 (a re-pushed stable tag reached stable at the rollout's first stack deploy): stable's tag moved to
    /// another image between deploy and `rollout start`; the rollout's deploys (start, then the abort's) keep stable's
    /// spec, tasks and running image. Locally, without a registry, Docker cannot record a digest, so the spec holds
    /// the tag: the pin keeps that spec and `--resolve-image never` keeps the CLI from resolving it again.
    @Test(.requires(.docker))
    func aStableTagMovedBeforeTheRolloutDoesNotReachStable() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let moving = "swiftdeploy/api:0.1.0-swarm-pin"
        let tagged = try DockerTestEnvironment.docker(["tag", "swiftdeploy/api:0.1.0", moving])
        try #require(tagged.status == 0, "\(tagged.output)")
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", moving]) }
        let project = try await Self.deployed(replicas: 2, steps: "[50, 100]", interval: "15s", stableImage: moving)
        defer { project.destroy() }
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.candidate]) }
        let before = try await Self.stableState(project)
        let apiID = try DockerTestEnvironment.docker([
            "image", "inspect", "--format", "{{.Id}}", "swiftdeploy/api:0.1.0",
        ]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(before.images.count == 2 && before.images.allSatisfy { $0 == apiID }, "\(before)")
        // The tag moves to another image (as a re-push to a registry would).
        let moved = try DockerTestEnvironment.docker(["tag", "swiftdeploy/debian:bookworm", moving])
        try #require(moved.status == 0, "\(moved.output)")
        let cli = try Self.start(project)
        let inStep = await Self.waitFor(240) { (try? await Self.status(project))?["weight"] == .int(50) }
        try #require(inStep, "no step began: \(cli.output)")
        let during = try await Self.stableState(project)
        let abort = try await project.run(["rollout", "abort"])
        #expect(abort.status == 0, "\(abort.stderr)")
        let exit = try await offPool { cli.wait(timeout: 240) }
        #expect(exit == 1, "rollout start after the abort: \(cli.output)")
        let after = try await Self.stableState(project)
        print("stable before \(before), during \(during), after \(after)")
        #expect(
            during.spec == before.spec && during.tasks == before.tasks && during.images == before.images,
            "rollout start touched stable: \(during)")
        #expect(
            after.spec == before.spec && after.tasks == before.tasks && after.images == before.images,
            "the rollback touched stable: \(after)")
        #expect(try !Self.serviceExists(project, "app-canary"))
    }

    /// Issue 13 (an edited but undeployed manifest reached stable): `rollout start` refuses a manifest that does not
    /// render to the stack that runs (exit 3, naming `swiftdeploy deploy`), before any record, and nothing changes.
    @Test(.requires(.docker))
    func anEditedButUndeployedManifestIsRefused() async throws {
        let swarm = try SwarmTestEnvironment.begin()
        defer { swarm.end() }
        let project = try await Self.deployed(replicas: 1, steps: "[50, 100]", interval: "10s")
        defer { project.destroy() }
        defer { _ = try? DockerTestEnvironment.docker(["image", "rm", Self.candidate]) }
        let before = try await Self.stableState(project)
        let historyBefore = try project.history().count
        let text = try String(contentsOf: project.manifestURL, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "  version: \"0.1.0\"\n", with: "  version: \"0.1.5\"\n").utf8).write(
            to: project.manifestURL)
        let start = try await project.run(
            ["rollout", "start", "--image", Self.candidate, "--version", "0.2.0"] + Self.override)
        #expect(start.status == 3, "\(start.stderr)")
        #expect(
            start.stderr.contains("does not render to the stack that runs")
                && start.stderr.contains("swiftdeploy deploy"), "\(start.stderr)")
        #expect(try !Self.serviceExists(project, "app-canary"))
        let after = try await Self.stableState(project)
        #expect(after.spec == before.spec && after.tasks == before.tasks, "\(before) → \(after)")
        #expect(try project.history().count == historyBefore, "nothing recorded")
        // Deployed, the same manifest is accepted (the digest label follows every deploy).
        let deploy = try await project.deploy()
        #expect(deploy.status == 0, "\(deploy.stderr)")
        let status = try await Self.status(project)
        #expect(status["state"]?.stringValue == "none")
    }

    /// The lengths (seconds) of the runs of failed requests, a run ending at a gap of a second without a failure.
    static func gaps(_ failed: [TrafficRecorder.Sample]) -> [Double] {
        var runs: [(start: Double, end: Double)] = []
        for sample in failed.sorted(by: { $0.start < $1.start }) {
            if let last = runs.last, sample.start - last.end < 1 {
                runs[runs.count - 1].end = sample.end
            } else {
                runs.append((sample.start, sample.end))
            }
        }
        return runs.map { $0.end - $0.start }
    }

    /// Waits until the public port answers (nginx restarted).
    static func waitForAnswer(_ project: SwarmEndToEndTests.Project) async -> Bool {
        for _ in 0..<60 {
            if await TestHTTP.request(port: project.publicPort, path: "/")?.status == 200 { return true }
            try? await Task.sleep(nanoseconds: 500_000_000)
        }
        return false
    }
}
