import Foundation
import Mustache

/// Renders nginx.conf and docker-compose.yml from a validated manifest.
/// Pure: same manifest and templates, same bytes. Writes nothing (see `ConfigGenerator`).
public struct ConfigRenderer: Sendable {
    public let templates: TemplateSet

    public init(templates: TemplateSet = .builtin) {
        self.templates = templates
    }

    /// The rendered nginx.conf and docker-compose.yml, in that order.
    /// `canary` adds a running rollout's candidate service and traffic split; nil renders without one.
    /// `stableImage` (Swarm, during a rollout): the image the stable service runs, written in its place of
    /// `services.image` so the rollout's stack deploys leave stable as it is (see ``StackContext``).
    public func render(
        _ manifest: Manifest, manifestName: String = "manifest.yaml", canary: CanaryRender? = nil,
        stableImage: String? = nil
    ) throws -> RenderedConfig {
        let nginxContext = try NginxContext(manifest: manifest, manifestName: manifestName, canary: canary)
        let composeContext = try ComposeContext(manifest: manifest, manifestName: manifestName, canary: canary)
        let nginx = try compile(templates.nginx, name: TemplateSet.nginxFileName).render(nginxContext)
        let compose = try compile(templates.compose, name: TemplateSet.composeFileName).render(composeContext)
        guard manifest.runtime == .swarm else { return RenderedConfig(nginxConf: nginx, compose: compose) }
        // On Swarm, nginx.conf (the Swarm config) always carries the split as Go template actions Swarm fills in from
        // the nginx service's weight label when it starts a task (no label: all on stable), so it is the same config
        // with or without a rollout and at every weight; `nginx` above is its live form at the weight (0 without one).
        let templated = try NginxContext(
            manifest: manifest, manifestName: manifestName, canary: canary, swarmTemplate: true)
        let swarmConf = try compile(templates.nginx, name: TemplateSet.nginxFileName).render(templated)
        try Self.checkGoTemplate(swarmConf)
        guard let stackTemplate = templates.stack else {
            throw RenderError.templateMissing(path: "\(templates.origin)/\(TemplateSet.stackFileName)")
        }
        let compiled = try compile(stackTemplate, name: TemplateSet.stackFileName)
        // The digest of what this manifest deploys without a rollout (the stack rendered without a candidate, a pin
        // or the digest itself), carried as a label of the app services.
        let plain = compiled.render(
            try StackContext(manifest: manifest, manifestName: manifestName, nginxConf: swarmConf))
        let digest = String(Digest.sha256Hex(of: Data(plain.utf8)).prefix(16))
        let stackContext = try StackContext(
            manifest: manifest, manifestName: manifestName, nginxConf: swarmConf, canary: canary,
            stableImage: stableImage, manifestDigest: digest)
        let stack = compiled.render(stackContext)
        return RenderedConfig(
            nginxConf: swarmConf, compose: compose, stack: stack, nginxLive: nginx, stackDigest: digest)
    }

    /// Swarm's Go template driver reads every `{{` as an action: the only ones nginx.conf may hold are swiftdeploy's
    /// own (the weight), so nothing a manifest or a template brings in can become a template action.
    static func checkGoTemplate(_ conf: String) throws {
        let rest = conf.replacingOccurrences(of: CanaryContext.swarmSplitAction, with: "")
            .replacingOccurrences(of: CanaryContext.swarmWeightAction, with: "")
        if let range = rest.range(of: "{{") {
            let line = rest[..<range.lowerBound].filter { $0 == "\n" }.count + 1
            throw RenderError.unsafeValue(
                field: "nginx.conf", value: "'{{' on line \(line)",
                context:
                    """
                    a Swarm config rendered by Go's template driver (remove the '{{' from the manifest or the \
                    template)
                    """
            )
        }
    }

    private func compile(_ source: String, name: String) throws -> MustacheTemplate {
        do { return try MustacheTemplate(string: source) } catch {
            let path = templates.origin == "built-in" ? "built-in \(name)" : "\(templates.origin)/\(name)"
            throw RenderError.templateInvalid(path: path, reason: "\(error)")
        }
    }
}

/// The generated files' contents.
public struct RenderedConfig: Sendable, Equatable {
    public var nginxConf: String
    /// docker-compose.yml (written with `runtime: compose`; rendered on Swarm too, as the same manifest's Compose
    /// form).
    public var compose: String
    /// docker-stack.yml, with `runtime: swarm` only.
    public var stack: String? = nil
    /// On Swarm: nginx.conf at the rollout's weight (0 without a rollout), as nginx runs it (`nginxConf` is the Swarm
    /// config, a Go template reading the weight from the nginx service's label). Nil on Compose.
    public var nginxLive: String? = nil
    /// On Swarm: the digest of the stack this manifest deploys without a rollout (the app services' label
    /// `swiftdeploy.manifest.digest`). Nil on Compose.
    public var stackDigest: String? = nil
}
