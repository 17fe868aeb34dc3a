import Foundation

/// `urlquery.*`: query-string escaping as Go's net/url (QueryEscape, QueryUnescape, Values.Encode, ParseQuery).
extension Builtins {
    static func registerURLQuery(_ t: inout [String: Builtin]) {
        t["urlquery.encode"] = Builtin(arity: 1) { a, _ in .string(URLQuery.escape(try string("urlquery.encode", a, 0)))
        }
        t["urlquery.decode"] = Builtin(arity: 1) { a, _ in
            let s = try string("urlquery.decode", a, 0)
            guard let d = URLQuery.unescape(s) else {
                throw RegoError.builtin("urlquery.decode: invalid URL escape in \(RegoValue.string(s).jsonString())")
            }
            return .string(d)
        }
        t["urlquery.encode_object"] = Builtin(arity: 1) { a, _ in
            let fn = "urlquery.encode_object"
            var pairs: [String] = []
            for (k, v) in try object(fn, a, 0).sorted(by: { $0.key < $1.key }) {
                guard case .string(let key) = k else { throw typeError(fn, 1, "object with string keys", k) }
                let values: [RegoValue]
                switch v {
                case .string: values = [v]
                case .array(let items): values = items
                case .set: values = v.sortedElements
                default:
                    throw RegoError.typeError(
                        """
                        \(fn): operand 1 must be object[string: any<string, array[string], set[string]>] but got \
                        \(v.typeName) value
                        """
                    )
                }
                for x in values {
                    guard case .string(let s) = x else {
                        throw RegoError.typeError("\(fn): operand 1 must contain strings but got \(x.typeName)")
                    }
                    pairs.append(URLQuery.escape(key) + "=" + URLQuery.escape(s))
                }
            }
            return .string(pairs.joined(separator: "&"))
        }
        t["urlquery.decode_object"] = Builtin(arity: 1) { a, _ in
            let s = try string("urlquery.decode_object", a, 0)
            var out: [RegoValue: [RegoValue]] = [:]
            for part in s.split(whereSeparator: { $0 == "&" }) where !part.isEmpty {
                let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let k = URLQuery.unescape(String(kv[0])),
                    let v = URLQuery.unescape(kv.count > 1 ? String(kv[1]) : "")
                else {
                    throw RegoError.builtin(
                        "urlquery.decode_object: invalid URL escape in \(RegoValue.string(String(part)).jsonString())")
                }
                out[.string(k), default: []].append(.string(v))
            }
            return .object(out.mapValues { .array($0) })
        }
    }
}

enum URLQuery {
    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(b)))
            case UInt8(ascii: " "): out.append("+")
            default: out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    static func unescape(_ s: String) -> String? {
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            switch u[i] {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
                i += 1
            case UInt8(ascii: "%"):
                guard i + 2 < u.count, let b = UInt8(String(decoding: u[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(b)
                i += 3
            default:
                bytes.append(u[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
