import Foundation

/// One line of `history.jsonl` as `HistoryLog.append(_:)` wrote it.
///
/// The line is a JSON object with sorted keys, terminated by `\n`:
/// `v` (schema, 1), `seq` (1, 2, 3… per file), `time`, `id`, `event`,
/// `actor`, `commit`, `manifest_hash`, `thresholds_hash`, `mode_before`,
/// `mode_after`, `outcome`, `message`, `decision`, `override`, `details`,
/// `swiftdeploy` (the tool's version), `prev` (SHA-256 of the previous
/// intact line's bytes, without its `\n`; 64 zeros for the first) and, only
/// when the append found torn lines left by a crash, `sealed` (their hashes).
/// Absent values are omitted, never written as null.
public struct HistoryRecord: Sendable, Hashable {
    /// The schema version this build writes.
    public static let schemaVersion = 1
    /// `prev` of the first line of a history.
    public static let genesisHash = String(repeating: "0", count: 64)

    public let sequence: Int
    public let id: String
    public let time: Date
    public let actor: HistoryActor
    public let commit: String?
    /// The entry as written: already redacted.
    public let entry: HistoryEntry
    public let prev: String
    /// Hashes of the torn lines this append sealed (usually empty).
    public let sealed: [String]
    /// The exact line, without its trailing newline.
    public let line: String

    /// SHA-256 of `line`: the `prev` of the next record and, for the last
    /// record, the head hash `audit` prints.
    public var hash: String { Digest.sha256Hex(of: Data(line.utf8)) }

    init(
        sequence: Int, id: String, time: Date, actor: HistoryActor, commit: String?, entry: HistoryEntry,
        prev: String, sealed: [String]
    ) {
        self.sequence = sequence
        self.id = id
        self.time = time
        self.actor = actor
        self.commit = commit
        self.entry = entry
        self.prev = prev
        self.sealed = sealed
        var o: [String: JSONValue] = [
            "v": .int(Int64(HistoryRecord.schemaVersion)),
            "seq": .int(Int64(sequence)),
            "time": .string(HistoryTime.format(time)),
            "id": .string(id),
            "event": .string(entry.event.rawValue),
            "actor": actor.jsonValue,
            "prev": .string(prev),
            "swiftdeploy": .string(SwiftDeployVersion.current),
        ]
        if let commit { o["commit"] = .string(commit) }
        if let v = entry.manifestHash { o["manifest_hash"] = .string(v) }
        if let v = entry.thresholdsHash { o["thresholds_hash"] = .string(v) }
        if let v = entry.modeBefore { o["mode_before"] = .string(v) }
        if let v = entry.modeAfter { o["mode_after"] = .string(v) }
        if let v = entry.outcome { o["outcome"] = .string(v) }
        if let v = entry.message { o["message"] = .string(v) }
        if let d = entry.decision {
            o["decision"] = .object([
                "domain": .string(d.domain), "verdict": .string(d.verdict),
                "reasons": .array(d.reasons.map { .string($0) }), "engine": .string(d.engine), "input": d.input,
            ])
        }
        if let v = entry.override { o["override"] = .object(["reason": .string(v.reason)]) }
        if !entry.details.isEmpty { o["details"] = .object(entry.details) }
        if !sealed.isEmpty { o["sealed"] = .array(sealed.map { .string($0) }) }
        line = JSONValue.object(o).jsonString()
    }
}

/// The fields that make a line part of the chain. A line is *intact* when it
/// ends with `\n`, is a JSON object, and has `v` 1, a positive `seq` and a
/// 64-hex-digit `prev`.
struct HistoryChainFields: Decodable {
    let v: Int
    let seq: Int
    let prev: String
    let sealed: [String]?

    init(v: Int, seq: Int, prev: String, sealed: [String]?) {
        self.v = v
        self.seq = seq
        self.prev = prev
        self.sealed = sealed
    }

    /// The chain fields of an intact line, nil otherwise. Read through `reader` when it can promise
    /// JSONDecoder's answer (`HistoryJSONReader`), else with JSONDecoder: the same answer either way.
    static func decode(_ bytes: UnsafeRawBufferPointer, reader: HistoryJSONReader = HistoryJSONReader())
        -> HistoryChainFields?
    {
        guard bytes.count > 2 else { return nil }
        let decoded: HistoryChainFields?
        do {
            decoded = try reader.read(bytes) { try HistoryChainFields($0) }
        } catch {
            decoded = decodeWithJSONDecoder(bytes)
        }
        guard let fields = decoded, fields.v >= 1, fields.seq >= 1, fields.prev.utf8.count == 64 else { return nil }
        return fields
    }

    static func decodeWithJSONDecoder(_ bytes: UnsafeRawBufferPointer) -> HistoryChainFields? {
        try? JSONDecoder().decode(HistoryChainFields.self, from: Data(bytes))
    }

    /// The optional `sealed` field as the synthesised `Decodable` reads it: `.some(nil)` when absent, `.some(hashes)`
    /// for an array of strings, nil (the whole line fails) for any other type.
    static func readSealed(_ d: HistoryJSONReader.Document) throws -> [String]?? {
        guard let node = try d.member(0, "sealed") else { return .some(nil) }
        switch d.strings(at: node) {
        case .absent: return .some(nil)
        case .value(let hashes): return .some(hashes)
        case .mismatch: return nil
        }
    }

    /// As the synthesised `Decodable` reads them: `v`, `seq` and `prev` required, `sealed` optional; any
    /// field of another type fails the whole line (nil).
    init?(_ d: HistoryJSONReader.Document) throws {
        guard case .value(let v) = try d.int(0, "v"), case .value(let seq) = try d.int(0, "seq"),
            case .value(let prev) = try d.string(0, "prev")
        else { return nil }
        guard let sealed = try HistoryChainFields.readSealed(d) else { return nil }
        self.init(v: v, seq: seq, prev: prev, sealed: sealed)
    }
}

extension HistoryChainFields: Equatable {}

/// `HistoryChainFields` as `audit` compares them: `prev` read into a digest without a string per line. Intact
/// exactly when `HistoryChainFields.decode` says so (the same reader, the same JSONDecoder fallback, the same
/// checks).
struct HistoryChainLink: Equatable {
    let seq: Int
    let prev: ChainPrev
    let sealed: [String]?

    init(seq: Int, prev: ChainPrev, sealed: [String]?) {
        self.seq = seq
        self.prev = prev
        self.sealed = sealed
    }

    /// The chain link of an intact line, nil otherwise.
    static func decode(_ bytes: UnsafeRawBufferPointer, reader: HistoryJSONReader) -> HistoryChainLink? {
        guard bytes.count > 2 else { return nil }
        do {
            guard let link = try reader.read(bytes, { try HistoryChainLink($0) }) else { return nil }
            return link
        } catch {
            guard let fields = HistoryChainFields.decodeWithJSONDecoder(bytes), fields.v >= 1, fields.seq >= 1,
                fields.prev.utf8.count == 64
            else { return nil }
            return HistoryChainLink(seq: fields.seq, prev: ChainPrev(fields.prev), sealed: fields.sealed)
        }
    }

    /// As `HistoryChainFields.init?(_:)` reads the fields, in the same order, with its checks (`v` and `seq` at
    /// least 1, `prev` 64 bytes).
    private init?(_ d: HistoryJSONReader.Document) throws {
        guard case .value(let v) = try d.int(0, "v"), case .value(let seq) = try d.int(0, "seq"),
            case .value(let prev) = try d.chainPrev(0), prev.byteCount == 64
        else { return nil }
        guard let sealed = try HistoryChainFields.readSealed(d) else { return nil }
        guard v >= 1, seq >= 1 else { return nil }
        self.init(seq: seq, prev: prev, sealed: sealed)
    }
}
