import Foundation
import TestSupport
import Testing
import Yams

@testable import SwiftDeployKit

/// `rollout` on `runtime: swarm` without an engine: the stack file with the candidate service, nginx's Swarm config
/// (a Go template reading the weight from the nginx service's label) against its live form, what may not reach a Go
/// template, and the analysis reading every replica of both sides. On a real swarm: `SwarmRolloutEndToEndTests`.
@Suite("Swarm rollout: the stack, the split and every replica's evidence")
struct SwarmRolloutTests {
    func manifest(_ name: String = "swarm") throws -> Manifest {
        try ManifestLoader().load(from: fixture("render/\(name)/manifest.yaml"))
    }

    /// A YAML value as JSON with sorted keys, to compare two values whatever their key order.
    static func canonical(_ value: Any?) -> String {
        guard let value, let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else {
            return "nil"
        }
        return String(decoding: data, as: UTF8.self)
    }

    static let candidate = CanaryRender(image: "shop/checkout:2.0.0", version: "2.0.0", weight: 20, sticky: true)

    func stack(_ rendered: RenderedConfig) throws -> [String: Any] {
        let text = try #require(rendered.stack)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    /// The candidate is the app service again but for its name, image, version, mode and role: same replicas,
    /// updates, rollback, resources, placement, health check, user and hardening.
    @Test func theCandidateIsASecondStackServiceLikeTheApp() async throws {
        let m = try manifest()
        let yaml = try stack(try ConfigRenderer().render(m, canary: Self.candidate))
        let services = try #require(yaml["services"] as? [String: [String: Any]])
        #expect(Set(services.keys) == ["checkout", "checkout-canary", "nginx"])
        let app = try #require(services["checkout"]), canary = try #require(services["checkout-canary"])
        #expect(canary["image"] as? String == "shop/checkout:2.0.0")
        let appEnv = try #require(app["environment"] as? [String: String]),
            canaryEnv = try #require(canary["environment"] as? [String: String])
        #expect(canaryEnv["MODE"] == "canary" && canaryEnv["APP_VERSION"] == "2.0.0")
        #expect(
            canaryEnv.filter { !["MODE", "APP_VERSION"].contains($0.key) }
                == appEnv.filter { !["MODE", "APP_VERSION"].contains($0.key) })
        #expect((canary["labels"] as? [String: String])?["swiftdeploy.role"] == "canary")
        let appDeploy = try #require(app["deploy"] as? [String: Any]),
            canaryDeploy = try #require(canary["deploy"] as? [String: Any])
        #expect(canaryDeploy["replicas"] as? Int == 3, "the candidate runs services.replicas replicas, as stable")
        #expect((canaryDeploy["labels"] as? [String: String])?["swiftdeploy.role"] == "canary")
        for key in ["update_config", "rollback_config", "resources", "placement", "restart_policy"] {
            #expect(
                canaryDeploy[key] != nil && Self.canonical(canaryDeploy[key]) == Self.canonical(appDeploy[key]),
                "deploy.\(key) differs")
        }
        for key in ["user", "cap_drop", "read_only", "volumes", "healthcheck", "networks", "stop_grace_period"] {
            #expect(canary[key] != nil && Self.canonical(canary[key]) == Self.canonical(app[key]), "\(key) differs")
        }
        // nginx: the weight as its service label, its config a Go template, run from a copy on its tmpfs.
        let nginx = try #require(services["nginx"])
        #expect(
            ((nginx["deploy"] as? [String: Any])?["labels"] as? [String: String])?[CanaryContext.swarmWeightLabel]
                == "20")
        let command = try #require(nginx["command"] as? [String])
        #expect(command.last?.contains("nginx -c \(RolloutWorkflow.swarmLiveConfig)") == true, "\(command)")
        #expect(nginx["stop_signal"] as? String == "SIGQUIT")
        let config = try #require((yaml["configs"] as? [String: [String: Any]])?["nginx_conf"])
        #expect(config["template_driver"] as? String == "golang")
    }

    /// nginx's Swarm config is the same bytes (the same config name) at every weight, so a weight change never
    /// replaces the nginx task; expanding its Go actions for a weight gives the live form at that weight, byte for byte
    /// (the real driver's expansion is compared in SwarmRolloutEndToEndTests).
    @Test(arguments: [0, 1, 20, 50, 99, 100])
    func theSwarmConfigIsWeightIndependentAndExpandsToTheLiveForm(_ weight: Int) async throws {
        let m = try manifest()
        var canary = Self.candidate
        canary.weight = weight
        let rendered = try ConfigRenderer().render(m, canary: canary)
        let reference = try ConfigRenderer().render(m, canary: Self.candidate)
        #expect(rendered.nginxConf == reference.nginxConf)
        let live = try #require(rendered.nginxLive)
        let split = weight == 100 ? "* canary;" : (weight == 0 ? "* stable;" : "\(weight)% canary;\n        * stable;")
        let expanded = rendered.nginxConf.replacingOccurrences(of: CanaryContext.swarmSplitAction, with: split)
            .replacingOccurrences(of: CanaryContext.swarmWeightAction, with: String(weight))
        #expect(expanded == live, "\(Golden.diff(live, expanded))")
        #expect(
            live.contains("set $swiftdeploy_canary_upstream http://tasks.checkout-canary:8000;"),
            "every candidate replica through tasks.<service>")
        // The stack differs only in the weight label.
        let stackText = try #require(rendered.stack), referenceText = try #require(reference.stack)
        let lines = Set(stackText.split(separator: "\n").map(String.init)).symmetricDifference(
            Set(referenceText.split(separator: "\n").map(String.init)))
        #expect(
            weight == 20
                ? lines.isEmpty
                : lines == [
                    "        swiftdeploy.canary.weight: \"\(weight)\"", "        swiftdeploy.canary.weight: \"20\"",
                ])
    }

    /// Issue 13 (nginx replaced at a rollout's start and end): on Swarm nginx's config is the same Go template with and
    /// without a rollout, so `deploy`, `rollout start`, every step and the end deploy the same Swarm config and the
    /// same
    /// nginx service (but for its weight label, which is not part of the task spec): Swarm never replaces nginx's task.
    @Test func deployStartStepsAndEndRenderTheSameNginxService() async throws {
        let m = try manifest()
        let first = try ConfigRenderer().render(m, canary: Self.candidate)
        for _ in 0..<5 { #expect(try ConfigRenderer().render(m, canary: Self.candidate) == first) }
        func nginx(_ rendered: RenderedConfig) throws -> (config: String, service: String, label: String?) {
            let yaml = try stack(rendered)
            var service = try #require((yaml["services"] as? [String: [String: Any]])?["nginx"])
            var deploy = try #require(service["deploy"] as? [String: Any])
            var labels = try #require(deploy["labels"] as? [String: String])
            let label = labels.removeValue(forKey: CanaryContext.swarmWeightLabel)
            deploy["labels"] = labels
            service["deploy"] = deploy
            let config = try #require((yaml["configs"] as? [String: [String: Any]])?["nginx_conf"])
            return (Self.canonical(config), Self.canonical(service), label)
        }
        let plain = try ConfigRenderer().render(m)
        let reference = try nginx(plain)
        #expect(reference.label == "0", "without a rollout the label says 0: all on stable")
        #expect(
            plain.nginxConf.contains("template_driver") == false
                && (plain.stack ?? "").contains("template_driver: \"golang\""))
        #expect(!(plain.stack ?? "").contains("checkout-canary"), "no candidate service without a rollout")
        for weight in [0, 10, 50, 100] {
            var canary = Self.candidate
            canary.weight = weight
            let rendered = try ConfigRenderer().render(m, canary: canary)
            #expect(rendered.nginxConf == plain.nginxConf, "weight \(weight): nginx's Swarm config changed")
            let seen = try nginx(rendered)
            #expect(
                seen.config == reference.config && seen.service == reference.service,
                "weight \(weight): the nginx service differs")
            #expect(seen.label == String(weight))
        }
        // Without a rollout the live form is the 0% split: no variant, no cookie, X-Canary ignored.
        let live = try #require(plain.nginxLive)
        #expect(
            live
                == (try ConfigRenderer().render(
                    m, canary: CanaryRender(image: "shop/checkout:2.0.0", version: "2.0.0", weight: 0, sticky: true)
                ).nginxLive))
        #expect(
            live.contains("map \"0:$http_x_canary\" $swiftdeploy_variant {") && live.contains("\"~^0:\" \"\";"),
            "\(live)")
    }

    /// The live forms and the plain config pass real nginx's own check.
    @Test(.requires(.nginx), arguments: [0, 35, 100])
    func nginxAcceptsTheLiveForms(_ weight: Int) async throws {
        let nginx = try TestRequirement.nginx.value()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var canary = Self.candidate
        canary.weight = weight
        let live = try #require(try ConfigRenderer().render(try manifest(), canary: canary).nginxLive)
        let file = try dir.write(live, to: "nginx.conf")
        let result = try await ExternalTool.run(nginx, ["-t", "-p", dir.path + "/", "-c", file.path])
        #expect(result.status == 0, "nginx -t failed: \(result.output)")
    }

    /// Swarm's Go template driver reads any `{{` as an action: one that is not swiftdeploy's own is refused before a
    /// file is written, so a value cannot run a template action (`{{ secret … }}`, `{{ env … }}`) inside Swarm.
    @Test func aGoTemplateActionFromAValueIsRefused() async throws {
        var m = try manifest()
        m.nginx.contact = "ops{{secret \"db\"}}@example.com"
        // With or without a rollout: nginx's Swarm config is always a Go template.
        #expect(throws: RenderError.self) { try ConfigRenderer().render(m) }
        let error = #expect(throws: RenderError.self) { try ConfigRenderer().render(m, canary: Self.candidate) }
        #expect(
            error?.localizedDescription.contains("'{{' on line") == true,
            "\(String(describing: error?.localizedDescription))")
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var placed = m
        placed.directory = dir.url
        #expect(throws: RenderError.self) { try ConfigGenerator(manifest: placed, canary: Self.candidate).write() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "nothing was written")
    }

    /// Issue 13 (a moved tag or an undeployed manifest reached stable): during a rollout the stack file carries the
    /// image stable's service runs (its Swarm spec's, digest included) in place of `services.image`, and every app
    /// service carries the digest of the stack the manifest deploys without a rollout: the same for every weight and
    /// pin, different as soon as the manifest changes.
    @Test func aRolloutPinsStableToItsRunningImageAndLabelsTheManifestDigest() async throws {
        let m = try manifest()
        let running = "registry.example.com:5000/team/checkout:2.4.1@sha256:" + String(repeating: "ab", count: 32)
        let pinned = try ConfigRenderer().render(m, canary: Self.candidate, stableImage: running)
        let services = try #require(try stack(pinned)["services"] as? [String: [String: Any]])
        #expect(services["checkout"]?["image"] as? String == running)
        #expect(services["checkout-canary"]?["image"] as? String == "shop/checkout:2.0.0")
        let digest = try #require(try ConfigRenderer().render(m).stackDigest)
        #expect(digest.count == 16 && pinned.stackDigest == digest, "the manifest's digest, not the rollout's")
        for name in ["checkout", "checkout-canary"] {
            let labels = (services[name]?["deploy"] as? [String: Any])?["labels"] as? [String: String]
            #expect(labels?[StackContext.manifestDigestLabel] == digest, "\(name): \(String(describing: labels))")
        }
        var edited = m
        edited.services.version = "2.4.2"
        #expect(try ConfigRenderer().render(edited).stackDigest != digest, "an edited manifest renders another digest")
        #expect(throws: RenderError.self) {
            try ConfigRenderer().render(m, canary: Self.candidate, stableImage: "x:1\"\n    privileged: true")
        }
    }

    /// A hostile candidate image or version never reaches the stack file.
    @Test(arguments: [
        ("shop/x:1\"\n    privileged: true", "1"), ("shop/x:1", "1\n    privileged: true"),
        ("shop/x:{{.Node.ID}}", "1"),
    ])
    func aHostileCandidateIsRefused(_ image: String, _ version: String) throws {
        #expect(throws: RenderError.self) {
            try ConfigRenderer().render(
                try manifest(), canary: CanaryRender(image: image, version: version, weight: 10, sticky: true))
        }
    }

    // MARK: Every replica's evidence

    /// Answers `/replicas/<address>/metrics` from per-address exposition; an address in `failing` does not answer.
    struct ReplicaTransport: HTTPTransport {
        let bodies: @Sendable (String) -> String?
        func send(method: String, url: URL, headers: [String: String], body: Data?, limits: HTTPLimits) async throws
            -> HTTPResponse
        {
            let parts = url.path.split(separator: "/")
            guard parts.count == 3, parts[0] == "replicas", let text = bodies(String(parts[1])) else {
                throw HTTPClientError.connectionFailed(url: url.absoluteString, reason: "connection refused")
            }
            return HTTPResponse(
                status: 200, headers: ["content-type": "text/plain; version=0.0.4"], body: Data(text.utf8))
        }
    }

    static func replicas(_ service: String) -> [RolloutReplica] {
        service == "app"
            ? [
                RolloutReplica(name: "app.1", node: "vm (abc)", state: "running", address: "10.0.1.2"),
                RolloutReplica(name: "app.2", node: "vm (def)", state: "running", address: "10.0.1.3"),
            ]
            : [
                RolloutReplica(name: "app-canary.1", node: "vm (abc)", state: "running", address: "10.0.1.4"),
                RolloutReplica(name: "app-canary.2", node: "vm (def)", state: "running", address: "10.0.1.5"),
            ]
    }

    @Test func everyReplicaIsReadAndEachKeepsItsOwnSeries() async throws {
        var metrics = DemoMetrics()
        metrics.record(count: 7)
        let text = metrics.exposition()
        let sides = SwarmRolloutSides(
            manifest: try manifest(), transport: ReplicaTransport { _ in text },
            replicas: { Self.replicas($0 == "checkout" ? "app" : "canary") })
        let read = try await sides.snapshot(canary: true)
        #expect(read.doubts.isEmpty)
        let requests = read.snapshot.samples(named: "http_requests_total")
        #expect(Set(requests.compactMap { $0[label: "replica"] }) == ["10.0.1.4", "10.0.1.5"])
        #expect(requests.reduce(0) { $0 + $1.value } == 14)
    }

    /// A replica that does not answer, is not running yet or has no address is never left out silently: each is a
    /// doubt naming it (and its node), while the others are still read.
    @Test func aReplicaThatCannotBeReadIsADoubtNamingIt() async throws {
        let text = DemoMetrics().exposition()
        let listed: [RolloutReplica] = [
            RolloutReplica(name: "app-canary.1", node: "vm (abc)", state: "running", address: "10.0.1.4"),
            RolloutReplica(name: "app-canary.2", node: "vm (def)", state: "running", address: "10.0.1.5"),
            RolloutReplica(name: "app-canary.3", node: "vm (def)", state: "starting", address: "10.0.1.6"),
            RolloutReplica(name: "app-canary.4", node: nil, state: "running", address: nil),
        ]
        let sides = SwarmRolloutSides(
            manifest: try manifest(), transport: ReplicaTransport { $0 == "10.0.1.4" ? text : nil },
            replicas: { _ in listed })
        let read = try await sides.snapshot(canary: true)
        #expect(read.doubts.count == 3, "\(read.doubts)")
        #expect(
            read.doubts.contains {
                $0.contains("app-canary.2 on vm (def) (10.0.1.5) could not be scraped")
                    && $0.contains("connection refused")
            })
        #expect(read.doubts.contains { $0.contains("app-canary.3 on vm (def) is starting, not running") })
        #expect(read.doubts.contains { $0.contains("app-canary.4 has no address") })
        #expect(
            Set(read.snapshot.samples(named: "http_requests_total").compactMap { $0[label: "replica"] }).isSubset(of: [
                "10.0.1.4"
            ]))

        let none = SwarmRolloutSides(
            manifest: try manifest(), transport: ReplicaTransport { _ in text }, replicas: { _ in [] })
        #expect(try await none.snapshot(canary: false).doubts == ["no replica of checkout is running"])
        let unlisted = SwarmRolloutSides(
            manifest: try manifest(), transport: ReplicaTransport { _ in text },
            replicas: { _ in throw RuntimeError.noLocalTask(service: "x") })
        #expect(try await unlisted.snapshot(canary: false).doubts.first?.contains("could not be listed") == true)
    }

    /// A step measured while one candidate replica cannot be scraped is inconclusive (the rollout pauses, never
    /// promotes), with the replica named in the reasons, however good the other replicas look.
    @Test func aStepWithAnUnscrapedReplicaIsInconclusive() async throws {
        let rig = try await RolloutWorkflowTests.Rig(steps: "[50, 100]")
        defer { rig.remove() }
        let metrics = ReplicaMetrics()
        let context = try rig.context()
        let sides = SwarmRolloutSides(
            manifest: context.manifest, transport: ReplicaTransport { metrics.scrape($0) },
            replicas: { Self.replicas($0) })
        let workflow = RolloutWorkflow(
            context: context, analyzer: RolloutAnalyzer(manifest: context.manifest, sides: sides),
            healthTimeout: 5, drainSeconds: 0)
        let report = try await workflow.start(
            image: "swiftdeploy/api:0.2.0", version: "0.2.0", steps: nil, interval: nil, override: nil,
            progress: { _ in })
        #expect(report.outcome == .paused, "\(report.message)")
        #expect(report.decision?.verdict == .inconclusive)
        let reasons = report.decision?.reasons.joined(separator: "; ") ?? ""
        #expect(
            reasons.contains("doubtful evidence: replica app-canary.2 on vm (def) (10.0.1.5) could not be scraped"),
            "\(reasons)")
        // Both sides were read from their replicas, not from the admin listener's prefixes.
        #expect(
            report.decision?.input["metrics"]?["source"]?.stringValue?.contains("every replica of app-canary") == true)

        // `status` of the paused rollout: stable from both its replicas; the candidate unavailable, naming the replica.
        let dashboard = try #require(
            await RolloutDashboard.collect(
                manifest: context.manifest, containers: try rig.runtime.containers(),
                window: ManifestDuration(milliseconds: 1000), sides: sides))
        guard case .success(let stable) = dashboard.stable else {
            Issue.record("stable: \(dashboard.stable)")
            return
        }
        #expect((stable.requestRate ?? 0) > 0)
        guard case .failure(let why) = dashboard.canary else {
            Issue.record("the candidate was shown without app-canary.2")
            return
        }
        #expect(why.reason.contains("app-canary.2 on vm (def) (10.0.1.5) could not be scraped"), "\(why.reason)")
    }

    /// Every replica serves traffic at each scrape; 10.0.1.5 (app-canary.2) never answers.
    final class ReplicaMetrics: @unchecked Sendable {
        private let lock = NSLock()
        private var byAddress: [String: DemoMetrics] = [:]
        func scrape(_ address: String) -> String? {
            guard address != "10.0.1.5" else { return nil }
            return lock.withLock {
                var metrics = byAddress[address] ?? DemoMetrics()
                metrics.record(count: 30)
                byAddress[address] = metrics
                return metrics.exposition()
            }
        }
    }
}
