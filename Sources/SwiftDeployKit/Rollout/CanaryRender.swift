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

    /// The Compose service of the candidate for an app service `name`.
    public static func serviceName(for name: String) -> String { "\(name)-canary" }

    /// The `split_clients` lines for `weight`: nginx refuses a 0% entry, so 0 and 100 route everyone to one side.
    var splitLines: [String] {
        switch weight {
        case ...0: return ["* stable;"]
        case 100...: return ["* canary;"]
        default: return ["\(weight)% canary;", "* stable;"]
        }
    }
}

/// The canary part of `NginxContext` and `ComposeContext`, pre-escaped.
struct CanaryContext {
    let canaryService: String
    let canaryUpstream: String
    let canaryImage: String
    let canaryVersion: String
    let weight: String
    let sticky: Bool
    let splitLines: [String]

    init(_ canary: CanaryRender, manifest: Manifest) throws {
        let service = CanaryRender.serviceName(for: manifest.services.name)
        if ManifestGrammar.dnsLabel(service) != nil {
            throw RenderError.unsafeValue(field: "the candidate's service name", value: "'\(service)'", context: "a Compose service name (shorten services.name)")
        }
        if ManifestGrammar.imageReference(canary.image) != nil {
            throw RenderError.unsafeValue(field: "rollout --image", value: "'\(canary.image)'", context: "docker-compose.yml")
        }
        if ManifestGrammar.version(canary.version) != nil {
            throw RenderError.unsafeValue(field: "rollout --version", value: "'\(canary.version)'", context: "docker-compose.yml")
        }
        canaryService = try Escaping.composeKey(service, field: "services.name")
        canaryUpstream = try Escaping.nginxToken("http://\(service):\(manifest.services.port)", field: "services.name")
        canaryImage = Escaping.composeString(canary.image)
        canaryVersion = Escaping.composeString(canary.version)
        weight = String(max(0, min(100, canary.weight)))
        sticky = canary.sticky
        splitLines = canary.splitLines
    }
}
