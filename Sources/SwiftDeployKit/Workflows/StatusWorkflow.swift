import Foundation

/// One frame of `swiftdeploy status`.
public struct StatusSnapshot: Sendable {
    public var project: String
    public var takenAt: Date
    /// `services.mode` in manifest.yaml.
    public var manifestMode: DeploymentMode
    /// The mode the running app reports (its `MODE`), nil when it is not running.
    public var runningMode: String?
    /// The app's `APP_VERSION`, when running.
    public var version: String?
    public var containers: [ContainerStatus]
    /// The answer of the health URL through nginx.
    public var endpoint: HTTPAnswer
    /// How long the app container has been running.
    public var uptime: TimeInterval?
    public var figures: Result<StatusFigures, StatusMetricsUnavailable>
    /// Each policy domain's decision (infrastructure, canary).
    public var decisions: [PolicyDecision]
    /// Set when manifest.yaml and the running app disagree about the mode.
    public var drift: String?
    /// The services the manifest expects, for reporting the ones missing.
    public var expectedServices: [String]
    /// Both sides of a running or paused `swiftdeploy rollout`, nil without one.
    public var rollout: RolloutDashboard? = nil
    /// The replicas each service wants, when the runtime schedules replicas (Swarm); nil otherwise.
    public var replicaTargets: [String: Int]? = nil
    /// The cluster's nodes with their state (Swarm), so a node that went down shows beside where its tasks went.
    public var nodes: [ClusterNode]? = nil

    /// `running/desired` of a service on a runtime with replica targets.
    public func replicas(of service: String) -> (running: Int, desired: Int)? {
        guard let targets = replicaTargets else { return nil }
        return (containers.filter { $0.service == service && $0.isReady }.count, targets[service] ?? 0)
    }

    /// Every expected service is running and healthy, and the health URL answers 200.
    public var healthy: Bool {
        let ready = Set(containers.filter(\.isReady).map(\.service))
        let replicasComplete = expectedServices.allSatisfy { name in
            replicas(of: name).map { $0.running >= $0.desired } ?? true
        }
        return expectedServices.allSatisfy(ready.contains) && containers.allSatisfy(\.isReady) && replicasComplete
            && endpoint.status == 200
    }

    /// The frame as a stable JSON document (`status --format json`).
    public var json: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map { .double(($0 * 1000).rounded() / 1000) } ?? .null }
        var metrics: JSONValue
        switch figures {
        case .success(let f):
            metrics = .object([
                "available": .bool(true), "request_rate": number(f.requestRate), "error_rate": number(f.errorRate),
                "p50_ms": number(f.p50Ms), "p95_ms": number(f.p95Ms), "p99_ms": number(f.p99Ms),
                "window_seconds": number(f.windowSeconds),
            ])
        case .failure(let why):
            metrics = .object(["available": .bool(false), "reason": .string(why.reason)])
        }
        let chaos: JSONValue = (try? figures.get().chaos).flatMap { $0.map(JSONValue.string) } ?? .null
        return .object([
            "project": .string(project),
            "taken_at": .string(DeployLock.timestampFormatter.string(from: takenAt)),
            "healthy": .bool(healthy),
            "mode": .object([
                "manifest": .string(manifestMode.rawValue), "running": runningMode.map(JSONValue.string) ?? .null,
            ]),
            "drift": drift.map(JSONValue.string) ?? .null,
            "version": version.map(JSONValue.string) ?? .null,
            "chaos": chaos,
            "uptime_seconds": uptime.map { .int(Int64($0)) } ?? .null,
            "endpoint": .object([
                "status": endpoint.status.map { .int(Int64($0)) } ?? .null, "summary": .string(endpoint.summary),
            ]),
            "services": .array(
                expectedServices.map { name in
                    let container = containers.first { $0.service == name }
                    var service: [String: JSONValue] = [
                        "name": .string(name), "state": .string(container?.state ?? "missing"),
                        "health": container?.health.map(JSONValue.string) ?? .null,
                        "ready": .bool(container?.isReady ?? false),
                    ]
                    if let replicas = replicas(of: name) {
                        service["replicas"] = .object([
                            "running": .int(Int64(replicas.running)), "desired": .int(Int64(replicas.desired)),
                        ])
                        service["tasks"] = .array(
                            containers.filter { $0.service == name }.map { task in
                                .object([
                                    "name": .string(task.name), "node": task.node.map(JSONValue.string) ?? .null,
                                    "state": .string(task.state),
                                    "error": task.lastHealthOutput.isEmpty || task.isReady
                                        ? .null : .string(task.lastHealthOutput),
                                ])
                            })
                    }
                    return .object(service)
                }),
            "metrics": metrics,
            "nodes": nodes.map { .array($0.map(\.json)) } ?? .null,
            "policy": .array(
                decisions.map { d in
                    .object([
                        "domain": .string(d.domain), "verdict": .string(d.verdict.rawValue),
                        "engine": .string(d.engine),
                        "reasons": .array(d.reasons.map(JSONValue.string)),
                        "warnings": .array(d.warnings.map(JSONValue.string)),
                    ])
                }),
            "rollout": rollout?.json ?? .null,
        ])
    }
}

/// `swiftdeploy status`: one frame of the dashboard per call to `snapshot()`, each recorded
/// in the history (event `status`). Never changes the deployment.
public struct StatusWorkflow: Sendable {
    public var context: LifecycleContext
    public var metrics: (any StatusMetricsReading)?
    /// The traffic window of each frame (short, so the dashboard stays live).
    public var window: ManifestDuration
    /// The policy domains shown.
    public var domains: [String]

    public init(
        context: LifecycleContext, metrics: (any StatusMetricsReading)?, window: ManifestDuration,
        domains: [String] = ["infrastructure", "canary"]
    ) {
        self.context = context
        self.metrics = metrics
        self.window = window
        self.domains = domains
    }

    public func snapshot() async throws -> StatusSnapshot {
        let manifest = context.manifest
        try await context.runtime.preflight()
        let containers = try await context.runtime.containers()
        let app = containers.first { $0.service == manifest.services.name && $0.state == "running" }
        let endpoint = await context.probe.get(manifest.adminHealthURL, timeout: 3)
        // The traffic figures and the policy decisions are collected over the same window, concurrently.
        let metrics = self.metrics
        let window = self.window
        async let figuresResult: Result<StatusFigures, StatusMetricsUnavailable> = {
            guard app != nil else { return .failure(StatusMetricsUnavailable("the app is not running")) }
            guard let metrics else {
                return .failure(StatusMetricsUnavailable("no metrics reader in this build of swiftdeploy"))
            }
            return await metrics.figures(for: manifest, window: window)
        }()
        async let decisionsResult = decideAll()
        // On Swarm each side of a rollout is read from every replica, through nginx reached with docker exec.
        let sides: (any RolloutSideReading)? = (context.runtime as? SwarmRuntime).map {
            SwarmRolloutSides(manifest: manifest, runtime: $0)
        }
        async let rolloutResult = RolloutDashboard.collect(
            manifest: manifest, containers: containers, window: window, sides: sides)
        let figures = await figuresResult
        let decisions = await decisionsResult
        var snapshot = StatusSnapshot(
            project: manifest.project, takenAt: Date(), manifestMode: manifest.services.mode,
            runningMode: app?.environment["MODE"], version: app?.environment["APP_VERSION"], containers: containers,
            endpoint: endpoint, uptime: app?.startedAt.map { Date().timeIntervalSince($0) }, figures: figures,
            decisions: decisions,
            drift: PromoteWorkflow.drift(manifestMode: manifest.services.mode, running: app?.environment["MODE"]),
            expectedServices: context.expectedServices)
        snapshot.rollout = await rolloutResult
        snapshot.replicaTargets = try await context.runtime.replicaTargets()
        snapshot.nodes = try await context.runtime.clusterNodes()
        try await context.record(
            LifecycleRecord(
                event: .status, outcome: snapshot.healthy ? "ok" : "failed",
                message: snapshot.healthy
                    ? "healthy" : "not healthy: " + Self.problems(snapshot).joined(separator: "; "),
                modeBefore: manifest.services.mode, modeAfter: manifest.services.mode,
                details: ["snapshot": snapshot.json]))
        return snapshot
    }

    /// Every domain's decision for this frame, asked of the gate at once (the policy evaluator collects the evidence
    /// once for all of them); inconclusive for each when there is no gate.
    func decideAll() async -> [PolicyDecision] {
        guard let gate = context.gate else {
            var decisions: [PolicyDecision] = []
            for domain in domains {
                decisions.append(await context.decide(domain: domain, action: "status", targetMode: nil))
            }
            return decisions
        }
        return await gate.evaluate(
            domains: domains, request: GateRequest(manifest: context.manifest, action: "status", window: window))
    }

    /// Why a frame is not healthy, for its record.
    static func problems(_ snapshot: StatusSnapshot) -> [String] {
        var problems: [String] = []
        for name in snapshot.expectedServices {
            guard let container = snapshot.containers.first(where: { $0.service == name }) else {
                problems.append("\(name) not running")
                continue
            }
            if !container.isReady { problems.append("\(name) \(container.summary)") }
            if let replicas = snapshot.replicas(of: name), replicas.running < replicas.desired {
                problems.append("\(name) \(replicas.running)/\(replicas.desired) replicas running")
            }
        }
        if snapshot.endpoint.status != 200 { problems.append("health endpoint \(snapshot.endpoint.summary)") }
        if let drift = snapshot.drift { problems.append(drift) }
        return problems
    }
}
