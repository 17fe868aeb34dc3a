import Foundation

/// A builtin function: its arity and implementation. Returning nil means undefined.
struct Builtin {
    let arity: Int
    let fn: ([RegoValue], Evaluator) throws -> RegoValue?
}

/// The builtin function registry (OPA names) and shared argument helpers.
enum Builtins {
    static let table: [String: Builtin] = {
        var t: [String: Builtin] = [:]
        registerAll(&t)
        // The arity comes from the one signature table the type checker reads too.
        // Builtins that walk their arguments whole (serialising, sorting, hashing into sets) count
        // every node against the time budget first: a value that shares its parts (`a1 := [a0, a0]`,
        // doubled forty times) is small to build but has 2^40 nodes to walk.
        for name in traversing {
            guard let b = t[name] else { continue }
            let fn = b.fn
            t[name] = Builtin(arity: b.arity) { a, ev in
                for v in a { try chargeTree(v, ev) }
                return try fn(a, ev)
            }
        }
        for (name, b) in t {
            if let sig = BuiltinSignature.all[name] { t[name] = Builtin(arity: sig.arity, fn: b.fn) }
        }
        return t
    }()

    /// The registry by dotted path (`["net", "cidr_contains"]`), so a call is looked up without joining its name.
    static let byPath: [[String]: Builtin] = Dictionary(
        uniqueKeysWithValues: table.map {
            ($0.key.split(separator: ".", omittingEmptySubsequences: false).map(String.init), $0.value)
        })

    /// Arities the implementations were registered with, for the test that they agree with the signatures.
    static let implementedArities: [String: Int] = {
        var t: [String: Builtin] = [:]
        registerAll(&t)
        return t.mapValues(\.arity)
    }()

    static func registerAll(_ t: inout [String: Builtin]) {
        registerOperators(&t)
        registerAggregates(&t)
        registerStrings(&t)
        registerRegex(&t)
        registerTime(&t)
        registerUnits(&t)
        registerObjects(&t)
        registerArrays(&t)
        registerTypes(&t)
        registerEncoding(&t)
        registerURLQuery(&t)
        registerCrypto(&t)
        registerGlob(&t)
        registerNet(&t)
        registerBits(&t)
        registerSemver(&t)
        registerGraph(&t)
        registerUUID(&t)
        registerTemplate(&t)
        registerJSONPatch(&t)
        registerGraphQL(&t)
        registerAWSSigning(&t)
    }

    /// Names that begin a dotted builtin name (`time`, `strings`, …).
    static let prefixes: Set<String> = Set(
        table.keys.compactMap { $0.contains(".") ? String($0.split(separator: ".")[0]) : nil })
    static func isBuiltinPrefix(_ s: String) -> Bool { prefixes.contains(s) || table[s] != nil }

    static func call(_ name: String, _ args: [RegoValue], _ ev: Evaluator, _ loc: SourceLocation) throws -> RegoValue? {
        guard let b = table[name] else {
            throw RegoError(
                code: "rego_type_error", message: "undefined function \(name)", file: loc.file, line: loc.line,
                column: loc.column)
        }
        do {
            return try ev.callBuiltin(b, args)
        } catch let e as RegoError {
            throw RegoError(code: e.code, message: e.message, file: loc.file, line: loc.line)
        }
    }

    /// The builtins whose work is proportional to the whole of their arguments, nested values included.
    static let traversing: [String] = [
        "json.marshal", "json.marshal_with_options", "yaml.marshal", "sort", "union", "intersection",
        "json.filter", "json.remove", "json.patch", "object.union", "object.union_n", "array.flatten",
        "sprintf", "max", "min", "io.jwt.encode_sign", "io.jwt.encode_sign_raw", "base64.encode", "crypto.sha256",
    ]

    /// Walks `v` (an explicit stack, no recursion) ticking once per node, so the clock is read every
    /// 256 nodes and a value too large to walk within the budget stops with `eval_limit_error`.
    static func chargeTree(_ v: RegoValue, _ ev: Evaluator) throws {
        switch v {
        case .array, .set, .object: break
        case .string(let s):
            try ev.charge(s.utf8.count >> 4)
            return
        default: return
        }
        var stack: [RegoValue] = [v]
        while let x = stack.popLast() {
            try ev.tick()
            switch x {
            case .array(let a): stack.append(contentsOf: a)
            case .set(let e): stack.append(contentsOf: e)
            case .object(let o):
                for (k, val) in o {
                    stack.append(k)
                    stack.append(val)
                }
            case .string(let s): try ev.charge(s.utf8.count >> 4)
            default: break
            }
        }
    }

    // MARK: argument helpers

    static func typeError(_ fn: String, _ i: Int, _ want: String, _ got: RegoValue) -> RegoError {
        RegoError.typeError("\(fn): operand \(i) must be \(want) but got \(got.typeName)")
    }

    static func string(_ fn: String, _ args: [RegoValue], _ i: Int) throws -> String {
        guard case .string(let s) = args[i] else { throw typeError(fn, i + 1, "string", args[i]) }
        return s
    }
    static func number(_ fn: String, _ args: [RegoValue], _ i: Int) throws -> RegoNumber {
        guard case .number(let n) = args[i] else { throw typeError(fn, i + 1, "number", args[i]) }
        return n
    }
    static func int(_ fn: String, _ args: [RegoValue], _ i: Int) throws -> Int {
        let n = try number(fn, args, i)
        guard let v = n.intValue else {
            throw RegoError.typeError("\(fn): operand \(i + 1) must be integer number but got floating-point number")
        }
        return v
    }
    static func array(_ fn: String, _ args: [RegoValue], _ i: Int) throws -> [RegoValue] {
        guard case .array(let a) = args[i] else { throw typeError(fn, i + 1, "array", args[i]) }
        return a
    }
    static func object(_ fn: String, _ args: [RegoValue], _ i: Int) throws -> [RegoValue: RegoValue] {
        guard case .object(let o) = args[i] else { throw typeError(fn, i + 1, "object", args[i]) }
        return o
    }
    static func set(_ fn: String, _ args: [RegoValue], _ i: Int) throws -> Set<RegoValue> {
        guard case .set(let s) = args[i] else { throw typeError(fn, i + 1, "set", args[i]) }
        return s
    }
    static func bool(_ fn: String, _ args: [RegoValue], _ i: Int) throws -> Bool {
        guard case .bool(let b) = args[i] else { throw typeError(fn, i + 1, "boolean", args[i]) }
        return b
    }
    /// Elements of an array or set (sets in sorted order).
    static func collection(_ fn: String, _ args: [RegoValue], _ i: Int, _ want: String = "one of {array, set}") throws
        -> [RegoValue]
    {
        switch args[i] {
        case .array(let a): return a
        case .set: return args[i].sortedElements
        default: throw typeError(fn, i + 1, want, args[i])
        }
    }
    static func strings(_ fn: String, _ values: [RegoValue], _ i: Int) throws -> [String] {
        try values.map {
            guard case .string(let s) = $0 else {
                throw RegoError.typeError(
                    "\(fn): operand \(i + 1) must be array of strings but got array containing \($0.typeName)")
            }
            return s
        }
    }

    /// The numbers of a stride as values; ticks per element, so a large range respects the time limit.
    static func ranged(_ numbers: StrideThrough<Int>, _ ev: Evaluator) throws -> [RegoValue] {
        // No `underestimatedCount` here: a stride's walks every element (O(n), untimed).
        var out: [RegoValue] = []
        for n in numbers {
            try ev.tick()
            out.append(.int(n))
        }
        return out
    }

    // MARK: operators

    static func registerOperators(_ t: inout [String: Builtin]) {
        func cmp(_ name: String, _ f: @escaping (Int) -> Bool) {
            t[name] = Builtin(arity: 2) { a, _ in .bool(f(RegoValue.compare(a[0], a[1]))) }
        }
        cmp("equal") { $0 == 0 }
        cmp("neq") { $0 != 0 }
        cmp("lt") { $0 < 0 }
        cmp("lte") { $0 <= 0 }
        cmp("gt") { $0 > 0 }
        cmp("gte") { $0 >= 0 }
        t["internal.member_2"] = Builtin(arity: 2) { a, _ in
            switch a[1] {
            case .array(let items): return .bool(items.contains(a[0]))
            case .set(let s): return .bool(s.contains(a[0]))
            case .object(let o): return .bool(o.values.contains(a[0]))
            default: return .bool(false)
            }
        }
        t["internal.member_3"] = Builtin(arity: 3) { a, _ in
            guard let v = RegoValue.index(a[2], a[0]) else { return .bool(false) }
            if case .set = a[2] { return .bool(false) }
            return .bool(v == a[1])
        }
        t["plus"] = Builtin(arity: 2) { a, _ in .number(try number("plus", a, 0) + number("plus", a, 1)) }
        t["mul"] = Builtin(arity: 2) { a, _ in .number(try number("mul", a, 0) * number("mul", a, 1)) }
        t["minus"] = Builtin(arity: 2) { a, _ in
            if case .set(let x) = a[0] {
                guard case .set(let y) = a[1] else { throw typeError("minus", 2, "set", a[1]) }
                return .set(x.subtracting(y))
            }
            guard case .number(let x) = a[0] else { throw typeError("minus", 1, "one of {number, set}", a[0]) }
            guard case .number(let y) = a[1] else { throw typeError("minus", 2, "number", a[1]) }
            return .number(x - y)
        }
        t["div"] = Builtin(arity: 2) { a, _ in
            let x = try number("div", a, 0), y = try number("div", a, 1)
            guard let r = x.divided(by: y) else { throw RegoError.builtin("div: divide by zero") }
            return .number(r)
        }
        t["rem"] = Builtin(arity: 2) { a, _ in
            let x = try number("rem", a, 0), y = try number("rem", a, 1)
            if y.isZero { throw RegoError.builtin("rem: modulo by zero") }
            guard let r = x.remainder(dividingBy: y) else {
                throw RegoError.builtin("rem: modulo on floating-point number")
            }
            return .number(r)
        }
        t["or"] = Builtin(arity: 2) { a, _ in .set(try set("or", a, 0).union(set("or", a, 1))) }
        t["and"] = Builtin(arity: 2) { a, _ in .set(try set("and", a, 0).intersection(set("and", a, 1))) }
        t["abs"] = Builtin(arity: 1) { a, _ in .number(try number("abs", a, 0).magnitude) }
        t["round"] = Builtin(arity: 1) { a, _ in .number(try number("round", a, 0).rounded()) }
        t["ceil"] = Builtin(arity: 1) { a, _ in .number(try number("ceil", a, 0).ceil()) }
        t["floor"] = Builtin(arity: 1) { a, _ in .number(try number("floor", a, 0).floor()) }
        t["numbers.range"] = Builtin(arity: 2) { a, ev in
            let x = try int("numbers.range", a, 0), y = try int("numbers.range", a, 1)
            let (span, overflow) = y.subtractingReportingOverflow(x)
            guard !overflow, span.magnitude < 10_000_000 else {
                throw RegoError.builtin("numbers.range: range too large (at most 10000000 elements)")
            }
            return .array(try ranged(stride(from: x, through: y, by: x <= y ? 1 : -1), ev))
        }
        t["numbers.range_step"] = Builtin(arity: 3) { a, ev in
            let x = try int("numbers.range_step", a, 0), y = try int("numbers.range_step", a, 1)
            let step = try number("numbers.range_step", a, 2)
            guard step.isInteger else {
                throw RegoError.typeError(
                    "numbers.range_step: operand 3 must be integer number but got floating-point number")
            }
            // A step beyond Int's range covers any range in one step.
            let s = step.intValue ?? (step.sign > 0 ? Int.max : 0)
            guard s > 0 else { throw RegoError.builtin("numbers.range_step: step must be a positive integer") }
            let (span, overflow) = y.subtractingReportingOverflow(x)
            guard !overflow, span.magnitude / UInt(s) < 10_000_000 else {
                throw RegoError.builtin("numbers.range_step: range too large (at most 10000000 elements)")
            }
            return .array(try ranged(stride(from: x, through: y, by: x <= y ? s : -s), ev))
        }
        t["print"] = Builtin(arity: -1) { _, _ in .bool(true) }
        t["http.send"] = Builtin(arity: 1) { _, _ in
            throw RegoError.builtin("http.send: not supported by the embedded engine (no network access from policies)")
        }
        t["test.sleep"] = Builtin(arity: 1) { a, _ in
            _ = try string("test.sleep", a, 0)
            return .null
        }
        t["opa.runtime"] = Builtin(arity: 0) { _, _ in .object([:]) }
        // `walk` generates many values; the evaluator implements it (this entry gives its arity).
        t["walk"] = Builtin(arity: 1) { _, _ in nil }
        t["trace"] = Builtin(arity: 1) { _, _ in .bool(true) }
    }
}
