import Foundation
import Rego
import Testing

/// The time budget holds in every loop: a policy that generates a huge number of values stops
/// with `eval_limit_error` close to its budget, whatever loop it spins in (a generator-only
/// comprehension, a builtin building a large value, `every`, `walk`, an object comprehension,
/// a join), and in builtins whose single call can run long (`anExpensiveBuiltinEndsWithinAFewBudgets`).
@Suite struct TimeBudgetTests {
    /// The budget of these tests, and how far past it an evaluation may end (the machine is
    /// shared and loaded; without a check in every loop these overran by seconds).
    static let budget: TimeInterval = 0.1
    static let allowedOverrun: TimeInterval = 0.5

    static let hostile: [(String, String)] = [
        ("generator-only array comprehension", "r := [x | some x in numbers.range(1, 9999999)]"),
        ("filtered comprehension", "r := count([x | some x in numbers.range(1, 9999999); x < 0])"),
        (
            "set comprehension over a join",
            "n := numbers.range(1, 5000)\nr := count({[a, b] | some a in n; some b in n})"
        ),
        ("object comprehension", "r := {k: v | some k, v in numbers.range(1, 9999999)}"),
        ("every over a large range", "r if { every x in numbers.range(1, 9999999) { x > 0 } }"),
        (
            "walk over a large value",
            "n := numbers.range(1, 500000)\nr := count([p | walk([n, n, n, n, n, n, n, n], p)])"
        ),
        ("iteration in a reference", "n := numbers.range(1, 9999999)\nr := count([i | n[i] > 0])"),
        (
            "a rule with many solutions",
            "n := numbers.range(1, 3000)\ns contains [a, b] if { some a in n; some b in n }\nr := count(s)"
        ),
    ]

    @Test(arguments: hostile)
    func aHugeGenerationEndsAtTheBudget(_ name: String, _ rules: String) throws {
        let engine = try RegoEngine(
            modules: [RegoModule(name: "hostile.rego", source: "package p\n\n\(rules)\n")],
            data: .object([:]), options: .init(timeout: Self.budget))
        let start = DispatchTime.now().uptimeNanoseconds
        let error = #expect(throws: RegoError.self, "\(name) produced a value within \(Self.budget) s") {
            try engine.evaluate(path: "data.p.r", input: nil)
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(error?.code == "eval_limit_error", "\(name): \(String(describing: error))")
        #expect(
            elapsed < Self.budget + Self.allowedOverrun,
            "\(name): stopped after \(elapsed) s with a budget of \(Self.budget) s")
    }

    /// Builtins whose one call can outlast any budget: a value doubled by a chain of calls (each
    /// call cheap to make, the last one as long as all before it), a regular expression or glob
    /// that backtracks without end, a value that shares its parts (2^40 nodes to serialise), and a
    /// graph walk with a path as long as the graph.
    static let doublings = String(repeating: "d(", count: 30)
    static let closings = String(repeating: ")", count: 30)
    static let hostileBuiltins: [(String, String)] = [
        (
            "a string doubled by concat",
            "d(s) := concat(\"\", [s, s])\nr := count(\(doublings)\"\(String(repeating: "a", count: 64))\"\(closings))"
        ),
        (
            "a string doubled by replace",
            """
            d(s) := replace(s, \"a\", \"aa\")\nr := \
            count(\(doublings)\"\(String(repeating: "a", count: 64))\"\(closings))
            """
        ),
        (
            "a string doubled by sprintf, then hashed",
            """
            d(s) := sprintf(\"%s%s\", [s, s])\nr := \
            crypto.sha256(\(doublings)\"\(String(repeating: "a", count: 64))\"\(closings))
            """
        ),
        (
            "an array doubled by array.concat",
            "d(a) := array.concat(a, a)\nr := count(\(doublings)[1, 2, 3, 4, 5, 6, 7, 8]\(closings))"
        ),
        (
            "a value sharing its parts, serialised",
            """
            d(x) := [x, x]\nr := \
            count(json.marshal(\(String(repeating: "d(", count: 40))1\(String(repeating: ")", count: 40))))
            """
        ),
        (
            "a value sharing its parts, sorted",
            "d(x) := [x, x]\nr := sort([\(String(repeating: "d(", count: 40))1\(String(repeating: ")", count: 40)), 1])"
        ),
        (
            "a regular expression that backtracks",
            "r := regex.match(\"^(a+)+$\", \"\(String(repeating: "a", count: 48))b\")"
        ),
        (
            "regex.find_n that backtracks",
            "r := regex.find_n(\"(a|aa)+$\", \"\(String(repeating: "a", count: 60))b\", -1)"
        ),
        (
            "a glob that backtracks",
            """
            r := glob.match(\"\(String(repeating: "*a", count: 14))*b\", [], \
            \"\(String(repeating: "a", count: 300))\")
            """
        ),
        (
            "a graph walk along a long chain",
            """
            g := {sprintf(\"%d\", [i]): [sprintf(\"%d\", [i + 1])] | some i in numbers.range(0, 20000)}\nr := \
            count(graph.reachable_paths(g, {\"0\"}))
            """
        ),
    ]

    @Test(arguments: hostileBuiltins)
    func anExpensiveBuiltinEndsWithinAFewBudgets(_ name: String, _ rules: String) throws {
        let engine = try RegoEngine(
            modules: [RegoModule(name: "hostile.rego", source: "package p\n\n\(rules)\n")],
            data: .object([:]), options: .init(timeout: Self.budget))
        let start = DispatchTime.now().uptimeNanoseconds
        let error = #expect(throws: RegoError.self, "\(name) produced a value within \(Self.budget) s") {
            try engine.evaluate(path: "data.p.r", input: nil)
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(error?.code == "eval_limit_error", "\(name): \(String(describing: error))")
        #expect(
            elapsed < Self.budget + Self.allowedOverrun,
            "\(name): stopped after \(elapsed) s with a budget of \(Self.budget) s")
    }

    @Test func largeButReasonableBuiltinCallsStillDecide() throws {
        // The accounting charges work, it does not refuse size: these finish well within 5 s.
        let engine = try RegoEngine(
            modules: [
                RegoModule(
                    name: "ok.rego",
                    source: """
                        package p

                        d(s) := concat("", [s, s])
                        big := d(d(d(d(d(d(d(d(d(d(d(d(d(d("abcdefgh"))))))))))))))
                        r := [count(big), regex.match("^(abcdefgh)+$", big), glob.match("*h", [], big),
                              count(json.marshal([x | some x in numbers.range(1, 20000)])), count(crypto.sha256(big)),
                              count(regex.find_n("abc", big, -1))]
                        """)
            ], data: .object([:]), options: .init(timeout: 5))
        #expect(
            try engine.evaluate(path: "data.p.r", input: nil)
                == .array([.int(131_072), .bool(true), .bool(true), .int(108_895), .int(64), .int(16_384)]))
    }

    @Test func aPolicyWithinItsBudgetStillDecides() throws {
        // The per-loop checks do not stop legitimate work: 20,000 elements in well under 100 ms.
        let engine = try RegoEngine(
            modules: [
                RegoModule(
                    name: "ok.rego",
                    source: """
                        package p

                        r := count([x | some x in numbers.range(1, 20000); x % 2 == 0])
                        """)
            ], data: .object([:]), options: .init(timeout: 5))
        #expect(try engine.evaluate(path: "data.p.r", input: nil) == .int(10000))
    }
}
