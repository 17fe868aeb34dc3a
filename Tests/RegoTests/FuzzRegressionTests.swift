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

    /// OPA's parser reads a comprehension's head (an array's or set's first element, an object's
    /// first value) as one term: an operation written without parentheses is no head, and its `|`
    /// is the set union (the generator's `[x * 2 | …]` was a comprehension here and a parse error
    /// in OPA). `expected` is `data.fuzz.t` as OPA gave it, or the error code both give.
    static let headCases: [(module: String, expected: String)] = [
        ("a := [x * 2 | some x in [1, 2]]", "rego_parse_error"),
        ("a := {x + 1 | some x in [1]}", "rego_parse_error"),
        ("a := {\"k\": x - 1 | some x in [1]}", "rego_parse_error"),
        ("a := [x == 1 | some x in [1]]", "rego_parse_error"),
        ("a := [x in [1] | some x in [1]]", "rego_parse_error"),
        ("a := [{1} & {1, 2} | {3}]", #"{"a": [[1, 3]]}"#),
        ("a := [(x * 2) | some x in [1, 2]]", #"{"a": [2, 4]}"#),
        ("a := {x * 2: x | some x in [1]}", #"{"a": {"2": 1}}"#),
        ("a := [-x | some x in [1]]", #"{"a": [-1]}"#),
        ("a := {k: (v + 1) | some k, v in {\"b\": 1}}", #"{"a": {"b": 2}}"#),
    ]

    @Test(arguments: headCases)
    func aComprehensionHeadIsOneTermAsInOPA(_ module: String, _ expected: String) async throws {
        let source = "package fuzz.t\n\n\(module)\n"
        let (got, err) = DifferentialFuzzTests.ours(
            [source], data: .object([:]), input: .object([:]), query: "data.fuzz.t")
        if expected.hasPrefix("rego_") {
            #expect(err?.contains(expected) == true, "\(module): ours \(err ?? got?.jsonString() ?? "undefined")")
        } else {
            #expect(err == nil, "\(module): \(err ?? "")")
            // Compared as JSON (a set prints as an array, a number key as a string), as OPA prints it.
            #expect(
                DifferentialFuzzTests.normalized(got) == (try RegoValue(jsonString: expected)),
                "\(module): ours \(got?.jsonString() ?? "undefined")")
        }
        guard try TestRequirement.opaRef.isAvailable(for: "OPA's answer to \(module)") else { return }
        let (ref, refErr) = try await DifferentialFuzzTests.reference(
            [source], data: .object([:]), input: .object([:]), query: "data.fuzz.t")
        if expected.hasPrefix("rego_") {
            #expect(refErr?.contains(expected) == true, "\(module): OPA \(refErr ?? ref?.jsonString() ?? "undefined")")
        } else {
            #expect(
                refErr == nil && DifferentialFuzzTests.normalized(ref) == DifferentialFuzzTests.normalized(got),
                "\(module): OPA \(refErr ?? ref?.jsonString() ?? "undefined"), ours \(got?.jsonString() ?? "undefined")"
            )
        }
    }

    @Test(arguments: cases)
    func engineGivesOPAsAnswer(_ c: Case) async throws {
        let data = try RegoValue(jsonString: c.data), input = try RegoValue(jsonString: c.input)
        let (got, err) = DifferentialFuzzTests.ours([c.module], data: data, input: input, query: "data.fuzz.t")
        #expect(err == nil, "\(c.name): \(err ?? "")")
        #expect(got == (try RegoValue(jsonString: c.expected)), "\(c.name): ours \(got?.jsonString() ?? "undefined")")
        guard try TestRequirement.opaRef.isAvailable(for: "OPA's answer to \(c.name)") else { return }
        let (ref, refErr) = try await DifferentialFuzzTests.reference(
            [c.module], data: data, input: input, query: "data.fuzz.t")
        #expect(
            refErr == nil && DifferentialFuzzTests.normalized(ref) == DifferentialFuzzTests.normalized(got),
            "\(c.name): OPA \(refErr ?? ref?.jsonString() ?? "undefined"), ours \(got?.jsonString() ?? "undefined")")
    }
}
