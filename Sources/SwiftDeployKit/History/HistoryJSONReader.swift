import Foundation

/// A strict JSON (RFC 8259) reader for one history line, fast enough for `audit` over millions of lines.
///
/// One pass checks the whole line's syntax and UTF-8 and records each value's byte range on a reusable tape;
/// values are only turned into Swift values when a field is asked for. It exists to give *exactly* the answer
/// `JSONDecoder` gives, faster, so it never guesses: wherever JSONDecoder's behaviour is not plain (a line it
/// may reject or read differently: invalid JSON, invalid UTF-8, a `\u` surrogate, nesting deeper than 64, a
/// duplicated key that is read, a key written with escapes, an integer field written as `1.0` or with 19+
/// digits, a number that does not fit a `Double`) the reader answers `Uncertain` and the caller asks
/// JSONDecoder. `HistoryJSONReaderTests` checks the agreement on real, generated and mutated lines.
final class HistoryJSONReader {
    enum Kind: UInt8 { case object, array, string, number, `true`, `false`, null }

    struct Node {
        var kind: Kind
        /// string: holds a backslash escape; number: a plain integer (no fraction or exponent) of at most 18 digits.
        var flag: Bool
        /// First byte of the value (a string's first byte after its opening quote).
        var start: Int32
        /// End of the value (a string's closing quote).
        var end: Int32
        /// Index of the node after this value's subtree.
        var next: Int32
    }

    /// The fast path cannot promise JSONDecoder's answer for this line.
    struct Uncertain: Error {}

    static let maximumDepth = 64

    /// The tape, kept between lines so that its storage is reused.
    private var tape: [Node] = []
    /// The root object's key nodes in order, kept the same way: `member` of the root (where `audit` asks for fifteen
    /// keys a line) walks this flat list instead of hopping from value to value along the tape.
    private var rootKeys: [Int32] = []

    init() {
        tape.reserveCapacity(256)
        rootKeys.reserveCapacity(32)
    }

    /// Parses `bytes` (valid until `body` returns) and calls `body` with the document's root, an object.
    /// Throws `Uncertain` when the line is not plainly a JSON object (JSONDecoder must decide).
    func read<T>(_ bytes: UnsafeRawBufferPointer, _ body: (Document) throws -> T) throws -> T {
        guard let address = bytes.baseAddress, bytes.count > 0, bytes.count < Int(Int32.max) else { throw Uncertain() }
        tape.removeAll(keepingCapacity: true)
        rootKeys.removeAll(keepingCapacity: true)
        // A local struct, not this class's properties: no dynamic exclusivity checks in the hot loop.
        var scanner = Scanner(
            base: address.assumingMemoryBound(to: UInt8.self), count: bytes.count, nodes: tape, rootKeys: rootKeys)
        tape = []
        rootKeys = []
        defer {
            tape = scanner.nodes
            rootKeys = scanner.rootKeys
        }
        var i = scanner.skipSpace(0)
        guard i < scanner.count, scanner.base[i] == UInt8(ascii: "{"), scanner.parseValue(&i, depth: 0) else {
            throw Uncertain()
        }
        i = scanner.skipSpace(i)
        guard i == scanner.count else { throw Uncertain() }
        let base = scanner.base
        return try scanner.nodes.withUnsafeBufferPointer { nodes in
            try scanner.rootKeys.withUnsafeBufferPointer { rootKeys in
                try body(Document(base: base, nodes: nodes, rootKeys: rootKeys))
            }
        }
    }
}

extension HistoryJSONReader {
    // MARK: Syntax

    struct Scanner {
        let base: UnsafePointer<UInt8>
        let count: Int
        var nodes: [Node]
        /// The root object's key nodes (depth 0).
        var rootKeys: [Int32]

        @inline(__always) func skipSpace(_ start: Int) -> Int {
            var i = start
            while i < count {
                let c = base[i]
                guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { break }
                i += 1
            }
            return i
        }

        mutating func parseValue(_ i: inout Int, depth: Int) -> Bool {
            guard i < count else { return false }
            let c = base[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < HistoryJSONReader.maximumDepth else { return false }
                let isObject = c == UInt8(ascii: "{")
                let index = nodes.count
                nodes.append(Node(kind: isObject ? .object : .array, flag: false, start: Int32(i), end: 0, next: 0))
                i = skipSpace(i + 1)
                let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if i < count, base[i] == close {
                    i += 1
                } else {
                    while true {
                        if isObject {
                            if depth == 0 { rootKeys.append(Int32(nodes.count)) }
                            guard i < count, base[i] == UInt8(ascii: "\""), parseString(&i) else { return false }
                            i = skipSpace(i)
                            guard i < count, base[i] == UInt8(ascii: ":") else { return false }
                            i = skipSpace(i + 1)
                        }
                        guard parseValue(&i, depth: depth + 1) else { return false }
                        i = skipSpace(i)
                        guard i < count else { return false }
                        if base[i] == UInt8(ascii: ",") {
                            i = skipSpace(i + 1)
                            continue
                        }
                        guard base[i] == close else { return false }
                        i += 1
                        break
                    }
                }
                nodes[index].end = Int32(i)
                nodes[index].next = Int32(nodes.count)
                return true
            case UInt8(ascii: "\""):
                return parseString(&i)
            case UInt8(ascii: "t"): return literal(&i, "true", .true)
            case UInt8(ascii: "f"): return literal(&i, "false", .false)
            case UInt8(ascii: "n"): return literal(&i, "null", .null)
            default:
                return parseNumber(&i)
            }
        }

        mutating func literal(_ i: inout Int, _ word: StaticString, _ kind: Kind) -> Bool {
            let n = word.utf8CodeUnitCount
            guard i + n <= count, memcmp(base + i, word.utf8Start, n) == 0 else { return false }
            nodes.append(
                Node(kind: kind, flag: false, start: Int32(i), end: Int32(i + n), next: Int32(nodes.count + 1)))
            i += n
            return true
        }

        mutating func parseNumber(_ i: inout Int) -> Bool {
            let start = i
            var j = i
            if j < count, base[j] == UInt8(ascii: "-") { j += 1 }
            guard j < count, isDigit(base[j]) else { return false }
            if base[j] == UInt8(ascii: "0") {
                j += 1
            } else {
                while j < count, isDigit(base[j]) { j += 1 }
            }
            let integerDigits = j - start - (base[start] == UInt8(ascii: "-") ? 1 : 0)
            var plain = true
            if j < count, base[j] == UInt8(ascii: ".") {
                plain = false
                j += 1
                guard j < count, isDigit(base[j]) else { return false }
                while j < count, isDigit(base[j]) { j += 1 }
            }
            if j < count, base[j] == UInt8(ascii: "e") || base[j] == UInt8(ascii: "E") {
                plain = false
                j += 1
                if j < count, base[j] == UInt8(ascii: "+") || base[j] == UInt8(ascii: "-") { j += 1 }
                guard j < count, isDigit(base[j]) else { return false }
                while j < count, isDigit(base[j]) { j += 1 }
            }
            nodes.append(
                Node(
                    kind: .number, flag: plain && integerDigits <= 18, start: Int32(start), end: Int32(j),
                    next: Int32(nodes.count + 1)))
            i = j
            return true
        }

        @inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

        @inline(__always) func isHex(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
        }

        /// A string from its opening quote: escapes well-formed, no control characters, valid UTF-8; no `\u`
        /// surrogate (whether JSONDecoder pairs, rejects or replaces those is left to JSONDecoder).
        mutating func parseString(_ i: inout Int) -> Bool {
            var j = i + 1
            var escaped = false
            while j < count {
                // Eight bytes at once while none of them needs a look: no quote, backslash, control byte or byte of
                // a multi-byte UTF-8 sequence (the byte-wise steps below would pass each of them alone). Otherwise
                // straight to the first byte that needs one: the lowest flagged byte is exact (a borrow only
                // carries upward, out of a byte that is itself flagged), the bytes before it are plain ASCII.
                if j + 8 <= count {
                    let w = UInt64(littleEndian: UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self))
                    let ones: UInt64 = 0x0101_0101_0101_0101
                    let high: UInt64 = 0x8080_8080_8080_8080
                    let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
                    let control = (w &- ones &* 0x20) & ~w
                    let zeroQuote = (quote &- ones) & ~quote, zeroBackslash = (backslash &- ones) & ~backslash
                    let flagged = (control | zeroQuote | zeroBackslash | w) & high
                    if flagged == 0 {
                        j += 8
                        continue
                    }
                    j += flagged.trailingZeroBitCount >> 3
                }
                let c = base[j]
                if c == UInt8(ascii: "\"") {
                    nodes.append(
                        Node(
                            kind: .string, flag: escaped, start: Int32(i + 1), end: Int32(j),
                            next: Int32(nodes.count + 1)))
                    i = j + 1
                    return true
                }
                if c < 0x20 { return false }
                if c == UInt8(ascii: "\\") {
                    escaped = true
                    guard j + 1 < count else { return false }
                    switch base[j + 1] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        j += 2
                    case UInt8(ascii: "u"):
                        guard j + 5 < count, isHex(base[j + 2]), isHex(base[j + 3]), isHex(base[j + 4]),
                            isHex(base[j + 5])
                        else { return false }
                        let first = base[j + 2] | 0x20
                        if first == UInt8(ascii: "d") {
                            let second = base[j + 3] | 0x20
                            if second >= UInt8(ascii: "8") && second <= UInt8(ascii: "9") || second >= UInt8(ascii: "a")
                            {
                                return false  // a surrogate: JSONDecoder decides
                            }
                        }
                        j += 6
                    default:
                        return false
                    }
                    continue
                }
                if c < 0x80 {
                    j += 1
                    continue
                }
                // UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
                func cont(_ k: Int) -> Bool { k < count && base[k] & 0xC0 == 0x80 }
                switch c {
                case 0xC2...0xDF:
                    guard cont(j + 1) else { return false }
                    j += 2
                case 0xE0...0xEF:
                    guard j + 2 < count, cont(j + 1), cont(j + 2) else { return false }
                    let d = base[j + 1]
                    if c == 0xE0 && d < 0xA0 { return false }
                    if c == 0xED && d > 0x9F { return false }
                    j += 3
                case 0xF0...0xF4:
                    guard j + 3 < count, cont(j + 1), cont(j + 2), cont(j + 3) else { return false }
                    let d = base[j + 1]
                    if c == 0xF0 && d < 0x90 { return false }
                    if c == 0xF4 && d > 0x8F { return false }
                    j += 4
                default:
                    return false
                }
            }
            return false
        }

    }

    // MARK: Values

    /// The parsed line: nodes by index, the root object at 0.
    struct Document {
        let base: UnsafePointer<UInt8>
        let nodes: UnsafeBufferPointer<Node>
        /// The root object's key nodes, in order.
        let rootKeys: UnsafeBufferPointer<Int32>

        /// What a field holds, as `decodeIfPresent` sees it.
        enum Field<T> {
            /// The key is absent or its value is `null`.
            case absent
            case value(T)
            /// The value is of another type (`decodeIfPresent` throws).
            case mismatch

            var value: T? {
                if case .value(let v) = self { return v }
                return nil
            }

            var isMismatch: Bool {
                if case .mismatch = self { return true }
                return false
            }
        }

        func kind(_ node: Int) -> Kind { nodes[node].kind }

        /// The value node of `key` in `object`; nil when absent. Throws `Uncertain` on a duplicated key or a key
        /// written with escapes (JSONDecoder's handling of those is not promised here).
        func member(_ object: Int, _ key: StaticString) throws -> Int? {
            guard nodes[object].kind == .object else { return nil }
            let keyLength = key.utf8CodeUnitCount
            var found: Int?
            if object == 0 {
                // The same checks, in the same order, over the root's keys listed flat.
                for k in rootKeys {
                    let name = nodes[Int(k)]
                    if name.flag { throw Uncertain() }
                    if Int(name.end - name.start) == keyLength
                        && memcmp(base + Int(name.start), key.utf8Start, keyLength) == 0
                    {
                        if found != nil { throw Uncertain() }
                        found = Int(k) + 1
                    }
                }
                return found
            }
            var k = object + 1
            let end = Int(nodes[object].next)
            while k < end {
                let name = nodes[k]
                if name.flag { throw Uncertain() }
                if Int(name.end - name.start) == keyLength
                    && memcmp(base + Int(name.start), key.utf8Start, keyLength) == 0
                {
                    if found != nil { throw Uncertain() }
                    found = k + 1
                }
                k = Int(nodes[k + 1].next)
            }
            return found
        }

        /// The keys `members(of:_:)` looks for at once: at most 16, no two alike.
        struct KeySet {
            let keys: [StaticString]
            let lengths: [Int]
            let firsts: [UInt8]

            init(_ keys: [StaticString]) {
                precondition(keys.count <= 16, "a KeySet holds at most 16 keys")
                precondition(!keys.contains { $0.utf8CodeUnitCount == 0 }, "KeySet: an empty key is never matched")
                self.keys = keys
                lengths = keys.map(\.utf8CodeUnitCount)
                firsts = keys.map { $0.utf8CodeUnitCount > 0 ? $0.utf8Start[0] : 0 }
                for (i, key) in keys.enumerated() {
                    precondition(!keys[..<i].contains { "\($0)" == "\(key)" }, "KeySet: '\(key)' twice")
                }
            }
        }

        /// What `member(object, key)` answers for each key of a `KeySet`, found in one pass over the object's keys.
        struct Members {
            fileprivate var found = InlineArray<16, Int32>(repeating: -1)
            fileprivate var repeated: UInt16 = 0
            fileprivate var escaped = false

            /// The value node of the `index`th key of the set, nil when absent; throws `Uncertain` exactly where
            /// `member` throws (any root key written with escapes, this key repeated).
            func node(_ index: Int) throws -> Int? {
                if escaped || repeated & (1 << UInt16(index)) != 0 { throw Uncertain() }
                let node = found[index]
                return node < 0 ? nil : Int(node)
            }
        }

        /// The members of `object` for all of `set` at once (`member(object, key)` asked once per key walks all the
        /// object's keys each time: fifteen walks a line at the root for `audit`, up to sixteen in `details`); a key
        /// is compared only where length and first byte agree. Not an object: every key absent, as `member`.
        func members(of object: Int, _ set: KeySet) -> Members {
            guard nodes[object].kind == .object else { return Members() }
            let count = set.keys.count
            // `members` is made inside the innermost closure and passed inout, never captured: a captured variable
            // that a nested function changes costs a dynamic exclusivity check (and a heap box) a key.
            return set.lengths.withUnsafeBufferPointer { lengths in
                set.firsts.withUnsafeBufferPointer { firsts in
                    set.keys.withUnsafeBufferPointer { keys in
                        /// Takes key node `k`; false once a key written with escapes makes every answer Uncertain.
                        func look(_ k: Int, _ members: inout Members) -> Bool {
                            let name = nodes[k]
                            if name.flag {
                                members.escaped = true
                                return false
                            }
                            let length = Int(name.end - name.start)
                            let first = base[Int(name.start)]  // the closing quote for "": in the line
                            for j in 0..<count where lengths[j] == length && firsts[j] == first {
                                guard memcmp(base + Int(name.start), keys[j].utf8Start, length) == 0 else { continue }
                                if members.found[j] >= 0 {
                                    members.repeated |= 1 << UInt16(j)
                                } else {
                                    members.found[j] = Int32(k + 1)
                                }
                                break
                            }
                            return true
                        }
                        var members = Members()
                        if object == 0 {
                            for k in rootKeys where !look(Int(k), &members) { break }
                        } else {
                            var k = object + 1
                            let end = Int(nodes[object].next)
                            while k < end, look(k, &members) { k = Int(nodes[k + 1].next) }
                        }
                        return members
                    }
                }
            }
        }

        /// `double(object, key)` of a node that may be absent.
        func double(at node: Int?) throws -> Field<Double> {
            guard let node else { return .absent }
            switch nodes[node].kind {
            case .null: return .absent
            case .number: return .value(try number(node))
            default: return .mismatch
            }
        }

        func string(_ object: Int, _ key: StaticString) throws -> Field<String> {
            guard let node = try member(object, key) else { return .absent }
            return string(at: node)
        }

        /// `string(at:)` of a node that may be absent.
        func string(at node: Int?) -> Field<String> {
            guard let node else { return .absent }
            return string(at: node)
        }

        func string(at node: Int) -> Field<String> {
            switch nodes[node].kind {
            case .null: return .absent
            case .string: return .value(text(node))
            default: return .mismatch
            }
        }

        /// `string(at:)` as a `HistoryText`: text without escapes straight from the line's bytes.
        func historyText(at node: Int?) -> Field<HistoryText> {
            guard let node else { return .absent }
            let n = nodes[node]
            switch n.kind {
            case .null: return .absent
            case .string:
                guard !n.flag else { return .value(HistoryText(text(node))) }
                return .value(
                    HistoryText(utf8: UnsafeBufferPointer(start: base + Int(n.start), count: Int(n.end - n.start))))
            default: return .mismatch
            }
        }

        func int(_ object: Int, _ key: StaticString) throws -> Field<Int> {
            try int(at: member(object, key))
        }

        /// A plain integer at `node` (absent when nil), as `int(_:_:)` reads it.
        func int(at node: Int?) throws -> Field<Int> {
            guard let node else { return .absent }
            switch nodes[node].kind {
            case .null: return .absent
            case .number:
                guard nodes[node].flag else { throw Uncertain() }  // 1.0, 1e2, 19+ digits: JSONDecoder decides
                return .value(integer(node))
            default: return .mismatch
            }
        }

        func double(_ object: Int, _ key: StaticString) throws -> Field<Double> {
            guard let node = try member(object, key) else { return .absent }
            switch nodes[node].kind {
            case .null: return .absent
            case .number: return .value(try number(node))
            default: return .mismatch
            }
        }

        /// `[String]`: an array of strings; a `null` element or another type makes the whole value a mismatch.
        func strings(at node: Int) -> Field<[String]> {
            switch nodes[node].kind {
            case .null: return .absent
            case .array:
                var out: [String] = []
                var k = node + 1
                let end = Int(nodes[node].next)
                while k < end {
                    guard nodes[k].kind == .string else { return .mismatch }
                    out.append(text(k))
                    k = Int(nodes[k].next)
                }
                return .value(out)
            default: return .mismatch
            }
        }

        /// A whole value as `JSONValue` decodes it.
        func jsonValue(at node: Int) throws -> JSONValue {
            switch nodes[node].kind {
            case .null: return .null
            case .true: return .bool(true)
            case .false: return .bool(false)
            case .string: return .string(text(node))
            case .number:
                if nodes[node].flag { return .int(Int64(integer(node))) }
                // JSONValue tries Int64 first: only a fraction with a non-zero digit and no exponent is surely not one.
                let n = nodes[node]
                var sawPoint = false, nonZeroFraction = false
                for k in Int(n.start)..<Int(n.end) {
                    let c = base[k]
                    if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { throw Uncertain() }
                    if c == UInt8(ascii: ".") {
                        sawPoint = true
                    } else if sawPoint && c != UInt8(ascii: "0") {
                        nonZeroFraction = true
                    }
                }
                guard nonZeroFraction else { throw Uncertain() }
                return .double(try number(node))
            case .array:
                var out: [JSONValue] = []
                var k = node + 1
                while k < Int(nodes[node].next) {
                    out.append(try jsonValue(at: k))
                    k = Int(nodes[k].next)
                }
                return .array(out)
            case .object:
                var out: [String: JSONValue] = [:]
                var k = node + 1
                while k < Int(nodes[node].next) {
                    if nodes[k].flag { throw Uncertain() }
                    let key = text(k)
                    guard out.updateValue(try jsonValue(at: k + 1), forKey: key) == nil else { throw Uncertain() }
                    k = Int(nodes[k + 1].next)
                }
                return .object(out)
            }
        }

        /// `prev` of `object` as `string(_:_:)` reads it, as the chain compares it: written as the history writes
        /// hashes, a digest read from the bytes (no string), else the text.
        func chainPrev(_ object: Int) throws -> Field<ChainPrev> {
            try chainPrev(at: member(object, "prev"))
        }

        /// `prev` at `node` (absent when nil), as `chainPrev(_:)` reads it.
        func chainPrev(at node: Int?) throws -> Field<ChainPrev> {
            guard let node else { return .absent }
            let n = nodes[node]
            switch n.kind {
            case .null: return .absent
            case .string:
                if !n.flag,
                    let digest = LineDigest(
                        hex: UnsafeRawBufferPointer(start: base + Int(n.start), count: Int(n.end - n.start)))
                {
                    return .value(.digest(digest))
                }
                return .value(ChainPrev(text(node)))
            default: return .mismatch
            }
        }

        /// A string node's text, escapes decoded (the reader has checked them and the UTF-8).
        func text(_ node: Int) -> String {
            let n = nodes[node]
            let bytes = UnsafeBufferPointer(start: base + Int(n.start), count: Int(n.end - n.start))
            guard n.flag else { return String(decoding: bytes, as: UTF8.self) }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var j = 0
            while j < bytes.count {
                let c = bytes[j]
                guard c == UInt8(ascii: "\\") else {
                    out.append(c)
                    j += 1
                    continue
                }
                let e = bytes[j + 1]
                switch e {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar: UInt32 = 0
                    for k in 2...5 {
                        let h = bytes[j + k]
                        let digit: UInt8 = h <= 0x39 ? h - 0x30 : (h | 0x20) - 0x61 + 10
                        scalar = scalar << 4 | UInt32(digit)
                    }
                    // Never a surrogate: the reader refused those.
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                    j += 6
                    continue
                default: out.append(e)  // " \ /
                }
                j += 2
            }
            return String(decoding: out, as: UTF8.self)
        }

        /// A plain integer node's value (at most 18 digits: fits).
        func integer(_ node: Int) -> Int {
            let n = nodes[node]
            var k = Int(n.start)
            let negative = base[k] == UInt8(ascii: "-")
            if negative { k += 1 }
            var v = 0
            while k < Int(n.end) {
                v = v &* 10 &+ Int(base[k] &- 0x30)
                k += 1
            }
            return negative ? -v : v
        }

        /// A number node as the nearest `Double`; throws `Uncertain` when it does not fit one.
        func number(_ node: Int) throws -> Double {
            let n = nodes[node]
            if n.flag {  // 18 digits or fewer: exact below 2^53, else correctly rounded
                let v = integer(node)
                return v == 0 && base[Int(n.start)] == UInt8(ascii: "-") ? -0.0 : Double(v)
            }
            // A decimal with at most 15 significant digits and no exponent: exact mantissa / exact power of ten,
            // one correctly rounded division (Clinger's fast path).
            var mantissa: Int64 = 0, digits = 0, scale = 0, sawPoint = false, simple = true
            var k = Int(n.start)
            let negative = base[k] == UInt8(ascii: "-")
            if negative { k += 1 }
            while k < Int(n.end) {
                let c = base[k]
                if c == UInt8(ascii: ".") {
                    sawPoint = true
                } else if c >= 0x30 && c <= 0x39 {
                    if mantissa != 0 || c != 0x30 { digits += 1 }
                    mantissa = mantissa &* 10 &+ Int64(c - 0x30)
                    if sawPoint { scale += 1 }
                } else {
                    simple = false
                    break
                }
                k += 1
            }
            if simple && digits <= 15 && scale <= 22 {
                let value = Double(mantissa) / Self.powersOfTen[scale]
                return negative ? -value : value
            }
            let text = String(
                decoding: UnsafeBufferPointer(start: base + Int(n.start), count: Int(n.end - n.start)), as: UTF8.self)
            guard let value = Double(text), value.isFinite else { throw Uncertain() }
            return value
        }

        static let powersOfTen: [Double] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
            1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ]
    }
}
