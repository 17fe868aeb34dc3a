import Foundation
import TestSupport
import Testing
import Yams

@testable import SwiftDeployKit

/// Review 2 of rollout on Swarm (findings 1-5 and 8): the candidate pinned by digest, traffic back on stable without
/// the
/// candidate or the manifest as it is now, the label path as the fallback of any live failure, a rollback that deploys
/// no stack, the manifest snapshot, and a candidate service the local history does not know of. Scripted Docker
/// answers (as the other Swarm workflow tests); the real engine runs them in `SwarmRolloutEndToEndTests`.
extension RolloutWorkflowTests {
    static let imageFormat = ["docker", "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}"]
    static let configsFormat = [
        "docker", "service", "inspect", "--format",
        "{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{end}}",
    ]
    static let noSuchService = ScriptedRunner.ok(stderr: "Error: no such service: x", status: 1)

    /// The answers of a scripted one-node Swarm running `manifest`'s stack: nginx mounts the Swarm config of the
    /// manifest (name and data as `docker config inspect` gives them) and, with `nginxHere`, its task
    /// `abc123def4567890` runs on this node with its live copy at `liveWeight` and answers `loaded` on its admin
    /// listener; the candidate's service exists unless `candidate` is false.
    static func swarmStack(
        _ manifest: Manifest, nginxHere: Bool, liveWeight: Int = 30, loaded: String = "0", candidate: Bool = true,
        config: String? = nil
    ) throws -> [([String], Result<CommandResult, RuntimeError>)] {
        let conf = try config ?? ConfigRenderer().render(manifest).nginxConf
        let name = StackContext.nginxConfigName(project: "ro-test", nginxConf: conf)
        let service =
            #"[{"ID":"svc1","Spec":{"Name":"ro-test_app","Mode":{"Replicated":{"Replicas":1}},"TaskTemplate":{"ContainerSpec":{"Image":"x"}}}}]"#
        var answers: [([String], Result<CommandResult, RuntimeError>)] = [
            (
                imageFormat + ["ro-test_app-canary"],
                candidate ? ScriptedRunner.ok("swiftdeploy/api:0.2.0\n") : noSuchService
            ),
            (imageFormat, ScriptedRunner.ok("swiftdeploy/api:0.1.0\n")),
            (configsFormat, ScriptedRunner.ok(name + " \n")),
            (weightLabelFormat, ScriptedRunner.ok("0\n")),
            (
                ["docker", "service", "inspect", "ro-test_app-canary"],
                candidate ? ScriptedRunner.ok(service) : noSuchService
            ),
            (["docker", "service", "inspect"], ScriptedRunner.ok(service)),
            (["docker", "service", "ls"], ScriptedRunner.ok("svc1\n")),
            (["docker", "config", "inspect"], ScriptedRunner.ok("\"\(Data(conf.utf8).base64EncodedString())\"\n")),
            (["docker", "service", "update"], ScriptedRunner.ok("")),
            (["docker", "service", "rm"], ScriptedRunner.ok("")),
            (["docker", "stack", "ps"], ScriptedRunner.ok("")),
            (["docker", "node", "ls"], ScriptedRunner.ok("n1 vm\n")),
        ]
        if nginxHere {
            let live = try #require(
                try ConfigRenderer().render(
                    manifest,
                    canary: CanaryRender(
                        image: "swiftdeploy/api:0.2.0", version: "0.2.0", weight: liveWeight,
                        sticky: true)
                ).nginxLive)
            answers += [
                (["docker", "ps"], ScriptedRunner.ok("abc123def4567890\n")),
                (["docker", "exec", "abc123def4567890", "cat"], ScriptedRunner.ok(live)),
                (adminRequest, admin(loaded)),
                (["docker", "exec"], ScriptedRunner.ok("")),
            ]
        }
        return answers
    }

    /// Runs the rollback of the rig's paused rollout on `runner`'s scripted Swarm.
    func rollBack(_ workflow: RolloutWorkflow, _ rig: Rig) async throws {
        let plan = try await #require(try workflow.plan(of: try rig.status()))
        let session = try await workflow.context.beginAction("rollout abort")
        defer { session.release() }
        try await workflow.rollback(
            plan: plan, manifest: workflow.manifest, outcome: "aborted", reason: "test", session: session,
            progress: { _ in })
    }

    /// Finding 3: the candidate's service is gone (removed by hand, or pruned from another manager) while nginx's live
    /// copy still sends 30% to it. The rollback writes the 0% live form (rendered from the Swarm config nginx runs) and
    /// asks what nginx loaded afterwards; it deploys no stack and replaces neither nginx nor stable.
    @Test func onSwarmARollbackWithTheCandidateGoneStillTakesTrafficBackLive() async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        try await Self.paused(rig)
        let (workflow, runner) = try pausedOnSwarmAgain(rig) { manifest in
            try Self.swarmStack(manifest, nginxHere: true, liveWeight: 30, candidate: false)
        }
        try await rollBack(workflow, rig)
        let commands = runner.commands
        let zero = try swarmLive(rig, weight: 0)
        let write = try #require(
            commands.firstIndex {
                $0.starts(with: ["docker", "exec", "abc123def4567890", "bash", "-c"]) && $0.contains(zero)
            },
            "the 0% live form was not written: \(commands)")
        let reload = try #require(
            commands.firstIndex { $0.starts(with: ["docker", "exec", "abc123def4567890", "nginx", "-s", "reload"]) })
        let asked = try #require(
            commands.lastIndex { $0.starts(with: Self.adminRequest) }, "what nginx loaded was not asked")
        #expect(write < reload && reload < asked)
        #expect(!commands.contains { $0.starts(with: ["docker", "stack", "deploy"]) }, "\(commands)")
        #expect(!commands.contains { $0.contains("--force") }, "nginx was not to be replaced: \(commands)")
        #expect(
            !commands.contains { $0.starts(with: ["docker", "service", "rm"]) },
            "there was no candidate to remove: \(commands)")
        let last = try #require(try rig.history().last)
        #expect(
            last["details"]?["phase"]?.stringValue == "aborted" && last["details"]?["nginx_replaced"] == .bool(false),
            "\(last.jsonString())")
    }

    /// Finding 5: the live 0% fails for a reason other than a missing task (here nginx's admin listener has no
    /// split-weight location: a template written before it existed). The rollback falls back to the label path (label
    /// 0, nginx's task replaced) instead of stopping paused, and the record says nginx was replaced.
    @Test(arguments: ["404 Not Found", "200 OK"])
    func onSwarmAFailedLiveZeroFallsBackToTheLabelPath(_ status: String) async throws {
        let rig = try await Rig()
        defer { rig.remove() }
        try await Self.paused(rig)
        let (split, runner) = try pausedOnSwarmAgain(rig) { manifest in
            [(Self.adminRequest, Self.admin(status == "200 OK" ? "30" : "not here", status: status))]
                + (try Self.swarmStack(manifest, nginxHere: true))
        }
        var workflow = split
        workflow.splitReadBackSeconds = 0.3
        try await rollBack(workflow, rig)
        let commands = runner.commands
        let force = try #require(
            commands.firstIndex { $0.starts(with: ["docker", "service", "update"]) && $0.contains("--force") },
            "\(commands)")
        #expect(
            commands[force].contains("\(CanaryContext.swarmWeightLabel)=0") && commands[force].last == "ro-test_nginx")
        #expect(commands.contains { $0.starts(with: ["docker", "service", "rm"]) && $0.last == "ro-test_app-canary" })
        #expect(!commands.contains { $0.starts(with: ["docker", "stack", "deploy"]) }, "\(commands)")
        let last = try #require(try rig.history().last)
        #expect(last["details"]?["phase"]?.stringValue == "aborted", "the rollback ended: \(last.jsonString())")
        #expect(last["details"]?["nginx_replaced"] == .bool(true), "\(last.jsonString())")
    }

    /// The live form Swarm's template driver renders from nginx's Swarm config at a weight is, byte for byte, the live
    /// form swiftdeploy renders for that weight: traffic can be taken back from the config nginx runs alone.
    @Test(arguments: [0, 1, 35, 99, 100])
    func theLiveFormOfTheSwarmConfigIsTheRenderedLiveForm(_ weight: Int) async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let manifest = try ManifestLoader().load(from: rig.url)
        let config = try ConfigRenderer().render(manifest).nginxConf
        #expect(CanaryContext.swarmLiveForm(ofConfig: config, weight: weight) == (try swarmLive(rig, weight: weight)))
        #expect(
            CanaryContext.swarmLiveForm(ofConfig: "events {}\nhttp {}\n", weight: weight) == nil,
            "a config without the split")
    }

    /// Finding 3, at a stack deploy: nginx's live copy was left at 30% (a rollout that ended badly). The rollout's
    /// stack deploy at 0% is followed by a check of what nginx loaded; finding 30%, it sets 0% live and checks again.
    @Test func afterARolloutsStackDeployALiveCopyAtAnotherWeightIsSetLive() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let manifest = try ManifestLoader().load(from: rig.url)
        let scripted = ScriptedRunner([
            (Self.imageFormat, ScriptedRunner.ok("swiftdeploy/api:0.1.0\n")),
            (Self.adminRequest, Self.admin("0")),
            (Self.weightLabelFormat, ScriptedRunner.ok("0\n")),
            // Not the rollout form: a stack deploy.
            (Self.configsFormat, ScriptedRunner.ok("ro-test_nginx_000000000000 \n")),
            (["docker", "service", "ls"], ScriptedRunner.ok("")),
            (["docker", "stack", "deploy"], ScriptedRunner.ok("")),
            (["docker", "config", "ls"], ScriptedRunner.ok("")),
            (["docker", "ps"], ScriptedRunner.ok("abc123def4567890\n")),
            (["docker", "exec", "abc123def4567890", "cat"], ScriptedRunner.ok(try swarmLive(rig, weight: 30))),
            (["docker", "exec"], ScriptedRunner.ok("")),
            (["docker", "service", "update"], ScriptedRunner.ok("")),
        ])
        let runner = FirstAnswers(scripted, prefix: Self.adminRequest, first: [Self.admin("30")])
        var context = try rig.context()
        let swarm = SwarmRuntime(
            project: "ro-test", stackFile: rig.dir.url.appendingPathComponent("docker-stack.yml"), runner: runner,
            environment: [:])
        context.runtime = swarm
        let workflow = RolloutWorkflow(context: context, healthTimeout: 5, drainSeconds: 0)
        try await workflow.applySwarm(
            CanaryRender(image: "swiftdeploy/api:0.2.0", version: "0.2.0", weight: 0, sticky: true), manifest: manifest,
            label: "the candidate at 0%", runtime: swarm)
        let commands = scripted.commands
        let deploy = try #require(commands.firstIndex { $0.starts(with: ["docker", "stack", "deploy"]) })
        let zero = try swarmLive(rig, weight: 0)
        let write = try #require(
            commands.firstIndex {
                $0.starts(with: ["docker", "exec", "abc123def4567890", "bash", "-c"]) && $0.contains(zero)
            },
            "the 0% live form was not written: \(commands)")
        let asks = commands.indices.filter { commands[$0].starts(with: Self.adminRequest) }
        #expect(deploy < asks.first ?? -1 && (asks.first ?? .max) < write && write < (asks.last ?? -1), "\(commands)")
    }

    /// Finding 1: a candidate with a registry digest runs, and is promoted, pinned to it (`name:tag@sha256:…`, recorded
    /// as `candidate_image`), whatever the tag names later; stable's pin is recorded too.
    @Test func onSwarmTheCandidateIsPinnedToItsRegistryDigest() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let (workflow, _, _) = try swarmSplit(
            rig,
            [
                (
                    Self.imageFormat,
                    ScriptedRunner.ok("swiftdeploy/api:0.1.0@sha256:\(String(repeating: "c", count: 64))\n")
                ),
                (
                    ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}"],
                    ScriptedRunner.ok(
                        #"["other/api@sha256:\#(String(repeating: "b", count: 64))","swiftdeploy/api@\#(digest)"]"#)
                ),
            ])
        var plan = RolloutPlan(
            image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: [50, 100],
            interval: ManifestDuration(milliseconds: 1000),
            sticky: true, onInconclusive: .pause, stableImage: "swiftdeploy/api:0.1.0", stableVersion: "0.1.0")
        var lines: [String] = []
        let pin = try await workflow.swarmPinCandidate(&plan, override: nil, progress: { lines.append($0) })
        #expect(plan.candidateImage == "swiftdeploy/api:0.2.0@\(digest)" && plan.image == "swiftdeploy/api:0.2.0")
        #expect(
            plan.canary(weight: 0).image == plan.candidateImage, "the candidate is rendered with the pinned reference")
        #expect(
            pin.details["candidate_image"] == .string(plan.candidateImage)
                && pin.details["candidate_pinned"] == .bool(true))
        #expect(pin.details["stable_pinned"] == .bool(true))
        #expect(
            pin.message.contains("pinned to swiftdeploy/api:0.2.0@\(digest)")
                && lines.contains { $0.contains("pinned by its registry digest") })
    }

    /// Finding 1 without a digest (a local build): said in the progress and the start record's message; on a swarm of
    /// several nodes refused unless overridden.
    @Test(arguments: [(1, false, true), (2, false, false), (2, true, true)])
    func onSwarmACandidateWithoutADigestIsSaidAndRefusedOnSeveralNodes(
        _ nodes: Int, _ overridden: Bool, _ allowed: Bool
    ) async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let (workflow, _, _) = try swarmSplit(
            rig,
            [
                (Self.imageFormat, ScriptedRunner.ok("swiftdeploy/api:0.1.0\n")),
                (["docker", "image", "inspect", "--format", "{{json .RepoDigests}}"], ScriptedRunner.ok("[]\n")),
                (["docker", "node", "ls", "-q"], ScriptedRunner.ok((1...nodes).map { "node\($0)\n" }.joined())),
            ])
        var plan = RolloutPlan(
            image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: [50, 100],
            interval: ManifestDuration(milliseconds: 1000),
            sticky: true, onInconclusive: .pause, stableImage: "swiftdeploy/api:0.1.0", stableVersion: "0.1.0")
        var lines: [String] = []
        let override = overridden ? OverrideRequest(reason: "a local build on two nodes") : nil
        if allowed {
            let pin = try await workflow.swarmPinCandidate(&plan, override: override, progress: { lines.append($0) })
            #expect(plan.candidateImage == "swiftdeploy/api:0.2.0")
            #expect(pin.details["candidate_pinned"] == .bool(false) && pin.details["stable_pinned"] == .bool(false))
            #expect(
                pin.message.contains("has no registry digest")
                    && lines.contains { $0.contains("each node runs its own copy of the tag") }, "\(pin.message)")
        } else {
            let error = await #expect(throws: RolloutError.self) {
                try await workflow.swarmPinCandidate(&plan, override: override, progress: { lines.append($0) })
            }
            #expect(error == .swarmCandidateNotPinned(image: "swiftdeploy/api:0.2.0", nodes: 2))
            #expect(error?.errorDescription?.contains("--override") == true)
        }
    }

    /// Finding 4: a manifest edited during the rollout (here `rollout.sticky`, which changes nginx.conf) is refused by
    /// the check `rollout resume` and the promotion run, naming the digests; the unedited one passes.
    @Test func onSwarmAManifestEditedDuringTheRolloutIsRefused() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let (workflow, _, _) = try swarmSplit(rig, [])
        var plan = RolloutPlan(
            image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: [50, 100],
            interval: ManifestDuration(milliseconds: 1000),
            sticky: true, onInconclusive: .pause, stableImage: "swiftdeploy/api:0.1.0", stableVersion: "0.1.0")
        plan.manifestDigest = try RolloutWorkflow.stackDigest(
            of: try ManifestLoader().load(from: rig.url), name: "manifest.yaml")
        try workflow.checkSwarmManifestUnchanged(plan: plan, action: "rollout resume")
        try rig.dir.write(
            try rig.dir.read("manifest.yaml").replacingOccurrences(
                of: "  on_inconclusive: pause", with: "  on_inconclusive: pause\n  sticky: false"),
            to: "manifest.yaml")
        let error = #expect(throws: RolloutError.self) {
            try workflow.checkSwarmManifestUnchanged(plan: plan, action: "rollout resume")
        }
        guard case .swarmManifestChangedDuringRollout(let name, let recorded, let now, let action)? = error else {
            Issue.record("expected swarmManifestChangedDuringRollout, got \(String(describing: error))")
            return
        }
        #expect(
            name == "manifest.yaml" && recorded == plan.manifestDigest && now != recorded && action == "rollout resume")
        #expect(error?.errorDescription?.contains("rollout abort") == true)
    }

    /// Finding 5: a project's own nginx.conf template without the split-weight location is refused by `rollout start`
    /// on Swarm before anything is asked or recorded, and failed by `validate`; the built-in template passes.
    @Test func onSwarmATemplateWithoutTheSplitWeightLocationIsRefusedAndFailsValidate() async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let builtin = TemplateSet.builtin
        let start = try #require(builtin.nginx.range(of: "location = \(RolloutWorkflow.loadedWeightPath)"))
        let end = try #require(builtin.nginx.range(of: "}\n", range: start.upperBound..<builtin.nginx.endIndex))
        let old = builtin.nginx.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "")
        try rig.dir.write(old, to: "templates/\(TemplateSet.nginxFileName)")
        try rig.dir.write(builtin.compose, to: "templates/\(TemplateSet.composeFileName)")
        try rig.dir.write(try #require(builtin.stack), to: "templates/\(TemplateSet.stackFileName)")
        try rig.dir.write(try rig.dir.read("manifest.yaml") + "\ntemplates: templates\n", to: "manifest.yaml")
        let manifest = try ManifestLoader().load(from: rig.url)
        let problem = try #require(try RolloutWorkflow.swarmSplitProblem(manifest, manifestName: "manifest.yaml"))
        #expect(problem.contains(RolloutWorkflow.loadedWeightPath) && problem.contains("templates"), "\(problem)")
        var builtinManifest = manifest
        builtinManifest.templatesDir = nil
        #expect(try RolloutWorkflow.swarmSplitProblem(builtinManifest, manifestName: "manifest.yaml") == nil)

        let (workflow, _, runner) = try swarmSplit(rig, [])
        let error = await #expect(throws: RolloutError.self) {
            try await workflow.start(
                image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: nil, interval: nil, override: nil,
                progress: { _ in })
        }
        guard case .swarmTemplateWithoutSplit? = error else {
            Issue.record("expected swarmTemplateWithoutSplit, got \(String(describing: error))")
            return
        }
        #expect(
            !FileManager.default.fileExists(atPath: rig.dir.url.appendingPathComponent("history.jsonl").path),
            "nothing recorded")
        #expect(
            !runner.commands.contains {
                $0.starts(with: ["docker", "stack"]) || $0.starts(with: ["docker", "service", "update"])
            })

        let report = await ValidationWorkflow(
            manifestURL: rig.url, displayPath: "manifest.yaml", runner: ScriptedRunner([])
        ).run()
        let check = try #require(report.checks.first { $0.name == "rollout split" }, "\(report.checks.map(\.name))")
        #expect(check.status == .fail && check.detail.contains(RolloutWorkflow.loadedWeightPath), "\(check)")
    }

    /// Finding 2: on Swarm, `deploy`, `promote` and `teardown` are refused (and the refusal recorded) while the stack
    /// runs
    /// a candidate service this directory's history records no rollout for; without one they go on.
    @Test(arguments: [true, false])
    func onSwarmACandidateServiceTheHistoryDoesNotKnowIsRefused(_ exists: Bool) async throws {
        let rig = try await Rig(extra: "runtime: swarm")
        defer { rig.remove() }
        let (workflow, _, _) = try swarmSplit(
            rig,
            [
                (
                    Self.imageFormat + ["ro-test_app-canary"],
                    exists ? ScriptedRunner.ok("swiftdeploy/api:0.2.0\n") : Self.noSuchService
                )
            ])
        if exists {
            let error = await #expect(throws: RolloutError.self) {
                try await workflow.context.refuseDuringRollout(action: "deploy", containers: [], mode: .stable)
            }
            #expect(
                error
                    == .swarmCandidateServiceExists(
                        service: "ro-test_app-canary", image: "swiftdeploy/api:0.2.0", action: "deploy"))
            #expect(
                error?.errorDescription?.contains("rollout abort") == true
                    && error?.errorDescription?.contains("docker service rm ro-test_app-canary") == true)
            let last = try #require(try rig.history().last)
            #expect(
                last["event"]?.stringValue == "deploy" && last["outcome"]?.stringValue == "refused",
                "\(last.jsonString())")
        } else {
            try await workflow.context.refuseDuringRollout(action: "deploy", containers: [], mode: .stable)
        }
    }
}

/// A runner that answers the first calls matching `prefix` with `first`, in order, then as `base` does; every call is
/// recorded by `base`.
final class FirstAnswers: CommandRunning, @unchecked Sendable {
    private let lock = NSLock()
    let base: ScriptedRunner
    let prefix: [String]
    private var first: [Result<CommandResult, RuntimeError>]

    init(_ base: ScriptedRunner, prefix: [String], first: [Result<CommandResult, RuntimeError>]) {
        self.base = base
        self.prefix = prefix
        self.first = first
    }

    func run(_ arguments: [String], environment: [String: String]?, timeout: TimeInterval) throws -> CommandResult {
        let answer = try base.run(arguments, environment: environment, timeout: timeout)
        lock.lock()
        defer { lock.unlock() }
        guard arguments.starts(with: prefix), !first.isEmpty else { return answer }
        var result = try first.removeFirst().get()
        result.commandLine = answer.commandLine
        return result
    }
}
