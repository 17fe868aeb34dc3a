import Foundation

extension Builtins {
    static func registerEncoding(_ t: inout [String: Builtin]) {
        t["json.marshal"] = Builtin(arity: 1) { a, _ in .string(a[0].jsonString()) }
        t["json.marshal_with_options"] = Builtin(arity: 2) { a, _ in
            let fn = "json.marshal_with_options"
            let opts = try object(fn, a, 1)
            var pretty = false, prefix = "", indent = "\t"
            var indentGiven = false, prefixGiven = false
            for (k, v) in opts {
                guard case .string(let key) = k else {
                    throw RegoError.typeError("\(fn): object contained non-string key")
                }
                switch key {
                case "pretty":
                    guard case .bool(let b) = v else { throw RegoError.typeError("\(fn): 'pretty' must be a boolean") }
                    pretty = b
                case "indent":
                    guard case .string(let s) = v else { throw RegoError.typeError("\(fn): 'indent' must be a string") }
                    indent = s
                    indentGiven = true
                case "prefix":
                    guard case .string(let s) = v else { throw RegoError.typeError("\(fn): 'prefix' must be a string") }
                    prefix = s
                    prefixGiven = true
                default:
                    throw RegoError.typeError(
                        "\(fn): object contained unknown key \(RegoValue.string(key).jsonString())")
                }
            }
            if !pretty && !(opts[.string("pretty")] == nil && (indentGiven || prefixGiven)) {
                return .string(a[0].jsonString())
            }
            var out = ""
            a[0].writeJSON(into: &out, indent: indent, level: 0)
            if !prefix.isEmpty {
                out = out.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(
                    separator: "\n")
            }
            return .string(out)
        }
        t["json.unmarshal"] = Builtin(arity: 1) { a, _ in
            let s = try string("json.unmarshal", a, 0)
            do { return try RegoValue(jsonString: s) } catch let e as RegoError {
                throw RegoError.builtin("json.unmarshal: \(e.message)")
            }
        }
        t["json.is_valid"] = Builtin(arity: 1) { a, _ in
            guard case .string(let s) = a[0] else { return .bool(false) }
            return .bool((try? RegoValue(jsonString: s)) != nil)
        }
        t["base64.encode"] = Builtin(arity: 1) { a, _ in
            .string(Data(try string("base64.encode", a, 0).utf8).base64EncodedString())
        }
        t["base64.decode"] = Builtin(arity: 1) { a, _ in
            let s = try string("base64.decode", a, 0)
            guard
                let d = Data(base64Encoded: s)
                    ?? Data(base64Encoded: s + String(repeating: "=", count: (4 - s.count % 4) % 4))
            else {
                throw RegoError.builtin("base64.decode: illegal base64 data")
            }
            return .string(String(decoding: d, as: UTF8.self))
        }
        t["base64.is_valid"] = Builtin(arity: 1) { a, _ in
            .bool(Data(base64Encoded: try string("base64.is_valid", a, 0)) != nil)
        }
        t["base64url.encode"] = Builtin(arity: 1) { a, _ in
            .string(
                Data(try string("base64url.encode", a, 0).utf8).base64EncodedString().replacingOccurrences(
                    of: "+", with: "-"
                ).replacingOccurrences(of: "/", with: "_"))
        }
        t["base64url.encode_no_pad"] = Builtin(arity: 1) { a, _ in
            .string(
                Data(try string("base64url.encode_no_pad", a, 0).utf8).base64EncodedString().replacingOccurrences(
                    of: "+", with: "-"
                ).replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: ""))
        }
        t["base64url.decode"] = Builtin(arity: 1) { a, _ in
            var s = try string("base64url.decode", a, 0).replacingOccurrences(of: "-", with: "+").replacingOccurrences(
                of: "_", with: "/")
            s += String(repeating: "=", count: (4 - s.count % 4) % 4)
            guard let d = Data(base64Encoded: s) else {
                throw RegoError.builtin("base64url.decode: illegal base64 data")
            }
            return .string(String(decoding: d, as: UTF8.self))
        }
        t["hex.encode"] = Builtin(arity: 1) { a, _ in
            .string(try string("hex.encode", a, 0).utf8.map { String(format: "%02x", $0) }.joined())
        }
        t["yaml.marshal"] = Builtin(arity: 1) { a, _ in .string(YAMLWriter.write(a[0])) }
        t["yaml.unmarshal"] = Builtin(arity: 1) { a, _ in
            var r = try YAMLReader(try string("yaml.unmarshal", a, 0))
            return try r.parseDocument()
        }
        t["yaml.is_valid"] = Builtin(arity: 1) { a, _ in
            guard case .string(let s) = a[0] else { return .bool(false) }
            guard var r = try? YAMLReader(s) else { return .bool(false) }
            return .bool((try? r.parseDocument()) != nil)
        }
    }
}
