import Foundation

/// The fields of a history line that `audit` reads, decoded leniently: a
/// field of an unexpected type is dropped rather than failing the line, so a
/// report over an older or hand-extended history still comes out. Only the
/// chain fields (`v`, `seq`, `prev`) are strict.
struct AuditLine: Decodable {
    var v: Int?
    var seq: Int?
    var prev: String?
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
        prev = try? c.decodeIfPresent(String.self, forKey: AnyKey("prev"))
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
    var chainFields: (seq: Int, prev: String)? {
        guard let v, v >= 1, let seq, seq >= 1, let prev, prev.utf8.count == 64 else { return nil }
        return (seq, prev)
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}
