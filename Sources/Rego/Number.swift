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
/// A mantissa that fits a machine word is stored as an `Int` and computed with word
/// arithmetic (overflow is detected and moves to `BigInt`); only a mantissa beyond it is a
/// `BigInt`. The two never hold the same value, so equality and hashing stay exact.
///
/// A number read from policy source or JSON keeps its literal text (`2.0`, `1e3`,
/// `1.50`), as OPA's `ast.Number` does: `description` (what results and `json.marshal`
/// print) gives that text, and `sprintf` converts by it. The text never takes part in
/// equality, hashing or ordering, and arithmetic results carry none (`2.0 + 0` prints `2`).
public struct RegoNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The mantissa: a word when it fits, else a `BigInt` (never one that would fit a word).
    enum Digits: Sendable {
        case small(Int)
        case big(BigInt)
    }

    let digits: Digits
    /// The count of digits after the decimal point.
    public let scale: Int
    /// The text the number was written with, when it came from a literal or JSON; nil for computed numbers.
    public let literal: String?

    /// The digits, with sign.
    public var mantissa: BigInt {
        switch digits {
        case .small(let i): return BigInt(i)
        case .big(let b): return b
        }
    }

    public static func == (a: RegoNumber, b: RegoNumber) -> Bool {
        guard a.scale == b.scale else { return false }
        switch (a.digits, b.digits) {
        case (.small(let x), .small(let y)): return x == y
        case (.big(let x), .big(let y)): return x == y
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch digits {
        case .small(let i): hasher.combine(i)
        case .big(let b): hasher.combine(b)
        }
        hasher.combine(scale)
    }

    /// Largest decimal exponent accepted when parsing, so a literal such as
    /// `1e999999999` is an error instead of an allocation that never ends.
    static let maxExponent = 4096

    public init(_ value: Int) {
        digits = .small(value)
        scale = 0
        literal = nil
    }
    public init(_ value: BigInt) {
        if let i = Int(exactly: value) { digits = .small(i) } else { digits = .big(value) }
        scale = 0
        literal = nil
    }

    private init(normalized digits: Digits, scale: Int, literal: String?) {
        self.digits = digits
        self.scale = scale
        self.literal = literal
    }

    /// Powers of ten that fit an Int.
    static let smallPowers: [Int] = (0...18).map { (0..<$0).reduce(1) { r, _ in r * 10 } }

    /// A word-sized mantissa with its scale, normalised.
    init(small: Int, scale: Int) {
        var m = small, s = scale
        if m == 0 {
            self.init(normalized: .small(0), scale: 0, literal: nil)
            return
        }
        if s < 0 {
            if -s <= 18 {
                let (r, o) = m.multipliedReportingOverflow(by: RegoNumber.smallPowers[-s])
                if !o {
                    self.init(normalized: .small(r), scale: 0, literal: nil)
                    return
                }
            }
            self = RegoNumber.normalizeBig(BigInt(m), s)
            return
        }
        while s > 0, m % 10 == 0 {
            m /= 10
            s -= 1
        }
        self.init(normalized: .small(m), scale: s, literal: nil)
    }

    init(mantissa: BigInt, scale: Int) {
        if let small = Int(exactly: mantissa) {
            self.init(small: small, scale: scale)
        } else {
            self = RegoNumber.normalizeBig(mantissa, scale)
        }
    }

    /// Normalises a mantissa of any size (a word again when the result fits one).
    static func normalizeBig(_ mantissa: BigInt, _ scale: Int) -> RegoNumber {
        var m = mantissa, s = scale
        if m.isZero { return RegoNumber(0) }
        if s < 0 {
            m *= BigInt(10).power(-s)
            s = 0
        }
        while s > 0 {
            let (q, r) = m.quotientAndRemainder(dividingBy: 10)
            if !r.isZero { break }
            m = q
            s -= 1
        }
        if let i = Int(exactly: m) { return RegoNumber(normalized: .small(i), scale: s, literal: nil) }
        return RegoNumber(normalized: .big(m), scale: s, literal: nil)
    }

    /// Parses a JSON / Rego number literal (`-12`, `3.25`, `1e3`, `2.5E-2`).
    /// Returns nil when the text is not a number or its exponent is out of range.
    public init?(parsing text: String) {
        var text = text
        guard let n = text.withUTF8({ RegoNumber.parse($0) }) else { return nil }
        self = n
    }

    /// The parser of `init(parsing:)` over UTF-8 bytes: digits accumulate in a word while they fit.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> RegoNumber? {
        var i = 0
        var negative = false
        if i < b.count, b[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        } else if i < b.count, b[i] == UInt8(ascii: "+") {
            i += 1
        }
        var small = 0
        var overflow = false
        var digitCount = 0, fracCount = 0
        var sawDot = false
        var end = b.count
        // The exponent, if any.
        var exponent = 0
        if let e = b.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }), e >= i {
            end = e
            var j = e + 1
            var expNegative = false
            if j < b.count, b[j] == UInt8(ascii: "+") {
                j += 1
            } else if j < b.count, b[j] == UInt8(ascii: "-") {
                expNegative = true
                j += 1
            }
            guard j < b.count else { return nil }
            var ex = 0
            while j < b.count {
                let d = b[j]
                guard d >= 0x30 && d <= 0x39 else { return nil }
                ex = ex * 10 + Int(d - 0x30)
                if ex > maxExponent * 4 { return nil }
                j += 1
            }
            exponent = expNegative ? -ex : ex
        }
        let digitsStart = i
        while i < end {
            let d = b[i]
            if d == UInt8(ascii: ".") {
                if sawDot { return nil }
                sawDot = true
                i += 1
                continue
            }
            guard d >= 0x30 && d <= 0x39 else { return nil }
            if sawDot { fracCount += 1 }
            digitCount += 1
            if !overflow {
                let (m, o1) = small.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(d - 0x30))
                if o1 || o2 { overflow = true } else { small = a }
            }
            i += 1
        }
        if digitCount == 0 { return nil }
        let scale = fracCount - exponent
        if !overflow {
            if small == 0 { return RegoNumber(0) }
            if scale < -maxExponent || scale > maxExponent * 4 { return nil }
            return RegoNumber(small: negative ? -small : small, scale: scale)
        }
        var text = ""
        text.reserveCapacity(digitCount)
        for k in digitsStart..<end where b[k] != UInt8(ascii: ".") { text.unicodeScalars.append(Unicode.Scalar(b[k])) }
        guard var m = BigInt(text) else { return nil }
        if negative { m.negate() }
        if scale < -maxExponent || scale > maxExponent * 4 { return nil }
        return RegoNumber(mantissa: m, scale: scale)
    }

    /// Parses a number literal and keeps its text for output (policy source, JSON documents,
    /// `to_number`), as OPA keeps a `json.Number`. Nil as for `init(parsing:)`.
    public init?(literal text: String) {
        guard let n = RegoNumber(parsing: text) else { return nil }
        self.init(normalized: n.digits, scale: n.scale, literal: text)
    }

    /// Whether `text` is a number in JSON's grammar (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`),
    /// the only text a number may keep for output.
    public static func isJSONNumberText(_ text: String) -> Bool {
        var it = text.utf8.makeIterator()
        var c = it.next()
        func digit(_ b: UInt8?) -> Bool { b.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        if c == UInt8(ascii: "-") { c = it.next() }
        guard digit(c) else { return false }
        if c == UInt8(ascii: "0") { c = it.next() } else { repeat { c = it.next() } while digit(c) }
        if c == UInt8(ascii: ".") {
            c = it.next()
            guard digit(c) else { return false }
            repeat { c = it.next() } while digit(c)
        }
        if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            c = it.next()
            if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { c = it.next() }
            guard digit(c) else { return false }
            repeat { c = it.next() } while digit(c)
        }
        return c == nil
    }

    /// The same number without its literal text.
    public var withoutLiteral: RegoNumber {
        literal == nil ? self : RegoNumber(normalized: digits, scale: scale, literal: nil)
    }

    /// Converts a Double, keeping its shortest round-trip decimal form (what Go prints).
    public init?(_ double: Double) {
        guard double.isFinite else { return nil }
        if double == double.rounded(), abs(double) < 1e18 {
            self.init(Int(double))
            return
        }
        self.init(parsing: "\(double)")
    }

    public var isInteger: Bool { scale == 0 }
    public var isZero: Bool {
        if case .small(let i) = digits { return i == 0 }
        return false
    }
    public var sign: Int {
        switch digits {
        case .small(let i): return i == 0 ? 0 : (i < 0 ? -1 : 1)
        case .big(let b): return b < 0 ? -1 : 1
        }
    }

    /// The value as Int when it is an integer in range.
    public var intValue: Int? {
        guard scale == 0, case .small(let i) = digits else { return nil }
        return i
    }

    public var doubleValue: Double {
        if case .small(let i) = digits {
            if scale == 0 { return Double(i) }
            // Both operands exact: one correctly rounded division, as parsing the text would give.
            if scale <= 22, i.magnitude < (1 << 53) { return Double(i) / RegoNumber.exactPowers[scale] }
        }
        // Beyond a word: Swift's parser rounds the exact decimal text correctly (BigInt → Double truncates).
        return Double(canonicalDescription) ?? Double(mantissa) / pow(10, Double(scale))
    }

    /// Powers of ten exact in a Double.
    private static let exactPowers: [Double] = (0...22).map { (0..<$0).reduce(1.0) { r, _ in r * 10 } }

    /// Both mantissas at the larger scale, as words when they fit.
    private enum Aligned {
        case small(Int, Int, Int)
        case big(BigInt, BigInt, Int)
    }

    private static func align(_ a: RegoNumber, _ b: RegoNumber) -> Aligned {
        if case .small(let x) = a.digits, case .small(let y) = b.digits {
            if a.scale == b.scale { return .small(x, y, a.scale) }
            let d = abs(a.scale - b.scale)
            if d <= 18 {
                let p = smallPowers[d]
                if a.scale < b.scale {
                    let (r, o) = x.multipliedReportingOverflow(by: p)
                    if !o { return .small(r, y, b.scale) }
                } else {
                    let (r, o) = y.multipliedReportingOverflow(by: p)
                    if !o { return .small(x, r, a.scale) }
                }
            }
        }
        let (x, y, s) = alignBig(a, b)
        return .big(x, y, s)
    }

    private static func alignBig(_ a: RegoNumber, _ b: RegoNumber) -> (BigInt, BigInt, Int) {
        if a.scale == b.scale { return (a.mantissa, b.mantissa, a.scale) }
        if a.scale < b.scale { return (a.mantissa * BigInt(10).power(b.scale - a.scale), b.mantissa, b.scale) }
        return (a.mantissa, b.mantissa * BigInt(10).power(a.scale - b.scale), a.scale)
    }

    public static func + (a: RegoNumber, b: RegoNumber) -> RegoNumber {
        switch align(a, b) {
        case .small(let x, let y, let s):
            let (r, o) = x.addingReportingOverflow(y)
            if !o { return RegoNumber(small: r, scale: s) }
            return RegoNumber(mantissa: BigInt(x) + BigInt(y), scale: s)
        case .big(let x, let y, let s): return RegoNumber(mantissa: x + y, scale: s)
        }
    }
    public static func - (a: RegoNumber, b: RegoNumber) -> RegoNumber {
        switch align(a, b) {
        case .small(let x, let y, let s):
            let (r, o) = x.subtractingReportingOverflow(y)
            if !o { return RegoNumber(small: r, scale: s) }
            return RegoNumber(mantissa: BigInt(x) - BigInt(y), scale: s)
        case .big(let x, let y, let s): return RegoNumber(mantissa: x - y, scale: s)
        }
    }
    public static func * (a: RegoNumber, b: RegoNumber) -> RegoNumber {
        if case .small(let x) = a.digits, case .small(let y) = b.digits {
            let (r, o) = x.multipliedReportingOverflow(by: y)
            if !o { return RegoNumber(small: r, scale: a.scale + b.scale) }
        }
        return RegoNumber(mantissa: a.mantissa * b.mantissa, scale: a.scale + b.scale)
    }
    public static prefix func - (a: RegoNumber) -> RegoNumber {
        if case .small(let x) = a.digits, x != .min {
            return RegoNumber(normalized: .small(-x), scale: a.scale, literal: nil)
        }
        return RegoNumber(mantissa: -a.mantissa, scale: a.scale)
    }

    /// Division: exact when the quotient terminates within 40 digits, else the nearest Double.
    /// Returns nil on division by zero.
    public func divided(by other: RegoNumber) -> RegoNumber? {
        if other.isZero { return nil }
        if case .small(let x, let y, _) = RegoNumber.align(self, other), y != 0, y != -1 {
            // Word-sized: exact while the scaled dividend fits.
            var num = x
            for extra in 0...18 {
                if num % y == 0 { return RegoNumber(small: num / y, scale: extra) }
                let (n, o) = num.multipliedReportingOverflow(by: 10)
                if o { break }
                num = n
            }
        }
        let (x, y, _) = RegoNumber.alignBig(self, other)
        for extra in 0...40 {
            let num = x * BigInt(10).power(extra)
            let (q, r) = num.quotientAndRemainder(dividingBy: y)
            if r.isZero { return RegoNumber(mantissa: q, scale: extra) }
        }
        // Not terminating: the exact quotient to 40 more digits, then the nearest Double (one
        // correctly rounded parse, not a division of two rounded operands).
        let extra = 40 + Swift.max(0, y.magnitude.description.count - x.magnitude.description.count)
        let (q, _) = (x * BigInt(10).power(extra)).quotientAndRemainder(dividingBy: y)
        if let d = Double(RegoNumber(mantissa: q, scale: extra).canonicalDescription), d.isFinite, let n = RegoNumber(d)
        {
            return n
        }
        return RegoNumber(self.doubleValue / other.doubleValue)
    }

    /// Integer remainder with the sign of the dividend (Go's `%`); nil when not integers or divisor zero.
    public func remainder(dividingBy other: RegoNumber) -> RegoNumber? {
        guard isInteger, other.isInteger, !other.isZero else { return nil }
        if case .small(let x) = digits, case .small(let y) = other.digits, y != -1 { return RegoNumber(x % y) }
        return RegoNumber(mantissa.quotientAndRemainder(dividingBy: other.mantissa).remainder)
    }

    public func floor() -> RegoNumber {
        if scale == 0 { return withoutLiteral }
        if scale <= 18, case .small(let m) = digits {
            let (q, r) = m.quotientAndRemainder(dividingBy: RegoNumber.smallPowers[scale])
            return RegoNumber(r < 0 ? q - 1 : q)
        }
        let (q, r) = mantissa.quotientAndRemainder(dividingBy: BigInt(10).power(scale))
        return RegoNumber(r < 0 ? q - 1 : q)
    }
    public func ceil() -> RegoNumber {
        if scale == 0 { return withoutLiteral }
        if scale <= 18, case .small(let m) = digits {
            let (q, r) = m.quotientAndRemainder(dividingBy: RegoNumber.smallPowers[scale])
            return RegoNumber(r > 0 ? q + 1 : q)
        }
        let (q, r) = mantissa.quotientAndRemainder(dividingBy: BigInt(10).power(scale))
        return RegoNumber(r > 0 ? q + 1 : q)
    }
    /// Rounds half away from zero (Go's `math.Round`).
    public func rounded() -> RegoNumber {
        if scale == 0 { return withoutLiteral }
        if scale <= 18, case .small(let m) = digits {
            let p = RegoNumber.smallPowers[scale]
            let (q, r) = m.quotientAndRemainder(dividingBy: p)
            // |r| >= p/2 rounds away from zero (p is even, so p/2 is exact).
            if r.magnitude >= UInt(p / 2) { return RegoNumber(m < 0 ? q - 1 : q + 1) }
            return RegoNumber(q)
        }
        let half = RegoNumber(small: 5, scale: 1)
        return sign < 0 ? -((-self) + half).floor() : (self + half).floor()
    }
    /// The absolute value, a computed number (no literal text: OPA's `abs(2.0)` is `2`).
    public var magnitude: RegoNumber { sign < 0 ? -self : withoutLiteral }

    public static func < (a: RegoNumber, b: RegoNumber) -> Bool {
        switch align(a, b) {
        case .small(let x, let y, _): return x < y
        case .big(let x, let y, _): return x < y
        }
    }

    /// The literal text when the number has one, else `canonicalDescription`.
    public var description: String { literal ?? canonicalDescription }

    /// The text OPA gives a number it computed (`builtins.FloatToNumber`/`IntToNumber`, big.Float's
    /// `Text('g', -1)` for a fraction, `'f'` for an integer): integers in full; a fraction in
    /// decimal notation when its decimal exponent is from -4 to 5, else as `d.ddde±XX` (at least
    /// two exponent digits): `0.0001`, `1e-05`, `123456.5`, `1.2345675e+06`.
    public var canonicalDescription: String {
        if scale == 0 {
            switch digits {
            case .small(let i): return String(i)
            case .big(let b): return b.description
            }
        }
        var digitText: String
        let neg: Bool
        switch digits {
        case .small(let i):
            digitText = String(i.magnitude)
            neg = i < 0
        case .big(let b):
            digitText = b.magnitude.description
            neg = b < 0
        }
        let count = digitText.utf8.count
        // value = 0.d1d2… × 10^(count - scale), so the exponent of d1 is count - scale - 1.
        let exp = count - scale - 1
        if exp < -4 || exp >= 6 {
            var m = digitText
            if count > 1 { m.insert(".", at: m.index(after: m.startIndex)) }
            let e = Swift.abs(exp)
            return (neg ? "-" : "") + m + "e" + (exp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
        }
        if count <= scale { digitText = String(repeating: "0", count: scale - count + 1) + digitText }
        let point = digitText.index(digitText.endIndex, offsetBy: -scale)
        return (neg ? "-" : "") + digitText[..<point] + "." + digitText[point...]
    }
}
