import Foundation

/// What a running rollout adds to the generated files: the candidate service beside the stable one and the
/// weighted split in nginx. Nil (the default everywhere else) renders the files exactly as without a rollout.
public struct CanaryRender: Sendable, Equatable {
    /// The candidate's image reference (checked against the manifest's image grammar before rendering).
    public var image: String
    /// The candidate's APP_VERSION.
    public var version: String
    /// The candidate's share of clients in percent, 0-100.
    public var weight: Int
    /// Whether the split key travels in a cookie (`rollout.sticky`).
    public var sticky: Bool

    public init(image: String, version: String, weight: Int, sticky: Bool) {
        self.image = image
        self.version = version
        self.weight = weight
        self.sticky = sticky
    }

    /// The Compose (or Swarm stack) service of the candidate for an app service `name`.
    public static func serviceName(for name: String) -> String { "\(name)-canary" }

    /// A weight as nginx and the label carry it: 0-100 (the one place it is clamped).
    static func clamped(_ weight: Int) -> Int { max(0, min(100, weight)) }

    /// The `split_clients` lines for `weight`: nginx refuses a 0% entry, so 0 and 100 route everyone to one side.
    var splitLines: [String] {
        switch weight {
        case ...0: return ["* stable;"]
        case 100...: return ["* canary;"]
        default: return ["\(weight)% canary;", "* stable;"]
        }
    }
}

/// The canary part of `NginxContext`, `ComposeContext` and `StackContext`, pre-escaped.
struct CanaryContext {
    let canaryService: String
    let canaryUpstream: String
    let canaryImage: String
    let canaryVersion: String
    /// The weight as written in nginx.conf's comment: digits, or (Swarm's config) the Go template action reading it.
    let weight: String
    /// The weight in digits (the nginx service's label on Swarm).
    let weightDigits: String
    let sticky: Bool
    let splitLines: [String]

    /// The nginx service label that carries the split's weight on Swarm.
    static let swarmWeightLabel = "swiftdeploy.canary.weight"

    /// Go template actions (`template_driver: golang`) Swarm renders when it creates an nginx task: the weight comes
    /// from the nginx service's label, so a restarted task gets the current split. For a weight `w` their output is
    /// byte for byte the `splitLines` rendered with `w` (the live form): `* stable;`, `w% canary;` and `* stable;` on
    /// two
    /// lines, or `* canary;`. The label can be set by hand, so it is never printed: the actions compare it with each
    /// weight "1" to "100" in turn and emit that weight's fixed lines; anything else (missing, empty, `50%`, `150`, a
    /// line break) is no traffic on the candidate, `* stable;`.
    static let swarmSplitAction: String = {
        var action = #"{{$w := index .Service.Labels "\#(swarmWeightLabel)"}}"#
        for weight in 1...100 {
            let lines = CanaryRender(image: "", version: "", weight: weight, sticky: false).splitLines.joined(
                separator: "\n        ")
            action += #"{{\#(weight == 1 ? "if" : "else if") eq $w "\#(weight)"}}"# + lines
        }
        return action + "{{else}}* stable;{{end}}"
    }()
    /// The weight in nginx.conf's comment, from the label the same way: digits 0-100 only, never the label's text.
    static let swarmWeightAction: String = {
        var action = #"{{$c := index .Service.Labels "\#(swarmWeightLabel)"}}"#
        for weight in 1...100 {
            action += #"{{\#(weight == 1 ? "if" : "else if") eq $c "\#(weight)"}}\#(weight)"#
        }
        return action + "{{else}}0{{end}}"
    }()

    /// What Swarm's template driver renders from the Swarm config `conf` when the weight label is `weight`: the live
    /// form at that weight, byte for byte (``swarmSplitAction`` and ``swarmWeightAction`` are its only actions, as
    /// `ConfigRenderer.checkGoTemplate` requires). Nil when `conf` carries no split action (not a config rendered with
    /// the split, e.g. a template without it).
    static func swarmLiveForm(ofConfig conf: String, weight: Int) -> String? {
        guard conf.contains(swarmSplitAction) else { return nil }
        let w = (1...100).contains(weight) ? weight : 0
        let lines =
            w == 0
            ? "* stable;"
            : CanaryRender(image: "", version: "", weight: w, sticky: false).splitLines.joined(separator: "\n        ")
        return conf.replacingOccurrences(of: swarmSplitAction, with: lines).replacingOccurrences(
            of: swarmWeightAction, with: String(w))
    }

    /// `swarmTemplate`: render the split as Swarm's Go template actions (the Swarm config of nginx.conf) rather than
    /// the fixed weight (the live form written into the nginx container).
    init(_ canary: CanaryRender, manifest: Manifest, swarmTemplate: Bool = false) throws {
        if ManifestGrammar.imageReference(canary.image) != nil {
            throw RenderError.unsafeValue(
                field: "rollout --image", value: "'\(canary.image)'", context: "docker-compose.yml")
        }
        if ManifestGrammar.version(canary.version) != nil {
            throw RenderError.unsafeValue(
                field: "rollout --version", value: "'\(canary.version)'", context: "docker-compose.yml")
        }
        try self.init(split: canary, manifest: manifest, swarmTemplate: swarmTemplate)
    }

    /// The split without a candidate, which nginx always carries on Swarm (docs/swarm.md, "The weight"): weight 0,
    /// everyone on stable, so that neither `deploy`, a rollout's start or steps nor its end changes nginx's Swarm
    /// config (and so its task).
    static func swarmNoRollout(manifest: Manifest, swarmTemplate: Bool) throws -> CanaryContext {
        try CanaryContext(
            split: CanaryRender(image: "", version: "", weight: 0, sticky: manifest.rollout.sticky), manifest: manifest,
            swarmTemplate: swarmTemplate)
    }

    private init(split canary: CanaryRender, manifest: Manifest, swarmTemplate: Bool) throws {
        let service = CanaryRender.serviceName(for: manifest.services.name)
        if ManifestGrammar.dnsLabel(service) != nil {
            throw RenderError.unsafeValue(
                field: "the candidate's service name", value: "'\(service)'",
                context: "a Compose service name (shorten services.name)")
        }
        let swarm = manifest.runtime == .swarm
        canaryService = try Escaping.composeKey(service, field: "services.name")
        // On Swarm every replica of the candidate answers at tasks.<service>, as the stable side's.
        canaryUpstream = try Escaping.nginxToken(
            "http://\(swarm ? "tasks." : "")\(service):\(manifest.services.port)", field: "services.name")
        canaryImage = Escaping.composeString(canary.image)
        canaryVersion = Escaping.composeString(canary.version)
        weightDigits = String(CanaryRender.clamped(canary.weight))
        sticky = canary.sticky
        if swarm && swarmTemplate {
            weight = Self.swarmWeightAction
            splitLines = [Self.swarmSplitAction]
        } else {
            weight = weightDigits
            splitLines = canary.splitLines
        }
    }
}
