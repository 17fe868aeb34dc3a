import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Who holds the project lock: the JSON description written into the lock file while it is held.
public struct LockHolder: Sendable, Equatable, Codable {
    /// The user name.
    public var who: String
    public var host: String
    public var pid: Int32
    /// `deploy`, `promote canary`, `teardown`, …
    public var action: String
    /// When the lock was taken (ISO 8601 in the file, whole seconds).
    public var since: Date
    /// The manifest the holder works from (two checkouts of one project share the lock).
    public var manifest: String?
    /// The history the holder records to: where its intent, if any, is found after a crash.
    public var history: String?
    /// Holders that ended while holding the lock before this one took it, oldest first, until this
    /// holder has recorded them: if it ends too before that, the next holder still finds them.
    public var interrupted: [LockHolder]?
    /// A random id of this holding, carried by the intents it writes: pid and time can repeat, this cannot.
    public var nonce: String?

    public init(
        who: String, host: String, pid: Int32, action: String, since: Date, manifest: String? = nil,
        history: String? = nil
    ) {
        self.who = who
        self.host = host
        self.pid = pid
        self.action = action
        self.since = since
        self.manifest = manifest
        self.history = history
    }

    /// The current process, about to do `action`.
    public static func current(action: String, manifest: String? = nil, history: String? = nil, now: Date = Date())
        -> LockHolder
    {
        var holder = LockHolder(
            who: CurrentUser.name(), host: ProcessInfo.processInfo.hostName, pid: getpid(), action: action,
            since: now, manifest: manifest, history: history)
        holder.nonce = UUID().uuidString.lowercased()
        return holder
    }

    /// `alice@build-1 (pid 4242) running deploy since 2026-11-21T18:00:00Z`
    public var description: String {
        "\(who)@\(host) (pid \(pid)) running \(action) since \(DeployLock.timestampFormatter.string(from: since))"
            + (manifest.map { " from \($0)" } ?? "")
    }

    /// The holder as a history `details` value.
    public var jsonValue: JSONValue {
        var object: [String: JSONValue] = [
            "who": .string(who), "host": .string(host), "pid": .int(Int64(pid)), "action": .string(action),
            "since": .string(DeployLock.timestampFormatter.string(from: since)),
        ]
        if let manifest { object["manifest"] = .string(manifest) }
        if let history { object["history"] = .string(history) }
        if let nonce { object["nonce"] = .string(nonce) }
        return .object(object)
    }

    /// The description of an unreadable lock file's content.
    static func unreadable(_ content: Data) -> LockHolder {
        let text = String(decoding: content.prefix(200), as: UTF8.self)
        return LockHolder(
            who: "unknown", host: "unknown", pid: 0,
            action: "an unknown action (its lock description was unreadable: \(text.debugDescription))",
            since: Date(timeIntervalSince1970: 0))
    }
}

/// Why the lock could not be taken.
public enum LockError: SwiftDeployFailure, Equatable {
    /// Another process holds the lock; `holder` is its description (nil while it is still being written).
    case held(by: LockHolder?, project: String, path: String)
    case unusable(path: String, reason: String)

    public var exitStatus: ExitStatus { .operationFailed }

    public var errorDescription: String? {
        switch self {
        case .held(let holder, let project, let path):
            let who = holder?.description ?? "a process that has not written its description yet"
            return """
                another swiftdeploy is working on project '\(project)': \(who)
                wait for it to finish and run again; nothing was changed (the kernel releases the lock \(path) as \
                soon as that process ends)
                """
        case .unusable(let path, let reason):
            return
                """
                cannot use the lock file \(path): \(reason); check the directory's permissions, or point \
                SWIFTDEPLOY_LOCK_DIR at a writable directory
                """
        }
    }
}

/// A held lock. The kernel releases it when the process ends, however it ends; `release()` does it
/// earlier and empties the description, so an empty lock file means "released cleanly".
public final class LockGrant: @unchecked Sendable {
    public private(set) var holder: LockHolder
    /// Holders that ended (crashed, were killed) while holding the lock, oldest first: the kernel released
    /// their lock and their descriptions tell this command what was interrupted. Until `settle()` they stay
    /// in this holder's own description, so they are not lost if this one ends too.
    public let pending: [LockHolder]
    public let url: URL
    private let mutex = NSLock()
    private var fd: Int32

    init(holder: LockHolder, pending: [LockHolder], url: URL, fd: Int32) {
        self.holder = holder
        self.pending = pending
        self.url = url
        self.fd = fd
    }

    /// Rewrites the description without `interrupted`, once they are recorded.
    public func settle() throws {
        mutex.lock()
        defer { mutex.unlock() }
        guard fd >= 0, holder.interrupted != nil else { return }
        holder.interrupted = nil
        try DeployLock.write(holder, to: fd, path: url.path)
    }

    /// Empties the description and releases the lock. Idempotent. The file stays: removing a lock
    /// file others may be waiting on would let two processes hold two different files.
    public func release() {
        mutex.lock()
        defer { mutex.unlock() }
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        _ = fsync(fd)
        _ = flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    /// Lets go of the lock the way a killed process does: the kernel drops it, the description stays.
    /// For tests of what the next command finds.
    func abandon() {
        mutex.lock()
        defer { mutex.unlock() }
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}

/// The per-project lock, held with `flock(2)` on a lock file named by the Compose project in a
/// host-wide directory, so every checkout of one project on this host shares it.
///
/// `flock` is released by the kernel when its holder ends, however it ends (SIGKILL included):
/// there is no stale lock to guess about and nothing to break. While held, the file holds the
/// holder's JSON description (for the messages of a refused command); a clean release empties it.
/// A description found by the next holder therefore belongs to a holder that ended while holding
/// the lock: it is reported in `LockGrant.pending` so the command can record the interruption.
///
/// The directory: `SWIFTDEPLOY_LOCK_DIR` when set, else `/run/lock/swiftdeploy` when `/run/lock`
/// is writable, else `<temporary directory>/swiftdeploy-locks`. It is created `1777` (like
/// `/tmp`) so every user of the Docker engine on this host shares it.
public struct DeployLock: Sendable {
    public var url: URL
    /// The project the lock is for (named in messages).
    public var project: String

    public init(url: URL, project: String) {
        self.url = url
        self.project = project
    }

    /// The lock of Compose project `project` in `directory` (default: the host-wide lock directory).
    public init(project: String, directory: URL? = nil) {
        let dir = directory ?? DeployLock.hostDirectory()
        self.init(url: dir.appendingPathComponent("\(project).lock"), project: project)
    }

    /// The host-wide lock directory (see the type's documentation).
    public static func hostDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let dir = environment["SWIFTDEPLOY_LOCK_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        if access("/run/lock", W_OK | X_OK) == 0 { return URL(fileURLWithPath: "/run/lock/swiftdeploy") }
        return URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("swiftdeploy-locks")
    }

    static let timestampFormatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter
    }()

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestampFormatter.string(from: date))
        }
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = timestampFormatter.date(from: text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 time: \(text)"))
            }
            return date
        }
        return decoder
    }

    /// Takes the lock for `holder` without waiting; throws `LockError.held` naming the live holder.
    public func acquire(_ holder: LockHolder) async throws -> LockGrant {
        // Whole seconds, so the description read back compares equal.
        var holder = holder
        holder.since = Date(timeIntervalSince1970: holder.since.timeIntervalSince1970.rounded(.down))
        let fd = try open()
        var locked = false
        defer { if !locked { close(fd) } }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK {
                throw LockError.held(by: await currentHolder(), project: project, path: url.path)
            }
            throw LockError.unusable(path: url.path, reason: "flock: \(String(cString: strerror(errno)))")
        }
        locked = true
        let left = Self.readAll(fd)
        var pending: [LockHolder] = []
        if !left.isEmpty {
            if var previous = try? DeployLock.decoder.decode(LockHolder.self, from: left) {
                pending = previous.interrupted ?? []
                previous.interrupted = nil
                pending.append(previous)
            } else {
                pending = [LockHolder.unreadable(left)]
            }
        }
        holder.interrupted = pending.isEmpty ? nil : pending
        do { try Self.write(holder, to: fd, path: url.path) } catch {
            _ = flock(fd, LOCK_UN)
            locked = false
            throw error
        }
        return LockGrant(holder: holder, pending: pending, url: url, fd: fd)
    }

    static func write(_ holder: LockHolder, to fd: Int32, path: String) throws {
        let data = try DeployLock.encoder.encode(holder) + Data("\n".utf8)
        let written = data.withUnsafeBytes { bytes -> Bool in
            guard ftruncate(fd, 0) == 0 else { return false }
            return pwrite(fd, bytes.baseAddress, bytes.count, 0) == bytes.count
        }
        guard written, fsync(fd) == 0 else {
            throw LockError.unusable(
                path: path, reason: "could not write the holder's description: \(String(cString: strerror(errno)))")
        }
    }

    /// The description in the lock file now, if any (a holder's, or one left by a holder that ended).
    public func read() -> LockHolder? {
        guard let data = try? Data(contentsOf: url), !data.isEmpty else { return nil }
        return try? DeployLock.decoder.decode(LockHolder.self, from: data)
    }

    /// Whether some process holds the lock right now (a probe: takes and drops it when free).
    public func isHeld() -> Bool {
        let fd = Glibc.open(url.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }

    /// The live holder's description. It writes it just after taking the lock (after reading what a dead
    /// holder left), so a description that is missing, or names a process of this host that no longer
    /// exists, is the previous one about to be replaced: retry briefly.
    private func currentHolder() async -> LockHolder? {
        var last: LockHolder?
        for _ in 0..<40 {
            last = read()
            if let holder = last, !Self.isGone(holder) { return holder }
            try? await Task.sleep(nanoseconds: 25_000_000)
        }
        return last
    }

    /// Whether `holder` names a process of this host that no longer exists.
    static func isGone(_ holder: LockHolder) -> Bool {
        holder.host == ProcessInfo.processInfo.hostName && holder.pid > 0 && kill(holder.pid, 0) != 0 && errno == ESRCH
    }

    /// Opens (creating when needed) the lock file, never following a symlink. An existing file is opened
    /// without `O_CREAT`, which a sticky shared directory (`fs.protected_regular`) would refuse for a file
    /// another user created.
    private func open() throws -> Int32 {
        let directory = url.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: directory.path) {
            let made = mkdir(directory.path, 0o1777)
            if made == 0 { chmod(directory.path, 0o1777) }
            if made != 0, errno != EEXIST {
                do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                    throw LockError.unusable(
                        path: url.path, reason: "cannot create its directory: \(error.localizedDescription)")
                }
                chmod(directory.path, 0o1777)
            }
        }
        for _ in 0..<5 {
            let fd = Glibc.open(url.path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            if fd >= 0 { return fd }
            guard errno == ENOENT else {
                throw LockError.unusable(path: url.path, reason: String(cString: strerror(errno)))
            }
            let created = Glibc.open(url.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o666)
            if created >= 0 {
                fchmod(created, 0o666)  // other users of the engine lock the same project
                return created
            }
            guard errno == EEXIST else {
                throw LockError.unusable(path: url.path, reason: String(cString: strerror(errno)))
            }
        }
        throw LockError.unusable(path: url.path, reason: "it keeps appearing and disappearing; run again")
    }

    private static func readAll(_ fd: Int32) -> Data {
        var result = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: off_t = 0
        while result.count < 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            result.append(contentsOf: buffer[0..<n])
            offset += off_t(n)
        }
        return result
    }
}
