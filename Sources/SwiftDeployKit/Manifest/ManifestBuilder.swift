import Foundation
import Yams

/// Turns the YAML tree into a `Manifest`, applying `Manifest.Defaults` and
/// reporting every problem through the reader. Returns nil when a required
/// part is missing or invalid.
struct ManifestBuilder {
    let reader: NodeReader
    let directory: URL
    let fileURL: URL

    // Every section's known keys come from the one grammar table (`ManifestSchema`), which also generates the JSON
    // Schema.
    static let topKeys = ManifestSchema.keyNames(at: "")
    static let serviceKeys = ManifestSchema.keyNames(at: "services")
    static let resourceKeys = ManifestSchema.keyNames(at: "services.resources")
    static let healthcheckKeys = ManifestSchema.keyNames(at: "services.healthcheck")
    static let nginxKeys = ManifestSchema.keyNames(at: "nginx")
    static let networkKeys = ManifestSchema.keyNames(at: "network")
    static let policyKeys = ManifestSchema.keyNames(at: "policy")
    static let opaKeys = ManifestSchema.keyNames(at: "policy.opa")
    static let metricsKeys = ManifestSchema.keyNames(at: "metrics")
    static let historyKeys = ManifestSchema.keyNames(at: "history")
    static let rolloutKeys = ManifestSchema.keyNames(at: "rollout")
    static let networkDrivers = ManifestSchema.networkDrivers

    func build(_ root: Node) -> Manifest? {
        guard let top = reader.mapping(root, "", allowed: Self.topKeys) else { return nil }

        if let node = top["version"], let version = reader.integer(node, "version", range: 1...Int.max),
            version != Manifest.Defaults.version
        {
            reader.report(
                node, "version",
                """
                version must be 1 (the only manifest schema this swiftdeploy knows), got \(version); upgrade \
                swiftdeploy to read newer manifests
                """
            )
        }
        let project =
            reader.checked(top["project"], "project", ManifestGrammar.projectName)
            ?? ManifestGrammar.derivedProjectName(fromDirectory: directory.lastPathComponent)
        let runtime =
            reader.choice(top["runtime"], "runtime", RuntimeKind.allCases.map(\.rawValue)).flatMap(
                RuntimeKind.init(rawValue:))
            ?? Manifest.Defaults.runtime

        let services = buildServices(top["services"])
        let nginx = buildNginx(top["nginx"])
        let network = buildNetwork(top["network"])
        let policy = buildPolicy(top["policy"])
        let metrics = buildMetrics(top["metrics"])
        let history = buildHistory(top["history"])
        let rollout = buildRollout(top["rollout"])
        let templates = reader.checked(top["templates"], "templates", ManifestGrammar.filePath)
        let observability = buildObservability(top["observability"])
        let slo = buildSLO(top["slo"], buckets: observability.histogramBuckets)

        guard let services, let nginx, let network else { return nil }

        if nginx.adminPort == nginx.port {
            reader.report(
                top["nginx"], "nginx.admin_port",
                """
                nginx.admin_port must differ from nginx.port (both are \(nginx.port)); set nginx.admin_port to a \
                free port
                """
            )
        }
        if policy.engine == .opa, policy.opa.url == nil, [nginx.port, nginx.adminPort].contains(policy.opa.port) {
            reader.report(
                top["policy"], "policy.opa.port",
                "policy.opa.port must differ from nginx.port and nginx.admin_port, got \(policy.opa.port)")
        }
        checkObservability(observability, nginx: nginx, policy: policy, node: top["observability"])
        if runtime == .swarm { checkSwarm(top, policy: policy, observability: observability) }
        if metrics.source == .prometheus, metrics.prometheusURL == nil, !observability.prometheus {
            reader.report(
                top["metrics"], "metrics.prometheus_url",
                """
                metrics.prometheus_url is required when metrics.source is prometheus; set it to your Prometheus \
                server, e.g. http://127.0.0.1:9090
                """
            )
        }
        var manifest = Manifest(
            version: Manifest.Defaults.version, project: project, services: services, nginx: nginx,
            network: network, policy: policy, metrics: metrics, history: history, rollout: rollout,
            templatesDir: templates, directory: directory, fileURL: fileURL)
        manifest.slo = slo
        manifest.observability = observability
        manifest.runtime = runtime
        if manifest.metrics.source == .prometheus, manifest.metrics.prometheusURL == nil, observability.prometheus {
            manifest.metrics.prometheusURL = manifest.localPrometheusURL
        }
        checkPaths(top, manifest)
        return manifest
    }

    func section(_ node: Node?, _ path: String, _ keys: [String], required: Bool) -> [String: Node]? {
        guard let node else {
            if required { reader.report(nil, path, "\(path) is required (with \(requiredKeys(path)))") }
            return required ? nil : [:]
        }
        return reader.mapping(node, path, allowed: keys)
    }

    private func requiredKeys(_ path: String) -> String {
        switch path {
        case "services": return "services.image and services.port"
        case "nginx": return "nginx.image and nginx.port"
        default: return "network.name and network.driver_type"
        }
    }

    /// Reports a missing required key at its section's position.
    private func require<T>(
        _ value: T?, _ entries: [String: Node], _ key: String, in sectionNode: Node?, _ path: String
    ) -> T? {
        if entries[key] == nil { reader.report(sectionNode, "\(path).\(key)", "\(path).\(key) is required") }
        return value
    }

    private func buildServices(_ node: Node?) -> Manifest.Service? {
        guard let m = section(node, "services", Self.serviceKeys, required: true) else { return nil }
        let image = require(
            reader.checked(m["image"], "services.image", ManifestGrammar.imageReference), m, "image", in: node,
            "services")
        let port = require(reader.port(m["port"], "services.port"), m, "port", in: node, "services")
        let name = reader.checked(m["name"], "services.name", ManifestGrammar.dnsLabel) ?? Manifest.Defaults.serviceName
        let mode =
            reader.choice(m["mode"], "services.mode", DeploymentMode.allCases.map(\.rawValue)).flatMap(
                DeploymentMode.init(rawValue:))
            ?? Manifest.Defaults.mode
        let version = reader.checked(m["version"], "services.version", ManifestGrammar.version)
        let restart =
            reader.choice(m["restart_policy"], "services.restart_policy", ManifestGrammar.restartPolicies)
            ?? Manifest.Defaults.restartPolicy
        let env = buildEnv(m["env"])
        let resources = buildResources(m["resources"])
        let healthcheck = buildHealthcheck(m["healthcheck"])
        if ManifestSchema.reservedServiceNames.contains(name) {
            reader.report(
                m["name"], "services.name",
                "services.name must not be '\(name)': that name is taken by the generated \(name) service")
        }
        let user = reader.checked(m["user"], "services.user", ManifestGrammar.containerUser)
        let allowRoot = reader.boolean(m["allow_root"], "services.allow_root") ?? false
        if let user, ManifestGrammar.isRoot(user), !allowRoot {
            reader.report(
                m["user"], "services.user",
                """
                services.user '\(user)' runs the app as root (uid 0); choose a non-root user such as \
                '10001:10001', or set services.allow_root: true to accept it
                """
            )
        }
        let replicas =
            reader.integer(m["replicas"], "services.replicas", range: 1...Manifest.Defaults.maxReplicas)
            ?? Manifest.Defaults.replicas
        let placement =
            reader.stringList(m["placement"], "services.placement", ManifestGrammar.placementConstraint) ?? []
        guard let image, let port else { return nil }
        var service = Manifest.Service(
            name: name, image: image, port: port, mode: mode, version: version, restartPolicy: restart,
            env: env, resources: resources, healthcheck: healthcheck, user: user, allowRoot: allowRoot)
        service.replicas = replicas
        service.placement = placement
        return service
    }

    /// What the Swarm stack cannot carry yet: the services that bind-mount files of this host (the OPA sidecar,
    /// Prometheus, Alertmanager). Refused with what to do instead, never silently dropped.
    private func checkSwarm(_ top: [String: Node], policy: Manifest.Policy, observability: Manifest.Observability) {
        if policy.engine == .opa, policy.opa.url == nil {
            reader.report(
                top["policy"], "policy.engine",
                """
                policy.engine opa without policy.opa.url needs an OPA sidecar, which runtime: swarm does not \
                generate; set policy.opa.url to an OPA server, use policy.engine: embedded, or runtime: compose
                """
            )
        }
        if observability.prometheus || observability.alertmanager {
            reader.report(
                top["observability"], "observability.prometheus",
                """
                observability.prometheus and observability.alertmanager run inside a Compose stack only; with \
                runtime: swarm run Prometheus outside the stack and set metrics.prometheus_url, or use runtime: \
                compose
                """
            )
        }
    }

    private func buildEnv(_ node: Node?) -> [Manifest.EnvironmentVariable] {
        reader.noteRead("services.env")
        guard let node else { return [] }
        guard case .mapping(let mapping) = node else {
            reader.report(
                node, "services.env", "services.env must be a mapping of NAME: value, got \(reader.describe(node))")
            return []
        }
        var seen = Set<String>()
        var result: [Manifest.EnvironmentVariable] = []
        for (keyNode, valueNode) in mapping {
            let key = keyNode.scalar?.string ?? ""
            let path = "services.env.\(key)"
            if let problem = ManifestGrammar.environmentName(key) {
                reader.report(keyNode, path, "services.env key must be \(problem), got \(Quoting.quote(key))")
                continue
            }
            if ManifestSchema.reservedEnvironmentNames.contains(key) {
                reader.report(
                    keyNode, path,
                    """
                    services.env.\(key) is set by swiftdeploy from services.mode, services.version and \
                    services.port; set those keys instead
                    """
                )
                continue
            }
            guard seen.insert(key).inserted else {
                reader.report(keyNode, path, "duplicate key '\(path)'; each key may appear once")
                continue
            }
            // Environment values are text; a plain `true`/number is taken as written.
            guard case .scalar(let scalar) = valueNode else {
                reader.report(valueNode, path, "\(path) must be a string, got \(reader.describe(valueNode))")
                continue
            }
            if let problem = ManifestGrammar.environmentValue(scalar.string) {
                reader.report(valueNode, path, "\(path) must be \(problem), got \(Quoting.quote(scalar.string))")
                continue
            }
            result.append(.init(name: key, value: scalar.string))
        }
        return result.sorted { $0.name < $1.name }
    }

    private func buildResources(_ node: Node?) -> Manifest.Resources {
        guard let m = section(node, "services.resources", Self.resourceKeys, required: false) else { return .init() }
        return Manifest.Resources(
            memory: reader.checked(m["memory"], "services.resources.memory", ManifestGrammar.memory),
            cpus: reader.checked(m["cpus"], "services.resources.cpus", ManifestGrammar.cpus))
    }

    private func buildHealthcheck(_ node: Node?) -> Manifest.Healthcheck {
        let m = section(node, "services.healthcheck", Self.healthcheckKeys, required: false) ?? [:]
        let limit = ManifestDuration(milliseconds: 100)...ManifestDuration(milliseconds: 3_600_000)
        return Manifest.Healthcheck(
            path: reader.checked(m["path"], "services.healthcheck.path", ManifestGrammar.httpPath)
                ?? Manifest.Defaults.healthcheckPath,
            interval: reader.duration(m["interval"], "services.healthcheck.interval", range: limit)
                ?? Manifest.Defaults.healthcheckInterval,
            timeout: reader.duration(m["timeout"], "services.healthcheck.timeout", range: limit)
                ?? Manifest.Defaults.healthcheckTimeout,
            retries: reader.integer(m["retries"], "services.healthcheck.retries", range: 1...100)
                ?? Manifest.Defaults.healthcheckRetries)
    }

    private func buildNginx(_ node: Node?) -> Manifest.Nginx? {
        guard let m = section(node, "nginx", Self.nginxKeys, required: true) else { return nil }
        let image = require(
            reader.checked(m["image"], "nginx.image", ManifestGrammar.imageReference), m, "image", in: node, "nginx")
        let port = require(reader.port(m["port"], "nginx.port"), m, "port", in: node, "nginx")
        let timeout =
            reader.duration(
                m["proxy_timeout"], "nginx.proxy_timeout",
                range: ManifestDuration(milliseconds: 1000)...ManifestDuration(milliseconds: 3_600_000))
            ?? Manifest.Defaults.proxyTimeout
        if timeout.milliseconds % 1000 != 0 {
            reader.report(
                m["proxy_timeout"], "nginx.proxy_timeout", "nginx.proxy_timeout must be whole seconds, got \(timeout)")
        }
        let contact = reader.checked(m["contact"], "nginx.contact", ManifestGrammar.email)
        let adminPort = reader.port(m["admin_port"], "nginx.admin_port") ?? Manifest.Defaults.adminPort
        guard let image, let port else { return nil }
        return Manifest.Nginx(image: image, port: port, proxyTimeout: timeout, contact: contact, adminPort: adminPort)
    }

    private func buildNetwork(_ node: Node?) -> Manifest.Network? {
        guard let m = section(node, "network", Self.networkKeys, required: true) else { return nil }
        let name = require(
            reader.checked(m["name"], "network.name", ManifestGrammar.networkName), m, "name", in: node, "network")
        let driver = require(
            reader.choice(m["driver_type"], "network.driver_type", Self.networkDrivers), m, "driver_type", in: node,
            "network")
        guard let name, let driver else { return nil }
        return Manifest.Network(name: name, driverType: driver)
    }

    private func buildPolicy(_ node: Node?) -> Manifest.Policy {
        let m = section(node, "policy", Self.policyKeys, required: false) ?? [:]
        let o = section(m["opa"], "policy.opa", Self.opaKeys, required: false) ?? [:]
        let engine =
            reader.choice(m["engine"], "policy.engine", PolicyEngineKind.allCases.map(\.rawValue)).flatMap(
                PolicyEngineKind.init(rawValue:))
            ?? Manifest.Defaults.policyEngine
        return Manifest.Policy(
            engine: engine,
            dir: reader.checked(m["dir"], "policy.dir", ManifestGrammar.filePath) ?? Manifest.Defaults.policyDir,
            thresholds: reader.checked(m["thresholds"], "policy.thresholds", ManifestGrammar.filePath)
                ?? Manifest.Defaults.thresholds,
            opa: Manifest.OPA(
                image: reader.checked(o["image"], "policy.opa.image", ManifestGrammar.imageReference)
                    ?? Manifest.Defaults.opaImage,
                port: reader.port(o["port"], "policy.opa.port") ?? Manifest.Defaults.opaPort,
                url: reader.checked(o["url"], "policy.opa.url", ManifestGrammar.httpURL)),
            timeout: reader.duration(
                m["timeout"], "policy.timeout",
                range: ManifestDuration(milliseconds: 100)...ManifestDuration(milliseconds: 300_000))
                ?? Manifest.Defaults.policyTimeout)
    }

    private func buildMetrics(_ node: Node?) -> Manifest.Metrics {
        let m = section(node, "metrics", Self.metricsKeys, required: false) ?? [:]
        return Manifest.Metrics(
            window: reader.duration(
                m["window"], "metrics.window",
                range: ManifestDuration(milliseconds: 100)...ManifestDuration(milliseconds: 3_600_000))
                ?? Manifest.Defaults.metricsWindow,
            minRequests: reader.integer(m["min_requests"], "metrics.min_requests", range: 1...1_000_000_000)
                ?? Manifest.Defaults.minRequests,
            excludePaths: reader.stringList(m["exclude_paths"], "metrics.exclude_paths", ManifestGrammar.httpPath)
                ?? Manifest.Defaults.excludePaths,
            source: reader.choice(m["source"], "metrics.source", MetricsSourceKind.allCases.map(\.rawValue)).flatMap(
                MetricsSourceKind.init(rawValue:))
                ?? Manifest.Defaults.metricsSource,
            prometheusURL: reader.checked(m["prometheus_url"], "metrics.prometheus_url", ManifestGrammar.httpURL))
    }

    private func buildRollout(_ node: Node?) -> Manifest.Rollout {
        let m = section(node, "rollout", Self.rolloutKeys, required: false) ?? [:]
        var rollout = Manifest.Rollout()
        if let steps = rolloutSteps(m["steps"]) { rollout.steps = steps }
        if let interval = reader.duration(
            m["interval"], "rollout.interval",
            range: ManifestDuration(milliseconds: 1000)...ManifestDuration(milliseconds: 86_400_000))
        {
            rollout.interval = interval
        }
        if let sticky = reader.boolean(m["sticky"], "rollout.sticky") { rollout.sticky = sticky }
        if let action = reader.choice(
            m["on_inconclusive"], "rollout.on_inconclusive", RolloutInconclusiveAction.allCases.map(\.rawValue)
        )
        .flatMap(RolloutInconclusiveAction.init(rawValue:)) {
            rollout.onInconclusive = action
        }
        return rollout
    }

    /// `rollout.steps`: a list of whole percents 1-100, strictly increasing, ending at 100.
    private func rolloutSteps(_ node: Node?) -> [Int]? {
        guard let node else { return nil }
        reader.noteRead("rollout.steps")
        guard case .sequence(let sequence) = node else {
            reader.report(
                node, "rollout.steps",
                "rollout.steps must be a list of percents such as [10, 50, 100], got \(reader.describe(node))")
            return nil
        }
        var steps: [Int] = []
        var valid = true
        for (index, item) in sequence.enumerated() {
            guard let value = reader.integer(item, "rollout.steps[\(index)]", range: 1...100) else {
                valid = false
                continue
            }
            steps.append(value)
        }
        guard valid else { return nil }
        if let problem = ManifestGrammar.rolloutSteps(steps) {
            reader.report(node, "rollout.steps", "rollout.steps \(problem)")
            return nil
        }
        return steps
    }

    private func buildHistory(_ node: Node?) -> Manifest.History {
        let m = section(node, "history", Self.historyKeys, required: false) ?? [:]
        return Manifest.History(
            path: reader.checked(m["path"], "history.path", ManifestGrammar.filePath) ?? Manifest.Defaults.historyPath,
            report: reader.checked(m["report"], "history.report", ManifestGrammar.filePath)
                ?? Manifest.Defaults.reportPath)
    }
}
