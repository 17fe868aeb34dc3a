import Foundation
import Mustache

/// The typed, pre-escaped values `templates/nginx.conf.mustache` renders from.
/// Every field is ready to paste: the template uses triple braces only.
struct NginxContext {
    let manifestName: String
    let port: String
    let adminPort: String
    /// Where the admin server listens: every interface of the container on Compose (which publishes it on the
    /// host's 127.0.0.1 only), the container's own loopback on Swarm (published nowhere; reached by `docker exec`).
    let adminListen: String
    /// True for `runtime: swarm` (tasks.<service> upstream, loopback admin listener, per-replica metrics route).
    let swarm: Bool
    /// True on Compose with more than one replica (the comment on how nginx balances over them).
    let composeReplicas: Bool
    /// True when the admin listener has the per-replica metrics route `/replicas/<address>/metrics`: on Swarm, and on
    /// Compose with more than one replica (one replica keeps the file as it was).
    let replicaRoute: Bool
    /// The app's port, for the per-replica metrics route.
    let appPort: String
    let upstream: String
    let proxyTimeout: String
    let healthPath: String
    let body404: String
    let body502: String
    let body503: String
    let body504: String
    /// Where the public listener sends a request: the stable app, or the rollout's split.
    let publicUpstream: String
    let canary: CanaryContext?

    /// `swarmTemplate`: with a canary on Swarm, render the split's weight as the Go template actions Swarm fills in
    /// from the nginx service's label (the Swarm config), not as a number (the live form); see ``CanaryContext``.
    init(manifest: Manifest, manifestName: String, canary: CanaryRender? = nil, swarmTemplate: Bool = false) throws {
        self.manifestName = manifestName
        if let canary {
            self.canary = try CanaryContext(canary, manifest: manifest, swarmTemplate: swarmTemplate)
        } else if manifest.runtime == .swarm {
            // On Swarm nginx always carries the split (weight 0 without a rollout): one config for every weight.
            self.canary = try CanaryContext.swarmNoRollout(manifest: manifest, swarmTemplate: swarmTemplate)
        } else {
            self.canary = nil
        }
        port = String(ContainerLayout.nginxPublicPort)
        adminPort = String(ContainerLayout.nginxAdminPort)
        swarm = manifest.runtime == .swarm
        adminListen = swarm ? "127.0.0.1:\(ContainerLayout.nginxAdminPort)" : String(ContainerLayout.nginxAdminPort)
        composeReplicas = !swarm && manifest.services.replicas > 1
        replicaRoute = swarm || composeReplicas
        appPort = String(manifest.services.port)
        // On Swarm the service name is a virtual IP; tasks.<service> answers each replica's own address.
        let host = swarm ? "tasks.\(manifest.services.name)" : manifest.services.name
        upstream = try Escaping.nginxToken("http://\(host):\(manifest.services.port)", field: "services.name")
        publicUpstream = self.canary == nil ? upstream : "$swiftdeploy_variant_upstream"
        proxyTimeout = try Escaping.nginxToken(manifest.nginx.proxyTimeout.description, field: "nginx.proxy_timeout")
        healthPath = try Escaping.nginxToken(manifest.services.healthcheck.path, field: "services.healthcheck.path")
        func body(_ code: Int, _ error: String) throws -> String {
            var fields: [String: JSONValue] = [
                "error": .string(error), "code": .int(Int64(code)), "service": .string(manifest.services.name),
            ]
            fields["contact"] = manifest.nginx.contact.map(JSONValue.string) ?? .null
            return try Escaping.nginxString(JSONValue.object(fields).jsonString(), field: "nginx.contact")
        }
        body404 = try body(404, "Not Found")
        body502 = try body(502, "Bad Gateway: the service is not answering")
        body503 = try body(503, "Service Unavailable")
        body504 = try body(504, "Gateway Timeout: the service did not answer in time")
    }
}

/// The app's values docker-compose.yml and docker-stack.yml both render, pre-escaped and built once: the two files
/// cannot drift apart on them. The templates name them as the file's own (`{{{appImage}}}`): ``SharedAppContext``
/// looks a name up in the file's own fields first, then here.
struct AppContext {
    struct Env {
        let name: String
        let value: String
    }

    /// The bare project name, for the header comment (its grammar allows no YAML-special character).
    let projectName: String
    let project: String
    let appService: String
    let appImage: String
    /// `services.user`, quoted; nil runs the image's own user (checked to be non-root before deploy).
    let appUser: String?
    let nginxUser: String
    let mode: String
    let appVersion: String
    let appPort: String
    let env: [Env]
    let healthInterval: String
    let healthTimeout: String
    let healthRetries: String
    let memory: String?
    let cpus: String?
    let nginxImage: String
    let networkKey: String

    init(manifest: Manifest) throws {
        let q = Escaping.composeString
        projectName = try Escaping.composeKey(manifest.project, field: "project")
        project = q(manifest.project)
        appService = try Escaping.composeKey(manifest.services.name, field: "services.name")
        appImage = q(manifest.services.image)
        appUser = manifest.services.user.map(q)
        nginxUser = q(ContainerLayout.unprivilegedUser)
        mode = q(manifest.services.mode.rawValue)
        appVersion = q(manifest.services.version ?? "unknown")
        appPort = q(String(manifest.services.port))
        env = try manifest.services.env.map {
            Env(name: try Escaping.composeKey($0.name, field: "services.env"), value: q($0.value))
        }
        healthInterval = q(manifest.services.healthcheck.interval.description)
        healthTimeout = q(manifest.services.healthcheck.timeout.description)
        healthRetries = String(manifest.services.healthcheck.retries)
        memory = manifest.services.resources.memory.map(q)
        cpus = manifest.services.resources.cpus.map(q)
        nginxImage = q(manifest.nginx.image)
        networkKey = try Escaping.composeKey(manifest.network.name, field: "network.name")
    }
}

/// A file's context with the shared ``AppContext``: a template name is the file's own field when it has one, else
/// the app's (as Mustache reads a struct: an optional that is nil is no value).
protocol SharedAppContext: MustacheParent {
    var app: AppContext { get }
}

extension SharedAppContext {
    func child(named name: String) -> Any? {
        for source in [self as Any, app as Any] {
            if let field = Mirror(reflecting: source).children.first(where: { $0.label == name }) {
                let value = Mirror(reflecting: field.value)
                return value.displayStyle == .optional ? value.children.first?.value : field.value
            }
        }
        return nil
    }
}

/// The typed, pre-escaped values `templates/docker-compose.yml.mustache` renders from.
struct ComposeContext: SharedAppContext {
    struct OPA {
        let image: String
        let user: String
        let port: String
        let portMapping: String
        let policiesMount: String
        let thresholdsMount: String
    }

    let app: AppContext
    let manifestName: String
    let restartPolicy: String
    /// `services.replicas` when more than one (`deploy.replicas`); nil renders one container as before.
    let replicas: String?
    let publicPortMapping: String
    let adminPortMapping: String
    let networkDriver: String
    /// The OPA sidecar's own network key (`<network.name>-policy`).
    let policyNetworkKey: String
    let opa: OPA?
    let canary: CanaryContext?
    /// The observability services (`observability.prometheus` / `alertmanager`), published on 127.0.0.1 only.
    let prometheus: Observer?
    let alertmanager: Observer?

    /// True when a service keeps data in a volume of the project (Prometheus, Alertmanager).
    let hasVolumes: Bool

    struct Observer {
        let image: String
        /// The unprivileged user it runs as (`nobody`, the user of Debian's packages and of the official images).
        let user: String
        let portMapping: String
    }

    init(manifest: Manifest, manifestName: String, canary: CanaryRender? = nil) throws {
        let q = Escaping.composeString
        self.manifestName = manifestName
        self.canary = try canary.map { try CanaryContext($0, manifest: manifest) }
        app = try AppContext(manifest: manifest)
        restartPolicy = q(manifest.services.restartPolicy)
        replicas = manifest.services.replicas > 1 ? String(manifest.services.replicas) : nil
        publicPortMapping = q("\(manifest.nginx.port):\(ContainerLayout.nginxPublicPort)")
        adminPortMapping = q("127.0.0.1:\(manifest.nginx.adminPort):\(ContainerLayout.nginxAdminPort)")
        networkDriver = q(manifest.network.driverType)
        policyNetworkKey = try Escaping.composeKey("\(manifest.network.name)-policy", field: "network.name")
        if manifest.policy.engine == .opa, manifest.policy.opa.url == nil {
            let port = manifest.policy.opa.port
            opa = OPA(
                image: q(manifest.policy.opa.image), user: q(ContainerLayout.unprivilegedUser), port: String(port),
                portMapping: q("127.0.0.1:\(port):\(port)"),
                policiesMount: q("\(Self.relative(manifest.policy.dir)):/policies:ro"),
                thresholdsMount: q("\(Self.relative(manifest.policy.thresholds)):/config/thresholds.json:ro"))
        } else {
            opa = nil
        }
        let o = manifest.observability
        let user = q(ContainerLayout.unprivilegedUser)
        prometheus =
            o.prometheus
            ? Observer(
                image: q(o.prometheusImage), user: user,
                portMapping: q("127.0.0.1:\(o.prometheusPort):\(ContainerLayout.prometheusPort)")) : nil
        alertmanager =
            o.alertmanager
            ? Observer(
                image: q(o.alertmanagerImage), user: user,
                portMapping: q("127.0.0.1:\(o.alertmanagerPort):\(ContainerLayout.alertmanagerPort)")) : nil
        hasVolumes = prometheus != nil || alertmanager != nil
    }

    /// Compose resolves bind-mount sources against the compose file's directory; a relative path needs `./`.
    private static func relative(_ path: String) -> String {
        path.hasPrefix("/") || path.hasPrefix("./") ? path : "./\(path)"
    }
}

/// The typed, pre-escaped values `templates/docker-stack.yml.mustache` renders from (`runtime: swarm`).
struct StackContext: SharedAppContext {
    let app: AppContext
    let manifestName: String
    let hasResources: Bool
    let replicas: String
    /// `deploy.restart_policy.condition`: Swarm's word for `services.restart_policy`.
    let restartCondition: String
    /// `update_config.monitor` and `rollback_config.monitor`: see ``Manifest/Healthcheck/swarmUpdateMonitor``.
    let updateMonitor: String
    let placement: [String]
    let hasPlacement: Bool
    let nginxPublicPort: String
    let publicPort: String
    /// The Swarm config holding nginx.conf, named with a digest of its bytes (configs are immutable).
    let nginxConfigName: String
    /// The app service, and during a rollout its candidate (`<name>-canary`): each the same service but for its
    /// name, image, version, mode and role.
    let apps: [App]
    /// nginx's split (its command, the weight label, Swarm's template driver for its config), always; the candidate
    /// service is in `apps` during a rollout only.
    let canary: CanaryContext?

    struct App {
        let appService: String
        let appImage: String
        let appVersion: String
        let mode: String
        let role: String
    }

    /// A digest of the stack file this manifest renders without a rollout (``ConfigRenderer``): a label of the app
    /// services, so a rollout can tell whether the manifest still renders to what runs. Nil while it is computed.
    let manifestDigest: String?

    /// The label carrying ``manifestDigest``.
    static let manifestDigestLabel = "swiftdeploy.manifest.digest"

    /// `stableImage`: during a rollout, the image the stable service runs (its Swarm spec's, with its digest when
    /// Swarm recorded one) instead of `services.image`, so the rollout's stack deploys leave stable as it is.
    init(
        manifest: Manifest, manifestName: String, nginxConf: String, canary: CanaryRender? = nil,
        stableImage: String? = nil,
        manifestDigest: String? = nil
    ) throws {
        let app = try AppContext(manifest: manifest)
        self.manifestDigest = manifestDigest
        let q = Escaping.composeString
        self.app = app
        self.manifestName = manifestName
        hasResources = app.memory != nil || app.cpus != nil
        replicas = String(manifest.services.replicas)
        restartCondition = q(Self.restartCondition(manifest.services.restartPolicy))
        updateMonitor = q(manifest.services.healthcheck.swarmUpdateMonitor.description)
        placement = try manifest.services.placement.map {
            guard ManifestGrammar.placementConstraint($0) == nil else {
                throw RenderError.unsafeValue(
                    field: "services.placement", value: Quoting.quote($0), context: "docker-stack.yml")
            }
            return q($0)
        }
        hasPlacement = !placement.isEmpty
        nginxPublicPort = String(ContainerLayout.nginxPublicPort)
        publicPort = String(manifest.nginx.port)
        nginxConfigName = q(Self.nginxConfigName(project: manifest.project, nginxConf: nginxConf))
        // nginx's part (its command, the weight label, the template driver) is there with or without a rollout; the
        // candidate service only during one.
        self.canary =
            try canary.map { try CanaryContext($0, manifest: manifest) }
            ?? CanaryContext.swarmNoRollout(manifest: manifest, swarmTemplate: false)
        if let stableImage, ManifestGrammar.imageReference(stableImage) != nil {
            throw RenderError.unsafeValue(
                field: "the stable service's running image", value: "'\(stableImage)'", context: "docker-stack.yml")
        }
        var apps = [
            App(
                appService: app.appService, appImage: stableImage.map(q) ?? app.appImage, appVersion: app.appVersion,
                mode: app.mode, role: q("app"))
        ]
        if canary != nil, let candidate = self.canary {
            apps.append(
                App(
                    appService: candidate.canaryService, appImage: candidate.canaryImage,
                    appVersion: candidate.canaryVersion,
                    mode: q(DeploymentMode.canary.rawValue), role: q("canary")))
        }
        self.apps = apps
    }

    /// The Swarm config holding nginx.conf: `<project>_nginx_<12 hex digits of its SHA-256>`.
    static func nginxConfigName(project: String, nginxConf: String) -> String {
        "\(project)_nginx_\(Digest.sha256Hex(of: Data(nginxConf.utf8)).prefix(12))"
    }

    /// Compose's restart policies in Swarm's words: `no` is `none`; `always` and `unless-stopped` are `any`
    /// (a Swarm task that stops is replaced unless the service is removed or scaled down).
    static func restartCondition(_ policy: String) -> String {
        switch policy {
        case "no": return "none"
        case "on-failure": return "on-failure"
        default: return "any"
        }
    }
}
