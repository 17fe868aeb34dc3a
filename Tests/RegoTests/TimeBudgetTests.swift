import Foundation
import Testing
import Rego

/// The time budget holds in every loop: a policy that generates a huge number of values stops
/// with `eval_limit_error` close to its budget, whatever loop it spins in (a generator-only
/// comprehension, a builtin building a large value, `every`, `walk`, an object comprehension,
/// a join).
@Suite struct TimeBudgetTests {
    /// The budget of these tests, and how far past it an evaluation may end (the machine is
    /// shared and loaded; without a check in every loop these overran by seconds).
    static let budget: TimeInterval = 0.1
    static let allowedOverrun: TimeInterval = 0.5

    static let hostile: [(String, String)] = [
        ("generator-only array comprehension", "r := [x | some x in numbers.range(1, 9999999)]"),
        ("filtered comprehension", "r := count([x | some x in numbers.range(1, 9999999); x < 0])"),
        ("set comprehension over a join", "n := numbers.range(1, 5000)\nr := count({[a, b] | some a in n; some b in n})"),
        ("object comprehension", "r := {k: v | some k, v in numbers.range(1, 9999999)}"),
        ("every over a large range", "r if { every x in numbers.range(1, 9999999) { x > 0 } }"),
        ("walk over a large value", "n := numbers.range(1, 500000)\nr := count([p | walk([n, n, n, n, n, n, n, n], p)])"),
        ("iteration in a reference", "n := numbers.range(1, 9999999)\nr := count([i | n[i] > 0])"),
        ("a rule with many solutions", "n := numbers.range(1, 3000)\ns contains [a, b] if { some a in n; some b in n }\nr := count(s)"),
    ]

    @Test(arguments: hostile)
    func aHugeGenerationEndsAtTheBudget(_ name: String, _ rules: String) throws {
        let engine = try RegoEngine(modules: [RegoModule(name: "hostile.rego", source: "package p\n\n\(rules)\n")],
                                    data: .object([:]), options: .init(timeout: Self.budget))
        let start = DispatchTime.now().uptimeNanoseconds
        let error = #expect(throws: RegoError.self, "\(name) produced a value within \(Self.budget) s") {
            try engine.evaluate(path: "data.p.r", input: nil)
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(error?.code == "eval_limit_error", "\(name): \(String(describing: error))")
        #expect(elapsed < Self.budget + Self.allowedOverrun,
                "\(name): stopped after \(elapsed) s with a budget of \(Self.budget) s")
    }

    @Test func aPolicyWithinItsBudgetStillDecides() throws {
        // The per-loop checks do not stop legitimate work: 20,000 elements in well under 100 ms.
        let engine = try RegoEngine(modules: [RegoModule(name: "ok.rego", source: """
            package p

            r := count([x | some x in numbers.range(1, 20000); x % 2 == 0])
            """)], data: .object([:]), options: .init(timeout: 5))
        #expect(try engine.evaluate(path: "data.p.r", input: nil) == .int(10000))
    }
}
