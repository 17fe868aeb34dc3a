import Foundation

/// Records every workflow's events in the project's hash-chained history (`history.path`): the one place a
/// ``LifecycleRecord`` becomes a ``HistoryEntry``.
/// The manifest and thresholds are named by the SHA-256 of their bytes at the time of the record.
public struct HistoryRecorder: LifecycleRecording {
    public let log: HistoryLog
    /// The manifest file, hashed into every record.
    public let manifestURL: URL
    /// The nodes the project runs on (Swarm), asked at each record; every lifecycle record names them. When the
    /// stack is gone (after a teardown) the last nodes seen are named.
    public var nodes: (@Sendable () async -> [String])? = nil
    private let lastNodes = NodeMemory()

    public init(log: HistoryLog, manifestURL: URL) {
        self.log = log
        self.manifestURL = manifestURL
    }

    /// The history of the manifest at `manifestURL`.
    public init(manifest: Manifest, manifestURL: URL) {
        self.init(log: HistoryLog(manifest: manifest), manifestURL: manifestURL)
    }

    /// The history of `manifest`, hashing the file it was loaded from.
    public init(manifest: Manifest) {
        self.init(manifest: manifest, manifestURL: manifest.fileURL)
    }

    @discardableResult
    public func record(_ record: LifecycleRecord, manifest: Manifest) async throws -> RecordReference {
        var details = record.details
        // Every record of a command that works on the stack names the runtime, and on Swarm the nodes involved.
        if !Self.stackFreeEvents.contains(record.event) {
            details["runtime"] = .string(manifest.runtime.rawValue)
        }
        if let nodes {
            let seen = await nodes()
            details["nodes"] = .array((seen.isEmpty ? lastNodes.value : lastNodes.set(seen)).map(JSONValue.string))
        }
        if let override = record.override { details["override_by"] = .string(override.who) }
        if let decision = record.decision, !decision.warnings.isEmpty {
            details["warnings"] = .array(decision.warnings.map(JSONValue.string))
        }
        let entry = HistoryEntry(
            event: record.event,
            outcome: record.outcome,
            message: record.message,
            manifestHash: (try? Data(contentsOf: manifestURL)).map(Digest.sha256Hex(of:)),
            thresholdsHash: (try? Data(contentsOf: manifest.thresholdsURL)).map(Digest.sha256Hex(of:)),
            modeBefore: record.modeBefore?.rawValue,
            modeAfter: record.modeAfter?.rawValue,
            decision: record.decision.map {
                HistoryDecision(
                    domain: $0.domain, verdict: $0.verdict.rawValue, reasons: $0.reasons, engine: $0.engine,
                    input: $0.input)
            },
            override: record.override.map { HistoryOverride(reason: $0.reason) },
            details: details)
        let written = try await log.append(entry)
        return RecordReference(seq: written.sequence, id: written.id)
    }

    /// The events of commands that never work on the running stack (`init` and `validate` write or check files,
    /// `gate` decides): their records name no runtime.
    public static let stackFreeEvents: Set<HistoryEvent> = [.`init`, .validate, .gate]

    public var location: URL? { log.url }

    /// The history file (or, when it does not exist yet, the nearest existing directory above it) must be writable.
    public func checkWritable() throws {
        var url = log.url
        let path = log.url.path
        if FileManager.default.fileExists(atPath: url.path) {
            guard access(url.path, W_OK) == 0 else {
                throw HistoryError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            return
        }
        while true {
            url = url.deletingLastPathComponent()
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw HistoryError.cannotOpen(path: path, reason: "\(url.path) is not a directory")
                }
                guard access(url.path, W_OK | X_OK) == 0 else {
                    throw HistoryError.cannotOpen(
                        path: path,
                        reason: "its directory \(url.path) is not writable: \(String(cString: strerror(errno)))")
                }
                return
            }
            if url.path == "/" { return }
        }
    }

    public func recent(since: Date) throws -> [RecordedLifecycle] {
        try log.recentRecords(since: since).compactMap { line in
            guard case .object(let o) = line, case .int(let seq)? = o["seq"], let id = o["id"]?.stringValue,
                let time = o["time"]?.stringValue.flatMap(HistoryTime.parse), let event = o["event"]?.stringValue
            else { return nil }
            var details: [String: JSONValue] = [:]
            if case .object(let d)? = o["details"] { details = d }
            return RecordedLifecycle(
                seq: Int(seq), id: id, time: time, event: event, outcome: o["outcome"]?.stringValue,
                message: o["message"]?.stringValue, modeBefore: o["mode_before"]?.stringValue,
                modeAfter: o["mode_after"]?.stringValue, details: details)
        }
    }
}

/// The last non-empty node list a recorder saw.
private final class NodeMemory: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var value: [String] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
    func set(_ nodes: [String]) -> [String] {
        lock.lock()
        stored = nodes
        lock.unlock()
        return nodes
    }
}
