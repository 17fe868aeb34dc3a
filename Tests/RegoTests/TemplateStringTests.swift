import Foundation
import Rego
import TestSupport
import Testing

/// Template strings where OPA's compiler rewrites them in place: as a function's parameter
/// pattern, and in a comprehension's key over the comprehension's own variables. OPA's answers
/// (from its conformance cases and opa-ref) are written down and, when opa-ref is there,
/// compared again in the same run.
@Suite struct TemplateStringTests {
    static let input = #"{"y": "bar", "xs": ["a", "b"], "ys": ["c"]}"#

    static let module = #"""
        package test

        f($"{x} {input.y}") := 42 if {
            x = "foo"
        }

        g($`{x}-{y}`, y) := x if {
            x := "k"
        } else := "else" if {
            x := "z"
        }

        p := f("foo bar")
        q := f("foo baz")
        r := g("k-1", 1)
        s := g("k-2", 1)
        t := g("z-1", 1)
        keys := {$"{x}-{y}": y | some x in input.xs; some y in input.ys}
        items := [$"<{x}>" | some x in input.xs]
        """#

    /// `q` and `s` are undefined: the argument does not equal the template's value; `t` matches
    /// the `else` clause's template (each clause unifies the parameter with its own bindings).
    static let expected =
        #"{"p": 42, "r": "k", "t": "else", "keys": {"a-c": "c", "b-c": "c"}, "items": ["<a>", "<b>"]}"#

    @Test func templateStringsAsParametersAndComprehensionKeysAsOPA() async throws {
        let engine = try RegoEngine(modules: [RegoModule(name: "test.rego", source: Self.module)], data: .object([:]))
        let got = try engine.evaluate(path: "data.test", input: try RegoValue(jsonString: Self.input))
        #expect(
            DifferentialTests.normalized(got) == DifferentialTests.normalized(try RegoValue(jsonString: Self.expected)),
            "ours \(got?.jsonString() ?? "undefined")")
        if try TestRequirement.opaRef.isAvailable(for: "the comparison with OPA") {
            let (ref, err) = try await DifferentialFuzzTests.reference(
                [Self.module], data: .object([:]), input: try RegoValue(jsonString: Self.input), query: "data.test")
            #expect(
                err == nil && DifferentialTests.normalized(ref) == DifferentialTests.normalized(got),
                "OPA \(err ?? ref?.jsonString() ?? "undefined"), ours \(got?.jsonString() ?? "undefined")")
        }
    }

    @Test func aTemplateStringInAnObjectComprehensionKeyInAQuery() throws {
        let engine = try RegoEngine(modules: [], data: .object([:]))
        let query =
            #"x = $"{[x | x := input.xs[_]]} {{y | y := input.ys[_]}} {{$"{x}-{y}": y | x := input.xs[_]; y := input.ys[_]}}""#
        let rows = try engine.queryResults(query, input: try RegoValue(jsonString: #"{"xs": ["a"], "ys": ["c"]}"#))
        #expect(rows.map { $0.bindings["x"] } == [.string(#"["a"] {"c"} {"a-c": "c"}"#)])
    }
}
