import Foundation

/// The fields of a history line that `audit` reads, decoded leniently: a
/// field of an unexpected type is dropped rather than failing the line, so a
/// report over an older or hand-extended history still comes out. Only the
/// chain fields (`v`, `seq`, `prev`) are strict.
struct AuditLine: Decodable {
    var v: Int?
    var seq: Int?
    /// Read as the chain compares it (a digest, no string per line when written as the history writes it).
    var prev: ChainPrev?
    var sealed: [String]?
    /// The time, the commit and the message: `HistoryText`, no allocation for text of up to 40 bytes.
    var time: HistoryText?
    var event: String?
    var commit: HistoryText?
    var actor: HistoryActor?
    var outcome: String?
    var message: HistoryText?
    var modeBefore: String?
    var modeAfter: String?
    var decision: Decision?
    var override: Override?
    var details: Details?

    struct Decision: Decodable {
        var domain: String?
        var verdict: String?
        var reasons: [String]?
        var engine: String?
        var input: MetricsHolder?

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            domain = try? c.decodeIfPresent(String.self, forKey: AnyKey("domain"))
            verdict = try? c.decodeIfPresent(String.self, forKey: AnyKey("verdict"))
            reasons = try? c.decodeIfPresent([String].self, forKey: AnyKey("reasons"))
            engine = try? c.decodeIfPresent(String.self, forKey: AnyKey("engine"))
            input = try? c.decodeIfPresent(MetricsHolder.self, forKey: AnyKey("input"))
        }
    }

    struct Override: Decodable { var reason: String? }

    struct Details: Decodable {
        var metrics: MetricsHolder?
        var chaos: JSONValue?
        var rollout: RolloutFields?

        init(from decoder: Decoder) throws {
            metrics = try? MetricsHolder(from: decoder)
            rollout = try? RolloutFields(from: decoder)
            let c = try decoder.container(keyedBy: AnyKey.self)
            chaos = try? c.decodeIfPresent(JSONValue.self, forKey: AnyKey("chaos"))
        }
    }

    /// An object that may carry metrics directly (`error_rate`, `p99_ms`) or
    /// under a `metrics` key; both are looked at.
    struct MetricsHolder: Decodable {
        var errorRate: Double?
        var p99: Double?

        static let errorRateKeys = ["error_rate", "errorRate", "error_ratio"]
        static let p99Keys = ["p99_ms", "p99", "latency_p99_ms", "p99_latency_ms", "p99Ms"]

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            func number(_ keys: [String], in c: KeyedDecodingContainer<AnyKey>) -> Double? {
                for key in keys { if let v = try? c.decodeIfPresent(Double.self, forKey: AnyKey(key)) { return v } }
                return nil
            }
            if let nested = try? c.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("metrics")) {
                errorRate = number(Self.errorRateKeys, in: nested)
                p99 = number(Self.p99Keys, in: nested)
            }
            errorRate = errorRate ?? number(Self.errorRateKeys, in: c)
            p99 = p99 ?? number(Self.p99Keys, in: c)
        }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        v = try? c.decodeIfPresent(Int.self, forKey: AnyKey("v"))
        seq = try? c.decodeIfPresent(Int.self, forKey: AnyKey("seq"))
        prev = (try? c.decodeIfPresent(String.self, forKey: AnyKey("prev"))).map { ChainPrev($0) }
        sealed = try? c.decodeIfPresent([String].self, forKey: AnyKey("sealed"))
        time = try? c.decodeIfPresent(HistoryText.self, forKey: AnyKey("time"))
        event = try? c.decodeIfPresent(String.self, forKey: AnyKey("event"))
        commit = try? c.decodeIfPresent(HistoryText.self, forKey: AnyKey("commit"))
        actor = try? c.decodeIfPresent(HistoryActor.self, forKey: AnyKey("actor"))
        outcome = try? c.decodeIfPresent(String.self, forKey: AnyKey("outcome"))
        message = try? c.decodeIfPresent(HistoryText.self, forKey: AnyKey("message"))
        modeBefore = try? c.decodeIfPresent(String.self, forKey: AnyKey("mode_before"))
        modeAfter = try? c.decodeIfPresent(String.self, forKey: AnyKey("mode_after"))
        decision = try? c.decodeIfPresent(Decision.self, forKey: AnyKey("decision"))
        override = try? c.decodeIfPresent(Override.self, forKey: AnyKey("override"))
        details = try? c.decodeIfPresent(Details.self, forKey: AnyKey("details"))
    }

    /// The chain fields, when this line qualifies as an intact record.
    var chainFields: (seq: Int, prev: ChainPrev)? {
        guard let v, v >= 1, let seq, seq >= 1, let prev, prev.byteCount == 64 else { return nil }
        return (seq, prev)
    }
}

// Equatable so that tests can hold the fast path against JSONDecoder.
extension AuditLine: Equatable {}
extension AuditLine.Decision: Equatable {}
extension AuditLine.Override: Equatable {}
extension AuditLine.Details: Equatable {}
extension AuditLine.MetricsHolder: Equatable {}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

// MARK: The fast path

extension AuditLine {
    /// Decodes one line: through `reader` when it can promise JSONDecoder's answer, else with JSONDecoder.
    /// nil when the line is not a JSON object (JSONDecoder's verdict).
    static func decode(_ bytes: UnsafeRawBufferPointer, reader: HistoryJSONReader) -> AuditLine? {
        if let line = try? reader.read(bytes, { try AuditLine($0) }) { return line }
        return decodeWithJSONDecoder(bytes)
    }

    static func decodeWithJSONDecoder(_ bytes: UnsafeRawBufferPointer) -> AuditLine? {
        try? JSONDecoder().decode(AuditLine.self, from: Data(bytes))
    }

    /// The same fields the `Decodable` initialiser reads, with the same leniency, from a parsed line.
    /// The root keys the fast path reads, found in one pass (`members(of:_:)`), in the order `init` asks them.
    static let fastRootKeys = HistoryJSONReader.Document.KeySet([
        "v", "seq", "prev", "sealed", "time", "event", "commit", "actor", "outcome", "message", "mode_before",
        "mode_after", "decision", "override", "details",
    ])

    init(_ d: HistoryJSONReader.Document) throws {
        let root = d.members(of: 0, Self.fastRootKeys)
        v = try d.int(at: root.node(0)).value
        seq = try d.int(at: root.node(1)).value
        prev = try d.chainPrev(at: root.node(2)).value
        sealed = try root.node(3).flatMap { d.strings(at: $0).value }
        time = try d.historyText(at: root.node(4)).value
        event = try d.string(at: root.node(5)).value
        commit = try d.historyText(at: root.node(6)).value
        actor = try root.node(7).flatMap { try HistoryActor.fast(d, $0) }
        outcome = try d.string(at: root.node(8)).value
        message = try d.historyText(at: root.node(9)).value
        modeBefore = try d.string(at: root.node(10)).value
        modeAfter = try d.string(at: root.node(11)).value
        decision = try root.node(12).flatMap { try Decision(d, $0) }
        override = try root.node(13).flatMap { node -> Override? in
            guard d.kind(node) == .object else { return nil }
            switch try d.string(node, "reason") {
            case .absent: return Override(reason: nil)
            case .value(let reason): return Override(reason: reason)
            case .mismatch: return nil  // the synthesised initialiser throws: no override
            }
        }
        details = try root.node(14).flatMap { try Details(d, $0) }
    }
}

extension AuditLine.Decision {
    static let fastKeys = HistoryJSONReader.Document.KeySet(["domain", "verdict", "reasons", "engine", "input"])

    init?(_ d: HistoryJSONReader.Document, _ node: Int) throws {
        guard d.kind(node) == .object else { return nil }
        let found = d.members(of: node, Self.fastKeys)
        domain = try d.string(at: found.node(0)).value
        verdict = try d.string(at: found.node(1)).value
        reasons = try found.node(2).flatMap { d.strings(at: $0).value }
        engine = try d.string(at: found.node(3)).value
        input = try found.node(4).flatMap { try AuditLine.MetricsHolder(d, $0) }
    }
}

extension AuditLine.Details {
    /// The keys of `RolloutFields` (0-5) and `chaos` (6), in the order they are asked.
    static let fastKeys = HistoryJSONReader.Document.KeySet([
        "phase", "rollout_id", "step", "weight", "image", "version", "chaos",
    ])

    init?(_ d: HistoryJSONReader.Document, _ node: Int) throws {
        guard d.kind(node) == .object else { return nil }
        metrics = try AuditLine.MetricsHolder(d, node)
        let found = d.members(of: node, Self.fastKeys)
        rollout = try AuditLine.RolloutFields(d, found)
        // decodeIfPresent reads null as absent; any other value is a JSONValue (or Uncertain: JSONDecoder decides).
        // (`JSONValue` is ExpressibleByNilLiteral: spell out the absent value.)
        if let chaosNode = try found.node(6), d.kind(chaosNode) != .null {
            chaos = try d.jsonValue(at: chaosNode)
        } else {
            chaos = Optional<JSONValue>.none
        }
    }
}

extension AuditLine.MetricsHolder {
    init?(_ d: HistoryJSONReader.Document, _ node: Int) throws {
        guard d.kind(node) == .object else { return nil }
        /// The first of `keys` (indices into `fastKeys`, in order) with a number, as `double(object, key)` asks.
        func number(_ keys: Range<Int>, in found: HistoryJSONReader.Document.Members) throws -> Double? {
            for key in keys { if let v = try d.double(at: found.node(key)).value { return v } }
            return nil
        }
        let found = d.members(of: node, Self.fastKeys)
        if let nested = try found.node(0), d.kind(nested) == .object {
            let inner = d.members(of: nested, Self.fastKeys)
            errorRate = try number(Self.fastErrorRate, in: inner)
            p99 = try number(Self.fastP99, in: inner)
        }
        if errorRate == nil { errorRate = try number(Self.fastErrorRate, in: found) }
        if p99 == nil { p99 = try number(Self.fastP99, in: found) }
    }

    // `metrics`, then the same keys, in the same order, as `errorRateKeys` and `p99Keys`.
    static let fastKeys = HistoryJSONReader.Document.KeySet([
        "metrics", "error_rate", "errorRate", "error_ratio", "p99_ms", "p99", "latency_p99_ms", "p99_latency_ms",
        "p99Ms",
    ])
    static let fastErrorRate = 1..<4
    static let fastP99 = 4..<9
}

extension AuditLine.RolloutFields {
    init(_ d: HistoryJSONReader.Document, _ found: HistoryJSONReader.Document.Members) throws {
        phase = try d.string(at: found.node(0)).value
        rolloutID = try d.string(at: found.node(1)).value
        step = try d.int(at: found.node(2)).value
        weight = try d.int(at: found.node(3)).value
        image = try d.string(at: found.node(4)).value
        version = try d.string(at: found.node(5)).value
    }
}

extension HistoryActor {
    static let fastKeys = HistoryJSONReader.Document.KeySet(["user", "host", "ci", "job", "workflow"])

    /// As the synthesised `Decodable` reads it: every field an optional string, any other type fails the whole actor.
    /// The five keys are found in one pass (`members(of:_:)`), all of them before any type is looked at (an
    /// `Uncertain` key after a mistyped one is still Uncertain), and no array is made.
    static func fast(_ d: HistoryJSONReader.Document, _ node: Int) throws -> HistoryActor? {
        guard d.kind(node) == .object else { return nil }
        let found = d.members(of: node, Self.fastKeys)
        let nodes = (try found.node(0), try found.node(1), try found.node(2), try found.node(3), try found.node(4))
        let user = d.string(at: nodes.0), host = d.string(at: nodes.1), ci = d.string(at: nodes.2)
        let job = d.string(at: nodes.3), workflow = d.string(at: nodes.4)
        if user.isMismatch || host.isMismatch || ci.isMismatch || job.isMismatch || workflow.isMismatch { return nil }
        return HistoryActor(user: user.value, host: host.value, ci: ci.value, job: job.value, workflow: workflow.value)
    }
}
