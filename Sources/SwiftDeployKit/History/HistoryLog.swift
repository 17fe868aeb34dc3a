import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The append-only, hash-chained history (`history.jsonl`).
///
/// `append(_:)` is safe across threads and processes: it opens the file with
/// `O_APPEND`, takes an exclusive `flock(2)` on it, reads only the tail to
/// find the last intact line (its hash becomes `prev`, its `seq` + 1 the new
/// `seq`), writes the whole new line with one `write(2)` and `fsync(2)`s
/// before releasing the lock. Many processes appending at once lose nothing
/// and interleave nothing.
///
/// A crash can still leave a *torn* last line (no trailing `\n`). The next
/// append terminates it and lists its hash in the new line's `sealed` field,
/// in the same single write as the new line; its `prev` skips the torn line
/// and links to the last intact one. `audit` then reports the torn line with
/// its number and the chain stays verifiable. A write that fails part-way is
/// truncated back under the lock, so a failed append leaves no torn line of
/// its own when the file system lets it.
public final class HistoryLog: Sendable {
    /// The history file.
    public let url: URL
    private let environment: [String: String]
    private let redactor: HistoryRedactor
    private let repositoryDirectory: URL
    private let cache = GitCommitCache()

    /// The most the tail scan reads back looking for the last intact line.
    static let maximumTailScan = 16 << 20

    /// - Parameters:
    ///   - url: the history file; created (with its directory) on first append.
    ///   - environment: where the actor, CI job, commit and secret values to redact come from.
    ///   - repositoryDirectory: where `git rev-parse HEAD` runs; defaults to the history's directory
    ///     (next to the manifest). Git is asked once per `HistoryLog`, and only when appending.
    ///   - secrets: values to scrub from every line (``Manifest/secretValues``).
    public init(
        url: URL, environment: [String: String] = ProcessInfo.processInfo.environment,
        repositoryDirectory: URL? = nil, secrets: [String] = []
    ) {
        self.url = url
        self.environment = environment
        self.redactor = HistoryRedactor(environment: environment, secrets: secrets)
        self.repositoryDirectory = repositoryDirectory ?? url.deletingLastPathComponent()
    }

    /// The manifest's history (`history.path`), scrubbing the manifest's own secret env values.
    public convenience init(manifest: Manifest, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(url: manifest.historyURL, environment: environment, secrets: manifest.secretValues)
    }

    /// Appends `entry` (redacted) as one line and returns the record as written.
    ///
    /// Throws `HistoryError.cannotOpen`, `.cannotLock`, `.writeFailed`, or
    /// `.notAHistory` when the file's tail holds no intact line within 16 MiB.
    @discardableResult
    public func append(_ entry: HistoryEntry, at time: Date = Date()) async throws -> HistoryRecord {
        let redacted = redact(entry)
        let actor = HistoryActor.resolve(environment: environment)
        let commit = await cache.value { await GitCommit.resolve(in: repositoryDirectory, environment: environment) }
        let path = url.path

        let directory = url.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: directory.path) {
            do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                throw HistoryError.cannotOpen(
                    path: path, reason: "cannot create directory '\(directory.path)': \(error.localizedDescription)")
            }
        }
        let existed = FileManager.default.fileExists(atPath: path)
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HistoryError.cannotOpen(path: path, reason: HistoryLog.errnoText()) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            throw HistoryError.cannotLock(path: path, reason: HistoryLog.errnoText())
        }
        defer { _ = flock(fd, LOCK_UN) }
        if !existed { HistoryLog.syncDirectory(directory) }

        let tail = try HistoryTail.scan(fd: fd, path: path)
        let record = HistoryRecord(
            sequence: tail.lastSequence + 1, id: UUID().uuidString.lowercased(), time: time,
            actor: actor, commit: commit, entry: redacted, prev: tail.lastHash,
            sealed: tail.tornHashes)
        var bytes = [UInt8]()
        bytes.reserveCapacity(record.line.utf8.count + 2)
        if tail.needsNewline { bytes.append(UInt8(ascii: "\n")) }
        bytes.append(contentsOf: record.line.utf8)
        bytes.append(UInt8(ascii: "\n"))

        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = HistoryLog.errnoText()
                _ = ftruncate(fd, off_t(tail.size))  // leave no torn line of our own
                throw HistoryError.writeFailed(path: path, reason: reason)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            throw HistoryError.writeFailed(path: path, reason: "fsync: " + HistoryLog.errnoText())
        }
        return record
    }

    /// The intact records at the end of the file whose `time` is at or after `since`, oldest first.
    /// Reads backwards from the end and stops at the first older record, so the cost is that of the
    /// records since `since`, not of the whole history. A missing file has none.
    public func recentRecords(since: Date) throws -> [JSONValue] {
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw HistoryError.readFailed(path: path, reason: HistoryLog.errnoText())
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw HistoryError.readFailed(path: path, reason: HistoryLog.errnoText()) }
        var end = Int(info.st_size)
        var carry = [UInt8]()  // the start of a line that began before the chunk read last
        var found: [JSONValue] = []
        let chunk = 64 << 10
        while end > 0 {
            let start = max(0, end - chunk)
            let buffer = try HistoryTail.readFully(fd: fd, count: end - start, at: start, path: path) + carry
            var lines = buffer.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            // The first piece may continue in the previous chunk, unless this chunk starts the file.
            carry = start > 0 ? Array(lines.removeFirst()) : []
            for line in lines.reversed() where !line.isEmpty {
                guard let record = try? JSONValue.parse(Data(line)),
                    let time = record["time"]?.stringValue.flatMap(HistoryTime.parse)
                else {
                    continue
                }
                if time < since { return found.reversed() }
                found.append(record)
            }
            end = start
        }
        return found.reversed()
    }

    private func redact(_ entry: HistoryEntry) -> HistoryEntry {
        var e = entry
        let r = redactor
        e.outcome = e.outcome.map { r.redact($0) }
        e.message = e.message.map { r.redact($0) }
        e.modeBefore = e.modeBefore.map { r.redact($0) }
        e.modeAfter = e.modeAfter.map { r.redact($0) }
        if var d = e.decision {
            d.reasons = d.reasons.map { r.redact($0) }
            d.input = r.redact(d.input)
            d.domain = r.redact(d.domain)
            e.decision = d
        }
        e.override = e.override.map { HistoryOverride(reason: r.redact($0.reason)) }
        if case .object(let details) = r.redact(.object(e.details)) { e.details = details }
        return e
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    private static func syncDirectory(_ directory: URL) {
        let dfd = open(directory.path, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}

/// The end of a history file as an append sees it.
struct HistoryTail {
    var size: Int
    /// Hash of the last intact line (genesis when there is none).
    var lastHash: String
    var lastSequence: Int
    /// Hashes of the non-intact lines after it, oldest first (torn writes to seal).
    var tornHashes: [String]
    /// The file does not end with `\n`: the new line must first terminate the torn one.
    var needsNewline: Bool

    /// Reads back from the end of `fd` in growing windows until an intact line turns up.
    /// Reads `count` bytes at `offset` with `pread`, retrying on EINTR; fewer only when the file ends first.
    static func readFully(fd: Int32, count: Int, at offset: Int, path: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var read = 0
        while read < count {
            let n = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + read, $0.count - read, off_t(offset + read))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw HistoryError.readFailed(path: path, reason: HistoryLog.errnoText())
            }
            if n == 0 { break }
            read += n
        }
        if read < count { buffer.removeSubrange(read...) }
        return buffer
    }

    static func scan(fd: Int32, path: String) throws -> HistoryTail {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw HistoryError.readFailed(path: path, reason: HistoryLog.errnoText()) }
        let size = Int(info.st_size)
        if size == 0 {
            return HistoryTail(
                size: 0, lastHash: HistoryRecord.genesisHash, lastSequence: 0, tornHashes: [], needsNewline: false)
        }
        var window = 64 << 10
        while true {
            let start = max(0, size - window)
            let buffer = try HistoryTail.readFully(fd: fd, count: size - start, at: start, path: path)
            let read = buffer.count
            if let tail = buffer.withUnsafeBytes({ examine($0.prefix(read), atFileStart: start == 0, size: size) }) {
                return tail
            }
            if start == 0 {
                return HistoryTail(
                    size: size, lastHash: HistoryRecord.genesisHash, lastSequence: 0,
                    tornHashes: buffer.withUnsafeBytes {
                        allLineHashes(UnsafeRawBufferPointer(rebasing: $0.prefix(read)))
                    },
                    needsNewline: buffer[read - 1] != UInt8(ascii: "\n"))
            }
            if window >= HistoryLog.maximumTailScan { throw HistoryError.notAHistory(path: path, scannedBytes: window) }
            window *= 4
        }
    }

    /// Finds the last intact line in `bytes` (the last `bytes.count` bytes of
    /// the file); nil when none is complete within the window.
    private static func examine(_ bytes: Slice<UnsafeRawBufferPointer>, atFileStart: Bool, size: Int) -> HistoryTail? {
        let buf = UnsafeRawBufferPointer(rebasing: bytes)
        let newline = UInt8(ascii: "\n")
        let needsNewline = buf[buf.count - 1] != newline
        var torn: [String] = []
        var end = buf.count  // exclusive end of the current line (not counting its newline)
        if needsNewline {
            // The unterminated fragment is torn whatever it holds.
            var s = end - 1
            while s >= 0 && buf[s] != newline { s -= 1 }
            if s < 0 && !atFileStart { return nil }
            torn.append(Digest.sha256Hex(of: UnsafeRawBufferPointer(rebasing: buf[(s + 1)..<end])))
            end = s
        } else {
            end -= 1
        }
        // Terminated lines, from the last to the first.
        while end >= 0 {
            var s = end - 1
            while s >= 0 && buf[s] != newline { s -= 1 }
            if s < 0 && !atFileStart { return nil }  // the line may start before the window
            let line = UnsafeRawBufferPointer(rebasing: buf[(s + 1)..<end])
            if let fields = HistoryChainFields.decode(line) {
                return HistoryTail(
                    size: size, lastHash: Digest.sha256Hex(of: line), lastSequence: fields.seq,
                    tornHashes: torn.reversed(), needsNewline: needsNewline)
            }
            torn.append(Digest.sha256Hex(of: line))
            end = s
        }
        return nil
    }

    private static func allLineHashes(_ buf: UnsafeRawBufferPointer) -> [String] {
        var hashes: [String] = []
        var start = 0
        for i in 0..<buf.count where buf[i] == UInt8(ascii: "\n") {
            hashes.append(Digest.sha256Hex(of: UnsafeRawBufferPointer(rebasing: buf[start..<i])))
            start = i + 1
        }
        if start < buf.count {
            hashes.append(Digest.sha256Hex(of: UnsafeRawBufferPointer(rebasing: buf[start...])))
        }
        return hashes
    }
}

/// Keeps the git look-up of a `HistoryLog` (two appends racing to be first may both ask; the first answer stays).
private final class GitCommitCache: @unchecked Sendable {
    private let lock = NSLock()
    private var resolved = false
    private var commit: String?

    func value(_ compute: () async -> String?) async -> String? {
        if let known = lock.withLock({ resolved ? Optional(commit) : nil }) { return known }
        let computed = await compute()
        return lock.withLock {
            if !resolved {
                commit = computed
                resolved = true
            }
            return commit
        }
    }
}
