import Foundation
import Rego

/// Generates random but valid Rego v1 policies, data and inputs from a small grammar of the
/// language, for differential fuzzing against OPA's own evaluator.
///
/// Everything derives from one seed (`SplitMix`), so a case is replayed by its seed alone.
/// The grammar keeps to what both engines must agree on: complete, partial set and partial
/// object rules, functions, defaults, else chains, `some … in`, `every`, `not`, comprehensions,
/// comparisons, arithmetic and deterministic builtins over `input`, `data` and other rules.
struct PolicyGenerator {
    var rng: ParserFuzzTests.SplitMix
    var counter = 0

    /// A variable name not used before in this module.
    mutating func fresh(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)\(counter)"
    }

    init(seed: UInt64) { rng = ParserFuzzTests.SplitMix(state: seed) }

    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(0...(xs.count - 1))] }

    static let words = ["a", "b", "c", "api", "db", "x", "canary", "stable", ""]
    static let keys = ["a", "b", "c", "n", "s", "xs"]

    // MARK: JSON documents

    mutating func scalar() -> RegoValue {
        switch int(0...5) {
        case 0: return .int(int(-3...10))
        case 1: return .number(RegoNumber(parsing: pick(["0.5", "1.25", "-2.5", "0.1", "100", "3"]))!)
        case 2: return .string(pick(Self.words))
        case 3: return .bool(chance(0.5))
        case 4: return .null
        default: return .int(int(0...3))
        }
    }

    mutating func document(depth: Int = 0) -> RegoValue {
        if depth >= 2 || chance(0.3) { return scalar() }
        if chance(0.4) { return .array((0..<int(0...4)).map { _ in document(depth: depth + 1) }) }
        var o: [RegoValue: RegoValue] = [:]
        for _ in 0..<int(1...4) { o[.string(pick(Self.keys))] = document(depth: depth + 1) }
        return .object(o)
    }

    /// A top-level object with every key present, so refs into it are often defined.
    mutating func root() -> RegoValue {
        var o: [RegoValue: RegoValue] = [:]
        o[.string("n")] = .int(int(-2...9))
        o[.string("s")] = .string(pick(Self.words))
        o[.string("xs")] = .array((0..<int(0...5)).map { _ in .int(int(-2...6)) })
        o[.string("ss")] = .array((0..<int(0...4)).map { _ in .string(pick(Self.words)) })
        o[.string("m")] = .object(
            Dictionary(
                (0..<int(0...3)).map { _ in (RegoValue.string(pick(Self.keys)), RegoValue.int(int(0...5))) },
                uniquingKeysWith: { a, _ in a }))
        o[.string("doc")] = document()
        return .object(o)
    }

    // MARK: terms

    struct Scope {
        var numbers: [String] = []
        var strings: [String] = []
        var any: [String] = []
    }

    /// A number-valued term.
    mutating func num(_ s: Scope, _ depth: Int = 0) -> String {
        if depth > 1 { return pick(["1", "2", "0", "-1", "0.5"] + s.numbers) }
        switch int(0...8) {
        // Negative literals in parentheses: OPA continues an expression onto a next line that starts with `-` (listed
        // in docs/rego.md).
        case 0:
            let n = int(-3...10)
            return n < 0 ? "(\(n))" : String(n)
        case 1: return "input.n"
        case 2: return "data.d.n"
        case 3: return "count(\(pick(["input.xs", "data.d.xs", "input.ss", "input.m", "input.s"])))"
        case 4: return "\(num(s, depth + 1)) \(pick(["+", "-", "*"])) \(num(s, depth + 1))"
        case 5: return "sum(\(pick(["input.xs", "data.d.xs"])))"
        case 6: return s.numbers.isEmpty ? "input.xs[0]" : pick(s.numbers)
        // `ceil` over a non-negative argument: OPA's `ceil`/`floor` are wrong between -1 and 0
        // (`ceil(-0.5)` is 1 there; listed in docs/rego.md), which would drown other differences.
        case 7:
            return pick([
                "abs(input.n)", "max(input.xs)", "min(data.d.xs)", "round(0.5 * input.n)", "ceil(abs(data.d.n) * 0.5)",
            ])
        // No `/` or `%`: OPA's evaluator (opa-ref) halts on their errors where this engine is undefined (listed in
        // docs/rego.md).
        default: return "\(num(s, depth + 1)) - 1"
        }
    }

    /// A string-valued term.
    mutating func str(_ s: Scope, _ depth: Int = 0) -> String {
        switch int(0...7) {
        case 0: return "\"\(pick(Self.words))\""
        case 1: return "input.s"
        case 2: return "data.d.s"
        case 3 where depth < 1:
            return "concat(\"\(pick([",", "-", ""]))\", \(pick(["input.ss", "data.d.ss", "[\"a\", input.s]"])))"
        case 4 where depth < 1: return "sprintf(\"%v-%v\", [\(num(s, 1)), \(str(s, depth + 1))])"
        case 5 where depth < 1: return pick(["upper", "lower", "trim_space"]) + "(\(str(s, depth + 1)))"
        case 6: return s.strings.isEmpty ? "input.ss[0]" : pick(s.strings)
        default: return "\"\(pick(Self.words))\""
        }
    }

    /// A collection-valued term.
    mutating func coll(_ s: Scope) -> String {
        pick([
            "input.xs", "data.d.xs", "input.ss", "data.d.ss", "input.m", "data.d.m", "[1, 2, 3]", "{\"a\", \"b\"}",
            "[x | some x in input.xs; x > \(int(-1...3))]", "{k | some k, _ in input.m}", "object.keys(data.d.m)",
            "array.concat(input.xs, data.d.xs)", "numbers.range(0, \(int(0...4)))", "split(\"a,b,c\", \",\")",
        ])
    }

    /// A boolean condition (a body literal).
    mutating func condition(_ s: inout Scope, rules: [String], depth: Int = 0) -> String {
        if depth > 0 {
            // Under `not` and `every`: a plain test, no declarations.
            switch int(0...2) {
            case 0: return "\(num(s)) \(pick(["<", ">=", "==", "!="])) \(num(s))"
            case 1: return pick(["startswith", "endswith", "contains"]) + "(\(str(s)), \(str(s)))"
            default: return "\(str(s)) in \(coll(s))"
            }
        }
        switch int(0...11) {
        case 0, 1: return "\(num(s)) \(pick(["<", "<=", ">", ">=", "==", "!="])) \(num(s))"
        case 2: return "\(str(s)) \(pick(["==", "!=", "<"])) \(str(s))"
        case 3:
            let v = fresh("v")
            s.any.append(v)
            return "some \(v) in \(coll(s))"
        case 4:
            let v = fresh("n")
            let line = "\(v) := \(num(s))"
            s.numbers.append(v)
            return line
        case 5:
            let v = fresh("t")
            let line = "\(v) := \(str(s))"
            s.strings.append(v)
            return line
        case 6 where depth < 1:
            var inner = s
            return "not \(condition(&inner, rules: rules, depth: depth + 1))"
        case 7 where !rules.isEmpty: return pick(rules)
        case 8: return pick(["startswith", "endswith", "contains"]) + "(\(str(s)), \(str(s)))"
        case 9 where depth < 1:
            var inner = s
            let e = fresh("e")
            inner.numbers.append(e)
            // The body uses the variable: an unused declared variable is a compile error (in both engines).
            return
                """
                every \(e) in \(pick(["input.xs", "data.d.xs", "[1, 2]"])) { \(e) \(pick(["<", ">=", "!="])) \
                \(num(inner, 1)); \(condition(&inner, rules: [], depth: depth + 1)) }
                """
        case 10: return "\(pick(["input", "data.d"])).doc\(pick([".a", ".b", "[0]", ".c.a", ""]))"
        default: return "\(pick(["input.s", "data.d.s", "\"a\""])) in \(coll(s))"
        }
    }

    mutating func body(_ rules: [String]) -> (String, Scope) {
        var s = Scope()
        var lines: [String] = []
        for _ in 0..<int(1...3) { lines.append(condition(&s, rules: rules)) }
        return ("{\n\t" + lines.joined(separator: "\n\t") + "\n}", s)
    }

    mutating func value(_ s: Scope) -> String {
        switch int(0...4) {
        case 0: return num(s)
        case 1: return str(s)
        case 2: return "[\(num(s)), \(str(s))]"
        case 3: return "{\"k\": \(num(s)), \"s\": \(str(s))}"
        default: return pick(["true", "false", "null", "\(int(0...5))"])
        }
    }

    // MARK: modules

    /// A module of package `package` with 2–7 rules.
    mutating func module(package: String) -> String {
        var out = "package \(package)\n\n"
        var conditions: [String] = []
        for i in 0..<int(2...7) {
            switch int(0...6) {
            case 0:
                let (b, s) = body(conditions)
                out += "r\(i) := \(value(s)) if \(b)\n\n"
                if chance(0.5) { out += "default r\(i) := \(pick(["false", "0", "\"none\""]))\n\n" }
                conditions.append("r\(i)")
            case 1:
                let (b, _) = body(conditions)
                out += "p\(i) if \(b)\n\n"
                conditions.append("p\(i)")
            case 2:
                let (b, s) = body(conditions)
                let elem = s.any.last ?? s.numbers.last ?? s.strings.last ?? str(s)
                out += "s\(i) contains \(elem) if \(b)\n\n"
                conditions.append("count(s\(i)) > \(int(0...2))")
            case 3:
                var s = Scope()
                let k = "k\(i)"
                s.strings.append(k)
                out += "o\(i)[\(k)] := \(num(s)) if {\n\tsome \(k), _ in input.m\n\t\(condition(&s, rules: []))\n}\n\n"
            case 4:
                var s = Scope()
                s.numbers.append("x")
                out += "f\(i)(x) := \(num(s)) if {\n\t\(condition(&s, rules: []))\n}\n\n"
                out += "g\(i) := f\(i)(\(num(Scope())))\n\n"
            case 5:
                let (b1, s1) = body(conditions)
                let (b2, s2) = body(conditions)
                out += "e\(i) := \(value(s1)) if \(b1) else := \(value(s2)) if \(b2) else := \"fallback\"\n\n"
            default:
                let s = Scope()
                out +=
                    """
                    c\(i) := \
                    \(pick(["[y | some x in input.xs; y := x * 2]", "{x | some x in data.d.ss}", "{k: v | some k, v in input.m; v > 1}", "count([1 | some _ in input.ss])"]))\n\n
                    """
                _ = s
            }
        }
        return out
    }
}
