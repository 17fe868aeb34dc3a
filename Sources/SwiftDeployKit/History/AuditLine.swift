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
    var time: String?
    var event: String?
    var commit: String?
    var actor: HistoryActor?
    var outcome: String?
    var message: String?
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
        time = try? c.decodeIfPresent(String.self, forKey: AnyKey("time"))
        event = try? c.decodeIfPresent(String.self, forKey: AnyKey("event"))
        commit = try? c.decodeIfPresent(String.self, forKey: AnyKey("commit"))
        actor = try? c.decodeIfPresent(HistoryActor.self, forKey: AnyKey("actor"))
        outcome = try? c.decodeIfPresent(String.self, forKey: AnyKey("outcome"))
        message = try? c.decodeIfPresent(String.self, forKey: AnyKey("message"))
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
    init(_ d: HistoryJSONReader.Document) throws {
        v = try d.int(0, "v").value
        seq = try d.int(0, "seq").value
        prev = try d.chainPrev(0).value
        sealed = try d.member(0, "sealed").flatMap { d.strings(at: $0).value }
        time = try d.string(0, "time").value
        event = try d.string(0, "event").value
        commit = try d.string(0, "commit").value
        actor = try d.member(0, "actor").flatMap { try HistoryActor.fast(d, $0) }
        outcome = try d.string(0, "outcome").value
        message = try d.string(0, "message").value
        modeBefore = try d.string(0, "mode_before").value
        modeAfter = try d.string(0, "mode_after").value
        decision = try d.member(0, "decision").flatMap { try Decision(d, $0) }
        override = try d.member(0, "override").flatMap { node -> Override? in
            guard d.kind(node) == .object else { return nil }
            switch try d.string(node, "reason") {
            case .absent: return Override(reason: nil)
            case .value(let reason): return Override(reason: reason)
            case .mismatch: return nil  // the synthesised initialiser throws: no override
            }
        }
        details = try d.member(0, "details").flatMap { try Details(d, $0) }
    }
}

extension AuditLine.Decision {
    init?(_ d: HistoryJSONReader.Document, _ node: Int) throws {
        guard d.kind(node) == .object else { return nil }
        domain = try d.string(node, "domain").value
        verdict = try d.string(node, "verdict").value
        reasons = try d.member(node, "reasons").flatMap { d.strings(at: $0).value }
        engine = try d.string(node, "engine").value
        input = try d.member(node, "input").flatMap { try AuditLine.MetricsHolder(d, $0) }
    }
}

extension AuditLine.Details {
    init?(_ d: HistoryJSONReader.Document, _ node: Int) throws {
        guard d.kind(node) == .object else { return nil }
        metrics = try AuditLine.MetricsHolder(d, node)
        rollout = try AuditLine.RolloutFields(d, node)
        // decodeIfPresent reads null as absent; any other value is a JSONValue (or Uncertain: JSONDecoder decides).
        // (`JSONValue` is ExpressibleByNilLiteral: spell out the absent value.)
        if let chaosNode = try d.member(node, "chaos"), d.kind(chaosNode) != .null {
            chaos = try d.jsonValue(at: chaosNode)
        } else {
            chaos = Optional<JSONValue>.none
        }
    }
}

extension AuditLine.MetricsHolder {
    init?(_ d: HistoryJSONReader.Document, _ node: Int) throws {
        guard d.kind(node) == .object else { return nil }
        func number(_ keys: [StaticString], in object: Int) throws -> Double? {
            for key in keys { if let v = try d.double(object, key).value { return v } }
            return nil
        }
        if let nested = try d.member(node, "metrics"), d.kind(nested) == .object {
            errorRate = try number(Self.fastErrorRateKeys, in: nested)
            p99 = try number(Self.fastP99Keys, in: nested)
        }
        if errorRate == nil { errorRate = try number(Self.fastErrorRateKeys, in: node) }
        if p99 == nil { p99 = try number(Self.fastP99Keys, in: node) }
    }

    // The same keys, in the same order, as `errorRateKeys` and `p99Keys`.
    static let fastErrorRateKeys: [StaticString] = ["error_rate", "errorRate", "error_ratio"]
    static let fastP99Keys: [StaticString] = ["p99_ms", "p99", "latency_p99_ms", "p99_latency_ms", "p99Ms"]
}

extension AuditLine.RolloutFields {
    init(_ d: HistoryJSONReader.Document, _ node: Int) throws {
        phase = try d.string(node, "phase").value
        rolloutID = try d.string(node, "rollout_id").value
        step = try d.int(node, "step").value
        weight = try d.int(node, "weight").value
        image = try d.string(node, "image").value
        version = try d.string(node, "version").value
    }
}

extension HistoryActor {
    /// As the synthesised `Decodable` reads it: every field an optional string, any other type fails the whole actor.
    static func fast(_ d: HistoryJSONReader.Document, _ node: Int) throws -> HistoryActor? {
        guard d.kind(node) == .object else { return nil }
        let fields = [
            try d.string(node, "user"), try d.string(node, "host"), try d.string(node, "ci"),
            try d.string(node, "job"), try d.string(node, "workflow"),
        ]
        for field in fields { if case .mismatch = field { return nil } }
        return HistoryActor(
            user: fields[0].value, host: fields[1].value, ci: fields[2].value, job: fields[3].value,
            workflow: fields[4].value)
    }
}
