import Foundation

/// Who holds the project lock: the content of `.swiftdeploy/lock`.
public struct LockHolder: Sendable, Equatable, Codable {
    /// The user name.
    public var who: String
    public var host: String
    public var pid: Int32
    /// `deploy`, `promote`, `teardown`.
    public var action: String
    /// When the lock was taken (ISO 8601 in the file).
    public var since: Date

    public init(who: String, host: String, pid: Int32, action: String, since: Date) {
        self.who = who
        self.host = host
        self.pid = pid
        self.action = action
        self.since = since
    }

    /// The current process, about to do `action`.
    public static func current(action: String, now: Date = Date()) -> LockHolder {
        LockHolder(who: CurrentUser.name(), host: ProcessInfo.processInfo.hostName, pid: getpid(), action: action, since: now)
    }

    /// `alice@build-1 (pid 4242) running deploy since 2026-11-21T18:00:00Z`
    public var description: String {
        "\(who)@\(host) (pid \(pid)) running \(action) since \(DeployLock.timestampFormatter.string(from: since))"
    }
}

/// Why the lock could not be taken.
public enum LockError: SwiftDeployFailure, Equatable {
    case held(by: LockHolder, path: String, expiresIn: Int)
    case unusable(path: String, reason: String)

    public var exitStatus: ExitStatus { .operationFailed }

    public var errorDescription: String? {
        switch self {
        case .held(let holder, let path, let expiresIn):
            return """
            another swiftdeploy is working on this project: \(holder.description)
            wait for it to finish and run again; the lock (\(path)) expires by itself in \(expiresIn)s or as soon as that process is gone
            """
        case .unusable(let path, let reason):
            return "cannot use the lock file \(path): \(reason); check the directory's permissions"
        }
    }
}

/// The result of taking the lock: release it when done; `broken` is the stale holder it replaced.
public struct LockGrant: Sendable {
    public let holder: LockHolder
    /// The stale lock this grant broke (its holder was gone or it was older than the TTL); record it.
    public let broken: LockHolder?
    /// Why the broken lock was judged stale.
    public let breakReason: String?
    let url: URL

    /// Removes the lock file if it is still ours.
    public func release() {
        if let data = try? Data(contentsOf: url), let current = try? DeployLock.decoder.decode(LockHolder.self, from: data),
           current.pid == holder.pid, current.host == holder.host, current.since == holder.since {
            try? FileManager.default.removeItem(at: url)
        }
    }
}

/// A per-project lock: `.swiftdeploy/lock` beside the manifest, created exclusively (a file
/// made with `O_EXCL`, hard-linked into place) so two processes can never both hold it and a
/// reader never sees it half-written. Its JSON says who holds it.
///
/// A lock is stale, and is broken (and the break reported in `LockGrant.broken`), when
/// its holder's pid no longer exists on this host, or when it is older than `ttl`
/// (default 15 minutes: longer than any deploy's health wait) whatever host wrote it,
/// or when its content is unreadable.
public struct DeployLock: Sendable {
    public static let defaultTTL: TimeInterval = 15 * 60

    public var url: URL
    public var ttl: TimeInterval

    public init(url: URL, ttl: TimeInterval = DeployLock.defaultTTL) {
        self.url = url
        self.ttl = ttl
    }

    /// The lock of the project whose manifest is in `directory`.
    public init(manifestDirectory directory: URL, ttl: TimeInterval = DeployLock.defaultTTL) {
        self.init(url: directory.appendingPathComponent(".swiftdeploy/lock"), ttl: ttl)
    }

    static let timestampFormatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter
    }()

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
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
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 time: \(text)"))
            }
            return date
        }
        return decoder
    }

    /// Takes the lock for `holder`, breaking a stale one; throws `LockError.held` naming a live holder.
    public func acquire(_ holder: LockHolder, now: Date = Date()) throws -> LockGrant {
        // Whole seconds, so the holder read back from the file compares equal on release.
        var holder = holder
        holder.since = Date(timeIntervalSince1970: holder.since.timeIntervalSince1970.rounded(.down))
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw LockError.unusable(path: url.path, reason: error.localizedDescription)
        }
        let data = try DeployLock.encoder.encode(holder) + Data("\n".utf8)
        if try create(data) { return LockGrant(holder: holder, broken: nil, breakReason: nil, url: url) }

        let existing = read()
        let staleReason = existing.map { stale($0, now: now) } ?? "its content is unreadable"
        guard let reason = staleReason else {
            let expires = Int(max(0, ttl - now.timeIntervalSince(existing!.since)))
            throw LockError.held(by: existing!, path: url.path, expiresIn: expires)
        }
        // Break it: move it aside first, so two breakers cannot both succeed.
        let aside = directory.appendingPathComponent("lock.broken.\(getpid()).\(UUID().uuidString.prefix(8))")
        guard rename(url.path, aside.path) == 0 else {
            // Someone else broke or released it first: try once more, and report whoever holds it now.
            if try create(data) { return LockGrant(holder: holder, broken: nil, breakReason: nil, url: url) }
            if let now = read() { throw LockError.held(by: now, path: url.path, expiresIn: Int(ttl)) }
            throw LockError.unusable(path: url.path, reason: "it changed while being broken; run again")
        }
        try? FileManager.default.removeItem(at: aside)
        guard try create(data) else {
            if let other = read() { throw LockError.held(by: other, path: url.path, expiresIn: Int(ttl)) }
            throw LockError.unusable(path: url.path, reason: "it was re-created while being broken; run again")
        }
        let unreadable = LockHolder(who: "unknown", host: "unknown", pid: 0, action: "unknown", since: Date(timeIntervalSince1970: 0))
        return LockGrant(holder: holder, broken: existing ?? unreadable, breakReason: reason, url: url)
    }

    /// The current holder, if the lock file exists and is readable.
    public func read() -> LockHolder? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? DeployLock.decoder.decode(LockHolder.self, from: data)
    }

    /// Why `holder` is stale, or nil when it is live.
    public func stale(_ holder: LockHolder, now: Date = Date()) -> String? {
        let age = now.timeIntervalSince(holder.since)
        if age > ttl { return "it is \(Int(age))s old, older than the \(Int(ttl))s TTL" }
        if holder.host == ProcessInfo.processInfo.hostName, holder.pid > 0, kill(holder.pid, 0) != 0, errno == ESRCH {
            return "its process \(holder.pid) on \(holder.host) no longer exists"
        }
        return nil
    }

    /// Creates the lock file exclusively with its content already in it; false when it already exists.
    /// The content goes to a private file first (`O_CREAT|O_EXCL`), which is then hard-linked to the
    /// lock path: `link` fails with `EEXIST` like `O_EXCL`, and a reader never sees a lock that is
    /// created but not yet written (which it would have to treat as unreadable, hence stale).
    private func create(_ data: Data) throws -> Bool {
        let staging = url.deletingLastPathComponent()
            .appendingPathComponent("lock.new.\(getpid()).\(UUID().uuidString.prefix(8))").path
        let fd = open(staging, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        if fd < 0 { throw LockError.unusable(path: url.path, reason: String(cString: strerror(errno))) }
        defer { unlink(staging) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced else {
            throw LockError.unusable(path: url.path, reason: "could not write it: \(String(cString: strerror(errno)))")
        }
        if link(staging, url.path) == 0 { return true }
        if errno == EEXIST { return false }
        throw LockError.unusable(path: url.path, reason: String(cString: strerror(errno)))
    }
}
