import BigInt
import Foundation

/// Go's `fmt.Sprintf` as OPA's `sprintf` applies it to Rego values.
enum GoFormat {
    /// Rego's text form of a value (`ast.Value.String()`): strings quoted inside composites.
    static func regoString(_ v: RegoValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.description
        case .string(let s): return RegoValue.string(s).jsonString()
        case .array(let items): return "[" + items.map(regoString).joined(separator: ", ") + "]"
        case .set:
            let items = v.sortedElements
            return items.isEmpty ? "set()" : "{" + items.map(regoString).joined(separator: ", ") + "}"
        case .object:
            return "{" + v.sortedEntries.map { regoString($0.key) + ": " + regoString($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// Go's %v of a float64 (strconv 'g' shortest, exponent below 1e-4 or from 1e21).
    static func goFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "+Inf" }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        // Shortest digits from Swift, then lay out as Go does.
        let (digits, exp) = shortestDigits(d)
        let neg = d < 0
        var s: String
        if exp < -4 || exp >= 21 {
            var m = digits
            if m.count > 1 { m.insert(".", at: m.index(after: m.startIndex)) }
            let e = abs(exp)
            s = m + "e" + (exp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
        } else if exp < 0 {
            s = "0." + String(repeating: "0", count: -exp - 1) + digits
        } else if digits.count <= exp + 1 {
            s = digits + String(repeating: "0", count: exp + 1 - digits.count)
        } else {
            let idx = digits.index(digits.startIndex, offsetBy: exp + 1)
            s = String(digits[..<idx]) + "." + String(digits[idx...])
        }
        return (neg ? "-" : "") + s
    }

    /// Shortest round-trip digits and decimal exponent (value = 0.d1d2… × 10^(exp+1)).
    static func shortestDigits(_ d: Double) -> (String, Int) {
        var text = "\(abs(d))"  // Swift prints the shortest round-trip form
        var exp = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        var intPart = text, frac = ""
        if let dot = text.firstIndex(of: ".") { intPart = String(text[..<dot]); frac = String(text[text.index(after: dot)...]) }
        if frac == "0" { frac = "" }
        var digits = intPart + frac
        var pointExp = intPart.count - 1 + exp
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); pointExp -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (digits, pointExp)
    }

    enum Arg {
        /// An integer that fits Go's int64.
        case int(Int)
        /// An integer beyond int64 (Go's `*big.Int`).
        case bigInt(BigInt)
        case float(Double)
        case string(String)
        case bool(Bool)
        case other(RegoValue)
    }

    /// The Go value OPA's `sprintf` hands to `fmt.Sprintf` for a Rego value. A number converts
    /// by its text (`ast.Number` is a `json.Number`), as measured against OPA's evaluator:
    /// integral text without exponent (`2`, `2.0`, `-0.0`) is an int64 when it fits, an
    /// all-digit text beyond int64 a big.Int, text with a decimal point a float64 (`1.0e0`,
    /// `2.5`), and anything else (`1e3`, `1e-7`, `2e308`, or a float beyond float64) its text.
    static func convert(_ v: RegoValue) -> Arg {
        switch v {
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .number(let n): return convertNumber(n.description)
        default: return .other(v)
        }
    }

    static func convertNumber(_ text: String) -> Arg {
        let hasExponent = text.contains { $0 == "e" || $0 == "E" }
        if !hasExponent {
            var integral = Substring(text)
            if let dot = text.firstIndex(of: ".") {
                if text[text.index(after: dot)...].allSatisfy({ $0 == "0" }) { integral = text[..<dot] }
            }
            if let i = Int(integral) { return .int(i) }
            if !text.contains("."), let b = BigInt(text) { return .bigInt(b) }
        }
        if text.contains("."), let d = Double(text), d.isFinite { return .float(d) }
        return .string(text)
    }

    static func sprintf(_ formatString: String, _ values: [RegoValue]) -> String {
        let f = Array(formatString.unicodeScalars)
        var out = ""
        var argIndex = 0
        var i = 0
        while i < f.count {
            let c = f[i]
            if c != "%" { out.unicodeScalars.append(c); i += 1; continue }
            i += 1
            guard i < f.count else { out += "%!(NOVERB)"; break }
            var flags = Set<Unicode.Scalar>()
            while i < f.count, "+-# 0".unicodeScalars.contains(f[i]) { flags.insert(f[i]); i += 1 }
            var width: Int? = nil
            while i < f.count, let d = Int(String(f[i])) { width = min(10_000, (width ?? 0) * 10 + d); i += 1 }
            var precision: Int? = nil
            if i < f.count, f[i] == "." {
                i += 1; precision = 0
                while i < f.count, let d = Int(String(f[i])) { precision = min(10_000, precision! * 10 + d); i += 1 }
            }
            guard i < f.count else { out += "%!(NOVERB)"; break }
            let verb = f[i]; i += 1
            if verb == "%" { out += "%"; continue }
            guard argIndex < values.count else { out += "%!\(verb)(MISSING)"; continue }
            let arg = convert(values[argIndex]); argIndex += 1
            var s = formatOne(verb, arg, flags, precision)
            if let width, s.count < width {
                let pad = width - s.count
                if flags.contains("-") { s += String(repeating: " ", count: pad) }
                else if flags.contains("0"), "dfeEgGxXob".unicodeScalars.contains(verb) {
                    let neg = s.hasPrefix("-") || s.hasPrefix("+")
                    let sign = neg ? String(s.removeFirst()) : ""
                    s = sign + String(repeating: "0", count: pad) + s
                } else { s = String(repeating: " ", count: pad) + s }
            }
            out += s
        }
        if argIndex < values.count {
            var extras: [String] = []
            for v in values[argIndex...] {
                let a = convert(v)
                var type = "ast.Value"
                switch a {
                case .int: type = "int64"
                case .bigInt: type = "*big.Int"
                case .float: type = "float64"
                case .string: type = "string"
                case .bool: type = "bool"
                case .other: break
                }
                extras.append(type + "=" + formatOne("v", a, [], nil))
            }
            out += "%!(EXTRA " + extras.joined(separator: ", ") + ")"
        }
        return out
    }

    static func formatOne(_ verb: Unicode.Scalar, _ arg: Arg, _ flags: Set<Unicode.Scalar>, _ precision: Int?) -> String {
        let plus = flags.contains("+")
        switch (verb, arg) {
        case ("v", .int(let n)), ("d", .int(let n)):
            return (plus && n >= 0 ? "+" : "") + String(n)
        case ("v", .bigInt(let n)), ("d", .bigInt(let n)):
            return (plus && n >= 0 ? "+" : "") + n.description
        case ("v", .float(let d)), ("g", .float(let d)):
            if let precision, verb == "g" { return String(format: "%.\(precision)g", d) }
            return (plus && d >= 0 ? "+" : "") + goFloat(d)
        case ("f", .float(let d)), ("F", .float(let d)):
            return String(format: "%\(plus ? "+" : "").\(precision ?? 6)f", d)
        case ("e", .float(let d)):
            return String(format: "%.\(precision ?? 6)e", d)
        case ("s", .string(let s)), ("v", .string(let s)):
            if let precision { return String(s.unicodeScalars.prefix(precision).map(Character.init)) }
            return s
        case ("q", .string(let s)):
            return RegoValue.string(s).jsonString()
        case ("t", .bool(let b)), ("v", .bool(let b)):
            return b ? "true" : "false"
        case ("x", .int(let n)): return String(n, radix: 16)
        case ("X", .int(let n)): return String(n, radix: 16, uppercase: true)
        case ("o", .int(let n)): return String(n, radix: 8)
        case ("b", .int(let n)): return String(n, radix: 2)
        case ("x", .bigInt(let n)): return String(n, radix: 16)
        case ("X", .bigInt(let n)): return String(n, radix: 16, uppercase: true)
        case ("o", .bigInt(let n)): return String(n, radix: 8)
        case ("b", .bigInt(let n)): return String(n, radix: 2)
        case ("x", .string(let s)): return s.utf8.map { String(format: "%02x", $0) }.joined()
        case ("X", .string(let s)): return s.utf8.map { String(format: "%02X", $0) }.joined()
        case ("v", .other(let v)), ("s", .other(let v)):
            return regoString(v)
        case ("d", .float(let d)):
            return "%!d(float64=\(goFloat(d)))"
        case ("s", .bigInt(let n)):
            return n.description
        case ("s", .bool(let b)):
            return b ? "true" : "false"
        case ("d", .string(let s)):
            return "%!d(string=\(s))"
        case ("s", .float(let d)):
            return "%!s(float64=\(goFloat(d)))"
        default:
            let type: String
            let text: String
            switch arg {
            case .int(let n): type = "int64"; text = String(n)
            case .bigInt(let n): type = "big.Int"; text = n.description
            case .float(let d): type = "float64"; text = goFloat(d)
            case .string(let s): type = "string"; text = s
            case .bool(let b): type = "bool"; text = b ? "true" : "false"
            case .other(let v): type = "ast.Value"; text = regoString(v)
            }
            return "%!\(verb)(\(type)=\(text))"
        }
    }
}
