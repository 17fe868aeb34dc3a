import Foundation

/// How the rollout analysis reads one side's metrics. Compose scrapes the admin listener's `/stable/metrics` and
/// `/canary/metrics` (the default, no reader); Swarm reads every replica of each side (``SwarmRolloutSides``).
public protocol RolloutSideReading: Sendable {
    /// Where a side's figures come from, for the evidence's `source`.
    func describe(canary: Bool) -> String
    /// One snapshot of a side, with what could not be read (each named: which replica, why). A doubt makes the step
    /// inconclusive: evidence missing a replica is never judged as if that replica did not exist.
    func snapshot(canary: Bool) async throws -> (snapshot: MetricsSnapshot, doubts: [String])
}

/// The two sides of a rollout on Swarm, each read from **every** replica: the stack's tasks that Swarm wants running
/// for `<name>` (stable) and `<name>-canary` (the candidate), each task's `/metrics` through nginx's admin route
/// `/replicas/<address>/metrics` (reached with `docker exec`, ``SwarmAdminTransport``), merged with a `replica`
/// label per sample. A replica that is not running yet, has no address, or does not answer is a doubt naming it.
public struct SwarmRolloutSides: RolloutSideReading {
    public var manifest: Manifest
    public var transport: any HTTPTransport
    /// The replicas Swarm wants running for a service (short name).
    public var replicas: @Sendable (String) async throws -> [RolloutReplica]

    public init(
        manifest: Manifest, transport: any HTTPTransport,
        replicas: @escaping @Sendable (String) async throws -> [RolloutReplica]
    ) {
        self.manifest = manifest
        self.transport = transport
        self.replicas = replicas
    }

    /// Over a real stack: its tasks from `runtime`, the admin listener through `docker exec`.
    public init(manifest: Manifest, runtime: SwarmRuntime) {
        self.init(manifest: manifest, transport: SwarmAdminTransport(runtime: runtime, manifest: manifest)) { service in
            try await runtime.replicas(service: service)
        }
    }

    func service(canary: Bool) -> String {
        canary ? CanaryRender.serviceName(for: manifest.services.name) : manifest.services.name
    }

    public func describe(canary: Bool) -> String {
        "scrape every replica of \(service(canary: canary)) (docker exec nginx, /replicas/<address>/metrics)"
    }

    public func snapshot(canary: Bool) async throws -> (snapshot: MetricsSnapshot, doubts: [String]) {
        let service = service(canary: canary)
        let source = describe(canary: canary)
        var doubts: [String] = []
        var parts: [(address: String, snapshot: MetricsSnapshot)] = []
        let listed: [RolloutReplica]
        do { listed = try await replicas(service) } catch {
            listed = []
            doubts.append("the replicas of \(service) could not be listed: \(error.localizedDescription)")
        }
        if listed.isEmpty, doubts.isEmpty { doubts.append("no replica of \(service) is running") }
        for replica in listed {
            let place = "\(replica.name)\(replica.node.map { " on \($0)" } ?? "")"
            guard replica.state == "running" else {
                doubts.append("replica \(place) is \(replica.state), not running: its metrics were not read")
                continue
            }
            guard let address = replica.address, !address.isEmpty,
                let url = URL(string: "http://127.0.0.1:\(manifest.nginx.adminPort)/replicas/\(address)/metrics")
            else {
                doubts.append("replica \(place) has no address on the stack's network: its metrics were not read")
                continue
            }
            do {
                parts.append((address, try await ScrapeMetricsSource(url: url, transport: transport).snapshot()))
            } catch {
                doubts.append("replica \(place) (\(address)) could not be scraped: \(error.localizedDescription)")
            }
        }
        return (SwarmReplicaMetricsSource.merge(parts, source: source), doubts)
    }
}
