import Foundation

/// The two templates a render uses, and where they came from (for messages).
public struct TemplateSet: Sendable, Equatable {
    public var nginx: String
    public var compose: String
    /// `built-in` or the directory the templates were read from.
    public var origin: String

    public static let nginxFileName = "nginx.conf.mustache"
    public static let composeFileName = "docker-compose.yml.mustache"

    /// The copy compiled into the binary, identical to `templates/` in the repository (a test checks it).
    public static let builtin = TemplateSet(nginx: BuiltinTemplates.nginx, compose: BuiltinTemplates.compose, origin: "built-in")

    /// Reads both templates from `directory`.
    public static func directory(_ directory: URL) throws -> TemplateSet {
        func read(_ name: String) throws -> String {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { throw RenderError.templateMissing(path: url.path) }
            do { return try String(contentsOf: url, encoding: .utf8) } catch {
                throw RenderError.templateInvalid(path: url.path, reason: "unreadable: \(error.localizedDescription)")
            }
        }
        return TemplateSet(nginx: try read(nginxFileName), compose: try read(composeFileName), origin: directory.path)
    }

    /// The manifest's templates: its `templates` directory when set, otherwise the built-in copy.
    public static func forManifest(_ manifest: Manifest) throws -> TemplateSet {
        guard let dir = manifest.templatesDir else { return .builtin }
        return try directory(manifest.resolve(dir))
    }
}
