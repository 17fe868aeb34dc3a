import Foundation

/// A validated `manifest.yaml`. Every value here has passed its grammar check
/// (see `ManifestGrammar`); defaults live in `Manifest.Defaults` only.
///
/// Produced by `ManifestLoader`; consumed by the renderer, the runtime, the
/// policy gate and the history.
public struct Manifest: Sendable, Equatable {
    /// The schema version (`version:`); only 1 exists.
    public var version: Int
    /// The Compose project name: containers, networks and volumes are scoped by it. On Swarm it is the stack's name.
    public var project: String
    /// Where the stack runs (`runtime:`): Docker Compose on this host, or a Docker Swarm (`docker stack deploy`).
    public var runtime: RuntimeKind = Manifest.Defaults.runtime
    public var services: Service
    public var nginx: Nginx
    public var network: Network
    public var policy: Policy
    public var metrics: Metrics
    public var history: History
    /// Progressive delivery (`rollout:`); the defaults when the block is absent.
    public var rollout: Rollout = Rollout()
    /// Service level objectives (`slo:`), nil when the manifest has none.
    public var slo: SLO? = nil
    /// The observability stack (`observability:`).
    public var observability: Observability = Manifest.Defaults.observability
    /// A directory holding the project's own `nginx.conf.mustache` and `docker-compose.yml.mustache`
    /// (`templates:`); nil uses the templates built into the binary.
    public var templatesDir: String?
    /// The directory holding the manifest; relative paths resolve against it.
    public var directory: URL
    /// The manifest file itself (hashed into history lines, rewritten by `promote`).
    public var fileURL: URL

    public struct Service: Sendable, Equatable {
        /// The Compose service name of the app (`services.name`).
        public var name: String
        public var image: String
        /// The port the app listens on inside its container.
        public var port: Int
        public var mode: DeploymentMode
        /// The app version (`APP_VERSION`), when set.
        public var version: String?
        public var restartPolicy: String
        /// Environment, sorted by key for deterministic output.
        public var env: [EnvironmentVariable]
        public var resources: Resources
        public var healthcheck: Healthcheck
        /// The user the app runs as (`services.user`: `name`, `uid`, `uid:gid`); nil runs the image's own
        /// user, which deploy checks is not root.
        public var user: String? = nil
        /// `services.allow_root: true` accepts running the app as root (uid 0); refused otherwise.
        public var allowRoot: Bool = false
        /// How many instances of the app run (`services.replicas`), behind nginx on either runtime.
        public var replicas: Int = Manifest.Defaults.replicas
        /// Swarm placement constraints (`services.placement`, e.g. `node.role == worker`), each checked against
        /// `ManifestGrammar.placementConstraint`. Compose runs on one host and has nothing to place.
        public var placement: [String] = []
    }

    public struct EnvironmentVariable: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public struct Resources: Sendable, Equatable {
        /// A Compose memory limit such as `512m`, when set.
        public var memory: String?
        /// A CPU limit such as `0.5`, when set.
        public var cpus: String?
    }

    public struct Healthcheck: Sendable, Equatable {
        public var path: String
        public var interval: ManifestDuration
        public var timeout: ManifestDuration
        public var retries: Int

        /// How long Swarm watches an updated replica before it counts the update as good (`update_config.monitor`):
        /// long enough for the health check to fail it, `interval x (retries + 1) + timeout`, rounded up to whole
        /// seconds.
        public var swarmUpdateMonitor: ManifestDuration {
            let ms = interval.milliseconds * (retries + 1) + timeout.milliseconds
            return ManifestDuration(milliseconds: (ms + 999) / 1000 * 1000)
        }
    }

    public struct Nginx: Sendable, Equatable {
        public var image: String
        /// The public port, published on all interfaces.
        public var port: Int
        /// Every proxy timeout (connect, send, read).
        public var proxyTimeout: ManifestDuration
        /// An e-mail shown in nginx's JSON error bodies, when set.
        public var contact: String?
        /// The admin listener, published on 127.0.0.1 only: serves the app's /metrics and /healthz to the CLI.
        public var adminPort: Int
    }

    public struct Network: Sendable, Equatable {
        public var name: String
        public var driverType: String
    }

    public struct Policy: Sendable, Equatable {
        public var engine: PolicyEngineKind
        /// The directory of `.rego` modules, relative to the manifest unless absolute.
        public var dir: String
        /// The thresholds file (`data.thresholds`), relative to the manifest unless absolute.
        public var thresholds: String
        public var opa: OPA
        /// The evaluation budget of one decision: the embedded engine stops at it, an OPA server must answer within
        /// it. Exceeding it makes the decision inconclusive.
        public var timeout: ManifestDuration = Manifest.Defaults.policyTimeout
    }

    public struct OPA: Sendable, Equatable {
        /// The OPA image for the sidecar Compose runs when `engine: opa` and no `url` is given.
        public var image: String
        /// The sidecar's port, published on 127.0.0.1 only.
        public var port: Int
        /// An external OPA server; when set no sidecar is generated.
        public var url: String?
    }

    public struct Metrics: Sendable, Equatable {
        /// The time between the two scrapes a decision is made on.
        public var window: ManifestDuration
        /// Fewer requests than this in the window make a decision inconclusive.
        public var minRequests: Int
        /// Paths left out of the request figures.
        public var excludePaths: [String]
        public var source: MetricsSourceKind
        /// The Prometheus server queried when `source: prometheus`.
        public var prometheusURL: String?
    }

    public struct History: Sendable, Equatable {
        /// The history log, relative to the manifest unless absolute.
        public var path: String
        /// The audit report written by `swiftdeploy audit`.
        public var report: String
    }

    /// How `swiftdeploy rollout` walks a candidate to 100% (see docs/rollout.md).
    public struct Rollout: Sendable, Equatable {
        /// The canary's share of traffic at each step, in percent: increasing, the last one 100.
        public var steps: [Int] = Manifest.Defaults.rolloutSteps
        /// How long each step runs under traffic before it is judged.
        public var interval: ManifestDuration = Manifest.Defaults.rolloutInterval
        /// A client keeps its side for the whole rollout (a cookie carries its split key).
        public var sticky: Bool = Manifest.Defaults.rolloutSticky
        /// What an inconclusive step does: pause (and wait for `rollout resume`) or abort.
        public var onInconclusive: RolloutInconclusiveAction = Manifest.Defaults.rolloutOnInconclusive

        public init() {}
    }

    /// Resolves a manifest-relative path (`policy.dir`, `history.path`, …) to a URL.
    public func resolve(_ path: String) -> URL {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL }
        return directory.appendingPathComponent(path).standardizedFileURL
    }

    public var policyDirectoryURL: URL { resolve(policy.dir) }
    public var thresholdsURL: URL { resolve(policy.thresholds) }
    public var historyURL: URL { resolve(history.path) }
    public var reportURL: URL { resolve(history.report) }
    public var nginxConfigURL: URL { directory.appendingPathComponent("nginx.conf") }
    public var composeFileURL: URL { directory.appendingPathComponent("docker-compose.yml") }
    /// The Swarm stack file `init` writes with `runtime: swarm` (`docker stack deploy -c docker-stack.yml`).
    public var stackFileURL: URL { directory.appendingPathComponent("docker-stack.yml") }
    /// The file the runtime deploys from: `docker-compose.yml` on Compose, `docker-stack.yml` on Swarm.
    public var runtimeFileURL: URL { runtime == .swarm ? stackFileURL : composeFileURL }

    /// The URL of the app's metrics through nginx's loopback-only admin listener.
    public var adminMetricsURL: URL { URL(string: "http://127.0.0.1:\(nginx.adminPort)/metrics")! }
    /// The app's health endpoint through nginx's loopback-only admin listener.
    public var adminHealthURL: URL { URL(string: "http://127.0.0.1:\(nginx.adminPort)\(services.healthcheck.path)")! }
    /// The public URL of the service on this host.
    public var publicURL: URL { URL(string: "http://127.0.0.1:\(nginx.port)/")! }
}

/// `runtime:`: what runs the stack.
public enum RuntimeKind: String, Sendable, Equatable, CaseIterable {
    /// Docker Compose on this host (`docker compose` or `docker-compose`).
    case compose
    /// A Docker Swarm, through `docker stack deploy` on a manager.
    case swarm
}

public enum DeploymentMode: String, Sendable, Equatable, CaseIterable {
    case stable, canary
}

/// `rollout.on_inconclusive`.
public enum RolloutInconclusiveAction: String, Sendable, Equatable, CaseIterable {
    case pause, abort
}

public enum PolicyEngineKind: String, Sendable, Equatable, CaseIterable {
    case embedded, opa
}

public enum MetricsSourceKind: String, Sendable, Equatable, CaseIterable {
    case scrape, prometheus
}

extension Manifest {
    /// Every default value of the manifest, in one place.
    public enum Defaults {
        public static let version = 1
        public static let serviceName = "app"
        public static let runtime = RuntimeKind.compose
        public static let replicas = 1
        /// The most replicas a manifest may ask for: more is a typo, not a deployment this tool is tested at.
        public static let maxReplicas = 100
        public static let mode = DeploymentMode.stable
        public static let restartPolicy = "unless-stopped"
        public static let healthcheckPath = "/healthz"
        public static let healthcheckInterval = ManifestDuration(milliseconds: 5_000)
        public static let healthcheckTimeout = ManifestDuration(milliseconds: 3_000)
        public static let healthcheckRetries = 5
        public static let proxyTimeout = ManifestDuration(milliseconds: 30_000)
        public static let adminPort = 9180
        public static let networkDriver = "bridge"
        public static let policyEngine = PolicyEngineKind.embedded
        public static let policyDir = "policies"
        public static let thresholds = "thresholds.json"
        public static let policyTimeout = ManifestDuration(milliseconds: 5_000)
        public static let opaImage = "openpolicyagent/opa:1.4.2"
        public static let opaPort = 8181
        public static let metricsWindow = ManifestDuration(milliseconds: 30_000)
        public static let minRequests = 20
        public static let excludePaths = ["/healthz", "/metrics"]
        public static let metricsSource = MetricsSourceKind.scrape
        public static let rolloutSteps = [10, 50, 100]
        public static let rolloutInterval = ManifestDuration(milliseconds: 30_000)
        public static let rolloutSticky = true
        public static let rolloutOnInconclusive = RolloutInconclusiveAction.pause
        public static let historyPath = "history.jsonl"
        public static let reportPath = "audit_report.md"
        /// The project name used when the manifest's directory name yields none.
        public static let fallbackProject = "swiftdeploy"
    }
}
