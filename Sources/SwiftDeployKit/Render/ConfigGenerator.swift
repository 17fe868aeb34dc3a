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
    /// Swarm, during a rollout: the image the stable service runs, in place of `services.image` (see ``ConfigRenderer``).
    public var stableImage: String? = nil

    public init(manifest: Manifest, templates: TemplateSet, manifestName: String = "manifest.yaml", canary: CanaryRender? = nil,
                stableImage: String? = nil) {
        self.manifest = manifest
        self.templates = templates
        self.manifestName = manifestName
        self.canary = canary
        self.stableImage = stableImage
    }

    /// Uses the manifest's own templates (`templates:`) or the built-in ones.
    public init(manifest: Manifest, manifestName: String = "manifest.yaml", canary: CanaryRender? = nil, stableImage: String? = nil) throws {
        self.init(manifest: manifest, templates: try TemplateSet.forManifest(manifest), manifestName: manifestName, canary: canary,
                  stableImage: stableImage)
    }

    /// What would be written, without writing.
    public func render() throws -> [GeneratedFile] {
        let rendered = try ConfigRenderer(templates: templates).render(manifest, manifestName: manifestName, canary: canary,
                                                                               stableImage: stableImage)
        // nginx.conf is read by the unprivileged nginx in its container; docker-compose.yml holds
        // services.env values and is read by Compose as the user running swiftdeploy only. The
        // observability/ files hold no secret and are read by Prometheus and Alertmanager running
        // as their own unprivileged users.
        let observability = ObservabilityRenderer(manifest: manifest, manifestName: manifestName).files().map {
            GeneratedFile(url: manifest.observabilityDirectoryURL.appendingPathComponent($0.path), contents: $0.contents,
                          permissions: 0o644)
        }
        return [
            GeneratedFile(url: manifest.nginxConfigURL, contents: rendered.nginxConf, permissions: 0o644),
            // The runtime's own file: docker-compose.yml, or docker-stack.yml with runtime: swarm. Both hold
            // services.env values.
            GeneratedFile(url: manifest.runtimeFileURL, contents: rendered.stack ?? rendered.compose, permissions: 0o600),
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
                    throw RenderError.writeFailed(path: directory.path, reason: "cannot create the directory: \(error.localizedDescription)")
                }
                staged.append((try AtomicFile.stage(Data(file.contents.utf8), for: file.url, mode: mode_t(file.permissions)), file.url))
            }
        } catch {
            staged.forEach { try? FileManager.default.removeItem(at: $0.temp) }
            throw error
        }
        // Phase 2: renames, each atomic.
        for (index, entry) in staged.enumerated() {
            do { try AtomicFile.commit(entry.temp, to: entry.target) } catch {
                staged[index...].forEach { try? FileManager.default.removeItem(at: $0.temp) }
                throw error
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
        let mode = (try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue
        return existing == Data(contents.utf8) && mode.map({ $0 & 0o777 }) == permissions ? .unchanged : .updated
    }
}

/// Writes that never leave a half-written file: temporary sibling, fsync, rename.
public enum AtomicFile {
    /// Writes `data` to `url` atomically (no-op when the bytes are already there). Keeps the file's permissions.
    public static func write(_ data: Data, to url: URL) throws {
        if FileManager.default.contents(atPath: url.path) == data { return }
        try commit(try stage(data, for: url), to: url)
    }

    /// Writes `data` to a temporary file beside `url` and syncs it; returns its URL. Its mode is `mode`,
    /// else the existing file's, else 0644.
    static func stage(_ data: Data, for url: URL, mode forced: mode_t? = nil) throws -> URL {
        let dir = url.deletingLastPathComponent()
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let mode: mode_t
        if let forced {
            mode = forced
        } else if let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
           let permissions = attributes[.posixPermissions] as? NSNumber {
            mode = mode_t(permissions.uint16Value)
        } else {
            mode = 0o644
        }
        // Created owner-only, widened by fchmod once written: a secret never sits in a readable file.
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw RenderError.writeFailed(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var offset = 0
        let bytes = [UInt8](data)
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                unlink(temp.path)
                throw RenderError.writeFailed(path: url.path, reason: reason)
            }
            offset += n
        }
        fchmod(fd, mode)
        if fsync(fd) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temp.path)
            throw RenderError.writeFailed(path: url.path, reason: reason)
        }
        return temp
    }

    /// Renames the staged file over the target.
    static func commit(_ temp: URL, to url: URL) throws {
        guard rename(temp.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp.path)
            throw RenderError.writeFailed(path: url.path, reason: reason)
        }
    }
}
