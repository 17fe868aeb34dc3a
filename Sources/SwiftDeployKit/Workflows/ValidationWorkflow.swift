import Foundation
import Rego

/// One line of `swiftdeploy validate`.
public struct ValidationCheck: Sendable, Equatable {
    public enum Status: String, Sendable { case pass = "PASS", fail = "FAIL", skip = "SKIP" }

    public var name: String
    public var status: Status
    /// Why it passed, failed or was skipped.
    public var detail: String

    public init(_ name: String, _ status: Status, _ detail: String) {
        self.name = name
        self.status = status
        self.detail = detail
    }
}

/// What `validate` found, and whether the history could record it.
public struct ValidationReport: Sendable {
    public var checks: [ValidationCheck]
    /// The manifest, when it loaded (an invalid manifest is a failed check, and then nothing is recorded).
    public var manifest: Manifest?
    /// Why the history could not record the run, when it could not.
    public var recordingProblem: String?

    /// Whether any check failed (`validate` then exits 1).
    public var failed: Bool { checks.contains { $0.status == .fail } }
}

/// `swiftdeploy validate`: the checks, in order, each PASS, FAIL or SKIP with its reason (SKIP only where the check
/// cannot run here: no Docker, no nginx); then, when the manifest loaded, the outcome in its history.
public struct ValidationWorkflow: Sendable {
    public let manifestURL: URL
    public let displayPath: String
    public let runner: any CommandRunning
    /// The history of a manifest that loaded.
    public let recorder: @Sendable (Manifest) -> any LifecycleRecording

    public init(
        manifestURL: URL, displayPath: String, runner: any CommandRunning = SystemCommandRunner(),
        recorder: @escaping @Sendable (Manifest) -> any LifecycleRecording = { HistoryRecorder(manifest: $0) }
    ) {
        self.manifestURL = manifestURL
        self.displayPath = displayPath
        self.runner = runner
        self.recorder = recorder
    }

    /// Runs every check that can run, then records the outcome (`validate`, `ok` or `failed` naming the failed
    /// checks, `details.checks`: the count of each status). A history that cannot be written is reported, not thrown.
    public func run() async -> ValidationReport {
        let (checks, manifest) = await runChecks()
        guard let manifest else { return ValidationReport(checks: checks, manifest: nil) }
        var report = ValidationReport(checks: checks, manifest: manifest)
        let failing = checks.filter { $0.status == .fail }.map(\.name)
        let counts = Dictionary(grouping: checks, by: \.status.rawValue).mapValues { JSONValue.int(Int64($0.count)) }
        let record = LifecycleRecord(
            event: .validate, outcome: report.failed ? "failed" : "ok",
            message: report.failed ? "failed: \(failing.joined(separator: ", "))" : "all checks passed or skipped",
            modeBefore: manifest.services.mode, modeAfter: manifest.services.mode, details: ["checks": .object(counts)])
        report.recordingProblem = await recorder(manifest).recordReportingProblem(record, manifest: manifest)
        return report
    }

    /// Runs every check that can run. When the manifest itself is invalid, the
    /// checks that depend on it are reported as SKIP with that reason.
    func runChecks() async -> (checks: [ValidationCheck], manifest: Manifest?) {
        var checks: [ValidationCheck] = []
        let manifest: Manifest
        do {
            manifest = try ManifestLoader().load(from: manifestURL, displayPath: displayPath)
            checks.append(
                .init("manifest", .pass, "\(displayPath) parses and every field is valid (project \(manifest.project))")
            )
        } catch let error as ManifestError {
            let detail: String
            if case .invalid(let problems) = error {
                detail = problems.map(\.description).joined(separator: "\n")
            } else {
                detail = error.errorDescription ?? "\(error)"
            }
            checks.append(.init("manifest", .fail, detail))
            for name in ["templates", "images", "ports", "nginx -t", "compose config", "policies", "thresholds"] {
                checks.append(.init(name, .skip, "needs a valid manifest"))
            }
            return (checks, nil)
        } catch {
            checks.append(.init("manifest", .fail, "\(error)"))
            return (checks, nil)
        }

        var rendered: RenderedConfig?
        do {
            let templates = try TemplateSet.forManifest(manifest)
            rendered = try ConfigRenderer(templates: templates).render(
                manifest, manifestName: manifestURL.lastPathComponent)
            let origin = manifest.templatesDir.map { "the templates in \($0)" } ?? "the built-in templates"
            checks.append(
                .init(
                    "templates", .pass,
                    "nginx.conf and \(manifest.runtimeFileURL.lastPathComponent) render from \(origin)"))
        } catch {
            checks.append(.init("templates", .fail, (error as? LocalizedError)?.errorDescription ?? "\(error)"))
        }

        let docker = await DockerProbe.probe(runner: runner)
        checks.append(contentsOf: await imageChecks(manifest, docker: docker))
        await checks.append(contentsOf: portChecks(manifest, docker: docker))
        if let rendered {
            // On Swarm the file is a Go template Swarm renders; nginx runs (and is tested on) its live form.
            checks.append(await nginxCheck(manifest, config: rendered.nginxLive ?? rendered.nginxConf, docker: docker))
            if let stack = rendered.stack {
                checks.append(await stackCheck(manifest, stack: stack, nginxConf: rendered.nginxConf))
                checks.append(swarmSplitCheck(manifest))
            } else {
                checks.append(await composeCheck(manifest, compose: rendered.compose, docker: docker))
            }
        } else {
            checks.append(.init("nginx -t", .skip, "the templates did not render"))
            checks.append(.init("compose config", .skip, "the templates did not render"))
        }
        checks.append(contentsOf: PolicyFilesCheck(manifest: manifest).run())
        return (checks, manifest)
    }

    // MARK: images

    private func imageChecks(_ manifest: Manifest, docker: DockerProbe) async -> [ValidationCheck] {
        var images = [manifest.services.image, manifest.nginx.image]
        if manifest.policy.engine == .opa, manifest.policy.opa.url == nil { images.append(manifest.policy.opa.image) }
        guard docker.available else {
            return images.map { .init("image \($0)", .skip, docker.reason) }
        }
        var checks: [ValidationCheck] = []
        for image in images {
            do {
                let result = try await runner.run(
                    ["docker", "image", "inspect", "--format", "{{.Id}}", image], timeout: 30)
                if result.succeeded {
                    checks.append(.init("image \(image)", .pass, "present locally"))
                    continue
                }
                checks.append(
                    .init(
                        "image \(image)", .fail,
                        """
                        not present locally; build it (scripts/build-images builds the sample's images) or \
                        `docker pull \(image)`
                        """
                    ))
            } catch {
                checks.append(
                    .init(
                        "image \(image)", .skip,
                        "docker could not be asked: \((error as? LocalizedError)?.errorDescription ?? "\(error)")"))
            }
        }
        return checks
    }

    // MARK: ports

    private func portChecks(_ manifest: Manifest, docker: DockerProbe) async -> [ValidationCheck] {
        let ports = [
            ("nginx.port", manifest.nginx.port, "0.0.0.0"), ("nginx.admin_port", manifest.nginx.adminPort, "127.0.0.1"),
        ]
        var checks: [ValidationCheck] = []
        for (key, port, host) in ports {
            let name = "\(key) \(port)"
            if PortProbe.isFree(port: port, host: host) {
                checks.append(.init(name, .pass, "free on \(host)"))
                continue
            }
            if docker.available, await docker.projectPublishes(port: port, project: manifest.project, runner: runner) {
                checks.append(.init(name, .pass, "in use by this project's running stack (\(manifest.project))"))
                continue
            }
            checks.append(
                .init(
                    name, .fail,
                    """
                    port \(port) on \(host) is already in use by another process; stop it or change \(key) in the \
                    manifest
                    """
                ))
        }
        return checks
    }

    // MARK: nginx -t

    private func nginxCheck(_ manifest: Manifest, config: String, docker: DockerProbe) async -> ValidationCheck {
        let name = "nginx -t"
        let dir: URL
        do { dir = try Self.scratchDirectory() } catch {
            return .init(
                name, .fail, "could not create a temporary directory for the test: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("nginx.conf")
        do { try Data(config.utf8).write(to: file) } catch {
            return .init(name, .fail, "could not write the test copy of nginx.conf: \(error.localizedDescription)")
        }
        if SystemCommandRunner.locate("nginx", path: ProcessInfo.processInfo.environment["PATH"]) != nil {
            do {
                let result = try await runner.run(
                    ["nginx", "-t", "-q", "-p", dir.path + "/", "-c", file.path], timeout: 30)
                return result.succeeded
                    ? .init(name, .pass, "the generated nginx.conf passes the local nginx's test")
                    : .init(name, .fail, "nginx rejects the generated nginx.conf: \(result.outputTail(lines: 3))")
            } catch {
                return .init(
                    name, .fail,
                    "could not run the local nginx: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
            }
        }
        guard docker.available else {
            return .init(name, .skip, "no local nginx, and \(docker.reason)")
        }
        do {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
            let result = try await runner.run(
                [
                    "docker", "run", "--rm", "--network", "none", "-v", "\(file.path):/etc/nginx/nginx.conf:ro",
                    manifest.nginx.image, "nginx", "-t", "-q",
                ], timeout: 60)
            return result.succeeded
                ? .init(name, .pass, "the generated nginx.conf passes nginx -t inside \(manifest.nginx.image)")
                : .init(
                    name, .fail,
                    "nginx in \(manifest.nginx.image) rejects the generated nginx.conf: \(result.outputTail(lines: 3))")
        } catch {
            return .init(
                name, .fail,
                """
                could not run nginx -t in \(manifest.nginx.image): \
                \((error as? LocalizedError)?.errorDescription ?? "\(error)")
                """
            )
        }
    }

    // MARK: compose config

    private func composeCheck(_ manifest: Manifest, compose: String, docker: DockerProbe) async -> ValidationCheck {
        let name = "compose config"
        guard let command = try? await ComposeDetector(runner: runner).detectCompose() else {
            return .init(name, .skip, "neither 'docker compose' nor 'docker-compose' is installed")
        }
        do {
            let dir = try Self.scratchDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("docker-compose.yml")
            try Data(compose.utf8).write(to: file)
            let result = try await runner.run(
                [command.executable] + command.arguments(project: manifest.project, file: file, ["config", "-q"]),
                timeout: 60)
            return result.succeeded
                ? .init(
                    name, .pass, "\(command.displayName) \(command.version) accepts the generated docker-compose.yml")
                : .init(
                    name, .fail,
                    "\(command.displayName) rejects the generated docker-compose.yml: \(result.outputTail(lines: 3))")
        } catch {
            return .init(
                name, .fail,
                """
                could not run \(command.displayName) config: \
                \((error as? LocalizedError)?.errorDescription ?? "\(error)")
                """
            )
        }
    }

    /// `runtime: swarm`: the nginx.conf template is fit for a rollout
    /// (``RolloutWorkflow/swarmSplitProblem(_:manifestName:)``):
    /// the split and the admin location that answers the weight nginx loaded.
    private func swarmSplitCheck(_ manifest: Manifest) -> ValidationCheck {
        do {
            if let problem = try RolloutWorkflow.swarmSplitProblem(
                manifest, manifestName: manifestURL.lastPathComponent)
            {
                return .init("rollout split", .fail, problem)
            }
            return .init(
                "rollout split", .pass,
                "nginx.conf carries the split and the location answering the weight nginx loaded")
        } catch {
            return .init("rollout split", .fail, (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    /// `runtime: swarm`: `docker stack config` (the Docker CLI's own loader and schema for stack files) accepts the
    /// generated docker-stack.yml. It needs the docker CLI only, no swarm.
    private func stackCheck(_ manifest: Manifest, stack: String, nginxConf: String) async -> ValidationCheck {
        let name = "stack config"
        guard SystemCommandRunner.locate("docker", path: ProcessInfo.processInfo.environment["PATH"]) != nil else {
            return .init(name, .skip, "Docker is not installed")
        }
        do {
            let dir = try Self.scratchDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("docker-stack.yml")
            try Data(stack.utf8).write(to: file)
            try Data(nginxConf.utf8).write(to: dir.appendingPathComponent("nginx.conf"))
            let result = try await runner.run(["docker", "stack", "config", "-c", file.path], timeout: 60)
            return !result.succeeded
                ? .init(
                    name, .fail,
                    "docker stack config rejects the generated docker-stack.yml: \(result.outputTail(lines: 3))")
                : .init(name, .pass, "docker stack config accepts the generated docker-stack.yml")
        } catch {
            return .init(
                name, .fail,
                "could not run docker stack config: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
        }
    }

    static func scratchDirectory() throws -> URL {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(
            "swiftdeploy-validate-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Whether Docker can be used here, and why not.
struct DockerProbe {
    let available: Bool
    let reason: String

    static func probe(runner: any CommandRunning) async -> DockerProbe {
        guard SystemCommandRunner.locate("docker", path: ProcessInfo.processInfo.environment["PATH"]) != nil else {
            return DockerProbe(available: false, reason: "Docker is not installed")
        }
        do {
            let result = try await runner.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout: 15)
            return result.succeeded
                ? DockerProbe(
                    available: true, reason: "Docker \(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
                : DockerProbe(
                    available: false, reason: "the Docker daemon is not reachable (\(result.outputTail(lines: 1)))")
        } catch {
            return DockerProbe(
                available: false,
                reason:
                    "the Docker daemon did not answer: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
        }
    }

    /// Whether a running container of `project` publishes `port` on the host.
    func projectPublishes(port: Int, project: String, runner: any CommandRunning) async -> Bool {
        guard
            let result = try? await runner.run(
                ["docker", "ps", "--filter", "label=com.docker.compose.project=\(project)", "--format", "{{.Ports}}"],
                timeout: 15),
            result.succeeded
        else { return false }
        return result.stdout.contains(":\(port)->")
    }
}

/// Whether a TCP port can be bound on this host.
enum PortProbe {
    static func isFree(port: Int, host: String) -> Bool {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(host)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return bound == 0
    }
}

/// `policies/` and `thresholds.json` load: the thresholds are a JSON object of domains, and every module
/// parses and compiles in the embedded Rego engine (tests included) with the thresholds as `data.thresholds`.
struct PolicyFilesCheck {
    let manifest: Manifest

    func run() -> [ValidationCheck] {
        var thresholds: ValidationCheck
        do {
            _ = try PolicyBundle.loadThresholds(manifest.thresholdsURL)
            thresholds = .init("thresholds", .pass, "\(manifest.policy.thresholds) is a valid thresholds document")
        } catch {
            thresholds = .init("thresholds", .fail, Self.describe(error))
        }
        let policies: ValidationCheck
        do {
            let bundle = try PolicyBundle.load(manifest: manifest)
            let data = try RegoValue(
                jsonData: Data(JSONValue.object(["thresholds": bundle.thresholds]).jsonString().utf8))
            _ = try RegoEngine(
                modules: bundle.modules.map {
                    RegoModule(name: "\(manifest.policy.dir)/\($0.name)", source: $0.source)
                }, data: data)
            // The limits are a contract: every key a domain declares, with its type, and nothing else.
            let limitProblems = bundle.allThresholdProblems
            if limitProblems.isEmpty {
                let declared = bundle.contracts.values.reduce(0) { $0 + $1.keys.count }
                thresholds = .init(
                    "thresholds", .pass,
                    """
                    \(manifest.policy.thresholds) matches the \(declared) threshold\(declared == 1 ? "" : "s") \
                    the policies declare
                    """
                )
            } else {
                thresholds = .init("thresholds", .fail, limitProblems.joined(separator: "; "))
            }
            let contractProblems = bundle.domains.flatMap { bundle.contractProblems[$0] ?? [] }
            let count = bundle.modules.count
            if contractProblems.isEmpty {
                policies = .init(
                    "policies", .pass,
                    """
                    \(count) module\(count == 1 ? "" : "s") in \(manifest.policy.dir) compile (domains: \
                    \(bundle.domains.joined(separator: ", ")))
                    """
                )
            } else {
                policies = .init("policies", .fail, contractProblems.joined(separator: "; "))
            }
        } catch let error as RegoError {
            policies = .init(
                "policies", .fail,
                "\(error); fix the policy (`swiftdeploy policy eval -d \(manifest.policy.dir)` shows the same error)")
        } catch {
            policies = .init("policies", .fail, Self.describe(error))
        }
        return [policies, thresholds]
    }

    private static func describe(_ error: Error) -> String {
        (error as? LocalizedError)?.errorDescription ?? "\(error)"
    }
}
