import Foundation

/// A snapshot while waiting for the stack to become healthy, for a progress line.
public struct HealthProgress: Sendable, Equatable {
    public var elapsed: TimeInterval
    public var timeout: TimeInterval
    /// Each expected service with its state (`running, starting`, `missing`, …), in service order.
    public var services: [(name: String, summary: String)]
    /// The last answer of the health URL, once every container is ready.
    public var endpoint: String?

    public static func == (a: HealthProgress, b: HealthProgress) -> Bool {
        a.elapsed == b.elapsed && a.timeout == b.timeout && a.endpoint == b.endpoint
            && a.services.map(\.name) == b.services.map(\.name)
            && a.services.map(\.summary) == b.services.map(\.summary)
    }

    /// `waiting 12s/60s: app running, starting · nginx running, healthy`
    public var line: String {
        var text =
            "waiting \(Int(elapsed))s/\(Int(timeout))s: "
            + services.map { "\($0.name) \($0.summary)" }.joined(separator: " · ")
        if let endpoint { text += " · /healthz \(endpoint)" }
        return text
    }
}

/// Waits until every expected service's container is running and healthy and the
/// health URL answers 200 through nginx; on timeout names the service that is not
/// and includes the tail of its logs.
public struct HealthWaiter: Sendable {
    public var runtime: any ContainerRuntime
    public var probe: any HTTPProbing
    /// The Compose services that must be ready (the app first: it is blamed first on timeout).
    public var services: [String]
    public var healthURL: URL
    public var timeout: TimeInterval
    public var pollInterval: TimeInterval
    /// How many log lines a timeout error carries.
    public var logLines: Int
    /// When the action whose deadline this wait shares began (`timeout` counts from there, and the progress lines and
    /// the timeout error show that); nil: from the start of the wait.
    public var since: Date?

    public init(
        runtime: any ContainerRuntime, probe: any HTTPProbing, services: [String], healthURL: URL,
        timeout: TimeInterval, pollInterval: TimeInterval = 1, logLines: Int = 20, since: Date? = nil
    ) {
        self.since = since
        self.runtime = runtime
        self.probe = probe
        self.services = services
        self.healthURL = healthURL
        self.timeout = timeout
        self.pollInterval = pollInterval
        self.logLines = logLines
    }

    /// Returns the project's containers once all are ready and the health URL answered 200.
    /// Throws `RuntimeError.unhealthy` (with logs) or `.healthEndpointDown` after `timeout`.
    public func wait(progress: @Sendable (HealthProgress) -> Void = { _ in }) async throws -> [ContainerStatus] {
        let start = since ?? Date()
        var lastContainers: [ContainerStatus] = []
        var lastAnswer: HTTPAnswer?
        var lastTargets: [String: Int]?
        while true {
            let elapsed = Date().timeIntervalSince(start)
            let containers = try await runtime.containers()
            lastContainers = containers
            let byService = Dictionary(
                containers.map { ($0.service, $0) }, uniquingKeysWith: { a, b in a.state == "running" ? a : b })
            let expected = services + containers.map(\.service).filter { !services.contains($0) }.sorted()
            let summaries: [(name: String, summary: String)]
            let allReady: Bool
            if let targets = try await runtime.replicaTargets() {
                // Replicas (Swarm): every instance the service wants, each running (and healthy: a Swarm task with a
                // health check is `running` only once healthy).
                lastTargets = targets
                summaries = expected.map { name in
                    (name: name, summary: Self.replicaSummary(containers, service: name, desired: targets[name] ?? 1))
                }
                allReady = expected.allSatisfy {
                    Self.replicasReady(containers, service: $0, desired: targets[$0] ?? 1)
                }
            } else {
                summaries = expected.map { name in (name: name, summary: byService[name]?.summary ?? "not created") }
                allReady = expected.allSatisfy { byService[$0]?.isReady ?? false }
            }
            lastAnswer = nil
            if allReady {
                let answer = await probe.get(healthURL, timeout: min(5, max(1, timeout - elapsed)))
                lastAnswer = answer
                if answer.status == 200 { return containers }
            }
            progress(
                HealthProgress(elapsed: elapsed, timeout: timeout, services: summaries, endpoint: lastAnswer?.summary))
            if elapsed >= timeout { break }
            try await Task.sleep(nanoseconds: UInt64(min(pollInterval, max(0.05, timeout - elapsed)) * 1_000_000_000))
        }
        if let targets = lastTargets {
            let expected = services + lastContainers.map(\.service).filter { !services.contains($0) }.sorted()
            let missing = expected.filter {
                !Self.replicasReady(lastContainers, service: $0, desired: targets[$0] ?? 1)
            }
            if !missing.isEmpty, await ((try? runtime.clusterNodes()) ?? nil) == nil {
                // One host (Compose with replicas): each container not ready by name, with the first one's logs.
                let unready = lastContainers.filter { missing.contains($0.service) && !$0.isReady }
                var logs = ""
                if let first = unready.first { logs = await runtime.logs(container: first.id, lines: logLines) }
                throw RuntimeError.containersNotReady(
                    seconds: Int(timeout),
                    services: missing.map {
                        "\($0) \(Self.replicaSummary(lastContainers, service: $0, desired: targets[$0] ?? 1))"
                    },
                    containers: unready.map {
                        "\($0.name): \($0.summary)\($0.lastHealthOutput.isEmpty ? "" : ": \($0.lastHealthOutput)")"
                    },
                    logContainer: unready.first?.name ?? "", logs: logs)
            }
            if !missing.isEmpty {
                throw RuntimeError.replicasNotReady(
                    seconds: Int(timeout),
                    services: missing.map {
                        "\($0) \(Self.replicaSummary(lastContainers, service: $0, desired: targets[$0] ?? 1))"
                    },
                    tasks: lastContainers.filter { missing.contains($0.service) && !$0.isReady }.map { task in
                        """
                        \(task.name) on \(task.node ?? "no node yet"): \
                        \(task.state)\(task.lastHealthOutput.isEmpty ? "" : ": \(task.lastHealthOutput)")
                        """
                    },
                    failures: await runtime.recentFailures())
            }
        }
        throw await timeoutError(lastContainers, lastAnswer)
    }

    static func replicasReady(_ containers: [ContainerStatus], service: String, desired: Int) -> Bool {
        let tasks = containers.filter { $0.service == service }
        return tasks.filter(\.isReady).count >= desired && tasks.allSatisfy(\.isReady)
    }

    /// `2/3 running`.
    static func replicaSummary(_ containers: [ContainerStatus], service: String, desired: Int) -> String {
        "\(containers.filter { $0.service == service && $0.isReady }.count)/\(desired) running"
    }

    func timeoutError(_ containers: [ContainerStatus], _ answer: HTTPAnswer?) async -> RuntimeError {
        let byService = Dictionary(containers.map { ($0.service, $0) }, uniquingKeysWith: { a, _ in a })
        let expected = services + containers.map(\.service).filter { !services.contains($0) }.sorted()
        if let culprit = expected.first(where: { !(byService[$0]?.isReady ?? false) }) {
            guard let container = byService[culprit] else {
                return .unhealthy(
                    service: culprit, state: "not created", seconds: Int(timeout), health: "",
                    logs: "")
            }
            return .unhealthy(
                service: culprit, state: container.summary, seconds: Int(timeout),
                health: container.lastHealthOutput, logs: await runtime.logs(container: container.id, lines: logLines))
        }
        let app = services.first ?? "app"
        var logs = ""
        if let container = byService[app] { logs = await runtime.logs(container: container.id, lines: logLines) }
        return .healthEndpointDown(
            url: healthURL.absoluteString, seconds: Int(timeout), lastAnswer: answer?.summary ?? "no answer",
            service: app, logs: logs)
    }
}
