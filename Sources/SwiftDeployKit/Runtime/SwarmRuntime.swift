import Foundation

/// The container runtime for `runtime: swarm`: Docker's own Swarm commands only (`docker stack deploy`,
/// `docker stack rm`, `docker service`, `docker node`, `docker inspect` of tasks), scoped to the stack named
/// `project` (the `com.docker.stack.namespace` label). Swarm schedules, balances, updates and rolls back;
/// this type asks it to and reads what it reports.
///
/// Its "containers" are the stack's tasks that Swarm wants running, one per replica, each with the node it
/// runs on (`ContainerStatus.node`); their `id` is the task id (`docker service logs` takes it).
public struct SwarmRuntime: ContainerRuntime {
    public var project: String
    public var stackFile: URL
    public var runner: any CommandRunning
    public var environment: [String: String]
    /// How long one `stack deploy`/`stack rm` (and the wait for an update or a removal) may take.
    public var commandTimeout: TimeInterval
    /// Seconds between two polls while waiting for Swarm.
    public var pollInterval: TimeInterval
    /// How the default `--timeout` follows from the manifest (`WaitBudget.explanation`), named when an update times
    /// out.
    public var budget: String = ""
    /// `docker stack deploy --resolve-image <value>`. Default `changed`: Docker asks the registry only for an image
    /// whose
    /// text changed in the stack file, so a `deploy` or `promote` that changes no image re-resolves no tag (a moved
    /// `nginx:1.27` upstream would otherwise replace nginx's task, a gap on its port, and a moved app tag would reach
    /// stable on a mode switch). A rollout's deploys use `never`: no tag is resolved at all.
    public var resolveImage: String = "changed"

    public init(
        project: String, stackFile: URL, runner: any CommandRunning = SystemCommandRunner(),
        environment: [String: String] = ProcessInfo.processInfo.environment, commandTimeout: TimeInterval = 300,
        pollInterval: TimeInterval = 1
    ) {
        self.project = project
        self.stackFile = stackFile
        self.runner = runner
        self.environment = environment
        self.commandTimeout = commandTimeout
        self.pollInterval = pollInterval
    }

    public init(
        manifest: Manifest, runner: any CommandRunning = SystemCommandRunner(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.init(project: manifest.project, stackFile: manifest.stackFileURL, runner: runner, environment: environment)
        budget = WaitBudget(manifest: manifest).explanation
    }

    var label: String { "label=com.docker.stack.namespace=\(project)" }

    /// A service's full Swarm name (`<project>_<service>`).
    public func serviceName(_ service: String) -> String { "\(project)_\(service)" }

    func docker(_ arguments: [String], timeout: TimeInterval = 60) async throws -> CommandResult {
        let result = try await runner.run(["docker"] + arguments, timeout: timeout)
        if result.timedOut { throw RuntimeError.commandTimedOut(command: result.commandLine, seconds: Int(timeout)) }
        return result
    }

    func check(_ result: CommandResult) throws {
        guard !result.succeeded else { return }
        throw RuntimeError.commandFailed(
            command: result.commandLine, status: result.status, output: result.outputTail())
    }

    func lines(_ result: CommandResult) throws -> [String] {
        try check(result)
        return result.stdout.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
    }

    // MARK: Preflight

    /// The daemon answers and this engine is a Swarm manager; otherwise `RuntimeError.notSwarmManager` names the
    /// `docker swarm init` command to run.
    public func preflight() async throws {
        _ = try await ComposeDetector(runner: runner, environment: environment).checkDaemon()
        let result = try await docker(
            ["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"], timeout: 20)
        let words = try lines(result).first?.split(separator: " ").map(String.init) ?? []
        let state = words.first ?? "unknown", manager = words.dropFirst().first == "true"
        if state != "active" || !manager {
            throw RuntimeError.notSwarmManager(state: manager ? state : (state == "active" ? "a worker" : state))
        }
    }

    public func ensureImages(_ images: [String]) async throws {
        for image in Set(images).sorted() {
            if try await docker(["image", "inspect", "--format", "{{.Id}}", image]).succeeded { continue }
            let pull = try await docker(["pull", image], timeout: commandTimeout)
            if !pull.succeeded { throw RuntimeError.imageMissing(image: image, detail: pull.outputTail(lines: 2)) }
        }
    }

    /// The reference that names exactly the image `image` names on this node: `name:tag@sha256:…` from its registry
    /// digest (`docker image inspect` `RepoDigests`, the entry of the same repository), `image` itself when it already
    /// carries a digest, nil when it has none (a local build, or a tag never pulled from or pushed to a registry: each
    /// node then runs its own copy of the tag).
    public func digestReference(_ image: String) async throws -> String? {
        if image.contains("@sha256:") { return image }
        let result = try await docker(["image", "inspect", "--format", "{{json .RepoDigests}}", image])
        try check(result)
        guard let digests = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String] else {
            throw RuntimeError.unreadableAnswer(
                command: result.commandLine, detail: "expected a JSON array of repository digests")
        }
        let repository = Self.repository(of: image)
        for entry in digests {
            let parts = entry.split(separator: "@", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[1].hasPrefix("sha256:"), Self.repository(of: parts[0]) == repository else {
                continue
            }
            return "\(image)@\(parts[1])"
        }
        return nil
    }

    /// An image reference's repository without its tag or digest, Docker Hub's implicit prefixes removed
    /// (`docker.io/library/nginx:1.27` → `nginx`), so a reference and its `RepoDigests` entry compare.
    static func repository(of image: String) -> String {
        var name = String(image.split(separator: "@", maxSplits: 1).first ?? "")
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") { name = String(name[..<colon]) }
        for prefix in ["docker.io/", "index.docker.io/"] where name.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count))
        }
        if name.hasPrefix("library/") { name = String(name.dropFirst("library/".count)) }
        return name
    }

    /// How many nodes the swarm has (`docker node ls`).
    public func nodeCount() async throws -> Int {
        try lines(try await docker(["node", "ls", "-q"])).count
    }

    public func imageUser(_ image: String) async throws -> String? {
        let result = try await docker(["image", "inspect", "--format", "{{.Config.User}}", image])
        guard result.succeeded else { return nil }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Lifecycle

    /// `docker stack deploy`: creates the stack or updates what changed, then, for every service that existed
    /// before, waits until Swarm finished its rolling update. An update Swarm rolled back or paused (a replica failed
    /// its health check within update_config.monitor) throws `RuntimeError.swarmRolledBack` with Swarm's message and
    /// the failed tasks, their nodes and errors. New services are waited for by their task states (`HealthWaiter`).
    public func up() async throws {
        try await up(until: Date().addingTimeInterval(commandTimeout))
    }

    /// `up()` with the action's one deadline: the stack deploy and the wait for the rolling update end by `deadline`
    /// (the health wait that follows shares it), so `--timeout` bounds the whole action, not each step.
    public func up(until deadline: Date) async throws {
        var before: [String: ServiceState] = [:]
        for service in try await services() {
            if let state = try await serviceState(serviceName(service.name)) { before[service.name] = state }
        }
        // --detach: swiftdeploy waits itself; the config file is read relative to the stack file.
        let left = max(deadline.timeIntervalSinceNow, 10)
        try check(
            try await docker(
                [
                    "stack", "deploy", "--detach=true", "--prune", "--resolve-image", resolveImage, "-c",
                    stackFile.path, project,
                ],
                timeout: left))
        try await waitForUpdates(since: before, until: deadline)
        await pruneConfigs()
    }

    /// Removes the stack's configs no service uses any more: each changed nginx.conf is a new config (configs are
    /// immutable) and `stack deploy --prune` prunes services, not configs, so they piled up deploy after deploy. A
    /// config still in use (a task not yet replaced) is refused by Docker and left for the next deploy.
    func pruneConfigs() async {
        guard let configs = try? lines(try await docker(["config", "ls", "-q", "--filter", label])),
            !configs.isEmpty,
            let ids = try? lines(try await docker(["service", "ls", "-q", "--filter", label]))
        else { return }
        var used: Set<String> = []
        if !ids.isEmpty {
            guard let result = try? await docker(["service", "inspect"] + ids), result.succeeded,
                let array = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
            else { return }
            for service in array {
                let spec =
                    ((service["Spec"] as? [String: Any])?["TaskTemplate"] as? [String: Any])?["ContainerSpec"]
                    as? [String: Any]
                for config in spec?["Configs"] as? [[String: Any]] ?? [] {
                    if let id = config["ConfigID"] as? String { used.insert(id) }
                }
            }
        }
        for config in configs where !used.contains(where: { $0.hasPrefix(config) || config.hasPrefix($0) }) {
            _ = try? await docker(["config", "rm", config])
        }
    }

    /// Deploys the changed stack file (a new mode, a new image) and waits for its rolling update: see `up()`.
    public func recreate(service: String) async throws {
        try await up()
    }

    public func recreate(service: String, until deadline: Date) async throws {
        try await up(until: deadline)
    }

    /// Waits until every service that existed before the deploy runs its current spec: each task Swarm wants
    /// running carries the service's container spec, and no update is in progress. How long Swarm takes to start
    /// an update does not matter (an old task still running means "not yet", never "nothing to do"). An update
    /// Swarm rolled back or paused throws `swarmRolledBack`; a service the deploy pruned is not waited for.
    func waitForUpdates(since before: [String: ServiceState], until deadline: Date? = nil) async throws {
        let started = Date()
        let deadline = deadline ?? started.addingTimeInterval(commandTimeout)
        var pending = Set(before.keys)
        var states: [String: String] = [:]
        while !pending.isEmpty {
            for service in pending.sorted() {
                let name = serviceName(service)
                guard let now = try await serviceState(name) else {
                    pending.remove(service)
                    continue
                }  // pruned
                let previous = before[service]
                if let update = now.update, update != previous?.update {
                    states[service] = update.state
                    switch update.state {
                    case "rollback_completed", "rollback_paused", "paused":
                        throw await RuntimeError.swarmRolledBack(
                            service: name, state: update.state, message: update.message,
                            tasks: failedTaskLines(service: service))
                    case "completed": break
                    default: continue  // updating, rollback_started: Swarm is still at it
                    }
                } else if let update = now.update, ["updating", "rollback_started"].contains(update.state) {
                    states[service] = update.state
                    continue  // an update started before this deploy is still running
                }
                if try await tasksRunSpec(of: name, spec: now.containerSpec) {
                    pending.remove(service)
                } else {
                    states[service] = states[service] ?? "update not started yet"
                }
            }
            if pending.isEmpty { return }
            if Date() >= deadline {
                let still = pending.sorted().map { "\(serviceName($0)) (\(states[$0] ?? "old tasks still running"))" }
                throw await RuntimeError.swarmUpdateTimedOut(
                    seconds: Int(Date().timeIntervalSince(started).rounded()), services: still,
                    tasks: failedTaskLines(), budget: budget)
            }
            try await Task.sleep(nanoseconds: UInt64(pollInterval * 1_000_000_000))
        }
    }

    struct UpdateStatus: Equatable {
        var state: String
        var message: String
        var startedAt: String
    }

    /// A service's container spec (canonical JSON) and its last update.
    struct ServiceState: Equatable {
        var containerSpec: Data
        var update: UpdateStatus?
    }

    /// `docker service inspect`: the service's container spec and `UpdateStatus`; nil when no such service exists.
    func serviceState(_ name: String) async throws -> ServiceState? {
        let result = try await docker(["service", "inspect", name])
        if !result.succeeded, (result.stderr + result.stdout).lowercased().contains("no such service") { return nil }
        try check(result)
        guard let array = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]],
            let object = array.first,
            let spec = ((object["Spec"] as? [String: Any])?["TaskTemplate"] as? [String: Any])?["ContainerSpec"]
                as? [String: Any]
        else {
            throw RuntimeError.unreadableAnswer(
                command: result.commandLine, detail: "expected a service with Spec.TaskTemplate.ContainerSpec")
        }
        var update: UpdateStatus?
        if let status = object["UpdateStatus"] as? [String: Any] {
            update = UpdateStatus(
                state: status["State"] as? String ?? "", message: status["Message"] as? String ?? "",
                startedAt: status["StartedAt"] as? String ?? "")
        }
        return ServiceState(containerSpec: try Self.canonical(spec), update: update)
    }

    /// True when the service has tasks Swarm wants running and every one carries `spec` as its container spec.
    func tasksRunSpec(of name: String, spec: Data) async throws -> Bool {
        let ids = try await lines(
            try docker(["service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", name]))
        if ids.isEmpty { return false }
        let inspect = try await docker(["inspect", "--type", "task"] + ids)
        try check(inspect)
        guard let array = try? JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]] else {
            throw RuntimeError.unreadableAnswer(command: inspect.commandLine, detail: "expected a JSON array of tasks")
        }
        for task in array {
            guard let taskSpec = (task["Spec"] as? [String: Any])?["ContainerSpec"] as? [String: Any] else {
                throw RuntimeError.unreadableAnswer(
                    command: inspect.commandLine, detail: "a task without Spec.ContainerSpec")
            }
            if try Self.canonical(taskSpec) != spec { return false }
        }
        return true
    }

    /// The container-spec fields a deploy changes (the mode and version in `Env`, the image, nginx's config), in
    /// canonical JSON. A task's copy of the spec is not byte-equal to the service's (the engine leaves
    /// `StopGracePeriod` out of a task's), so only these fields are compared.
    static let comparedFields = ["Image", "Env", "Args", "Command", "User", "Configs", "Healthcheck"]

    static func canonical(_ object: [String: Any]) throws -> Data {
        try JSONSerialization.data(
            withJSONObject: object.filter { comparedFields.contains($0.key) }, options: [.sortedKeys])
    }

    /// Sends SIGHUP to the service's containers on this node (nginx reloads; it also re-resolves tasks.<service>
    /// every 10 seconds by itself).
    public func reload(service: String) async throws {
        for id in try await localContainers(service: service) {
            try await check(try docker(["kill", "-s", "HUP", id]))
        }
    }

    /// `docker stack rm`, then waits until no service, task container, network, volume or config of the stack remains.
    /// A network still in use while the tasks stop makes `stack rm` fail; once the tasks are gone, what is left with
    /// the stack's label is removed by id (volumes too: `stack rm` keeps them, as `down -v` on Compose does not). The
    /// wait ends early when a round removes nothing while nothing is running any more (it spun the whole 120 s on a
    /// volume it never removed). What still remains is for the caller to report.
    public func down() async throws {
        let result = try await docker(["stack", "rm", project], timeout: commandTimeout)
        let removeFailed =
            !result.succeeded && !(result.stderr + result.stdout).lowercased().contains("nothing found in stack")
        let deadline = Date().addingTimeInterval(min(commandTimeout, 120))
        var rest = try await leftovers()
        var fruitless = 0
        while !rest.isEmpty, Date() < deadline {
            if rest.services.isEmpty, rest.containers.isEmpty {
                if !rest.networks.isEmpty { _ = try await docker(["network", "rm"] + rest.networks) }
                if !rest.configs.isEmpty { _ = try await docker(["config", "rm"] + rest.configs) }
                if !rest.volumes.isEmpty { _ = try await docker(["volume", "rm"] + rest.volumes) }
            }
            try await Task.sleep(nanoseconds: UInt64(pollInterval * 1_000_000_000))
            let now = try await leftovers()
            // Nothing runs and a round of removals changed nothing several times: waiting longer will not help.
            fruitless = now == rest && now.services.isEmpty && now.containers.isEmpty ? fruitless + 1 : 0
            rest = now
            if fruitless >= 5 { break }
        }
        if removeFailed, !rest.isEmpty { try check(result) }
    }

    /// Removes one service of the stack (`docker service rm <project>_<service>`); the others keep running.
    public func remove(service: String) async throws {
        let result = try await docker(["service", "rm", serviceName(service)])
        if !result.succeeded, !(result.stderr + result.stdout).contains("not found") { try check(result) }
    }

    /// Runs a command in one of the service's containers on this node (`docker exec`).
    public func exec(service: String, command: [String]) async throws -> CommandResult {
        try await exec(service: service, command: command, timeout: 60)
    }

    /// `exec(service:command:)` bounded by `timeout` seconds (finding the container and the command itself).
    public func exec(service: String, command: [String], timeout: TimeInterval) async throws -> CommandResult {
        let deadline = Date().addingTimeInterval(timeout)
        guard let id = try await localContainers(service: service, timeout: timeout).first else {
            throw RuntimeError.noLocalTask(service: serviceName(service))
        }
        return try await docker(["exec", id] + command, timeout: max(0.5, deadline.timeIntervalSinceNow))
    }

    /// The ids of the service's running containers on this node.
    func localContainers(service: String, timeout: TimeInterval = 60) async throws -> [String] {
        try await lines(
            try docker(
                [
                    "ps", "-q", "--no-trunc", "--filter", "label=com.docker.swarm.service.name=\(serviceName(service))",
                    "--filter", "status=running",
                ], timeout: timeout))
    }

    // MARK: What runs

    /// Services, task containers (on this node), networks and configs still carrying the stack's label.
    public func leftovers() async throws -> ProjectResources {
        await ProjectResources(
            containers: try lines(try docker(["ps", "-a", "-q", "--filter", label])),
            networks: try lines(try docker(["network", "ls", "-q", "--filter", label])),
            volumes: try lines(try docker(["volume", "ls", "-q", "--filter", label])),
            services: try lines(try docker(["service", "ls", "-q", "--filter", label])),
            configs: try lines(try docker(["config", "ls", "-q", "--filter", label])))
    }

    /// The services of the stack: short name → (full id, desired replicas). A service whose name, id or replica count
    /// (`Spec.Mode.Replicated.Replicas`, a whole number ≥ 0) cannot be read is `unreadableAnswer`: a count guessed
    /// would make the wait for "all replicas running" end early, or never.
    public func services() async throws -> [(name: String, id: String, desired: Int)] {
        let ids = try await lines(try docker(["service", "ls", "-q", "--filter", label]))
        if ids.isEmpty { return [] }
        let result = try await docker(["service", "inspect"] + ids)
        try check(result)
        guard let array = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
            throw RuntimeError.unreadableAnswer(
                command: result.commandLine, detail: "expected a JSON array of services")
        }
        return try array.map { object in
            let spec = object["Spec"] as? [String: Any] ?? [:]
            guard let name = spec["Name"] as? String, !name.isEmpty, let id = object["ID"] as? String, !id.isEmpty
            else {
                throw RuntimeError.unreadableAnswer(
                    command: result.commandLine, detail: "a service without Spec.Name or ID")
            }
            let short = name.hasPrefix(project + "_") ? String(name.dropFirst(project.count + 1)) : name
            let mode = spec["Mode"] as? [String: Any]
            guard let count = (mode?["Replicated"] as? [String: Any])?["Replicas"] as? Int, count >= 0 else {
                let found =
                    mode.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }
                    .map { String(decoding: $0, as: UTF8.self) } ?? "no Spec.Mode"
                throw RuntimeError.unreadableAnswer(
                    command: result.commandLine,
                    detail:
                        """
                        service \(name) has no readable replica count (Spec.Mode.Replicated.Replicas, a whole \
                        number): found \(found); swiftdeploy deploys replicated services only, check it with \
                        'docker service inspect \(name)'
                        """
                )
            }
            return (short, id, count)
        }.sorted { $0.name < $1.name }
    }

    public func replicaTargets() async throws -> [String: Int]? {
        await Dictionary(try services().map { ($0.name, $0.desired) }, uniquingKeysWith: { a, _ in a })
    }

    /// Node id → `hostname (id prefix)`: two nodes may share a hostname.
    func nodeNames() async throws -> [String: String] {
        let result = try await docker(["node", "ls", "--format", "{{.ID}} {{.Hostname}}"])
        var names: [String: String] = [:]
        for line in try lines(result) {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            names[parts[0]] = "\(parts[1]) (\(parts[0].prefix(12)))"
        }
        return names
    }

    /// Every task of the stack Swarm knows (`docker stack ps`), newest first per slot, read from `docker inspect`.
    func tasks() async throws -> [SwarmTask] {
        let list = try await docker(["stack", "ps", "-q", "--no-trunc", project])
        if !list.succeeded, (list.stderr + list.stdout).lowercased().contains("nothing found in stack") { return [] }
        let ids = try lines(list)
        if ids.isEmpty { return [] }
        let inspect = try await docker(["inspect", "--type", "task"] + ids)
        guard inspect.succeeded || inspect.stdout.hasPrefix("[") else {
            try check(inspect)
            return []
        }
        let services = await Dictionary(try services().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let nodes = try await nodeNames()
        return try SwarmTask.parse(inspect.stdout, command: inspect.commandLine, services: services, nodes: nodes)
    }

    /// The tasks Swarm wants running (one per replica), as containers: `state` is the task's state (`running` only
    /// once the container is running and, with a health check, healthy).
    public func containers() async throws -> [ContainerStatus] {
        try await tasks().filter { $0.desiredState == "running" }.map(\.status)
            .sorted { ($0.service, $0.name) < ($1.service, $1.name) }
    }

    /// The nodes the stack's tasks run on now (hostname and id prefix), sorted.
    public func nodesInvolved() async throws -> [String] {
        await Array(Set(try containers().compactMap(\.node))).sorted()
    }

    /// `service.slot on node: state: error` for the service's tasks that ended without being asked to, newest first:
    /// failed, rejected, or `complete` (a replica Swarm stopped because its health check failed ends `complete`,
    /// `finished`, exit 0, with no error of Swarm's). Each carries Swarm's error or message and, when its container is
    /// on this node, what its health check said (`unhealthy: 3 failed checks in a row, the last exit 1: …`).
    public func failedTaskLines(service: String? = nil, limit: Int = 6) async -> [String] {
        guard let tasks = try? await tasks() else { return [] }
        let failed = tasks.filter {
            ["failed", "rejected", "complete"].contains($0.status.state)
                && (service == nil || $0.status.service == service)
        }
        .sorted { ($0.status.startedAt ?? .distantPast) > ($1.status.startedAt ?? .distantPast) }
        .prefix(limit)
        var lines: [String] = []
        for task in failed {
            var line = task.line
            if task.status.lastHealthOutput.isEmpty, !task.message.isEmpty { line += ": \(task.message)" }
            if let container = task.containerID, let health = await healthDetail(container: container) {
                line += " (\(health))"
            }
            lines.append(line)
        }
        return lines
    }

    /// What a task container's health check last said, when it failed at least once: `unhealthy: 3 failed checks in a
    /// row, the last exit 1: <output>`; nil when the container is not on this node, gone, or its checks passed.
    func healthDetail(container: String) async -> String? {
        guard
            let result = try? await docker(
                ["inspect", "--type", "container", "--format", "{{json .State.Health}}", container], timeout: 10),
            result.succeeded,
            let health = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        else { return nil }
        let streak = health["FailingStreak"] as? Int ?? 0
        let status = health["Status"] as? String ?? "unknown"
        guard streak > 0 || status == "unhealthy" else { return nil }
        var text = "\(status): \(streak) failed health check\(streak == 1 ? "" : "s") in a row"
        if let last = (health["Log"] as? [[String: Any]])?.last {
            text += ", the last exit \(last["ExitCode"] as? Int ?? -1)"
            let output =
                (last["Output"] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                .split(whereSeparator: \.isNewline).first.map { String($0.prefix(160)) } ?? ""
            if !output.isEmpty { text += ": \(output)" }
        }
        return text
    }

    public func recentFailures() async -> [String] { await failedTaskLines() }

    public func logs(container: String, lines: Int) async -> String {
        guard
            let result = try? await docker(
                ["service", "logs", "--raw", "--tail", String(lines), container], timeout: 20)
        else { return "" }
        let text = [result.stdout, result.stderr].filter { !$0.isEmpty }.joined(separator: "\n")
        return CommandResult.tail(text, lines: lines)
    }
}

/// One Swarm task as `docker inspect --type task` reports it.
struct SwarmTask {
    var status: ContainerStatus
    var desiredState: String
    /// Its address on the stack's network (for the per-replica metrics route).
    var address: String?
    /// Swarm's message for its current state (`started`, `finished`, …).
    var message: String = ""
    /// Its container's id, once Swarm created one.
    var containerID: String?

    /// `app.2 on vm (k3j2f…): failed: task: non-zero exit (1)`.
    var line: String {
        let detail = status.lastHealthOutput.isEmpty ? "" : ": \(status.lastHealthOutput)"
        return "\(status.name) on \(status.node ?? "no node"): \(status.state)\(detail)"
    }

    static func parse(_ json: String, command: String, services: [String: String], nodes: [String: String]) throws
        -> [SwarmTask]
    {
        guard let array = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] else {
            throw RuntimeError.unreadableAnswer(command: command, detail: "expected a JSON array of tasks")
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return array.map { object in
            let status = object["Status"] as? [String: Any] ?? [:]
            let spec = (object["Spec"] as? [String: Any])?["ContainerSpec"] as? [String: Any] ?? [:]
            var environment: [String: String] = [:]
            for entry in spec["Env"] as? [String] ?? [] {
                if let eq = entry.firstIndex(of: "=") {
                    environment[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
                }
            }
            let service = services[object["ServiceID"] as? String ?? ""] ?? (object["ServiceID"] as? String ?? "?")
            let slot = object["Slot"] as? Int ?? 0
            let nodeID = object["NodeID"] as? String ?? ""
            let containerStatus = status["ContainerStatus"] as? [String: Any] ?? [:]
            var started: Date?
            if let text = status["Timestamp"] as? String {
                let trimmed = text.replacingOccurrences(
                    of: #"(\.[0-9]{3})[0-9]*"#, with: "$1", options: .regularExpression)
                started = formatter.date(from: trimmed)
            }
            let error = (status["Err"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? ""
            let address =
                ((object["NetworksAttachments"] as? [[String: Any]])?.compactMap { attachment -> String? in
                    let network = (attachment["Network"] as? [String: Any])?["Spec"] as? [String: Any]
                    // The ingress network is not the stack's.
                    if (network?["Ingress"] as? Bool) == true { return nil }
                    return (attachment["Addresses"] as? [String])?.first
                }.first).map { String($0.split(separator: "/").first ?? "") }
            var image = spec["Image"] as? String ?? ""
            if let at = image.firstIndex(of: "@") { image = String(image[..<at]) }
            return SwarmTask(
                status: ContainerStatus(
                    id: object["ID"] as? String ?? "", name: "\(service).\(slot)", service: service,
                    state: status["State"] as? String ?? "unknown", health: nil,
                    lastHealthOutput: error.isEmpty ? "" : error, image: image, environment: environment,
                    startedAt: started,
                    restartCount: 0, exitCode: containerStatus["ExitCode"] as? Int ?? 0,
                    node: nodeID.isEmpty ? nil : (nodes[nodeID] ?? String(nodeID.prefix(12)))),
                desiredState: object["DesiredState"] as? String ?? "",
                address: address,
                message: status["Message"] as? String ?? "",
                containerID: (containerStatus["ContainerID"] as? String).flatMap { $0.isEmpty ? nil : $0 })
        }
    }
}
