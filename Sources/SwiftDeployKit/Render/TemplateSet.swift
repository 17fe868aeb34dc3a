import Foundation

/// The two templates a render uses, and where they came from (for messages).
public struct TemplateSet: Sendable, Equatable {
    public var nginx: String
    public var compose: String
    /// docker-stack.yml's template (`runtime: swarm`); nil when a project's template directory has none.
    public var stack: String?
    /// `built-in` or the directory the templates were read from.
    public var origin: String

    public init(nginx: String, compose: String, stack: String? = nil, origin: String) {
        self.nginx = nginx
        self.compose = compose
        self.stack = stack
        self.origin = origin
    }

    public static let nginxFileName = "nginx.conf.mustache"
    public static let composeFileName = "docker-compose.yml.mustache"
    public static let stackFileName = "docker-stack.yml.mustache"

    /// The copy compiled into the binary, identical to `templates/` in the repository (a test checks it).
    public static let builtin = TemplateSet(
        nginx: BuiltinTemplates.nginx, compose: BuiltinTemplates.compose,
        stack: BuiltinTemplates.stack, origin: "built-in")

    /// Reads both templates from `directory`.
    public static func directory(_ directory: URL) throws -> TemplateSet {
        func read(_ name: String) throws -> String {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw RenderError.templateMissing(path: url.path)
            }
            do { return try String(contentsOf: url, encoding: .utf8) } catch {
                throw RenderError.templateInvalid(path: url.path, reason: "unreadable: \(error.localizedDescription)")
            }
        }
        // The stack template is needed with runtime: swarm only; the renderer names it when it is missing.
        let stackURL = directory.appendingPathComponent(stackFileName)
        let stack = FileManager.default.fileExists(atPath: stackURL.path) ? try read(stackFileName) : nil
        return TemplateSet(
            nginx: try read(nginxFileName), compose: try read(composeFileName), stack: stack, origin: directory.path)
    }

    /// The manifest's templates: its `templates` directory when set, otherwise the built-in copy.
    public static func forManifest(_ manifest: Manifest) throws -> TemplateSet {
        guard let dir = manifest.templatesDir else { return .builtin }
        return try directory(manifest.resolve(dir))
    }
}
