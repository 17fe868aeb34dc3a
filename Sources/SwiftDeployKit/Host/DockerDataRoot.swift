import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Docker's data root (`docker info`'s `DockerRootDir`), asked once per engine start instead of once per gate.
///
/// `docker info` costs tens to hundreds of milliseconds (the CLI starts, the engine gathers its whole info), more
/// than everything else a `gate infrastructure` does. The data root can only change when the engine restarts, and
/// a restart recreates the engine's unix socket: so the answer is kept in a small cache file keyed by the socket's
/// identity (device, inode, change time) and reused while that socket is the same and the directory exists.
/// Anything else (another socket, a restart, the directory gone, an unreadable or foreign cache) asks Docker again.
/// An engine reached another way (a `tcp://`/`ssh://` `DOCKER_HOST`, a Docker context) is always asked: its
/// socket cannot be checked here.
public struct DockerDataRoot: Sendable {
    /// The engine's unix socket whose identity keys the cache; nil: never cache.
    public var socketPath: String?
    /// Where the answer is kept; nil: never cache.
    public var cacheFile: URL?
    /// Asks Docker (default: `docker info -f '{{.DockerRootDir}}'`).
    public var ask: @Sendable () async -> String?

    public init(
        socketPath: String?, cacheFile: URL?,
        ask: @escaping @Sendable () async -> String? = HostFactsCollector.askDocker
    ) {
        self.socketPath = socketPath
        self.cacheFile = cacheFile
        self.ask = ask
    }

    /// The engine the Docker CLI would talk to for `environment`, cached under the user's cache directory
    /// (`$XDG_CACHE_HOME/swiftdeploy`, else `~/.cache/swiftdeploy`).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> DockerDataRoot {
        DockerDataRoot(socketPath: socketPath(environment: environment), cacheFile: cacheFile(environment: environment))
    }

    /// The unix socket of the engine `environment` selects; nil when it selects one some other way.
    static func socketPath(environment: [String: String]) -> String? {
        func set(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        if set("DOCKER_CONTEXT") != nil { return nil }
        if let host = set("DOCKER_HOST") {
            guard host.hasPrefix("unix://") else { return nil }
            let path = String(host.dropFirst("unix://".count))
            return path.hasPrefix("/") ? path : nil
        }
        // A current context other than the default one may point anywhere.
        let configDirectory = set("DOCKER_CONFIG") ?? set("HOME").map { $0 + "/.docker" }
        if let configDirectory,
            let data = FileManager.default.contents(atPath: configDirectory + "/config.json"),
            case .object(let config)? = try? JSONValue.parse(data),
            let context = config["currentContext"], context != .string("default"), context != .null
        {
            return nil
        }
        return "/var/run/docker.sock"
    }

    static func cacheFile(environment: [String: String]) -> URL? {
        func set(_ key: String) -> String? { environment[key].flatMap { $0.hasPrefix("/") ? $0 : nil } }
        guard let base = set("XDG_CACHE_HOME") ?? set("HOME").map({ $0 + "/.cache" }) else { return nil }
        return URL(fileURLWithPath: base).appendingPathComponent("swiftdeploy/docker-data-root")
    }

    /// The data root: cached while the engine's socket is the same one, else asked (and cached when answered).
    public func resolve() async -> String? {
        guard let socketPath, let cacheFile, let identity = Self.identity(of: socketPath) else { return await ask() }
        let key = "v1 \(identity) \(socketPath)"
        if let text = try? String(contentsOf: cacheFile, encoding: .utf8) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.count >= 2, lines[0] == key, lines[1].hasPrefix("/") {
                var isDirectory: ObjCBool = false
                let root = String(lines[1])
                if FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue {
                    return root
                }
            }
        }
        guard let root = await ask() else { return nil }
        store(key + "\n" + root + "\n", in: cacheFile)
        return root
    }

    /// Device, inode and change time of the socket: a restarted engine makes a new one.
    static func identity(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(info.st_dev):\(info.st_ino):\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
    }

    /// Best effort: written through a temporary file and renamed; a cache that cannot be written is only a slower gate.
    private func store(_ text: String, in file: URL) {
        let directory = file.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(".\(file.lastPathComponent).\(getpid()).tmp")
        guard (try? Data(text.utf8).write(to: temporary)) != nil else { return }
        if rename(temporary.path, file.path) != 0 { try? FileManager.default.removeItem(at: temporary) }
    }
}
