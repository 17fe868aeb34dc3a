import Foundation

/// The lifecycle's renderer: `ConfigGenerator`, exactly what `init` runs
/// (the manifest's own templates or the built-in ones, atomic writes, unchanged files left alone).
public struct GeneratorRenderer: ConfigRendering {
    /// How the manifest is named in the generated files' header (its file name).
    public var manifestName: String

    public init(manifestName: String = "manifest.yaml") {
        self.manifestName = manifestName
    }

    @discardableResult
    public func render(_ manifest: Manifest) throws -> [URL] {
        try ConfigGenerator(manifest: manifest, manifestName: manifestName).write()
            .filter { $0.outcome != .unchanged }
            .map(\.file.url)
    }

    public func prepare(_ manifest: Manifest) throws {
        _ = try ConfigGenerator(manifest: manifest, manifestName: manifestName).render()
    }

    /// nginx.conf, docker-compose.yml (docker-stack.yml on Swarm) and, with an `slo` block or `observability`, every
    /// file of `observability/`.
    public func generatedFiles(for manifest: Manifest) -> [URL] {
        [manifest.nginxConfigURL, manifest.runtimeFileURL]
            + ObservabilityRenderer(manifest: manifest, manifestName: manifestName).files().map {
                manifest.observabilityDirectoryURL.appendingPathComponent($0.path)
            }
    }
}

extension Manifest {
    /// A generated file as the user knows it: its path below the manifest's directory (`observability/rules/slo.yml`;
    /// two files may share a name, such as `prometheus.yml`), or its name when it lies elsewhere.
    public func shownPath(_ file: URL) -> String {
        let top = directory.standardizedFileURL.path + "/", path = file.standardizedFileURL.path
        return path.hasPrefix(top) ? String(path.dropFirst(top.count)) : file.lastPathComponent
    }
}
