import BigInt
import Foundation

extension Builtins {
    static func registerTypes(_ t: inout [String: Builtin]) {
        func isType(_ name: String, _ type: String) {
            t[name] = Builtin(arity: 1) { a, _ in .bool(a[0].typeName == type) }
        }
        isType("is_number", "number")
        isType("is_string", "string")
        isType("is_boolean", "boolean")
        isType("is_array", "array")
        isType("is_set", "set")
        isType("is_object", "object")
        isType("is_null", "null")
        t["type_name"] = Builtin(arity: 1) { a, _ in .string(a[0].typeName) }
        t["to_number"] = Builtin(arity: 1) { a, _ in
            switch a[0] {
            case .null: return .int(0)
            case .bool(let b): return .int(b ? 1 : 0)
            case .number: return a[0]
            case .string(let s):
                let bare = s.lowercased().trimmingCharacters(in: ["+", "-"])
                if ["nan", "inf", "infinity"].contains(bare) {
                    throw RegoError.typeError(
                        """
                        to_number: operand 1 must be a finite number string but got \
                        \(RegoValue.string(s).jsonString())
                        """
                    )
                }
                guard let n = RegoNumber(parsing: s), !s.hasPrefix("+"), !s.lowercased().contains("inf"),
                    !s.contains(" ")
                else {
                    throw RegoError.builtin(
                        "strconv.ParseFloat: parsing \(RegoValue.string(s).jsonString()): invalid syntax")
                }
                // OPA makes the number from the string itself (a json.Number), so its text is kept
                // when it is a JSON number (`"2.0"` gives `2.0`, `"1e3"` gives `1e3`).
                return .number(RegoNumber.isJSONNumberText(s) ? (RegoNumber(literal: s) ?? n) : n)
            default: throw typeError("to_number", 1, "one of {null, boolean, number, string}", a[0])
            }
        }
        t["format_int"] = Builtin(arity: 2) { a, _ in
            let n = try number("format_int", a, 0)
            let base = try number("format_int", a, 1)
            guard let b = base.intValue, [2, 8, 10, 16].contains(b) else {
                throw RegoError.typeError("format_int: operand 2 must be one of {2, 8, 10, 16}")
            }
            let i = n.floor()
            let m = i.sign < 0 && !n.isInteger ? i + RegoNumber(1) : i
            return .string(String(m.mantissa, radix: b))
        }
    }
}
