import Crypto
import Foundation

/// `uuid.parse`, `uuid.rfc4122` and `rand.intn`.
///
/// The random builtins return the same value for the same arguments within one query, as OPA
/// does: the value derives from the arguments and the query's fixed clock (`time.now_ns`).
extension Builtins {
    static func registerUUID(_ t: inout [String: Builtin]) {
        t["uuid.parse"] = Builtin(arity: 1) { a, _ in
            guard case .string(let s) = a[0], let b = UUIDText.parse(s) else { return nil }
            return .object(UUIDText.describe(b))
        }
        t["uuid.rfc4122"] = Builtin(arity: 1) { a, ev in
            let key = try string("uuid.rfc4122", a, 0)
            var b = [UInt8](perQueryRandom("uuid.rfc4122", key, ev).prefix(16))
            b[6] = (b[6] & 0x0f) | 0x40
            b[8] = (b[8] & 0x3f) | 0x80
            let h = hex(Data(b))
            let parts = [
                h.prefix(8), h.dropFirst(8).prefix(4), h.dropFirst(12).prefix(4), h.dropFirst(16).prefix(4),
                h.dropFirst(20),
            ]
            return .string(parts.joined(separator: "-"))
        }
        t["rand.intn"] = Builtin(arity: 2) { a, ev in
            let key = try string("rand.intn", a, 0), n = try int("rand.intn", a, 1)
            if n == 0 { return .int(0) }
            let bytes = perQueryRandom("rand.intn", "\(key)\u{0}\(n)", ev).prefix(8)
            let r = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return .int(Int(r % UInt64(abs(n))))
        }
    }

    /// Random-looking bytes, fixed for one query (its clock) and one argument list.
    static func perQueryRandom(_ fn: String, _ key: String, _ ev: Evaluator) -> Data {
        let seed =
            "\(fn)\u{0}\(key)\u{0}\(ev.now.timeIntervalSince1970.bitPattern)\u{0}\(ObjectIdentifier(ev).hashValue)"
        return Data(SHA256.hash(data: Data(seed.utf8)))
    }
}

enum UUIDText {
    /// The 16 bytes of a UUID in any of the forms Go's uuid.Parse reads (plain, no dashes, braces, urn:uuid:).
    static func parse(_ text: String) -> [UInt8]? {
        var s = Substring(text)
        switch s.count {
        case 36: break
        case 38:
            guard s.first == "{", s.last == "}" else { return nil }
            s = s.dropFirst().dropLast()
        case 45:
            guard s.lowercased().hasPrefix("urn:uuid:") else { return nil }
            s = s.dropFirst(9)
        case 32: return Builtins.unhex(String(s)).map { [UInt8]($0) }
        default: return nil
        }
        let chars = Array(s)
        for i in [8, 13, 18, 23] where chars[i] != "-" { return nil }
        return Builtins.unhex(String(chars.filter { $0 != "-" })).flatMap { $0.count == 16 ? [UInt8]($0) : nil }
    }

    static func describe(_ b: [UInt8]) -> [RegoValue: RegoValue] {
        let version = Int(b[6] >> 4)
        var out: [RegoValue: RegoValue] = [.string("version"): .int(version)]
        let variant: String
        switch b[8] {
        case let x where x & 0xc0 == 0x80: variant = "RFC4122"
        case let x where x & 0xe0 == 0xc0: variant = "Microsoft"
        case let x where x & 0xe0 == 0xe0: variant = "Future"
        default: variant = "Reserved"
        }
        out[.string("variant")] = .string(variant)
        if version == 1 || version == 2 {
            let low = b[0..<4].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            let mid = b[4..<6].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            let hi = b[6..<8].reduce(Int64(0)) { $0 << 8 | Int64($1) } & 0x0fff
            let t = low | mid << 32 | hi << 48
            let since1970 = t - 122_192_928_000_000_000
            out[.string("time")] = .int(Int(since1970 / 10_000_000 * 1_000_000_000 + since1970 % 10_000_000 * 100))
            out[.string("clocksequence")] = .int(Int((UInt16(b[8]) << 8 | UInt16(b[9])) & 0x3fff))
            out[.string("nodeid")] = .string(b[10..<16].map { String(format: "%02x", $0) }.joined(separator: "-"))
            out[.string("macvariables")] = .string(
                (b[10] & 0x02 != 0 ? "local" : "global") + ":" + (b[10] & 0x01 != 0 ? "multicast" : "unicast"))
            if version == 2 {
                let domains = ["Person", "Group", "Org"]
                out[.string("domain")] = .string(Int(b[9]) < domains.count ? domains[Int(b[9])] : "Domain\(b[9])")
                out[.string("id")] = .int(Int(low))
            }
        }
        return out
    }
}
