import Foundation

/// `rollout` on `runtime: swarm` (docs/swarm.md, "Progressive delivery"). The candidate is a second service of the
/// stack, `<name>-canary`, behind the same nginx service. While a rollout runs, nginx's Swarm config is a Go template
/// (`template_driver: golang`) whose only actions read the split's weight from the nginx service's label
/// `swiftdeploy.canary.weight`, and nginx runs a copy of it from its tmpfs. A weight change rewrites that copy
/// (`nginx -t` first), sets the label (a service label is not part of the task spec: Swarm restarts nothing) and
/// reloads nginx; a task Swarm starts later (a crash, a node lost) renders the config with the label, so it comes back
/// on the current weight.
extension RolloutWorkflow {
    /// Where nginx runs its config from during a rollout on Swarm (its tmpfs; the stack's command copies the Swarm
    /// config there when the task starts).
    static let swarmLiveConfig = "/tmp/swiftdeploy/nginx.conf"

    var swarmRuntime: SwarmRuntime? { context.runtime as? SwarmRuntime }

    /// Writes the files for `canary` (nil: no rollout) and makes Swarm run them. When nginx already runs this rollout
    /// form of its config and the candidate service exists, only the weight changes: live (``setSwarmSplit``), nothing
    /// restarted. Otherwise (the rollout begins or ends, or the app's image changed) `docker stack deploy`, waiting for
    /// Swarm's rolling updates: nginx is replaced stop-first on its host port and shuts down gracefully (SIGQUIT).
    ///
    /// Stable is pinned: its image in the stack file is the one its service runs (`stableImage`, default: read from its
    /// Swarm spec, with the digest Swarm recorded), and the deploy runs with `--resolve-image never`, so neither a tag
    /// moved in its registry nor a changed `services.image` reaches stable through a rollout's deploy.
    func applySwarm(
        _ canary: CanaryRender?, manifest: Manifest, label: String, runtime: SwarmRuntime, stableImage: String? = nil
    ) async throws {
        let name = context.manifestURL.lastPathComponent
        let pin: String?
        if let stableImage { pin = stableImage } else { pin = try await runtime.serviceImage(service: app) }
        let generator = try ConfigGenerator(manifest: manifest, manifestName: name, canary: canary, stableImage: pin)
        let rendered = try ConfigRenderer(templates: generator.templates).render(
            manifest, manifestName: name, canary: canary, stableImage: pin)
        if let canary, let live = rendered.nginxLive,
            try await swarmRunsRolloutForm(of: rendered, manifest: manifest, runtime: runtime)
        {
            // The stack file takes the new weight only once nginx runs it.
            try await setSwarmSplit(live, weight: canary.weight, label: label, runtime: runtime)
            try generator.write()
        } else {
            try generator.write()
            try await Self.pinned(runtime).up()
            // The stack deploy does not touch nginx's running copy: it must already run this weight (a live copy left
            // at another weight would send clients to a side that is not meant to have them). Checked on the task here;
            // a difference is set live, and that is checked again.
            if let live = rendered.nginxLive {
                try await swarmEnsureLoadedWeight(canary?.weight ?? 0, live: live, label: label, runtime: runtime)
            }
        }
    }

    /// After a rollout's stack deploy: nginx's task on this node must run `weight` (its admin listener's
    /// ``loadedWeightPath`` and its weight label). When it does not, the split is set to `weight` live
    /// (``setSwarmSplit``, which checks it again). Nothing to check when nginx has no task here (the label path
    /// replaced it: Swarm rendered its config with the label).
    func swarmEnsureLoadedWeight(_ weight: Int, live: String, label: String, runtime: SwarmRuntime) async throws {
        guard let container = try await runtime.localContainers(service: "nginx").first else { return }
        do {
            try await Self.checkLoadedWeight(weight, live: live, container: container, runtime: runtime, seconds: 0)
        } catch RolloutError.swarmLoadedWeightMismatch {
            try await setSwarmSplit(
                live, weight: weight, label: "\(label): nginx's running copy set to \(weight)%", runtime: runtime)
        }
    }

    /// The runtime for a rollout's stack deploys: `--resolve-image never` (see ``applySwarm``).
    static func pinned(_ runtime: SwarmRuntime) -> SwarmRuntime {
        var pinned = runtime
        pinned.resolveImage = "never"
        return pinned
    }

    /// On Swarm, before anything is asked or recorded: the manifest must render to the stack that runs (the app
    /// service's label `swiftdeploy.manifest.digest`, set by every deploy). A manifest edited but not deployed would
    /// otherwise reach the candidate at once and stable at the promotion, judged as if it were the release only.
    /// Returns the digest (recorded in the start record as `manifest_digest`: resume and promote compare with it).
    @discardableResult
    func checkSwarmManifestDeployed() async throws -> String? {
        guard let swarm = swarmRuntime else { return nil }
        let name = context.manifestURL.lastPathComponent
        guard let wanted = try Self.stackDigest(of: manifest, name: name) else { return nil }
        let running = try await swarm.serviceLabel(
            service: app, key: StackContext.manifestDigestLabel, missingServiceIsEmpty: true)
        guard running == wanted else {
            throw RolloutError.swarmManifestNotDeployed(
                manifest: name, service: swarm.serviceName(app), running: running, rendered: wanted)
        }
        return wanted
    }

    /// The digest of the stack `manifest` deploys without a rollout (``RenderedConfig/stackDigest``).
    static func stackDigest(of manifest: Manifest, name: String) throws -> String? {
        try ConfigRenderer(templates: TemplateSet.forManifest(manifest)).render(manifest, manifestName: name)
            .stackDigest
    }

    /// On Swarm, before `rollout resume` or a promotion: the manifest on disk must still render to the stack recorded
    /// at
    /// the rollout's start (`manifest_digest`). Every deploy of a step or the promotion renders from the manifest, so
    /// an
    /// edit made during the rollout would reach stable unjudged at the promotion, and one that changes nginx.conf
    /// (`nginx.*`, `rollout.sticky`, the port, the health path) would replace nginx's task mid-rollout. A rollout
    /// started by an older swiftdeploy recorded no digest: nothing to compare.
    func checkSwarmManifestUnchanged(plan: RolloutPlan, action: String) throws {
        guard swarmRuntime != nil, let recorded = plan.manifestDigest else { return }
        let name = context.manifestURL.lastPathComponent
        let onDisk = try loader.load(from: context.manifestURL)
        let now = try Self.stackDigest(of: onDisk, name: name) ?? ""
        guard now == recorded else {
            throw RolloutError.swarmManifestChangedDuringRollout(
                manifest: name, recorded: recorded, now: now, action: action)
        }
    }

    /// On Swarm, at `rollout start` once the candidate's image is on this node: the candidate is pinned to its registry
    /// digest (`name:tag@sha256:…`), the reference every task of it and stable at the promotion run, so a tag re-pushed
    /// during the rollout reaches neither. Without a digest (a local build) the tag is all there is: said in the
    /// progress and the start record, and refused on a swarm of several nodes (each would run its own copy of the
    /// tag) unless overridden. Returns the start record's message suffix and details (whether stable is pinned too).
    func swarmPinCandidate(_ plan: inout RolloutPlan, override: OverrideRequest?, progress: (String) -> Void)
        async throws -> (message: String, details: [String: JSONValue])
    {
        guard let swarm = swarmRuntime else { return ("", [:]) }
        let stableSpec = try await swarm.serviceImage(service: app) ?? plan.stableImage
        var details: [String: JSONValue] = [
            "stable_spec_image": .string(stableSpec), "stable_pinned": .bool(stableSpec.contains("@sha256:")),
        ]
        if let pinned = try await swarm.digestReference(plan.image) {
            plan.candidateImage = pinned
            details["candidate_image"] = .string(pinned)
            details["candidate_pinned"] = .bool(true)
            progress(
                """
                the candidate runs \(pinned): pinned by its registry digest, so every task of it and stable at \
                the promotion run what is judged
                """
            )
            return ("; the candidate is pinned to \(pinned)", details)
        }
        let nodes = try await swarm.nodeCount()
        if nodes > 1, override == nil { throw RolloutError.swarmCandidateNotPinned(image: plan.image, nodes: nodes) }
        details["candidate_image"] = .string(plan.image)
        details["candidate_pinned"] = .bool(false)
        let note =
            """
            \(plan.image) has no registry digest on this node (a local build, or a tag not pulled from a \
            registry): it is not pinned, each node runs its own copy of the tag, so a task of the candidate \
            started on another node, or stable there at the promotion, runs whatever the tag names on that node
            """
        progress(note)
        return ("; " + note, details)
    }

    /// True when the nginx service runs exactly this Swarm config (the rollout form, named by its digest) and the
    /// candidate service exists: a weight change is then a live one.
    func swarmRunsRolloutForm(of rendered: RenderedConfig, manifest: Manifest, runtime: SwarmRuntime) async throws
        -> Bool
    {
        let wanted = StackContext.nginxConfigName(project: manifest.project, nginxConf: rendered.nginxConf)
        guard try await runtime.configNames(of: "nginx") == [wanted] else { return false }
        return try await runtime.serviceState(runtime.serviceName(canaryService)) != nil
    }

    /// All traffic back on stable: weight 0 live. The live form is rendered from the Swarm config nginx's service runs
    /// (its only template actions are swiftdeploy's split and weight,
    /// ``CanaryContext/swarmLiveForm(ofConfig:weight:)``),
    /// so neither the candidate service nor the manifest as it is now matters: a candidate removed by hand, or a
    /// manifest edited mid-rollout, still gets its clients back on stable. Returns false when nginx runs no config with
    /// the split (nothing to take back).
    @discardableResult
    func swarmTrafficToStable(runtime: SwarmRuntime) async throws -> Bool {
        let names = try await runtime.configNames(of: "nginx")
        guard names.count == 1, let conf = try await runtime.configData(names[0]),
            let live = CanaryContext.swarmLiveForm(ofConfig: conf, weight: 0)
        else { return false }
        try await setSwarmSplit(live, weight: 0, label: "traffic back on stable", runtime: runtime)
        return true
    }

    /// The live weight change: the new config is written beside nginx's running copy and tested (`nginx -t`), moved
    /// over it, the weight label set on the nginx service (so a new task starts on it), and nginx reloaded (new workers
    /// on the new split, the old ones finish their requests). Then what nginx's master actually loaded is asked
    /// (``checkLoadedWeight``): `nginx -s reload` only signals the master and exits 0 even when the master rejects the
    /// new config. Every command goes to the one container found first, so the steps cannot land in different tasks;
    /// a failure after the move puts the previous config and label back and reloads nginx on them before the error.
    func setSwarmSplit(_ live: String, weight: Int, label: String, runtime: SwarmRuntime) async throws {
        try await Self.setSwarmSplit(
            live, weight: weight, label: label, runtime: runtime, readBackSeconds: splitReadBackSeconds)
    }

    static func setSwarmSplit(
        _ live: String, weight: Int, label: String, runtime: SwarmRuntime, readBackSeconds: Double
    ) async throws {
        let path = swarmLiveConfig, next = path + ".next"
        let service = runtime.serviceName("nginx")
        guard let container = try await runtime.localContainers(service: "nginx").first else {
            throw RuntimeError.noLocalTask(service: service)
        }
        let shown = String(container.prefix(12))
        func run(_ command: [String], shownAs: String? = nil) async throws -> CommandResult {
            let result = try await runtime.exec(container: container, command: command)
            guard result.succeeded else {
                throw RolloutError.swarmExecFailed(
                    step: label, command: shownAs ?? command.joined(separator: " "), container: shown, service: service,
                    output: result.outputTail())
            }
            return result
        }
        // The contents travel as an argument (a few KiB), never through a shell's parsing.
        func write(_ contents: String) async throws {
            _ = try await run(
                ["bash", "-c", #"umask 022 && printf '%s' "$1" > "$2""#, "swiftdeploy", contents, next],
                shownAs: "bash -c 'printf > \(next)'")
        }
        let previous = try await run(["cat", path]).stdout
        try await write(live)
        let test = try await runtime.exec(container: container, command: ["nginx", "-t", "-q", "-c", next])
        guard test.succeeded else { throw RolloutError.nginxRejected(step: label, output: test.outputTail()) }
        _ = try await run(["mv", "-f", next, path])
        do {
            try await runtime.setServiceLabel(
                service: "nginx", key: CanaryContext.swarmWeightLabel, value: String(weight))
            _ = try await run(["nginx", "-s", "reload", "-c", path])
            try await checkLoadedWeight(
                weight, live: live, container: container, runtime: runtime, seconds: readBackSeconds)
        } catch {
            // Half-way: the previous config and label back, nginx reloaded on them, each step tried and reported, then
            // what nginx runs asked again: the error says what was restored and what nginx actually runs.
            let previousWeight = splitWeight(in: previous) ?? 0
            var restored: [String] = [], failed: [String] = []
            func attempt(_ what: String, _ body: () async throws -> Void) async {
                do {
                    try await body()
                    restored.append(what)
                } catch { failed.append("\(what) (\(error.localizedDescription))") }
            }
            await attempt("the previous config (\(previousWeight)%)") {
                try await write(previous)
                _ = try await run(["mv", "-f", next, path])
            }
            await attempt("the weight label \(previousWeight)") {
                try await runtime.setServiceLabel(
                    service: "nginx", key: CanaryContext.swarmWeightLabel, value: String(previousWeight))
            }
            await attempt("a reload on them") { _ = try await run(["nginx", "-s", "reload", "-c", path]) }
            var runs = "the split of \(previousWeight)% (its label agrees)"
            do {
                try await checkLoadedWeight(
                    previousWeight, live: previous, container: container, runtime: runtime, seconds: readBackSeconds)
            } catch RolloutError.swarmLoadedWeightMismatch(_, _, _, let label, let loaded) {
                runs = "\(loaded), its label '\(label)'"
            } catch {
                runs = "nothing readable (\(error.localizedDescription))"
            }
            throw RolloutError.swarmSplitPutBack(
                cause: error.localizedDescription, restored: restored, failed: failed, runs: runs,
                container: shown, service: service)
        }
    }

    /// The admin location that answers the split's weight nginx loaded (rendered into the config itself).
    static let loadedWeightPath = "/__swiftdeploy/split-weight"

    /// Asks nginx in `container` which weight its master loaded (``loadedWeightPath`` on its admin listener, through
    /// `docker exec` as ``SwarmAdminTransport`` does) until it answers `weight` or `seconds` pass (the master loads a
    /// new config asynchronously after `nginx -s reload`), and reads the weight label back. A difference in either
    /// is ``RolloutError/swarmLoadedWeightMismatch(container:service:expected:label:loaded:)``.
    static func checkLoadedWeight(
        _ weight: Int, live: String, container: String, runtime: SwarmRuntime, seconds: Double
    ) async throws {
        let port = SwarmAdminTransport.adminListenPort(inNginxConf: live) ?? ContainerLayout.nginxAdminPort
        let deadline = Date().addingTimeInterval(seconds)
        var loaded = "nothing readable"
        while true {
            let result = try await runtime.exec(
                container: container,
                command: [
                    "bash", "-c", SwarmAdminTransport.script, "swiftdeploy-admin", loadedWeightPath,
                    "text/plain", String(port),
                ])
            if !result.succeeded {
                loaded = "nothing readable (docker exec: \(result.outputTail(lines: 2)))"
            } else if let response = try? SwarmAdminTransport.parse(Data(result.stdout.utf8), url: loadedWeightPath) {
                let body = String(decoding: response.body.prefix(64), as: UTF8.self).trimmingCharacters(
                    in: .whitespacesAndNewlines)
                if response.status == 200, body == String(weight) { break }
                loaded =
                    response.status == 200
                    ? "the split of \(body)%"
                    : "no split (its admin listener answered \(response.status) to \(loadedWeightPath))"
            } else {
                loaded = "nothing readable (an answer that is not HTTP)"
            }
            if Date() >= deadline {
                throw RolloutError.swarmLoadedWeightMismatch(
                    container: String(container.prefix(12)), service: runtime.serviceName("nginx"),
                    expected: weight,
                    label: (try? await runtime.serviceLabel(service: "nginx", key: CanaryContext.swarmWeightLabel))
                        ?? "",
                    loaded: loaded)
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        let label = try await runtime.serviceLabel(service: "nginx", key: CanaryContext.swarmWeightLabel)
        guard label == String(weight) else {
            throw RolloutError.swarmLoadedWeightMismatch(
                container: String(container.prefix(12)), service: runtime.serviceName("nginx"), expected: weight,
                label: label, loaded: "the split of \(weight)%")
        }
    }

    /// The canary weight of an nginx.conf's `split_clients` (`N% canary;`, or `* canary;` for 100, else 0); nil when
    /// the
    /// config has no split at all.
    static func splitWeight(in conf: String) -> Int? {
        guard conf.contains("split_clients") else { return nil }
        for line in conf.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text == "* canary;" { return 100 }
            if text.hasSuffix("% canary;"), let value = Int(text.dropLast("% canary;".count)) { return value }
        }
        return 0
    }

    /// The candidate's service removed by name (`docker service rm`), when it exists.
    func swarmRemoveCandidateIfLeft(_ runtime: SwarmRuntime) async throws {
        if try await runtime.serviceState(runtime.serviceName(canaryService)) != nil {
            try await runtime.remove(service: canaryService)
        }
    }
}

extension SwarmRuntime {
    /// A Swarm config's contents (`docker config inspect`, `Spec.Data`); nil when no such config exists.
    public func configData(_ name: String) async throws -> String? {
        let result = try await docker(["config", "inspect", "--format", "{{json .Spec.Data}}", name])
        if !result.succeeded, (result.stderr + result.stdout).lowercased().contains("no such config") { return nil }
        try check(result)
        guard
            let encoded = try? JSONSerialization.jsonObject(
                with: Data(result.stdout.utf8), options: [.fragmentsAllowed]) as? String,
            let data = Data(base64Encoded: encoded)
        else {
            throw RuntimeError.unreadableAnswer(
                command: result.commandLine, detail: "expected the config's data as a base64 JSON string")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The names of the Swarm configs a service of the stack mounts (`[]` when it has none or does not exist).
    public func configNames(of service: String) async throws -> [String] {
        let result = try await docker([
            "service", "inspect", "--format",
            "{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{end}}",
            serviceName(service),
        ])
        if !result.succeeded, (result.stderr + result.stdout).lowercased().contains("no such service") { return [] }
        try check(result)
        return result.stdout.split(whereSeparator: \.isWhitespace).map(String.init).sorted()
    }

    /// `docker exec` into one container (by id): every command of one weight change goes to the same task.
    public func exec(container: String, command: [String]) async throws -> CommandResult {
        try await docker(["exec", container] + command)
    }

    /// Sets a label of a service (`docker service update --label-add`): the service's own labels are not part of its
    /// task spec, so Swarm replaces no task.
    public func setServiceLabel(service: String, key: String, value: String) async throws {
        try check(
            try await docker(["service", "update", "--detach", "--label-add", "\(key)=\(value)", serviceName(service)]))
    }

    /// The image of the stack's candidate service `<app>-canary` (its spec), nil when no such service exists.
    public func candidateServiceImage(app: String) async throws -> String? {
        try await serviceImage(service: CanaryRender.serviceName(for: app))
    }

    /// nginx's weight label (`swiftdeploy.canary.weight`, `""` without one): what `rollout status` shows beside the
    /// history's weight.
    public func nginxWeightLabel() async throws -> String {
        try await serviceLabel(service: "nginx", key: CanaryContext.swarmWeightLabel)
    }

    /// A label of a service (`""` when it has none).
    public func serviceLabel(service: String, key: String, missingServiceIsEmpty: Bool = false) async throws -> String {
        let result = try await docker([
            "service", "inspect", "--format", "{{index .Spec.Labels \"\(key)\"}}", serviceName(service),
        ])
        if missingServiceIsEmpty, !result.succeeded,
            (result.stderr + result.stdout).lowercased().contains("no such service")
        {
            return ""
        }
        try check(result)
        let value = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return value == "<no value>" ? "" : value
    }

    /// The image in a service's Swarm spec (`tag@sha256:…` when Swarm recorded the digest at its deploy); nil when the
    /// service does not exist.
    public func serviceImage(service: String) async throws -> String? {
        let result = try await docker([
            "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", serviceName(service),
        ])
        if !result.succeeded, (result.stderr + result.stdout).lowercased().contains("no such service") { return nil }
        try check(result)
        let image = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return image.isEmpty ? nil : image
    }

    /// Sets a label of a service and replaces its tasks (`docker service update --force`), waiting until Swarm reports
    /// the update converged: a templated config (nginx's) is rendered with the labels only when a task is created.
    public func setServiceLabelReplacingTasks(service: String, key: String, value: String, timeout: TimeInterval)
        async throws
    {
        try check(
            try await docker(
                [
                    "service", "update", "--detach=false", "--quiet", "--force", "--label-add", "\(key)=\(value)",
                    serviceName(service),
                ],
                timeout: max(timeout, 10)))
    }
}

extension RolloutWorkflow {
    /// On Swarm, before anything is asked or recorded: the runtime is Swarm's and the stack's nginx task runs on this
    /// node, where the split is set through `docker exec`. Nothing to check on Compose.
    /// `action`: the command refused, named in the error (`rollout start`, `rollout resume`, `rollout promote`, …).
    func checkSwarmCanSplit(action: String = "rollout start") async throws {
        guard manifest.runtime == .swarm else { return }
        guard let swarm = swarmRuntime else {
            throw RolloutError.swarmSplitUnavailable(
                project: manifest.project, detail: "the container runtime in use is not Swarm's", action: action)
        }
        do {
            let probe = try await swarm.exec(service: "nginx", command: ["true"])
            guard probe.succeeded else {
                throw RolloutError.swarmSplitUnavailable(
                    project: manifest.project, detail: "docker exec into nginx failed: \(probe.outputTail(lines: 2))",
                    action: action)
            }
        } catch let error as RuntimeError {
            throw RolloutError.swarmSplitUnavailable(
                project: manifest.project, detail: error.localizedDescription, action: action)
        }
    }

    /// On Swarm, what makes the manifest's nginx.conf template unfit for a rollout (nil when fit, and on Compose): the
    /// Swarm config must carry the split (its Go template actions), and its live form the admin location
    /// ``loadedWeightPath`` answering the weight, which every weight change reads back. A project's own template
    /// written
    /// before that location existed would fail every step and every rollback's live 0% the same way. Checked with an
    /// odd weight (37), and the live form must be what Swarm renders from the config at that weight.
    public static func swarmSplitProblem(_ manifest: Manifest, manifestName: String) throws -> String? {
        guard manifest.runtime == .swarm else { return nil }
        let weight = 37
        let rendered = try ConfigRenderer(templates: TemplateSet.forManifest(manifest))
            .render(
                manifest, manifestName: manifestName,
                canary: CanaryRender(
                    image: "swiftdeploy/check:0", version: "0", weight: weight, sticky: manifest.rollout.sticky))
        let origin =
            manifest.templatesDir.map { "the nginx.conf.mustache in \($0)" } ?? "the built-in nginx.conf.mustache"
        let copy = "copy it from swiftdeploy's built-in nginx.conf.mustache"
        guard let live = rendered.nginxLive,
            let swarmLive = CanaryContext.swarmLiveForm(ofConfig: rendered.nginxConf, weight: weight)
        else {
            return
                """
                \(origin) renders no traffic split (`{{#splitLines}}` inside `split_clients`) on Swarm, so a \
                rollout could not set one; \(copy)
                """
        }
        guard live.contains("location = \(loadedWeightPath)"), live.contains("return 200 \"\(weight)\";") else {
            return
                """
                \(origin) has no admin location `= \(loadedWeightPath)` answering the split's weight (`return 200 \
                \"{{{weight}}}\";`, inside `{{#canary}}{{#swarm}}` of the admin server): on Swarm every weight \
                change and every rollback reads back there the weight nginx loaded, so each would fail; \(copy)
                """
        }
        guard swarmLive == live else {
            return
                """
                \(origin) renders a Swarm config whose weight actions do not give the live form nginx runs (the \
                split or the weight is written differently in the two forms); \(copy)
                """
        }
        return nil
    }

    /// `rollout abort` on Swarm needs Swarm's runtime only: without a local nginx task it takes the label path.
    func checkSwarmRuntime(action: String) throws {
        guard manifest.runtime == .swarm, swarmRuntime == nil else { return }
        throw RolloutError.swarmSplitUnavailable(
            project: manifest.project, detail: "the container runtime in use is not Swarm's", action: action)
    }

    /// Before finishing on Swarm (all traffic to the candidate, then back, both live through `docker exec`): nginx's
    /// task must still run on this node. When it moved (its node drained or lost mid-rollout), the rollout is recorded
    /// paused, nothing else changed, and the error names where to run `rollout promote`.
    func checkSwarmCanFinish(plan: RolloutPlan) async throws {
        do { try await checkSwarmCanSplit(action: "rollout promote") } catch RolloutError.swarmSplitUnavailable(
            let project, let detail, _)
        {
            let error = RolloutError.swarmNginxMoved(project: project, detail: detail)
            try await record(
                .paused, plan: plan, outcome: "nginx-moved",
                message: "finishing the rollout of \(plan.image) refused: \(error.errorDescription ?? detail)")
            throw error
        }
    }

    /// All traffic back on stable when rolling back on Swarm, wherever nginx runs. On this node: the split to 0% live
    /// (``swarmTrafficToStable``). When that fails for any reason (nginx has no task here, its task is shutting down,
    /// its master rejects the config, its admin listener has no split-weight location), the weight label is set to 0
    /// and nginx's task replaced (`docker service update --force`, waited for), since Swarm renders the label into the
    /// config only when it creates a task: nginx's host port refuses connections for the second or so the new task
    /// takes to start. Returns nil when nginx was not replaced, else the node its new task runs on ("unknown" when it
    /// cannot be read), for the rollback record (`nginx_replaced`).
    func swarmTrafficToStableAnywhere(runtime: SwarmRuntime, progress: Progress) async throws -> String? {
        do {
            try await swarmTrafficToStable(runtime: runtime)
            return nil
        } catch {
            var why = "the live change failed (\(error.localizedDescription))"
            if case RuntimeError.noLocalTask(let service) = error { why = "no task of \(service) runs on this node" }
            progress(
                """
                \(why): setting nginx's weight label to 0 and having Swarm replace its task, which renders its \
                config with it (its port refuses connections for a moment)
                """
            )
            try await runtime.setServiceLabelReplacingTasks(
                service: "nginx", key: CanaryContext.swarmWeightLabel, value: "0", timeout: healthTimeout)
            let node = (try? await runtime.containers())?.first { $0.service == "nginx" }?.node
            return node ?? "unknown"
        }
    }
}
