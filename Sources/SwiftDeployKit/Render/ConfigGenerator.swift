import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Renders a manifest's nginx.conf and docker-compose.yml and writes them next
/// to the manifest: both are rendered before anything is written, each is
/// written through a temporary file and a rename (never half-written), and a
/// file whose bytes would not change is not touched.
public struct ConfigGenerator: Sendable {
    public let manifest: Manifest
    public let templates: TemplateSet
    /// How the manifest is named in the generated files' header.
    public let manifestName: String
    /// A running rollout's candidate and split (see ``CanaryRender``); nil without a rollout.
    public let canary: CanaryRender?
    /// Swarm, during a rollout: the image the stable service runs, in place of `services.image` (see
    /// ``ConfigRenderer``).
    public var stableImage: String? = nil

    public init(
        manifest: Manifest, templates: TemplateSet, manifestName: String = "manifest.yaml", canary: CanaryRender? = nil,
        stableImage: String? = nil
    ) {
        self.manifest = manifest
        self.templates = templates
        self.manifestName = manifestName
        self.canary = canary
        self.stableImage = stableImage
    }

    /// Uses the manifest's own templates (`templates:`) or the built-in ones.
    public init(
        manifest: Manifest, manifestName: String = "manifest.yaml", canary: CanaryRender? = nil,
        stableImage: String? = nil
    ) throws {
        self.init(
            manifest: manifest, templates: try TemplateSet.forManifest(manifest), manifestName: manifestName,
            canary: canary,
            stableImage: stableImage)
    }

    /// What would be written, without writing.
    public func render() throws -> [GeneratedFile] {
        let rendered = try ConfigRenderer(templates: templates).render(
            manifest, manifestName: manifestName, canary: canary,
            stableImage: stableImage)
        // nginx.conf is read by the unprivileged nginx in its container; docker-compose.yml holds
        // services.env values and is read by Compose as the user running swiftdeploy only. The
        // observability/ files hold no secret and are read by Prometheus and Alertmanager running
        // as their own unprivileged users.
        let observability = ObservabilityRenderer(manifest: manifest, manifestName: manifestName).files().map {
            GeneratedFile(
                url: manifest.observabilityDirectoryURL.appendingPathComponent($0.path), contents: $0.contents,
                permissions: 0o644)
        }
        return [
            GeneratedFile(url: manifest.nginxConfigURL, contents: rendered.nginxConf, permissions: 0o644),
            // The runtime's own file: docker-compose.yml, or docker-stack.yml with runtime: swarm. Both hold
            // services.env values.
            GeneratedFile(
                url: manifest.runtimeFileURL, contents: rendered.stack ?? rendered.compose, permissions: 0o600),
        ] + observability
    }

    /// The generated files that are missing or differ on disk (the drift `init --check` reports).
    public func drift() throws -> [GeneratedFile] {
        try render().filter { $0.status() != .unchanged }
    }

    /// Renders and writes both files; returns what happened to each.
    @discardableResult
    public func write() throws -> [(file: GeneratedFile, outcome: GeneratedFile.Status)] {
        let files = try render()
        let plan = files.map { ($0, $0.status()) }
        // Phase 1: every changed file goes to a temporary sibling; a failure removes them all.
        var staged: [(temp: URL, target: URL)] = []
        do {
            for (file, status) in plan where status != .unchanged {
                let directory = file.url.deletingLastPathComponent()
                do {
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                } catch {
                    throw RenderError.writeFailed(
                        path: directory.path, reason: "cannot create the directory: \(error.localizedDescription)")
                }
                staged.append(
                    (
                        try AtomicFile.stage(Data(file.contents.utf8), for: file.url, mode: mode_t(file.permissions)),
                        file.url
                    ))
            }
        } catch let error as FileWriteError {
            staged.forEach { try? FileManager.default.removeItem(at: $0.temp) }
            throw RenderError.writeFailed(path: error.path, reason: error.reason)
        } catch {
            staged.forEach { try? FileManager.default.removeItem(at: $0.temp) }
            throw error
        }
        // Phase 2: renames, each atomic.
        for (index, entry) in staged.enumerated() {
            do { try AtomicFile.commit(entry.temp, to: entry.target) } catch {
                staged[index...].forEach { try? FileManager.default.removeItem(at: $0.temp) }
                guard let error = error as? FileWriteError else { throw error }
                throw RenderError.writeFailed(path: error.path, reason: error.reason)
            }
        }
        return plan.map { (file: $0.0, outcome: $0.1) }
    }
}

/// One generated file and its intended contents.
public struct GeneratedFile: Sendable, Equatable {
    public enum Status: String, Sendable { case created, updated, unchanged }

    public let url: URL
    public let contents: String
    /// The file's mode bits (0644, or 0600 for a file holding environment values).
    public let permissions: Int

    public init(url: URL, contents: String, permissions: Int = 0o644) {
        self.url = url
        self.contents = contents
        self.permissions = permissions
    }

    /// Compares with what is on disk, contents and permissions.
    public func status() -> Status {
        guard let existing = FileManager.default.contents(atPath: url.path) else { return .created }
        let mode = (try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?
            .intValue
        return existing == Data(contents.utf8) && mode.map({ $0 & 0o777 }) == permissions ? .unchanged : .updated
    }
}
