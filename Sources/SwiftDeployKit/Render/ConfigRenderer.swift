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
    public func render(_ manifest: Manifest, manifestName: String = "manifest.yaml", canary: CanaryRender? = nil) throws -> RenderedConfig {
        let nginxContext = try NginxContext(manifest: manifest, manifestName: manifestName, canary: canary)
        let composeContext = try ComposeContext(manifest: manifest, manifestName: manifestName, canary: canary)
        let nginx = try compile(templates.nginx, name: TemplateSet.nginxFileName).render(nginxContext)
        let compose = try compile(templates.compose, name: TemplateSet.composeFileName).render(composeContext)
        guard manifest.runtime == .swarm else { return RenderedConfig(nginxConf: nginx, compose: compose) }
        let stackContext = try StackContext(manifest: manifest, manifestName: manifestName, nginxConf: nginx, canary: canary)
        guard let stackTemplate = templates.stack else {
            throw RenderError.templateMissing(path: "\(templates.origin)/\(TemplateSet.stackFileName)")
        }
        let stack = try compile(stackTemplate, name: TemplateSet.stackFileName).render(stackContext)
        return RenderedConfig(nginxConf: nginx, compose: compose, stack: stack)
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
    /// docker-compose.yml (written with `runtime: compose`; rendered on Swarm too, as the same manifest's Compose form).
    public var compose: String
    /// docker-stack.yml, with `runtime: swarm` only.
    public var stack: String? = nil
}
