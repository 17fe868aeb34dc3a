import Foundation
import Rego
import TestSupport
import Testing

/// Differences the differential fuzzer (`DifferentialFuzzTests`) found, reduced to one module
/// each: the answer OPA's evaluator gave is written down here (so the test runs without the
/// shared directory too) and, when opa-ref is there, checked against it in the same run.
@Suite struct FuzzRegressionTests {
    struct Case: CustomStringConvertible {
        let name: String
        let module: String
        let data: String
        let input: String
        /// `data.fuzz.t` as OPA's evaluator gave it.
        let expected: String
        var description: String { name }
    }

    static let cases: [Case] = [
        // Seed 1795713175239, package p550: the first clause's body holds but its value
        // (`input.ss[0]`, an empty array) is undefined. OPA moves the value into the body
        // (`rewriteExprTermsInHead`), so the clause fails and the `else` chain goes on.
        Case(
            name: "an undefined value fails its clause and the else chain goes on",
            module: """
                package fuzz.t

                e4 := input.ss[0] if {
                \tsome v2 in data.d.xs
                } else := 7 - 1 if {
                \tendswith(data.d.s, input.s)
                } else := "fallback"

                e5 := input.ss[0] if {
                \ttrue
                } else := input.nope

                f(x) := input.ss[x] if { x > 0 } else := "f-fallback"

                g := f(1)
                """, data: #"{"s": "db", "xs": [0, 4]}"#, input: #"{"s": "stable", "ss": []}"#,
            expected: #"{"e4": "fallback", "g": "f-fallback"}"#),
        // Seed 1795713175239, package p703: OPA's parser continues an expression when the next
        // line starts with a binary operator (`y := 5` then `- 1 == 4` is `y := 5 - 1 == 4`).
        Case(
            name: "a line starting with an operator continues the expression",
            module: """
                package fuzz.t

                x := 1 if {
                	y := 5
                	-1 == 4
                }

                z := y if {
                	y := 2
                	* 3
                	< 7
                }

                w := [v | v := 1
                	+ 1]
                """, data: "{}", input: "{}", expected: #"{"x": 1, "z": true, "w": [2]}"#),
        // Found beside the negation work: a comprehension in a rule's head (its value, an else
        // value, a function's value) was not ordered for safety, so `[x | x = y; y = 1]` was an
        // unsafe unification here and `[1]` in OPA.
        Case(
            name: "a comprehension in a rule's value is ordered for safety",
            module: """
                package fuzz.t

                a := [x | x = y; y = 1]
                b := {k: v | v = k; k = "a"}
                f(z) := [x | x = w; w = z]
                g := f(2)
                e := 1 if { false } else := [x | x = y; y = 3]
                h := [x | x = y + n; y = 1] if { n := 10 }
                """, data: "{}", input: "{}", expected: #"{"a": [1], "b": {"a": "a"}, "g": [2], "e": [3], "h": [11]}"#),
        Case(
            name: "a defined value still ends the chain",
            module: """
                package fuzz.t

                e := input.ss[0] if { true } else := "fallback"
                """, data: "{}", input: #"{"ss": ["x"]}"#, expected: #"{"e": "x"}"#),
    ]

    @Test(arguments: cases)
    func engineGivesOPAsAnswer(_ c: Case) throws {
        let data = try RegoValue(jsonString: c.data), input = try RegoValue(jsonString: c.input)
        let (got, err) = DifferentialFuzzTests.ours([c.module], data: data, input: input, query: "data.fuzz.t")
        #expect(err == nil, "\(c.name): \(err ?? "")")
        #expect(got == (try RegoValue(jsonString: c.expected)), "\(c.name): ours \(got?.jsonString() ?? "undefined")")
        guard try TestRequirement.opaRef.isAvailable(for: "OPA's answer to \(c.name)") else { return }
        let (ref, refErr) = try DifferentialFuzzTests.reference(
            [c.module], data: data, input: input, query: "data.fuzz.t")
        #expect(
            refErr == nil && DifferentialFuzzTests.normalized(ref) == DifferentialFuzzTests.normalized(got),
            "\(c.name): OPA \(refErr ?? ref?.jsonString() ?? "undefined"), ours \(got?.jsonString() ?? "undefined")")
    }
}
