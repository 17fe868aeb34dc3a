import BigInt
import Foundation

/// An exact Rego number: an arbitrary-precision integer or a terminating decimal.
///
/// The value is `mantissa × 10^-scale`, kept normalised (`scale ≥ 0`, and no
/// trailing zero digit in the mantissa when `scale > 0`), so `1.0 == 1` and both
/// hash alike, as numbers do in OPA. Integers never overflow; decimals compare
/// exactly. Only division and the math builtins that cannot stay exact (`/` with
/// a non-terminating quotient) fall back to binary floating point, as OPA does.
///
/// A number read from policy source or JSON keeps its literal text (`2.0`, `1e3`,
/// `1.50`), as OPA's `ast.Number` does: `description` (what results and `json.marshal`
/// print) gives that text, and `sprintf` converts by it. The text never takes part in
/// equality, hashing or ordering, and arithmetic results carry none (`2.0 + 0` prints `2`).
public struct RegoNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The digits, with sign.
    public let mantissa: BigInt
    /// The count of digits after the decimal point.
    public let scale: Int
    /// The text the number was written with, when it came from a literal or JSON; nil for computed numbers.
    public let literal: String?

    public static func == (a: RegoNumber, b: RegoNumber) -> Bool { a.mantissa == b.mantissa && a.scale == b.scale }
    public func hash(into hasher: inout Hasher) { hasher.combine(mantissa); hasher.combine(scale) }

    /// Largest decimal exponent accepted when parsing, so a literal such as
    /// `1e999999999` is an error instead of an allocation that never ends.
    static let maxExponent = 4096

    public init(_ value: Int) { mantissa = BigInt(value); scale = 0; literal = nil }
    public init(_ value: BigInt) { mantissa = value; scale = 0; literal = nil }

    init(mantissa: BigInt, scale: Int) {
        literal = nil
        var m = mantissa, s = scale
        if m.isZero { self.mantissa = 0; self.scale = 0; return }
        if s >= 0, var small = Int(exactly: m) {
            // Word-sized fast path of the normalisation below.
            while s > 0, small % 10 == 0 { small /= 10; s -= 1 }
            self.mantissa = BigInt(small); self.scale = s
            return
        }
        if s < 0 { m *= BigInt(10).power(-s); s = 0 }
        while s > 0 {
            let (q, r) = m.quotientAndRemainder(dividingBy: 10)
            if !r.isZero { break }
            m = q; s -= 1
        }
        self.mantissa = m; self.scale = s
    }

    /// Parses a JSON / Rego number literal (`-12`, `3.25`, `1e3`, `2.5E-2`).
    /// Returns nil when the text is not a number or its exponent is out of range.
    public init?(parsing text: String) {
        var s = Substring(text)
        var negative = false
        if s.first == "-" { negative = true; s = s.dropFirst() } else if s.first == "+" { s = s.dropFirst() }
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let ex = Int(s[s.index(after: e)...].replacingOccurrences(of: "+", with: "")),
                  abs(ex) <= RegoNumber.maxExponent * 4 else { return nil }
            exponent = ex
            s = s[..<e]
        }
        var intPart = Substring(s), frac = Substring("")
        if let dot = s.firstIndex(of: ".") { intPart = s[..<dot]; frac = s[s.index(after: dot)...] }
        if intPart.isEmpty && frac.isEmpty { return nil }
        guard (intPart + frac).allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let digits = String(intPart + frac)
        guard var m = BigInt(digits.isEmpty ? "0" : digits) else { return nil }
        if negative { m.negate() }
        let scale = frac.count - exponent
        if m.isZero { self.init(0); return }
        if scale < -RegoNumber.maxExponent || scale > RegoNumber.maxExponent * 4 { return nil }
        self.init(mantissa: m, scale: scale)
    }

    /// Parses a number literal and keeps its text for output (policy source, JSON documents,
    /// `to_number`), as OPA keeps a `json.Number`. Nil as for `init(parsing:)`.
    public init?(literal text: String) {
        guard let n = RegoNumber(parsing: text) else { return nil }
        self.mantissa = n.mantissa
        self.scale = n.scale
        self.literal = text
    }

    /// The same number without its literal text.
    public var withoutLiteral: RegoNumber { literal == nil ? self : RegoNumber(mantissa: mantissa, scale: scale) }

    /// Converts a Double, keeping its shortest round-trip decimal form (what Go prints).
    public init?(_ double: Double) {
        guard double.isFinite else { return nil }
        if double == double.rounded(), abs(double) < 1e18 { self.init(Int(double)); return }
        self.init(parsing: "\(double)")
    }

    public var isInteger: Bool { scale == 0 }
    public var isZero: Bool { mantissa.isZero }
    public var sign: Int { mantissa.isZero ? 0 : (mantissa < 0 ? -1 : 1) }

    /// The value as Int when it is an integer in range.
    public var intValue: Int? {
        guard scale == 0 else { return nil }
        return Int(exactly: mantissa)
    }

    public var doubleValue: Double {
        if scale == 0 { return Double(mantissa) }
        return Double(description) ?? Double(mantissa) / pow(10, Double(scale))
    }

    /// Powers of ten that fit an Int.
    private static let smallPowers: [Int] = (0...18).map { (0..<$0).reduce(1) { r, _ in r * 10 } }

    private static func align(_ a: RegoNumber, _ b: RegoNumber) -> (BigInt, BigInt, Int) {
        if a.scale == b.scale { return (a.mantissa, b.mantissa, a.scale) }
        let d = abs(a.scale - b.scale)
        if d <= 18 {
            // Word-sized fast path when the scaled mantissa still fits.
            let p = smallPowers[d]
            if a.scale < b.scale, let x = Int(exactly: a.mantissa) {
                let (r, o) = x.multipliedReportingOverflow(by: p)
                if !o { return (BigInt(r), b.mantissa, b.scale) }
            } else if a.scale > b.scale, let y = Int(exactly: b.mantissa) {
                let (r, o) = y.multipliedReportingOverflow(by: p)
                if !o { return (a.mantissa, BigInt(r), a.scale) }
            }
        }
        if a.scale < b.scale { return (a.mantissa * BigInt(10).power(b.scale - a.scale), b.mantissa, b.scale) }
        return (a.mantissa, b.mantissa * BigInt(10).power(a.scale - b.scale), a.scale)
    }

    public static func + (a: RegoNumber, b: RegoNumber) -> RegoNumber {
        let (x, y, s) = align(a, b); return RegoNumber(mantissa: x + y, scale: s)
    }
    public static func - (a: RegoNumber, b: RegoNumber) -> RegoNumber {
        let (x, y, s) = align(a, b); return RegoNumber(mantissa: x - y, scale: s)
    }
    public static func * (a: RegoNumber, b: RegoNumber) -> RegoNumber {
        RegoNumber(mantissa: a.mantissa * b.mantissa, scale: a.scale + b.scale)
    }
    public static prefix func - (a: RegoNumber) -> RegoNumber { RegoNumber(mantissa: -a.mantissa, scale: a.scale) }

    /// Division: exact when the quotient terminates within 40 digits, else the nearest Double.
    /// Returns nil on division by zero.
    public func divided(by other: RegoNumber) -> RegoNumber? {
        if other.isZero { return nil }
        let (x, y, _) = RegoNumber.align(self, other)
        for extra in 0...40 {
            let num = x * BigInt(10).power(extra)
            let (q, r) = num.quotientAndRemainder(dividingBy: y)
            if r.isZero { return RegoNumber(mantissa: q, scale: extra) }
        }
        return RegoNumber(self.doubleValue / other.doubleValue)
    }

    /// Integer remainder with the sign of the dividend (Go's `%`); nil when not integers or divisor zero.
    public func remainder(dividingBy other: RegoNumber) -> RegoNumber? {
        guard isInteger, other.isInteger, !other.isZero else { return nil }
        return RegoNumber(mantissa.quotientAndRemainder(dividingBy: other.mantissa).remainder)
    }

    public func floor() -> RegoNumber {
        if scale == 0 { return self }
        if scale <= 18, let m = Int(exactly: mantissa) {
            let (q, r) = m.quotientAndRemainder(dividingBy: RegoNumber.smallPowers[scale])
            return RegoNumber(r < 0 ? q - 1 : q)
        }
        let (q, r) = mantissa.quotientAndRemainder(dividingBy: BigInt(10).power(scale))
        return RegoNumber(r < 0 ? q - 1 : q)
    }
    public func ceil() -> RegoNumber {
        if scale == 0 { return self }
        if scale <= 18, let m = Int(exactly: mantissa) {
            let (q, r) = m.quotientAndRemainder(dividingBy: RegoNumber.smallPowers[scale])
            return RegoNumber(r > 0 ? q + 1 : q)
        }
        let (q, r) = mantissa.quotientAndRemainder(dividingBy: BigInt(10).power(scale))
        return RegoNumber(r > 0 ? q + 1 : q)
    }
    /// Rounds half away from zero (Go's `math.Round`).
    public func rounded() -> RegoNumber {
        if scale == 0 { return self }
        let half = RegoNumber(mantissa: 5, scale: 1)
        return sign < 0 ? -((-self) + half).floor() : (self + half).floor()
    }
    public var magnitude: RegoNumber { sign < 0 ? -self : self }

    public static func < (a: RegoNumber, b: RegoNumber) -> Bool {
        if a.scale == b.scale { return a.mantissa < b.mantissa }
        let (x, y, _) = align(a, b); return x < y
    }

    /// The literal text when the number has one, else `canonicalDescription`.
    public var description: String { literal ?? canonicalDescription }

    /// Decimal notation of the value as OPA prints computed numbers: integers in full, decimals
    /// without exponent unless very small (then Go's `%g`-like `1e-22`).
    public var canonicalDescription: String {
        let small = Int(exactly: mantissa)
        if scale == 0 {
            return small.map { String($0) } ?? mantissa.description
        }
        var digits = small.map { String($0.magnitude) } ?? mantissa.magnitude.description
        let neg = mantissa < 0
        if scale > 21 && digits.count <= 17 {
            // Very small magnitude: exponent form like Go's strconv 'g'.
            let exp = digits.count - scale - 1
            var m = digits
            if m.count > 1 { m.insert(".", at: m.index(after: m.startIndex)) }
            return (neg ? "-" : "") + m + "e-" + (exp > -10 ? "0" : "") + String(-exp)
        }
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        let point = digits.index(digits.endIndex, offsetBy: -scale)
        return (neg ? "-" : "") + digits[..<point] + "." + digits[point...]
    }
}
