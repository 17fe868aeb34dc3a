import Foundation

/// One container of the project as the engine reports it (`docker inspect`).
public struct ContainerStatus: Sendable, Equatable {
    public var id: String
    /// The container name without the leading slash.
    public var name: String
    /// The Compose service (`com.docker.compose.service` label).
    public var service: String
    /// `created`, `running`, `restarting`, `exited`, `dead`, …
    public var state: String
    /// `starting`, `healthy`, `unhealthy`; nil when the container has no healthcheck.
    public var health: String?
    /// The output of the most recent health probe, when there is one.
    public var lastHealthOutput: String
    public var image: String
    /// The container's environment (`MODE`, `APP_VERSION`, …).
    public var environment: [String: String]
    public var startedAt: Date?
    public var restartCount: Int
    public var exitCode: Int
    /// The Swarm node the task runs on (`hostname (node id prefix)`); nil on Compose.
    public var node: String?
    /// The container's IPv4 address on the project's network (Compose: from `docker inspect`), for the
    /// per-replica metrics route; nil when it has none (stopped) or the runtime does not say.
    public var address: String? = nil

    public init(
        id: String, name: String, service: String, state: String, health: String? = nil, lastHealthOutput: String = "",
        image: String = "", environment: [String: String] = [:], startedAt: Date? = nil, restartCount: Int = 0,
        exitCode: Int = 0, node: String? = nil
    ) {
        self.node = node
        self.id = id
        self.name = name
        self.service = service
        self.state = state
        self.health = health
        self.lastHealthOutput = lastHealthOutput
        self.image = image
        self.environment = environment
        self.startedAt = startedAt
        self.restartCount = restartCount
        self.exitCode = exitCode
    }

    /// Running, and healthy when it has a healthcheck.
    public var isReady: Bool { state == "running" && (health == nil || health == "healthy") }

    /// `running (healthy)`, `exited (code 1)`, … for progress lines and errors.
    public var summary: String {
        if state == "running" { return health.map { "running, \($0)" } ?? "running" }
        if state == "exited" { return "exited with code \(exitCode)" }
        return state
    }
}

/// What is left of a project on the engine.
public struct ProjectResources: Sendable, Equatable {
    public var containers: [String]
    public var networks: [String]
    public var volumes: [String]
    /// Swarm services and configs of the stack (empty on Compose).
    public var services: [String]
    public var configs: [String]

    public init(
        containers: [String] = [], networks: [String] = [], volumes: [String] = [], services: [String] = [],
        configs: [String] = []
    ) {
        self.containers = containers
        self.networks = networks
        self.volumes = volumes
        self.services = services
        self.configs = configs
    }

    public var isEmpty: Bool {
        containers.isEmpty && networks.isEmpty && volumes.isEmpty && services.isEmpty && configs.isEmpty
    }
}

/// The container engine as the workflows use it, scoped to one Compose project.
/// `ComposeRuntime` is the real one; tests replace it to check a workflow's decisions.
public protocol ContainerRuntime: Sendable {
    /// Checks the daemon answers and Compose exists; throws `RuntimeError` naming which is missing.
    func preflight() async throws
    /// Makes sure each image is on the host, pulling those that are not; `RuntimeError.imageMissing` otherwise.
    func ensureImages(_ images: [String]) async throws
    /// `up -d`: creates or updates every service of the compose file.
    func up() async throws
    /// `up -d --no-deps --force-recreate <service>`: replaces one service's container only.
    func recreate(service: String) async throws
    /// `up()`, waiting for the runtime's own work (Swarm's rolling update) no later than `deadline`: the action's one
    /// deadline (`--timeout`), shared with the health wait that follows.
    func up(until deadline: Date) async throws
    /// `recreate(service:)` within the action's deadline, as `up(until:)`.
    func recreate(service: String, until deadline: Date) async throws
    /// `kill -s HUP <service>`: makes nginx reload (and re-resolve the app's new address after a recreate).
    func reload(service: String) async throws
    /// `down -v --remove-orphans`, then removes anything still labelled with the project.
    func down() async throws
    /// The project's containers (by the `com.docker.compose.project` label), stopped ones included.
    func containers() async throws -> [ContainerStatus]
    /// The last `lines` lines of a container's output (stdout and stderr).
    func logs(container: String, lines: Int) async -> String
    /// Containers, networks and volumes that still carry the project's label.
    func leftovers() async throws -> ProjectResources
    /// The user a local image runs as (its `USER`, empty for root); nil when it cannot be told.
    func imageUser(_ image: String) async throws -> String?
    /// `rm -s -f <service>`: stops and removes one service (the rollout's candidate), the others untouched.
    func remove(service: String) async throws
    /// Runs a command inside a service's container (`nginx -t`, `nginx -s reload`); returns its result.
    func exec(service: String, command: [String]) async throws -> CommandResult
    /// How many instances each service must have running, when the runtime knows (Swarm); nil otherwise.
    func replicaTargets() async throws -> [String: Int]?
    /// Lines naming tasks that failed recently, with their node and error (Swarm); empty otherwise.
    func recentFailures() async -> [String]
    /// The nodes the project runs on (Swarm); empty on one host.
    func nodesInvolved() async throws -> [String]
    /// Every node of the cluster with its role and state, as its manager sees it (Swarm); nil on one host.
    func clusterNodes() async throws -> [ClusterNode]?
}

extension ContainerRuntime {
    /// A runtime that cannot inspect images tells nothing (the deploy check then has no image user to judge).
    public func imageUser(_ image: String) async throws -> String? { nil }

    /// How many instances each service must have running, when the runtime knows (Swarm: each service's
    /// replicas); nil: one ready container per service is enough.
    public func replicaTargets() async throws -> [String: Int]? { nil }

    /// Lines naming tasks that failed recently, with their node and error, for a timeout message (Swarm).
    public func recentFailures() async -> [String] { [] }

    /// The nodes the project runs on, for the history (Swarm); empty on one host.
    public func nodesInvolved() async throws -> [String] { [] }

    /// A runtime on one host has no cluster to report.
    public func clusterNodes() async throws -> [ClusterNode]? { nil }

    /// A runtime that does not wait in `up` (Compose: `up -d` returns once the containers are created; each call
    /// is bounded by its own command timeout) ignores the deadline.
    public func up(until deadline: Date) async throws { try await up() }
    public func recreate(service: String, until deadline: Date) async throws { try await recreate(service: service) }
}
