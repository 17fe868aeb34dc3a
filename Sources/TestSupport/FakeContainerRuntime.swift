import Foundation
import SwiftDeployKit

/// An in-memory container engine for workflow tests: `up` creates one container per
/// service, `recreate` replaces one with the mode of the manifest on disk, `down`
/// removes everything. Every call is logged in `calls`. Its behaviour follows what
/// `ComposeRuntime` does on a real engine (covered by the Docker end-to-end tests).
public final class FakeContainerRuntime: ContainerRuntime, @unchecked Sendable {
    private let lock = NSLock()
    private var state: [String: ContainerStatus] = [:]
    private var log: [String] = []
    private var networks: [String] = []

    public let services: [String]
    /// Reads the mode the app would start in (the manifest on disk after an edit).
    public let modeOnDisk: @Sendable () -> String
    /// Modes whose app container never becomes healthy.
    public var unhealthyModes: Set<String> = []
    /// Thrown by `preflight` when set.
    public var preflightError: RuntimeError?
    /// Thrown by `up` when set.
    public var upError: RuntimeError?
    /// Seconds `up` and `recreate` take (a slow engine, Swarm's rolling update).
    public var upDelay: TimeInterval = 0
    /// Thrown by `recreate(service:)` for the service named (a rolling update the runtime rolled back, say).
    public var recreateErrors: [String: RuntimeError] = [:]
    /// The `USER` of each image (default: a non-root `10001:10001`).
    public var imageUsers: [String: String] = [:]

    public func imageUser(_ image: String) async throws -> String? { imageUsers[image] ?? "10001:10001" }

    public init(services: [String] = ["app", "nginx"], modeOnDisk: @escaping @Sendable () -> String) {
        self.services = services
        self.modeOnDisk = modeOnDisk
    }

    public var calls: [String] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }

    func note(_ call: String) {
        lock.lock()
        log.append(call)
        lock.unlock()
    }

    private func container(_ service: String, mode: String) -> ContainerStatus {
        let healthy = !(service == services.first && unhealthyModes.contains(mode))
        return ContainerStatus(
            id: "\(service)-\(UUID().uuidString.prefix(6))", name: "p-\(service)-1", service: service,
            state: "running", health: healthy ? "healthy" : "unhealthy",
            lastHealthOutput: healthy ? "" : "GET /healthz: 503",
            environment: service == services.first ? ["MODE": mode, "APP_VERSION": "0.1.0"] : [:],
            startedAt: Date())
    }

    public func preflight() async throws {
        note("preflight")
        if let preflightError { throw preflightError }
    }

    public func ensureImages(_ images: [String]) async throws { note("ensureImages \(images.joined(separator: " "))") }

    public func up() async throws {
        note("up")
        if upDelay > 0 { try await Task.sleep(nanoseconds: UInt64(upDelay * 1_000_000_000)) }
        if let upError { throw upError }
        let mode = modeOnDisk()
        lock.withLock {
            for service in services where state[service] == nil { state[service] = container(service, mode: mode) }
            networks = ["p_default"]
        }
    }

    public func recreate(service: String) async throws {
        note("recreate \(service)")
        if upDelay > 0 { try await Task.sleep(nanoseconds: UInt64(upDelay * 1_000_000_000)) }
        if let error = recreateErrors[service] { throw error }
        let mode = modeOnDisk()
        lock.withLock { state[service] = container(service, mode: mode) }
    }

    public func reload(service: String) async throws { note("reload \(service)") }

    public func down() async throws {
        note("down")
        lock.withLock {
            state = [:]
            networks = []
        }
    }

    public func containers() async throws -> [ContainerStatus] {
        lock.withLock { state.values.sorted { $0.service < $1.service } }
    }

    public func logs(container: String, lines: Int) async -> String { "log line of \(container)" }

    public func leftovers() async throws -> ProjectResources {
        lock.withLock { ProjectResources(containers: state.values.map(\.id).sorted(), networks: networks) }
    }

    /// What `cat <path>` inside a container shows, by path: the host file a bind mount maps there
    /// (`/etc/nginx/nginx.conf` → the project's nginx.conf).
    public var mountedFiles: [String: URL] = [:]
    /// Commands (joined by spaces) that fail when run with `exec`, with their stderr.
    public var failingCommands: [String: String] = [:]

    /// `rm -s -f <service>`: the service's container is gone, the others untouched.
    public func remove(service: String) async throws {
        note("remove \(service)")
        lock.withLock { state[service] = nil }
    }

    /// Runs nothing: `cat <path>` answers the file `mountedFiles` maps there; a command of `failingCommands` fails;
    /// anything else (`nginx -t -q`, `nginx -s reload`) succeeds. Logged as `exec <service> <command>`.
    public func exec(service: String, command: [String]) async throws -> CommandResult {
        let line = command.joined(separator: " ")
        note("exec \(service) \(line)")
        let shown = "docker compose exec \(service) \(line)"
        if let stderr = failingCommands[line] {
            return CommandResult(commandLine: shown, status: 1, stdout: "", stderr: stderr)
        }
        if command.count == 2, command[0] == "cat" {
            guard let url = mountedFiles[command[1]], let text = try? String(contentsOf: url, encoding: .utf8) else {
                return CommandResult(
                    commandLine: shown, status: 1, stdout: "", stderr: "cat: \(command[1]): No such file or directory")
            }
            return CommandResult(commandLine: shown, status: 0, stdout: text, stderr: "")
        }
        return CommandResult(commandLine: shown, status: 0, stdout: "", stderr: "")
    }

    /// The app's current container.
    public var app: ContainerStatus? {
        lock.lock()
        defer { lock.unlock() }
        return services.first.flatMap { state[$0] }
    }
}

/// Answers like nginx in front of the demo app: the health URL is 200 when every container of
/// `runtime` is ready; any other URL answers the app's `GET /` (X-Mode in canary, `mode` in the body).
public struct FakeHTTPProbe: HTTPProbing {
    public let runtime: FakeContainerRuntime
    public init(runtime: FakeContainerRuntime) { self.runtime = runtime }

    public func get(_ url: URL, timeout: TimeInterval) async -> HTTPAnswer {
        let containers = await (try? runtime.containers()) ?? []
        if url.path == "/healthz" {
            let ready = !containers.isEmpty && containers.allSatisfy(\.isReady)
            return ready ? HTTPAnswer(status: 200, body: "{\"status\":\"ok\"}") : HTTPAnswer(status: 502)
        }
        guard let app = runtime.app, app.isReady else { return HTTPAnswer(status: 502) }
        let mode = app.environment["MODE"] ?? "stable"
        return HTTPAnswer(
            status: 200, headers: mode == "canary" ? ["x-mode": "canary"] : [:],
            body: "{\"mode\":\"\(mode)\",\"version\":\"0.1.0\"}")
    }
}

/// Writes marker files where the generator would, recording each manifest rendered.
public final class FakeRenderer: ConfigRendering, @unchecked Sendable {
    private let lock = NSLock()
    private var rendered: [Manifest] = []

    public init() {}

    public var manifests: [Manifest] {
        lock.lock()
        defer { lock.unlock() }
        return rendered
    }

    public func render(_ manifest: Manifest) throws -> [URL] {
        if let failure { throw failure }
        lock.lock()
        rendered.append(manifest)
        lock.unlock()
        for file in generatedFiles(for: manifest) {
            try Data("# rendered for mode \(manifest.services.mode.rawValue)\n".utf8).write(to: file)
        }
        return generatedFiles(for: manifest)
    }

    /// Thrown by `prepare` (and `render`) when set.
    public var failure: RenderError?

    public func prepare(_ manifest: Manifest) throws {
        if let failure { throw failure }
    }

    public func generatedFiles(for manifest: Manifest) -> [URL] { [manifest.nginxConfigURL, manifest.composeFileURL] }
}
