import Foundation

/// One key of `manifest.yaml`: its name, what its value must be, its default and what it means.
public struct ManifestKey: Sendable {
    public enum Kind: Sendable {
        /// A mapping of the listed keys.
        case section([ManifestKey])
        /// Text checked against a grammar rule. A plain YAML number is read as the text it is written as.
        case string(ManifestGrammar.Rule)
        /// A plain YAML integer in the range (a quoted number is a string, and an error).
        case integer(ClosedRange<Int>)
        /// `true` or `false`, nothing else.
        case boolean
        /// Whole seconds as a plain integer, or text such as `500ms`, `30s`, `1m30s`.
        case duration(ClosedRange<ManifestDuration>)
        /// One of a fixed set of words.
        case choice([String])
        /// A list of strings, each checked against the rule.
        case list(ManifestGrammar.Rule)
        /// A non-empty list of plain YAML integers in the range (the loader adds its own rules, e.g. increasing).
        case integerList(ClosedRange<Int>)
        /// A mapping of environment variable names to text; `reserved` names are set by swiftdeploy.
        case environment(reserved: [String])
        /// A plain YAML number strictly inside the range (a quoted number is a string, and an error).
        case number(ClosedRange<Double>)
        /// A non-empty list of mappings of the listed keys (`slo.objectives`).
        case sectionList([ManifestKey])
    }

    /// A default as the schema states it.
    public enum Default: Sendable, Equatable {
        case integer(Int)
        case string(String)
        case strings([String])
        case integers([Int])
        case boolean(Bool)
    }

    public let name: String
    public let kind: Kind
    public let required: Bool
    public let defaultValue: Default?
    public let description: String
    /// Values the key must not take, with the reason (e.g. `services.name` may not be `nginx`).
    public let forbidden: [String]

    public init(
        _ name: String, _ kind: Kind, required: Bool = false, default defaultValue: Default? = nil,
        forbidden: [String] = [], _ description: String
    ) {
        self.name = name
        self.kind = kind
        self.required = required
        self.defaultValue = defaultValue
        self.description = description
        self.forbidden = forbidden
    }

    /// The keys of a section; empty for a leaf (a list of mappings is a leaf: see `listItemKeys`).
    public var children: [ManifestKey] {
        if case .section(let keys) = kind { return keys }
        return []
    }

    /// The keys of each item of a list of mappings; empty otherwise.
    public var listItemKeys: [ManifestKey] {
        if case .sectionList(let keys) = kind { return keys }
        return []
    }
}

/// The grammar of `manifest.yaml`, declared once. The loader takes every section's known keys from here
/// (so an unknown-key error and the schema can never disagree on what exists), and `jsonSchema()` turns
/// the same table into the JSON Schema shipped as `schema/manifest.schema.json` for editors.
///
/// Adding a key: add it here (kind, default, description), read it in `ManifestBuilder`, then regenerate the
/// schema with `scripts/generate-schema`. `ManifestSchemaTests` fail, naming the key, when the loader and
/// this table disagree or the shipped schema is stale.
public enum ManifestSchema {
    private static func seconds(_ s: Int) -> ManifestDuration { ManifestDuration(milliseconds: s * 1000) }

    public static let keys: [ManifestKey] = [
        ManifestKey(
            "version", .integer(1...1), default: .integer(Manifest.Defaults.version),
            "Manifest schema version; only 1 exists."),
        ManifestKey(
            "project", .string(ManifestGrammar.projectNameRule),
            """
            Compose project name: containers, networks and volumes are scoped by it (on Swarm: the stack name). \
            Default: the manifest directory's name, made DNS-safe.
            """
        ),
        ManifestKey(
            "runtime", .choice(RuntimeKind.allCases.map(\.rawValue)),
            default: .string(Manifest.Defaults.runtime.rawValue),
            """
            compose (Docker Compose on this host, docker-compose.yml) or swarm (docker stack deploy on a Swarm \
            manager, docker-stack.yml).
            """
        ),
        ManifestKey(
            "services",
            .section([
                ManifestKey(
                    "name", .string(ManifestGrammar.dnsLabelRule), default: .string(Manifest.Defaults.serviceName),
                    forbidden: ManifestSchema.reservedServiceNames,
                    "Compose service name of the app (a DNS label; not nginx or opa, which the generated services use)."
                ),
                ManifestKey(
                    "image", .string(ManifestGrammar.imageReferenceRule), required: true,
                    "The app image (Docker reference grammar, optional tag and @sha256: digest)."),
                ManifestKey(
                    "port", .integer(1...65535), required: true,
                    "The port the app listens on inside its container (passed as APP_PORT)."),
                ManifestKey(
                    "mode", .choice(DeploymentMode.allCases.map(\.rawValue)),
                    default: .string(Manifest.Defaults.mode.rawValue),
                    "stable or canary (passed as MODE); promote rewrites this key in place."),
                ManifestKey(
                    "version", .string(ManifestGrammar.versionRule),
                    "The app version (passed as APP_VERSION; 'unknown' when unset)."),
                ManifestKey(
                    "restart_policy", .choice(ManifestGrammar.restartPolicies),
                    default: .string(Manifest.Defaults.restartPolicy),
                    "Compose restart policy."),
                ManifestKey(
                    "user", .string(ManifestGrammar.containerUserRule),
                    """
                    The user the app runs as: name, uid, name:group or uid:gid; default the image's own USER. \
                    Root (root, 0) is refused, and so is an image whose USER is root when this key is absent, \
                    unless allow_root is true.
                    """
                ),
                ManifestKey("allow_root", .boolean, "true accepts running the app as root (uid 0); default false."),
                ManifestKey(
                    "replicas", .integer(1...Manifest.Defaults.maxReplicas),
                    default: .integer(Manifest.Defaults.replicas),
                    """
                    How many instances of the app run behind nginx (1 to 100), on Compose and on Swarm; nginx \
                    balances over all of them.
                    """
                ),
                ManifestKey(
                    "placement", .list(ManifestGrammar.placementConstraintRule),
                    """
                    Swarm placement constraints, each '<key> == <value>' or '<key> != <value>' with key node.id, \
                    node.hostname, node.role (manager or worker), node.platform.os, node.platform.arch, \
                    node.labels.<name> or engine.labels.<name>. Compose (one host) ignores them.
                    """
                ),
                ManifestKey(
                    "env", .environment(reserved: ManifestSchema.reservedEnvironmentNames),
                    """
                    Extra environment variables, NAME: value. Values may not hold control characters or ${…}; \
                    MODE, APP_VERSION and APP_PORT are set from services.mode, services.version and services.port.
                    """
                ),
                ManifestKey(
                    "resources",
                    .section([
                        ManifestKey("memory", .string(ManifestGrammar.memoryRule), "Memory limit, e.g. 256m or 1g."),
                        ManifestKey("cpus", .string(ManifestGrammar.cpusRule), "CPU limit, e.g. \"0.5\"."),
                    ]), "Compose resource limits."),
                ManifestKey(
                    "healthcheck",
                    .section([
                        ManifestKey(
                            "path", .string(ManifestGrammar.httpPathRule),
                            default: .string(Manifest.Defaults.healthcheckPath),
                            "Health endpoint: served on the admin listener and polled by the CLI."),
                        ManifestKey(
                            "interval", .duration(ManifestDuration(milliseconds: 100)...seconds(3600)),
                            default: .string(Manifest.Defaults.healthcheckInterval.description),
                            "Compose healthcheck interval (100ms to 1h)."),
                        ManifestKey(
                            "timeout", .duration(ManifestDuration(milliseconds: 100)...seconds(3600)),
                            default: .string(Manifest.Defaults.healthcheckTimeout.description),
                            "Compose healthcheck timeout (100ms to 1h)."),
                        ManifestKey(
                            "retries", .integer(1...100), default: .integer(Manifest.Defaults.healthcheckRetries),
                            "Compose healthcheck retries."),
                    ]), "The app's health check."),
            ]), required: true, "The app service."),
        ManifestKey(
            "nginx",
            .section([
                ManifestKey(
                    "image", .string(ManifestGrammar.imageReferenceRule), required: true,
                    "The nginx image. Debian's and the official images both work."),
                ManifestKey("port", .integer(1...65535), required: true, "The public port."),
                ManifestKey(
                    "proxy_timeout", .duration(seconds(1)...seconds(3600)),
                    default: .string(Manifest.Defaults.proxyTimeout.description),
                    "Every proxy timeout (connect, send, read), whole seconds from 1s to 1h."),
                ManifestKey(
                    "contact", .string(ManifestGrammar.emailRule), "E-mail shown in nginx's JSON error bodies."),
                ManifestKey(
                    "admin_port", .integer(1...65535), default: .integer(Manifest.Defaults.adminPort),
                    """
                    A second listener on 127.0.0.1 only, serving the app's /metrics, health path and /chaos to \
                    the CLI; must differ from nginx.port.
                    """
                ),
            ]), required: true, "The nginx reverse proxy in front of the app."),
        ManifestKey(
            "network",
            .section([
                ManifestKey(
                    "name", .string(ManifestGrammar.networkNameRule), required: true,
                    "The Compose network key; Compose names the network <project>_<name>."),
                ManifestKey(
                    "driver_type", .choice(ManifestSchema.networkDrivers), required: true, "The network driver."),
            ]), required: true, "The network the services share."),
        ManifestKey(
            "policy",
            .section([
                ManifestKey(
                    "engine", .choice(PolicyEngineKind.allCases.map(\.rawValue)),
                    default: .string(Manifest.Defaults.policyEngine.rawValue),
                    "embedded (in-process Rego) or opa (an OPA server)."),
                ManifestKey(
                    "dir", .string(ManifestGrammar.filePathRule), default: .string(Manifest.Defaults.policyDir),
                    "Directory of .rego modules, relative to the manifest."),
                ManifestKey(
                    "thresholds", .string(ManifestGrammar.filePathRule), default: .string(Manifest.Defaults.thresholds),
                    "Limits the policies read as data.thresholds."),
                ManifestKey(
                    "opa",
                    .section([
                        ManifestKey(
                            "image", .string(ManifestGrammar.imageReferenceRule),
                            default: .string(Manifest.Defaults.opaImage),
                            "With engine: opa and no url: the OPA sidecar image Compose runs."),
                        ManifestKey(
                            "port", .integer(1...65535), default: .integer(Manifest.Defaults.opaPort),
                            "The sidecar's port on 127.0.0.1; must differ from nginx.port and nginx.admin_port."),
                        ManifestKey(
                            "url", .string(ManifestGrammar.httpURLRule),
                            "An external OPA server to use instead of a sidecar."),
                    ]), "The OPA server for engine: opa."),
                ManifestKey(
                    "timeout", .duration(ManifestDuration(milliseconds: 100)...seconds(300)),
                    default: .string(Manifest.Defaults.policyTimeout.description),
                    """
                    Evaluation budget of one decision (100ms to 5m): the embedded engine stops at it, an OPA \
                    server must answer within it; exceeding it is inconclusive.
                    """
                ),
            ]), "The policy gate."),
        ManifestKey(
            "metrics",
            .section([
                ManifestKey(
                    "window", .duration(ManifestDuration(milliseconds: 100)...seconds(3600)),
                    default: .string(Manifest.Defaults.metricsWindow.description),
                    "Time between the two scrapes a decision is made on (100ms to 1h)."),
                ManifestKey(
                    "min_requests", .integer(1...1_000_000_000), default: .integer(Manifest.Defaults.minRequests),
                    "Fewer requests in the window make a decision inconclusive; at least 1."),
                ManifestKey(
                    "exclude_paths", .list(ManifestGrammar.httpPathRule),
                    default: .strings(Manifest.Defaults.excludePaths),
                    "Paths left out of the request figures."),
                ManifestKey(
                    "source", .choice(MetricsSourceKind.allCases.map(\.rawValue)),
                    default: .string(Manifest.Defaults.metricsSource.rawValue),
                    "scrape (the app's /metrics through the admin listener) or prometheus."),
                ManifestKey(
                    "prometheus_url", .string(ManifestGrammar.httpURLRule),
                    "The Prometheus server for source: prometheus (required then)."),
            ]), "Where request metrics come from and how a decision window is judged."),
        ManifestKey(
            "history",
            .section([
                ManifestKey(
                    "path", .string(ManifestGrammar.filePathRule), default: .string(Manifest.Defaults.historyPath),
                    "The history log."),
                ManifestKey(
                    "report", .string(ManifestGrammar.filePathRule), default: .string(Manifest.Defaults.reportPath),
                    "Where audit writes its report."),
            ]), "The history log and the audit report."),
        ManifestKey(
            "rollout",
            .section([
                ManifestKey(
                    "steps", .integerList(1...100), default: .integers(Manifest.Defaults.rolloutSteps),
                    """
                    The candidate's share of traffic at each step of rollout start, in percent: strictly \
                    increasing, the last one 100.
                    """
                ),
                ManifestKey(
                    "interval", .duration(seconds(1)...seconds(86_400)),
                    default: .string(Manifest.Defaults.rolloutInterval.description),
                    "How long each step runs under traffic before it is judged."),
                ManifestKey(
                    "sticky", .boolean, default: .boolean(Manifest.Defaults.rolloutSticky),
                    "A client keeps its side for the whole rollout (a cookie carries its split key)."),
                ManifestKey(
                    "on_inconclusive", .choice(RolloutInconclusiveAction.allCases.map(\.rawValue)),
                    default: .string(Manifest.Defaults.rolloutOnInconclusive.rawValue),
                    "pause or abort: what an inconclusive step does (it never promotes)."),
            ]), "Progressive delivery: how swiftdeploy rollout walks a candidate to 100% (docs/rollout.md)."),
        ManifestKey(
            "slo",
            .section([
                ManifestKey(
                    "window", .string(ManifestGrammar.sloWindowRule), default: .string("30d"),
                    "The SLO compliance window, whole days from 1d to 365d."),
                ManifestKey(
                    "change_window", .integer(1...10_000), default: .integer(Manifest.Defaults.sloChangeWindow),
                    "The change failure rate is computed over the last N changes."),
                ManifestKey(
                    "objectives",
                    .sectionList([
                        ManifestKey(
                            "name", .string(ManifestGrammar.objectiveNameRule), required: true,
                            """
                            Objective name: lowercase letters, digits and _, starting with a letter; used in \
                            labels, alert names and runbooks.
                            """
                        ),
                        ManifestKey(
                            "target", .number(0...100), required: true,
                            "Percent of good requests, more than 0 and less than 100 (e.g. 99.5)."),
                        ManifestKey(
                            "threshold", .duration(ManifestDuration(milliseconds: 1)...seconds(3600)),
                            """
                            Makes it a latency objective (good = answered within it); must be one of \
                            observability.histogram_buckets. Without it: availability (good = not 5xx).
                            """
                        ),
                    ]), required: true, "The service level objectives."),
            ]), "Service level objectives and the release health gate (docs/slo.md)."),
        ManifestKey(
            "observability",
            .section([
                ManifestKey(
                    "prometheus", .boolean,
                    "Run Prometheus in the stack on 127.0.0.1:<prometheus_port>, loaded with the generated rules."),
                ManifestKey(
                    "alertmanager", .boolean,
                    "Also run Alertmanager on 127.0.0.1:<alertmanager_port> (needs prometheus: true)."),
                ManifestKey(
                    "prometheus_image", .string(ManifestGrammar.imageReferenceRule),
                    default: .string(Manifest.Defaults.prometheusImage),
                    "The Prometheus image (built by scripts/build-images from Debian's package)."),
                ManifestKey(
                    "prometheus_port", .integer(1...65535), default: .integer(Manifest.Defaults.prometheusPort),
                    "Prometheus' port on 127.0.0.1."),
                ManifestKey(
                    "alertmanager_image", .string(ManifestGrammar.imageReferenceRule),
                    default: .string(Manifest.Defaults.alertmanagerImage),
                    "The Alertmanager image (built by scripts/build-images from Debian's package)."),
                ManifestKey(
                    "alertmanager_port", .integer(1...65535), default: .integer(Manifest.Defaults.alertmanagerPort),
                    "Alertmanager's port on 127.0.0.1."),
                ManifestKey(
                    "scrape_interval", .duration(seconds(1)...seconds(300)),
                    default: .string(Manifest.Defaults.scrapeInterval.description),
                    "Prometheus' scrape and rule evaluation interval (1s to 5m)."),
                ManifestKey(
                    "histogram_buckets", .list(ManifestGrammar.durationRule),
                    """
                    The service's http_request_duration_seconds bucket bounds as durations, strictly increasing \
                    (default: the demo service's 5ms … 5s).
                    """
                ),
            ]), "The observability stack swiftdeploy runs and generates files for (docs/slo.md)."),
        ManifestKey(
            "templates", .string(ManifestGrammar.filePathRule),
            """
            A directory holding the project's own nginx.conf.mustache and docker-compose.yml.mustache (default: \
            the built-in templates).
            """
        ),
    ]

    public static let networkDrivers = ["bridge", "overlay", "macvlan", "ipvlan"]
    /// Service names the generated files use for their own services.
    public static let reservedServiceNames = ["nginx", "opa"]
    /// Environment variables swiftdeploy sets from other keys.
    public static let reservedEnvironmentNames = ["MODE", "APP_VERSION", "APP_PORT"]

    /// The key at a dotted path (`services.healthcheck.path`); nil when no such key exists.
    public static func key(at path: String) -> ManifestKey? {
        var level = keys
        var found: ManifestKey?
        for part in path.split(separator: ".") {
            guard let key = level.first(where: { $0.name == part }) else { return nil }
            found = key
            level = key.children
        }
        return found
    }

    /// The names allowed in the section at `path` ("" for the top level), in the table's order.
    public static func keyNames(at path: String) -> [String] {
        if path.isEmpty { return keys.map(\.name) }
        return key(at: path)?.children.map(\.name) ?? []
    }

    /// Every key's dotted path, sections included, depth first.
    public static var allPaths: [String] {
        func walk(_ keys: [ManifestKey], _ prefix: String) -> [String] {
            keys.flatMap { key -> [String] in
                let path = prefix.isEmpty ? key.name : "\(prefix).\(key.name)"
                return [path] + walk(key.children, path)
            }
        }
        return walk(keys, "")
    }
}

// MARK: - JSON Schema

extension ManifestSchema {
    /// The JSON Schema (draft 2020-12) of `manifest.yaml`, as deterministic pretty-printed JSON with a final newline.
    public static func jsonSchema() -> String {
        var root = object(
            keys,
            description: "swiftdeploy manifest.yaml: one service behind nginx, a policy gate, metrics and history.")
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        root["title"] = "swiftdeploy manifest"
        // Rules between keys that a schema can state; the loader checks them too.
        root["allOf"] = [
            [
                "if": [
                    "properties": [
                        "metrics": ["properties": ["source": ["const": "prometheus"]], "required": ["source"]]
                    ],
                    "required": ["metrics"],
                ],
                "then": ["properties": ["metrics": ["required": ["prometheus_url"]]]],
            ]
        ]
        let data = try! JSONSerialization.data(
            withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private static func object(_ keys: [ManifestKey], description: String) -> [String: Any] {
        var properties: [String: Any] = [:]
        for key in keys { properties[key.name] = schema(for: key) }
        var result: [String: Any] = [
            "type": "object",
            "description": description,
            "properties": properties,
            "additionalProperties": false,
        ]
        let required = keys.filter(\.required).map(\.name)
        if !required.isEmpty { result["required"] = required }
        return result
    }

    private static func schema(for key: ManifestKey) -> [String: Any] {
        var result: [String: Any]
        switch key.kind {
        case .section(let children):
            return object(children, description: key.description)
        case .string(let rule):
            result = stringSchema(rule)
        case .integer(let range):
            result = ["type": "integer", "minimum": range.lowerBound]
            if range.upperBound != Int.max { result["maximum"] = range.upperBound }
        case .boolean:
            result = ["type": "boolean"]
        case .duration(let range):
            // Whole seconds as an integer (the loader's limit is 1,000,000 s), or units. The range of the text form
            // cannot be said in a pattern; the loader checks it.
            let lowest = (range.lowerBound.milliseconds + 999) / 1000
            result = [
                "anyOf": [
                    [
                        "type": "integer", "minimum": max(lowest, 0),
                        "maximum": min(range.upperBound.milliseconds / 1000, 1_000_000),
                    ],
                    ["type": "string", "pattern": ManifestGrammar.Pattern.duration],
                ]
            ]
        case .choice(let words):
            result = ["type": "string", "enum": words]
        case .list(let rule):
            result = ["type": "array", "items": stringSchema(rule)]
        case .integerList(let range):
            result = [
                "type": "array", "minItems": 1,
                "items": ["type": "integer", "minimum": range.lowerBound, "maximum": range.upperBound],
            ]
        case .number(let range):
            result = ["type": "number", "exclusiveMinimum": range.lowerBound, "exclusiveMaximum": range.upperBound]
        case .sectionList(let children):
            result = [
                "type": "array", "minItems": 1, "items": object(children, description: "One item of \(key.name)."),
            ]
        case .environment(let reserved):
            result = [
                "type": "object",
                "propertyNames": ["pattern": ManifestGrammar.Pattern.environmentName, "not": ["enum": reserved]],
                "additionalProperties": [
                    "anyOf": [stringSchema(ManifestGrammar.environmentValueRule), ["type": ["number", "boolean"]]]
                ],
            ]
        }
        result["description"] = key.description
        if !key.forbidden.isEmpty { result["not"] = ["enum": key.forbidden] }
        switch key.defaultValue {
        case .integer(let value)?: result["default"] = value
        case .string(let value)?: result["default"] = value
        case .strings(let value)?: result["default"] = value
        case .integers(let value)?: result["default"] = value
        case .boolean(let value)?: result["default"] = value
        case nil: break
        }
        return result
    }

    /// Text matching the rule. A plain YAML number is text to the loader (`version: 1.2` is "1.2"), so a rule that
    /// digits can satisfy also takes a non-negative number.
    private static func stringSchema(_ rule: ManifestGrammar.Rule) -> [String: Any] {
        var text: [String: Any] = ["type": "string", "pattern": rule.pattern]
        if let maxLength = rule.maxLength { text["maxLength"] = maxLength }
        guard rule.check("1") == nil else { return text }
        let number: [String: Any] =
            rule.check("0") == nil ? ["type": "number", "minimum": 0] : ["type": "number", "exclusiveMinimum": 0]
        return ["anyOf": [text, number]]
    }
}
