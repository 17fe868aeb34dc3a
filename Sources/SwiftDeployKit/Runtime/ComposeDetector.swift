import Foundation

/// Finds Compose and checks that the Docker daemon answers, telling the two
/// failures apart: a missing Compose is not a stopped daemon. Detection follows
/// the v2-then-v1 order and runs through the runtime's
/// `CommandRunning` seam and keeps each attempt's reason for `RuntimeError.composeMissing`.
public struct ComposeDetector: Sendable {
    public var runner: any CommandRunning
    /// The environment the daemon address is read from (`DOCKER_HOST`), for messages.
    public var environment: [String: String]

    public init(
        runner: any CommandRunning = SystemCommandRunner(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.runner = runner
        self.environment = environment
    }

    /// `docker compose` (v2) when it answers `version`, else `docker-compose` (v1);
    /// `RuntimeError.composeMissing` naming both attempts when neither does.
    public func detectCompose() async throws -> ComposeCommand {
        let v2Reason: String
        do {
            let result = try await runner.run(["docker", "compose", "version", "--short"], timeout: 20)
            if result.succeeded, let version = Self.version(in: result.stdout) {
                return ComposeCommand(executable: "docker", prefix: ["compose"], version: version)
            }
            v2Reason =
                result.timedOut
                ? "timed out"
                : (result.outputTail(lines: 1).isEmpty ? "exit status \(result.status)" : result.outputTail(lines: 1))
        } catch RuntimeError.programNotFound {
            v2Reason = "docker is not on PATH"
        } catch RuntimeError.cannotStart(_, let detail) {
            v2Reason = "docker cannot start: \(detail)"
        }
        let v1Reason: String
        do {
            let result = try await runner.run(["docker-compose", "version", "--short"], timeout: 20)
            if result.succeeded, let version = Self.version(in: result.stdout) {
                return ComposeCommand(executable: "docker-compose", prefix: [], version: version)
            }
            v1Reason =
                result.timedOut
                ? "timed out"
                : (result.outputTail(lines: 1).isEmpty ? "exit status \(result.status)" : result.outputTail(lines: 1))
        } catch RuntimeError.programNotFound {
            v1Reason = "docker-compose is not on PATH"
        } catch RuntimeError.cannotStart(_, let detail) {
            v1Reason = "docker-compose cannot start: \(detail)"
        }
        throw RuntimeError.composeMissing(v2: v2Reason, v1: v1Reason)
    }

    /// Throws `RuntimeError.daemonUnreachable` (or `programNotFound` for a missing client) unless
    /// `docker info` answers; returns the server version.
    @discardableResult
    public func checkDaemon() async throws -> String {
        let result = try await runner.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout: 20)
        let host = environment["DOCKER_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "unix:///var/run/docker.sock"
        if result.timedOut {
            throw RuntimeError.daemonUnreachable(host: host, detail: "'docker info' did not answer within 20s")
        }
        let version = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // A client without a server prints an empty version (or "<no value>") and an error on stderr.
        guard result.status == 0, !version.isEmpty, version != "<no value>" else {
            let detail = result.outputTail(lines: 2)
            throw RuntimeError.daemonUnreachable(
                host: host, detail: detail.isEmpty ? "'docker info' exited with status \(result.status)" : detail)
        }
        return version
    }

    /// The first version-looking word (`v2.27.0` → `2.27.0`).
    static func version(in text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let range = trimmed.range(of: #"v?[0-9]+\.[0-9]+(\.[0-9]+)?[0-9A-Za-z.+-]*"#, options: .regularExpression)
        else { return nil }
        var word = String(trimmed[range])
        if word.hasPrefix("v") { word.removeFirst() }
        return word
    }
}
