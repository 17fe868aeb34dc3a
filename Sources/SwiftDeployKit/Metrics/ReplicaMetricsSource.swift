import Foundation

/// One replica of a service as the engine reports it (a Swarm task, or a Compose container): what
/// ``ReplicaLocating/replicas(service:)`` answers, and what a rollout side on Swarm is read from.
public struct RolloutReplica: Sendable, Equatable {
    /// `app-canary.2`.
    public var name: String
    /// Its node (`hostname (id prefix)`), when known.
    public var node: String?
    /// Swarm's task state (`running` once healthy).
    public var state: String
    /// Its address on the stack's network; nil when Swarm gave none.
    public var address: String?

    public init(name: String, node: String?, state: String, address: String?) {
        self.name = name
        self.node = node
        self.state = state
        self.address = address
    }
}

/// Finds the running replicas of a service by their address on the network nginx shares with them: the stack's
/// tasks on Swarm (`SwarmRuntime`), the project's containers on Compose (`ComposeRuntime`).
public protocol ReplicaLocating: Sendable {
    /// The addresses of `service`'s running replicas, sorted.
    func replicaAddresses(service: String) async throws -> [String]
    /// Every replica the engine wants running for `service`, running or not (default: the running ones, from
    /// `replicaAddresses`, for a locator that cannot tell).
    func replicas(service: String) async throws -> [RolloutReplica]
}

extension ReplicaLocating {
    public func replicas(service: String) async throws -> [RolloutReplica] {
        try await replicaAddresses(service: service).map {
            RolloutReplica(name: $0, node: nil, state: "running", address: $0)
        }
    }
}

/// One scrape of a metrics endpoint, parsed: a single endpoint's (``ScrapeMetricsSource``) or every replica's merged.
public protocol SnapshotTaking: Sendable {
    func snapshot() async throws -> MetricsSnapshot
}

extension ScrapeMetricsSource: SnapshotTaking {}

/// The app's metrics gathered from every replica: each running replica's `/metrics`, through nginx's admin route
/// `/replicas/<address>/metrics`, merged into one snapshot in which every sample carries a `replica` label (its
/// address), so each replica's counters stay their own series and a window sums over all of them.
///
/// A replica is never silently left out: a replica that does not answer fails the scrape (the evidence is then
/// unusable), and a window in which fewer replicas answered than the manifest wants, or a replica of the first
/// scrape is gone from the last, is insufficient evidence: the missing replica's requests and errors are not counted,
/// so the figures could look healthier than the service is.
public struct ReplicaMetricsSource: MetricsSource, SnapshotTaking {
    /// The app service (`services.name`).
    public var service: String
    /// How many replicas the manifest wants (`services.replicas`).
    public var desired: Int
    /// `nginx.admin_port`: the URLs are `http://127.0.0.1:<adminPort>/replicas/<address>/metrics`.
    public var adminPort: Int
    public var locator: any ReplicaLocating
    /// What reaches the admin listener: plain HTTP on Compose (published on 127.0.0.1), `docker exec` on Swarm.
    public var transport: any HTTPTransport
    public var sleeper: Sleeper
    public var description: String

    public init(
        service: String, desired: Int, adminPort: Int, locator: any ReplicaLocating, transport: any HTTPTransport,
        description: String, sleeper: Sleeper = TaskSleeper()
    ) {
        self.service = service
        self.desired = desired
        self.adminPort = adminPort
        self.locator = locator
        self.transport = transport
        self.description = description
        self.sleeper = sleeper
    }

    /// The source for a Compose project with more than one replica: the containers by `docker inspect`, the admin
    /// listener over loopback HTTP.
    public static func compose(
        manifest: Manifest, runtime: ComposeRuntime? = nil,
        transport: any HTTPTransport = SocketHTTPClient()
    ) -> ReplicaMetricsSource {
        ReplicaMetricsSource(
            service: manifest.services.name, desired: manifest.services.replicas, adminPort: manifest.nginx.adminPort,
            locator: runtime ?? ComposeRuntime(manifest: manifest), transport: transport,
            description:
                """
                scrape every replica of \(manifest.services.name) \
                (http://127.0.0.1:\(manifest.nginx.adminPort)/replicas/<address>/metrics)
                """
        )
    }

    /// The addresses of the app's running replicas.
    public func replicaAddresses() async throws -> [String] {
        try await locator.replicaAddresses(service: service)
    }

    /// One snapshot per running replica, by address. Throws ``MetricsError`` when the replicas cannot be listed,
    /// none runs, or one of them does not answer (naming it).
    public func replicaSnapshots() async throws -> [(address: String, snapshot: MetricsSnapshot)] {
        try await replicaSnapshotsNaming().parts
    }

    /// ``replicaSnapshots()`` and the replicas the engine wants running that were not read (named with state and node).
    func replicaSnapshotsNaming() async throws -> (
        parts: [(address: String, snapshot: MetricsSnapshot)], notRead: [String]
    ) {
        let listed: [RolloutReplica]
        do { listed = try await locator.replicas(service: service) } catch {
            throw MetricsError.unusable(
                source: description,
                reason: "the replicas of \(service) could not be listed: \(error.localizedDescription)")
        }
        let addresses = listed.filter { $0.state == "running" }.compactMap(\.address).filter { !$0.isEmpty }.sorted()
        let notRead = listed.filter { $0.state != "running" || ($0.address ?? "").isEmpty }
            .map {
                """
                \($0.name)\($0.node.map { " on \($0)" } ?? "") \
                (\($0.state == "running" ? "running without an address" : $0.state))
                """
            }
        guard !addresses.isEmpty else {
            throw MetricsError.unusable(source: description, reason: "no replica of \(service) is running")
        }
        var result: [(String, MetricsSnapshot)] = []
        for address in addresses {
            let url = URL(string: "http://127.0.0.1:\(adminPort)/replicas/\(address)/metrics")!
            do {
                result.append((address, try await ScrapeMetricsSource(url: url, transport: transport).snapshot()))
            } catch let error as MetricsError {
                // One replica's failure is the evidence's failure: leaving it out would count only the others.
                throw MetricsError.unusable(
                    source: description,
                    reason:
                        """
                        the replica of \(service) at \(address) did not give its metrics, and a window without it \
                        would not count its requests: \(error.localizedDescription)
                        """
                )
            }
        }
        return (result, notRead)
    }

    /// Every replica's samples in one snapshot, each labelled `replica="<address>"`; `replicas` lists the addresses,
    /// `replicasNotRead` the replicas wanted running whose metrics were not read.
    public func snapshot() async throws -> MetricsSnapshot {
        let (parts, notRead) = try await replicaSnapshotsNaming()
        var merged = Self.merge(parts, source: description)
        merged.replicasNotRead = notRead
        return merged
    }

    /// Merges per-replica snapshots, labelling each sample with its replica.
    public static func merge(_ parts: [(address: String, snapshot: MetricsSnapshot)], source: String) -> MetricsSnapshot
    {
        var families: [String: MetricFamily] = [:]
        var order: [String] = []
        for (address, snapshot) in parts {
            for family in snapshot.families {
                if families[family.name] == nil {
                    families[family.name] = MetricFamily(
                        name: family.name, type: family.type, help: family.help, unit: family.unit)
                    order.append(family.name)
                }
                families[family.name]!.samples += family.samples.map { sample in
                    var labelled = sample
                    labelled.labels.append(MetricLabel("replica", address))
                    return labelled
                }
            }
        }
        var merged = MetricsSnapshot(
            families: order.compactMap { families[$0] }, takenAt: parts.last?.snapshot.takenAt ?? Date(),
            monotonicSeconds: parts.last?.snapshot.monotonicSeconds ?? MonotonicClock.now(), source: source,
            format: parts.first?.snapshot.format ?? .prometheusText,
            byteCount: parts.reduce(0) { $0 + $1.snapshot.byteCount })
        merged.replicas = parts.map(\.address)
        return merged
    }

    /// Why a window between two merged snapshots does not cover every replica, or nothing when it does: fewer replicas
    /// answered than `desired` at either end, or a replica of the first scrape is missing from the last.
    public static func coverageProblems(first: MetricsSnapshot, last: MetricsSnapshot, service: String, desired: Int)
        -> [String]
    {
        var problems: [String] = []
        let before = first.replicas ?? [], after = last.replicas ?? []
        let fewest = min(before.count, after.count)
        if fewest < desired {
            problems.append(
                """
                only \(fewest) of \(desired) replicas of \(service) answered in the window \
                (\(after.isEmpty ? "none" : after.joined(separator: ", ")) at its end): the missing replicas' \
                requests and errors are not counted; see `swiftdeploy status`
                """
            )
        }
        let notRead = Array(Set((first.replicasNotRead ?? []) + (last.replicasNotRead ?? []))).sorted()
        if !notRead.isEmpty {
            problems.append(
                """
                not read in the window, so their requests and errors are not counted: \
                \(notRead.map { "replica \($0)" }.joined(separator: ", "))
                """
            )
        }
        let gone = before.filter { !after.contains($0) }
        if !gone.isEmpty {
            problems.append(
                """
                the replica\(gone.count == 1 ? "" : "s") of \(service) at \(gone.joined(separator: ", ")) \
                answered the first scrape but not the last: \(gone.count == 1 ? "its" : "their") requests in the \
                window are not counted
                """
            )
        }
        return problems
    }

    public func window(settings: MetricsWindowSettings) async throws -> WindowFigures {
        let first = try await snapshot()
        await sleeper.sleep(seconds: settings.window.seconds - (MonotonicClock.now() - first.monotonicSeconds))
        let second = try await snapshot()
        var figures = MetricsWindow(settings: settings).figures(from: first, to: second)
        figures.source = description
        figures.insufficient += Self.coverageProblems(first: first, last: second, service: service, desired: desired)
        return figures
    }
}

extension ComposeRuntime: ReplicaLocating {
    /// The addresses of the service's running containers on the project's network (`docker inspect`).
    public func replicaAddresses(service: String) async throws -> [String] {
        try await containers().filter { $0.service == service && $0.state == "running" }.compactMap(\.address).filter {
            !$0.isEmpty
        }.sorted()
    }
}

/// The app's metrics gathered from every replica on Swarm: the shared ``ReplicaMetricsSource`` with the stack's tasks
/// as the replicas and `docker exec` into nginx as the way to its admin listener.
public typealias SwarmReplicaMetricsSource = ReplicaMetricsSource

extension ReplicaMetricsSource {
    public init(manifest: Manifest, runtime: SwarmRuntime, sleeper: Sleeper = TaskSleeper()) {
        self.init(
            service: manifest.services.name, desired: manifest.services.replicas, adminPort: manifest.nginx.adminPort,
            locator: runtime, transport: SwarmAdminTransport(runtime: runtime, manifest: manifest),
            description:
                """
                scrape every replica of \(runtime.serviceName(manifest.services.name)) (docker exec nginx, \
                /replicas/<address>/metrics)
                """,
            sleeper: sleeper)
    }
}

extension SwarmRuntime: ReplicaLocating {
    /// The one reader of a service's replicas on Swarm: every task Swarm wants running for it, with its state, node and
    /// address on the stack's network. The rollout's evidence (``SwarmRolloutSides``) and `status`/`gate`
    /// (``ReplicaMetricsSource``) both read it, and both name a replica that is not running instead of dropping it.
    public func replicas(service: String) async throws -> [RolloutReplica] {
        try await tasks().filter { $0.desiredState == "running" && $0.status.service == service }
            .map {
                RolloutReplica(name: $0.status.name, node: $0.status.node, state: $0.status.state, address: $0.address)
            }
            .sorted { $0.name < $1.name }
    }

    /// The addresses of the service's running tasks on the stack's network (from ``replicas(service:)``).
    public func replicaAddresses(service: String) async throws -> [String] {
        try await replicas(service: service).filter { $0.state == "running" }.compactMap(\.address).filter {
            !$0.isEmpty
        }
        .sorted()
    }
}
