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
            return "{"
                + v.sortedEntries.map { regoString($0.key) + ": " + regoString($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// Go's %v of a float64 (strconv 'g' shortest: exponent form below 1e-4 or from 1e6, as
    /// measured with OPA: `sprintf("%v", [1234567.5])` is `1.2345675e+06`).
    static func goFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "+Inf" }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        // Shortest digits from Swift, then lay out as Go does.
        let (digits, exp) = shortestDigits(d)
        let neg = d < 0
        var s: String
        if exp < -4 || exp >= 6 {
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

    /// Go's `encoding/json` text of a float64: shortest digits, in exponent form (`1e-7`,
    /// `1.5e+21`, no zero padding) only below 1e-6 or from 1e21.
    static func jsonFloat(_ d: Double) -> String {
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        let (digits, exp) = shortestDigits(d)
        let neg = d < 0
        var s: String
        if exp < -6 || exp >= 21 {
            var m = digits
            if m.count > 1 { m.insert(".", at: m.index(after: m.startIndex)) }
            s = m + "e" + (exp < 0 ? "-" : "+") + String(abs(exp))
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
        // Swift prints the shortest round-trip form ("13.33", "1e-05", "1.5e+20"); read its bytes.
        let text = "\(abs(d))"
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var intCount = 0, exp = 0, sawDot = false, inExponent = false, expNegative = false
        for b in text.utf8 {
            if inExponent {
                if b == UInt8(ascii: "-") {
                    expNegative = true
                } else if b >= 0x30 && b <= 0x39 {
                    exp = exp * 10 + Int(b - 0x30)
                }
                continue
            }
            switch b {
            case UInt8(ascii: "."): sawDot = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
            default:
                digits.append(b)
                if !sawDot { intCount += 1 }
            }
        }
        if expNegative { exp = -exp }
        var pointExp = intCount - 1 + exp
        var start = 0, end = digits.count
        while end - start > 1, digits[start] == UInt8(ascii: "0") {
            start += 1
            pointExp -= 1
        }
        while end - start > 1, digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
        return (String(decoding: digits[start..<end], as: UTF8.self), pointExp)
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
        case .number(let n):
            // A computed integer has no text: it is Go's int64 when it fits (what its text would give).
            if n.literal == nil, let i = n.intValue { return .int(i) }
            return convertNumber(n.description)
        default: return .other(v)
        }
    }

    static func convertNumber(_ text: String) -> Arg {
        var hasExponent = false, dot: String.Index? = nil, fractionIsZero = true
        var i = text.utf8.startIndex
        while i != text.utf8.endIndex {
            let b = text.utf8[i]
            if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                hasExponent = true
            } else if b == UInt8(ascii: ".") {
                dot = i
            } else if dot != nil, b != UInt8(ascii: "0") {
                fractionIsZero = false
            }
            i = text.utf8.index(after: i)
        }
        if !hasExponent {
            var integral = Substring(text)
            if let dot, fractionIsZero { integral = text[..<dot] }
            if let i = Int(integral) { return .int(i) }
            if dot == nil, let b = BigInt(text) { return .bigInt(b) }
        }
        if dot != nil, let d = Double(text), d.isFinite { return .float(d) }
        return .string(text)
    }

    /// The flags of one verb (`+-# 0`).
    struct Flags: OptionSet {
        let rawValue: UInt8
        static let plus = Flags(rawValue: 1), minus = Flags(rawValue: 2), sharp = Flags(rawValue: 4)
        static let space = Flags(rawValue: 8), zero = Flags(rawValue: 16)

        init(rawValue: UInt8) { self.rawValue = rawValue }
        init?(byte: UInt8) {
            switch byte {
            case UInt8(ascii: "+"): self = .plus
            case UInt8(ascii: "-"): self = .minus
            case UInt8(ascii: "#"): self = .sharp
            case UInt8(ascii: " "): self = .space
            case UInt8(ascii: "0"): self = .zero
            default: return nil
            }
        }
    }

    /// Go's `fmt.Sprintf` over the format's UTF-8 bytes: literal runs are copied whole, and
    /// only the verbs are interpreted.
    static func sprintf(_ formatString: String, _ values: [RegoValue]) -> String {
        var formatString = formatString
        return formatString.withUTF8 { f in sprintf(f, values) }
    }

    static func sprintf(_ f: UnsafeBufferPointer<UInt8>, _ values: [RegoValue]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(f.count + 16 * values.count)
        var argIndex = 0
        var i = 0
        let percent = UInt8(ascii: "%")
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        while i < f.count {
            if f[i] != percent {
                let runStart = i
                while i < f.count, f[i] != percent { i += 1 }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: f[runStart..<i]))
                continue
            }
            i += 1
            guard i < f.count else {
                out.append(contentsOf: "%!(NOVERB)".utf8)
                break
            }
            var flags: Flags = []
            while i < f.count, let flag = Flags(byte: f[i]) {
                flags.insert(flag)
                i += 1
            }
            var width: Int? = nil
            while i < f.count, isDigit(f[i]) {
                width = min(10_000, (width ?? 0) * 10 + Int(f[i] - 0x30))
                i += 1
            }
            var precision: Int? = nil
            if i < f.count, f[i] == UInt8(ascii: ".") {
                i += 1
                precision = 0
                while i < f.count, isDigit(f[i]) {
                    precision = min(10_000, precision! * 10 + Int(f[i] - 0x30))
                    i += 1
                }
            }
            guard i < f.count else {
                out.append(contentsOf: "%!(NOVERB)".utf8)
                break
            }
            // The verb is one Unicode scalar.
            let verb: Unicode.Scalar
            if f[i] < 0x80 {
                verb = Unicode.Scalar(f[i])
                i += 1
            } else {
                var it = UnsafeBufferPointer(rebasing: f[i...]).makeIterator()
                var decoder = UTF8()
                if case .scalarValue(let s) = decoder.decode(&it) {
                    verb = s
                    i += s.utf8.count
                } else {
                    verb = "\u{FFFD}"
                    i += 1
                }
            }
            if verb == "%" {
                out.append(percent)
                continue
            }
            guard argIndex < values.count else {
                out.append(contentsOf: "%!\(verb)(MISSING)".utf8)
                continue
            }
            let arg = convert(values[argIndex])
            argIndex += 1
            var s = formatOne(verb, arg, flags, precision)
            if let width, s.count < width {
                let pad = width - s.count
                if flags.contains(.minus) {
                    s += String(repeating: " ", count: pad)
                } else if flags.contains(.zero), "dfeEgGxXob".unicodeScalars.contains(verb) {
                    let neg = s.hasPrefix("-") || s.hasPrefix("+")
                    let sign = neg ? String(s.removeFirst()) : ""
                    s = sign + String(repeating: "0", count: pad) + s
                } else {
                    s = String(repeating: " ", count: pad) + s
                }
            }
            out.append(contentsOf: s.utf8)
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
            out.append(contentsOf: ("%!(EXTRA " + extras.joined(separator: ", ") + ")").utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func formatOne(_ verb: Unicode.Scalar, _ arg: Arg, _ flags: Flags, _ precision: Int?) -> String {
        let plus = flags.contains(.plus)
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
            case .int(let n):
                type = "int64"
                text = String(n)
            case .bigInt(let n):
                type = "big.Int"
                text = n.description
            case .float(let d):
                type = "float64"
                text = goFloat(d)
            case .string(let s):
                type = "string"
                text = s
            case .bool(let b):
                type = "bool"
                text = b ? "true" : "false"
            case .other(let v):
                type = "ast.Value"
                text = regoString(v)
            }
            return "%!\(verb)(\(type)=\(text))"
        }
    }
}
