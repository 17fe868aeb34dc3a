import Foundation

/// The real container runtime: Compose for the lifecycle (`-p <project> -f docker-compose.yml`),
/// the Docker CLI for inspection, always filtered by the `com.docker.compose.project` label so
/// nothing of another project on the same host is seen or touched.
public struct ComposeRuntime: ContainerRuntime {
    public var project: String
    public var composeFile: URL
    public var runner: any CommandRunning
    public var detector: ComposeDetector
    /// How long one `up`/`down` may take before it is stopped.
    public var commandTimeout: TimeInterval
    /// How many containers a service must have running when it wants more than one (`services.replicas`); a
    /// service not named here wants one. Empty: every service runs one container, and `replicaTargets()` is nil.
    public var desiredReplicas: [String: Int] = [:]

    private let toolBox = ToolBox()

    public init(
        project: String, composeFile: URL, runner: any CommandRunning = SystemCommandRunner(),
        environment: [String: String] = ProcessInfo.processInfo.environment, commandTimeout: TimeInterval = 300
    ) {
        self.project = project
        self.composeFile = composeFile
        self.runner = runner
        self.detector = ComposeDetector(runner: runner, environment: environment)
        self.commandTimeout = commandTimeout
    }

    /// The runtime for a manifest's project and compose file.
    public init(
        manifest: Manifest, runner: any CommandRunning = SystemCommandRunner(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.init(
            project: manifest.project, composeFile: manifest.composeFileURL, runner: runner, environment: environment)
        if manifest.services.replicas > 1 { desiredReplicas = [manifest.services.name: manifest.services.replicas] }
    }

    /// With replicas (`services.replicas` > 1): every service of the project's containers with how many it must run,
    /// the app its replicas and every other service one. Nil with one container per service, as before replicas.
    public func replicaTargets() async throws -> [String: Int]? {
        guard !desiredReplicas.isEmpty else { return nil }
        var targets = await Dictionary(try containers().map { ($0.service, 1) }, uniquingKeysWith: { a, _ in a })
        targets.merge(desiredReplicas) { _, desired in desired }
        return targets
    }

    var label: String { "label=com.docker.compose.project=\(project)" }

    public func preflight() async throws {
        try await detector.checkDaemon()
        _ = try await tool()
    }

    func tool() async throws -> ComposeCommand {
        if let tool = toolBox.tool { return tool }
        let tool = try await detector.detectCompose()
        toolBox.tool = tool
        return tool
    }

    func compose(_ arguments: [String]) async throws -> CommandResult {
        let tool = try await tool()
        let command = [tool.executable] + tool.arguments(project: project, file: composeFile, arguments)
        let result = try await runner.run(command, timeout: commandTimeout)
        if result.timedOut {
            throw RuntimeError.commandTimedOut(command: result.commandLine, seconds: Int(commandTimeout))
        }
        return result
    }

    func docker(_ arguments: [String], timeout: TimeInterval = 60) async throws -> CommandResult {
        let result = try await runner.run(["docker"] + arguments, timeout: timeout)
        if result.timedOut { throw RuntimeError.commandTimedOut(command: result.commandLine, seconds: Int(timeout)) }
        return result
    }

    public func ensureImages(_ images: [String]) async throws {
        for image in Set(images).sorted() {
            let present = try await docker(["image", "inspect", "--format", "{{.Id}}", image])
            if present.succeeded { continue }
            let pull = try await docker(["pull", image], timeout: commandTimeout)
            if !pull.succeeded {
                throw RuntimeError.imageMissing(image: image, detail: pull.outputTail(lines: 2))
            }
        }
    }

    public func imageUser(_ image: String) async throws -> String? {
        let result = try await docker(["image", "inspect", "--format", "{{.Config.User}}", image])
        guard result.succeeded else { return nil }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func up() async throws {
        try await check(try compose(["up", "-d", "--remove-orphans"]))
    }

    public func recreate(service: String) async throws {
        try await check(try compose(["up", "-d", "--no-deps", "--force-recreate", service]))
    }

    public func reload(service: String) async throws {
        try await check(try compose(["kill", "-s", "HUP", service]))
    }

    /// Stops (SIGTERM, 10 s grace) and removes one service's containers, found by label so that it works after the
    /// service left the compose file; the other services keep running.
    public func remove(service: String) async throws {
        let list = try await docker([
            "ps", "-a", "-q", "--no-trunc", "--filter", label,
            "--filter", "label=com.docker.compose.service=\(service)",
        ])
        try check(list)
        let ids = list.stdout.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        if ids.isEmpty { return }
        try await check(try docker(["stop", "--time", "10"] + ids))
        try await check(try docker(["rm", "-f", "-v"] + ids))
    }

    /// `exec -T <service> <command>`: the command's result, whatever its exit status.
    public func exec(service: String, command: [String]) async throws -> CommandResult {
        try await compose(["exec", "-T", service] + command)
    }

    public func down() async throws {
        // Compose needs the file; without it (or when it no longer parses) the labels still find everything.
        // A failed `down` is not reported when the label sweep then leaves nothing behind.
        if FileManager.default.fileExists(atPath: composeFile.path) {
            _ = try await compose(["down", "-v", "--remove-orphans", "--timeout", "10"])
        }
        try await removeLeftovers()
    }

    /// Removes whatever still carries the project label: containers first, then networks and volumes.
    func removeLeftovers() async throws {
        let rest = try await leftovers()
        if !rest.containers.isEmpty { try await check(try docker(["rm", "-f", "-v"] + rest.containers)) }
        if !rest.networks.isEmpty { try await check(try docker(["network", "rm"] + rest.networks)) }
        if !rest.volumes.isEmpty { try await check(try docker(["volume", "rm", "-f"] + rest.volumes)) }
    }

    public func leftovers() async throws -> ProjectResources {
        func ids(_ arguments: [String]) async throws -> [String] {
            let result = try await docker(arguments)
            try check(result)
            return result.stdout.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        }
        return await ProjectResources(
            containers: try ids(["ps", "-a", "-q", "--filter", label]),
            networks: try ids(["network", "ls", "-q", "--filter", label]),
            volumes: try ids(["volume", "ls", "-q", "--filter", label]))
    }

    public func containers() async throws -> [ContainerStatus] {
        let list = try await docker(["ps", "-a", "-q", "--no-trunc", "--filter", label])
        try check(list)
        let ids = list.stdout.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        if ids.isEmpty { return [] }
        let inspect = try await docker(["inspect"] + ids)
        // A container removed between ps and inspect makes inspect exit 1 with the others still printed.
        guard inspect.succeeded || inspect.stdout.hasPrefix("[") else {
            try check(inspect)
            return []
        }
        return try Self.parseInspect(inspect.stdout, command: inspect.commandLine)
            .sorted { ($0.service, $0.name) < ($1.service, $1.name) }
    }

    public func logs(container: String, lines: Int) async -> String {
        guard let result = try? await docker(["logs", "--tail", String(lines), container], timeout: 20) else {
            return ""
        }
        // docker logs writes the container's stderr to its own stderr: keep both, in that order.
        let text = [result.stdout, result.stderr].filter { !$0.isEmpty }.joined(separator: "\n")
        return CommandResult.tail(text, lines: lines)
    }

    /// Throws the most specific `RuntimeError` for a failed command.
    func check(_ result: CommandResult) throws {
        guard !result.succeeded else { return }
        let output = result.stderr + "\n" + result.stdout
        if let port = Self.takenPort(in: output) {
            throw RuntimeError.portTaken(
                port: port,
                detail: Self.matchingLine(in: output, containing: ["already allocated", "address already in use"]))
        }
        if let image = Self.missingImage(in: output) {
            throw RuntimeError.imageMissing(
                image: image,
                detail: Self.matchingLine(
                    in: output, containing: ["pull access denied", "not found", "No such image", "manifest unknown"]))
        }
        throw RuntimeError.commandFailed(
            command: result.commandLine, status: result.status, output: result.outputTail())
    }

    /// The host port in a Docker bind failure ("Bind for 0.0.0.0:8080 failed: port is already allocated",
    /// "listen tcp4 0.0.0.0:8080: bind: address already in use").
    static func takenPort(in output: String) -> Int? {
        guard output.contains("already allocated") || output.contains("address already in use") else { return nil }
        let patterns = [
            #"Bind for [^ ]*:([0-9]+) failed"#, #"listen tcp[46]? [^ ]*:([0-9]+): bind"#,
            #":([0-9]+): bind: address already in use"#,
        ]
        for pattern in patterns {
            if let regex = try? NSRegularExpression(pattern: pattern),
                let match = regex.firstMatch(in: output, range: NSRange(output.startIndex..., in: output)),
                let range = Range(match.range(at: 1), in: output), let port = Int(output[range])
            {
                return port
            }
        }
        return nil
    }

    /// The image named in a pull failure, when the output is one.
    static func missingImage(in output: String) -> String? {
        let patterns = [
            #"pull access denied for ([^ ,]+)"#, #"No such image: ([^ \n]+)"#, #"manifest for ([^ ]+) not found"#,
            #"Error response from daemon: [^\n]*repository ([^ ]+) not found"#,
        ]
        for pattern in patterns {
            if let regex = try? NSRegularExpression(pattern: pattern),
                let match = regex.firstMatch(in: output, range: NSRange(output.startIndex..., in: output)),
                let range = Range(match.range(at: 1), in: output)
            {
                return String(output[range])
            }
        }
        return nil
    }

    static func matchingLine(in output: String, containing needles: [String]) -> String {
        let lines = output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        return lines.first { line in needles.contains { line.contains($0) } } ?? CommandResult.tail(output, lines: 1)
    }

    /// Reads `docker inspect` JSON into container states.
    static func parseInspect(_ json: String, command: String) throws -> [ContainerStatus] {
        guard let data = json.data(using: .utf8),
            let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else {
            throw RuntimeError.unreadableAnswer(command: command, detail: "expected a JSON array of containers")
        }
        let dateFormatter = ISO8601DateFormatter()
        dateFormatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plainFormatter = ISO8601DateFormatter()
        return array.map { object -> ContainerStatus in
            let config = object["Config"] as? [String: Any] ?? [:]
            let state = object["State"] as? [String: Any] ?? [:]
            let labels = config["Labels"] as? [String: String] ?? [:]
            var environment: [String: String] = [:]
            for entry in config["Env"] as? [String] ?? [] {
                if let eq = entry.firstIndex(of: "=") {
                    environment[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
                }
            }
            let health = state["Health"] as? [String: Any]
            let probes = health?["Log"] as? [[String: Any]] ?? []
            let lastOutput = (probes.last?["Output"] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            // Docker reports nanoseconds; the formatter takes at most milliseconds.
            var started: Date?
            if let text = state["StartedAt"] as? String, !text.hasPrefix("0001") {
                let trimmed = text.replacingOccurrences(
                    of: #"(\.[0-9]{3})[0-9]*"#, with: "$1", options: .regularExpression)
                started = dateFormatter.date(from: trimmed) ?? plainFormatter.date(from: trimmed)
            }
            var name = object["Name"] as? String ?? ""
            if name.hasPrefix("/") { name.removeFirst() }
            // The app's containers are on the project's one network; a stopped container has no address.
            let networks = (object["NetworkSettings"] as? [String: Any])?["Networks"] as? [String: Any] ?? [:]
            let address = networks.keys.sorted().compactMap {
                ((networks[$0] as? [String: Any])?["IPAddress"] as? String)
            }
            .first { !$0.isEmpty }
            var status = ContainerStatus(
                id: object["Id"] as? String ?? "",
                name: name,
                service: labels["com.docker.compose.service"] ?? name,
                state: state["Status"] as? String ?? "unknown",
                health: health?["Status"] as? String,
                lastHealthOutput: lastOutput,
                image: config["Image"] as? String ?? "",
                environment: environment,
                startedAt: started,
                restartCount: object["RestartCount"] as? Int ?? 0,
                exitCode: state["ExitCode"] as? Int ?? 0)
            status.address = address
            return status
        }
    }
}

/// Remembers the detected Compose tool for the runtime's lifetime (detection runs a subprocess).
private final class ToolBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: ComposeCommand?

    var tool: ComposeCommand? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return stored
        }
        set {
            lock.lock()
            stored = newValue
            lock.unlock()
        }
    }
}
