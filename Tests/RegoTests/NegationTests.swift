import Foundation
import Rego
import TestSupport
import Testing

/// A negated expression whose arguments are undefined, as OPA evaluates it.
///
/// OPA's compiler moves the calls nested in an expression's operands (`RewriteExprTerms`) and
/// then its references, composites holding references and comprehensions (`RewriteDynamicTerms`)
/// into expressions of their own before it, so `not endswith("x", input.nope)` fails the body
/// (the reference is evaluated outside the negation) where a plain reading makes the `not`
/// succeed. A rule body's `a == b` is unification there (`RewriteEquals`), whose sides keep their
/// top-level references (`not input.nope == 1` holds), while a query keeps `==` a call (the same
/// query fails). Variables a negation alone mentions are unsafe (`rego_unsafe_var_error`).
///
/// Each answer is OPA's, written down from opa-ref (so the suite runs without the shared
/// directory) and compared with opa-ref again in the same run when it is there.
@Suite struct NegationTests {
    struct RuleCase: CustomStringConvertible {
        let name: String
        /// One or more rules defining `r` (helpers `f`, `g`, `h`, `k`, `m` are in `preamble`).
        let rules: String
        /// `r` as JSON, nil when OPA leaves it undefined.
        let expected: String?
        var description: String { name }
    }

    static let preamble = """
        f(x) if { is_number(x); x > 0 }
        g(x) := x
        h(x) := x if x > 100
        k(x) if not endswith("x", x.nope)
        m := {"a": 1}
        """

    static let input = #"{"xs": [1, 2], "obj": {"a": 1}, "zero": 0, "s": "abc"}"#

    static let ruleCases: [RuleCase] = [
        // A builtin's argument.
        .init(
            name: "an undefined argument of a negated builtin call fails the body",
            rules: #"r if not endswith("x", input.nope)"#, expected: nil),
        .init(name: "count of an undefined value under not", rules: "r if not count(input.nope)", expected: nil),
        .init(
            name: "defined arguments: the negation decides", rules: #"r if not startswith(input.s, "z")"#,
            expected: "true"),
        // Nested calls are evaluated before the negation.
        .init(name: "nested builtin calls", rules: #"r if not lower(upper(input.nope)) == "a""#, expected: nil),
        .init(name: "a call inside a comparison", rules: "r if not count(input.nope) > 0", expected: nil),
        .init(name: "an undefined user function inside ==", rules: "r if not h(1) == 1", expected: nil),
        .init(name: "the negated call itself stays under not", rules: "r if not h(1)", expected: "true"),
        .init(name: "an undefined call as argument of a user function", rules: "r if not f(h(1))", expected: nil),
        .init(name: "arithmetic on an undefined value", rules: "r if not input.nope + 1 == 2", expected: nil),
        .init(name: "a user function's result as argument", rules: "r if not f(g(input.nope))", expected: nil),
        // User functions.
        .init(name: "an undefined argument of a negated user function", rules: "r if not f(input.nope)", expected: nil),
        .init(name: "an undefined argument of an identity function", rules: "r if not g(input.nope)", expected: nil),
        .init(name: "an undefined rule as argument", rules: "r if not f(data.t.zz)", expected: nil),
        .init(
            name: "a defined argument for which the function is false", rules: "r if not f(input.zero)",
            expected: "true"),
        .init(
            name: "a function body with a negation over an undefined argument", rules: "r if not k(input.obj)",
            expected: "true"),
        // References with undefined parts.
        .init(name: "an undefined key of a negated reference", rules: "r if not input.obj[input.nope]", expected: nil),
        .init(
            name: "a reference with an undefined key as argument", rules: "r if not f(input.obj[input.nope])",
            expected: nil),
        .init(name: "an undefined key into a rule", rules: "r if not data.t.m[input.nope]", expected: nil),
        .init(name: "a negated undefined reference", rules: "r if not input.nope", expected: "true"),
        .init(name: "a negated reference to a missing key", rules: "r if not input.obj.b", expected: "true"),
        .init(
            name: "a reference through a local variable", rules: "r if { x := input.obj; not f(x.nope) }", expected: nil
        ),
        // Equality: unification in a module, its sides' references stay under the negation.
        .init(name: "not input.nope == 1 holds in a module", rules: "r if not input.nope == 1", expected: "true"),
        .init(name: "not 1 == input.nope holds in a module", rules: "r if not 1 == input.nope", expected: "true"),
        .init(
            name: "a local compared with an undefined reference", rules: "r if { x := 1; not x == input.nope }",
            expected: "true"),
        .init(
            name: "an index into an undefined reference under ==", rules: "r if not input.nope[0] == 1",
            expected: "true"),
        .init(name: "explicit unification", rules: "r if not input.nope = 1", expected: "true"),
        .init(name: "!= stays a call", rules: "r if not input.nope != 1", expected: nil),
        .init(name: "< stays a call", rules: "r if not input.nope < 1", expected: nil),
        .init(
            name: "an array holding an undefined reference under ==", rules: "r if not [input.nope] == [1]",
            expected: nil),
        .init(
            name: "an object holding an undefined reference under ==", rules: #"r if not {"a": input.nope} == {}"#,
            expected: nil),
        .init(
            name: "a comprehension on a side of == is not moved", rules: "r if not [1 | input.nope] == [1]",
            expected: "true"),
        // Composite arguments.
        .init(name: "a set holding an undefined reference", rules: "r if not f({input.nope})", expected: nil),
        .init(name: "an object key that is undefined", rules: "r if not f({input.nope: 1})", expected: nil),
        .init(
            name: "a nested array holding an undefined reference", rules: "r if not f([1, [input.nope]])", expected: nil
        ),
        // Membership.
        .init(name: "in over an undefined collection", rules: #"r if not "a" in input.nope"#, expected: nil),
        .init(name: "in over a defined collection", rules: "r if not 5 in input.xs", expected: "true"),
        .init(name: "key, value in over an undefined collection", rules: "r if not 0, 1 in input.nope", expected: nil),
        .init(name: "key, value in over a defined collection", rules: "r if not 0, 5 in input.xs", expected: "true"),
        .init(
            name: "some … in, then not … in over an undefined collection",
            rules: "r if { some x in input.xs; not x in input.nope }", expected: nil),
        .init(
            name: "some … in, then not x == undefined", rules: "r if { some x in input.xs; not x == input.nope }",
            expected: "true"),
        // with … as: the moved terms are evaluated under the same modifiers.
        .init(
            name: "with defines the argument (function true)", rules: "r if not f(input.nope) with input.nope as 1",
            expected: nil),
        .init(
            name: "with defines the argument (function false)", rules: "r if not f(input.nope) with input.nope as 0",
            expected: "true"),
        .init(
            name: "with replaces input by an empty object", rules: "r if not count(input.nope) == 1 with input as {}",
            expected: nil),
        .init(
            name: "with gives the nested call its argument",
            rules: "r if not count(input.nope) == 1 with input.nope as [1, 2]", expected: "true"),
        // Nested bodies.
        .init(
            name: "an else clause's body",
            rules: #"r := 1 if { false } else := 2 if { not endswith("x", input.nope) } else := 3"#, expected: "3"),
        .init(
            name: "a comprehension in a rule's value", rules: #"r := [1 | not endswith("x", input.nope)]"#,
            expected: "[]"),
        .init(
            name: "an every body", rules: #"r if every x in [1] { x > 0; not endswith("x", input.nope) }"#,
            expected: nil),
        .init(
            name: "a comprehension with == inside (unification in a module)",
            rules: "r := y if { y := [x | some x in input.xs; not x == input.nope] }", expected: "[1, 2]"),
        .init(name: "a set comprehension", rules: "r := {x | some x in input.xs; not f(input.nope)}", expected: "[]"),
        .init(
            name: "a template string is a defined call", rules: #"r if not $"{input.nope}" == "x""#, expected: "true"),
    ]

    static func module(_ cases: [RuleCase]) -> String {
        "package t\n\n" + preamble + "\n" + cases.map(\.rules).joined(separator: "\n") + "\n"
    }

    /// `data.t.r` for one case, with this engine.
    static func ours(_ c: RuleCase) throws -> RegoValue? {
        let engine = try RegoEngine(modules: [RegoModule(name: "t.rego", source: module([c]))], data: .object([:]))
        return try engine.evaluate(path: "data.t.r", input: try RegoValue(jsonString: input))
    }

    @Test(arguments: ruleCases)
    func negatedExpressionAsOPA(_ c: RuleCase) throws {
        let got = try Self.ours(c)
        let want = try c.expected.map { try RegoValue(jsonString: $0) }
        #expect(
            DifferentialTests.normalized(got) == DifferentialTests.normalized(want),
            "\(c.name): OPA \(c.expected ?? "undefined"), ours \(got?.jsonString() ?? "undefined")")
    }

    /// Every case at once through opa-ref (one module, rules renamed apart): the written-down
    /// answers are OPA's in this run too, and so are ours.
    @Test(.requires(.opaRef))
    func writtenAnswersAreOPAsInThisRun() async throws {
        let renamed = Self.ruleCases.enumerated().map { i, c in
            RuleCase(
                name: c.name, rules: c.rules.replacingOccurrences(of: "r ", with: "r\(i) ", options: .anchored),
                expected: c.expected)
        }
        let source = Self.module(renamed)
        let (ref, err) = try await DifferentialFuzzTests.reference(
            [source], data: .object([:]), input: try RegoValue(jsonString: Self.input), query: "data.t")
        #expect(err == nil, "opa-ref refused the module: \(err ?? "")")
        let engine = try RegoEngine(modules: [RegoModule(name: "t.rego", source: source)], data: .object([:]))
        let ours = try engine.evaluate(path: "data.t", input: try RegoValue(jsonString: Self.input))
        for (i, c) in renamed.enumerated() {
            let key = RegoValue.string("r\(i)")
            let opa = ref.flatMap { RegoValue.lookup($0, [key]) }
            let mine = ours.flatMap { RegoValue.lookup($0, [key]) }
            let want = try c.expected.map { try RegoValue(jsonString: $0) }
            #expect(
                DifferentialTests.normalized(opa) == DifferentialTests.normalized(want),
                "\(c.name): OPA now says \(opa?.jsonString() ?? "undefined"), written down \(c.expected ?? "undefined")"
            )
            #expect(
                DifferentialTests.normalized(opa) == DifferentialTests.normalized(mine),
                "\(c.name): OPA \(opa?.jsonString() ?? "undefined"), ours \(mine?.jsonString() ?? "undefined")")
        }
        #expect(DifferentialTests.normalized(ref) == DifferentialTests.normalized(ours))
    }

    struct QueryCase: CustomStringConvertible {
        let query: String
        /// OPA's rows as their bindings (JSON objects); empty when the query is undefined.
        let rows: [String]
        /// How many expressions the query has (as written, so as reported).
        let expressions: Int
        var description: String { query }
    }

    /// A query keeps `==` a call (OPA's query compiler does not rewrite it to unification), so
    /// its references are evaluated before a negation too.
    static let queryCases: [QueryCase] = [
        .init(query: #"not endswith("x", input.nope)"#, rows: [], expressions: 1),
        .init(query: "not input.nope == 1", rows: [], expressions: 1),
        .init(query: "x := 1; not x == input.nope", rows: [], expressions: 2),
        .init(query: "not input.nope", rows: ["{}"], expressions: 1),
        .init(query: "not input.nope = 1", rows: ["{}"], expressions: 1),
        .init(query: "x := [y | some y in input.xs; not y == input.nope]", rows: [#"{"x": []}"#], expressions: 1),
        .init(query: "x := [y | some y in input.xs; not y = input.nope]", rows: [#"{"x": [1, 2]}"#], expressions: 1),
        .init(query: "x := input.xs[_]; not x == input.obj.a", rows: [#"{"x": 2}"#], expressions: 2),
    ]

    @Test(arguments: queryCases)
    func negationInAQueryAsOPA(_ c: QueryCase) async throws {
        let engine = try RegoEngine(modules: [RegoModule(name: "t.rego", source: Self.module([]))], data: .object([:]))
        let results = try engine.queryResults(c.query, input: try RegoValue(jsonString: Self.input))
        let got = try QuerySemanticsTests.ourResultSet(
            engine, input: try RegoValue(jsonString: Self.input), query: c.query
        ).map(QuerySemanticsTests.bindingsOnly)
        let want = try c.rows.map { try RegoValue(jsonString: $0) }
        #expect(got == want, "\(c.query): OPA \(c.rows), ours \(got.map { $0.jsonString() })")
        // The moved terms are the compiler's: they are neither bindings nor reported expressions.
        for r in results {
            #expect(r.expressions.count == c.expressions, "\(c.query): \(r.expressions.count) expressions reported")
            #expect(
                r.bindings.keys.allSatisfy { !$0.contains("$") && !$0.hasPrefix("__") },
                "\(c.query): \(r.bindings.keys.sorted())")
        }
        if try TestRequirement.opaRef.isAvailable(for: "OPA's result set for \(c.query)") {
            let opa = try await QuerySemanticsTests.opaResultSet(Self.module([]), input: Self.input, query: c.query)
                .map(
                    QuerySemanticsTests.bindingsOnly)
            #expect(opa == want, "\(c.query): OPA now gives \(opa.map { $0.jsonString() }), written down \(c.rows)")
        }
    }

    struct UnsafeCase: CustomStringConvertible {
        let source: String
        let message: String
        var description: String { source }
    }

    /// OPA refuses a variable that only a negation mentions: nothing outside binds it, and the
    /// negation cannot (this engine used to treat it as local to the negation).
    static let unsafeCases: [UnsafeCase] = [
        .init(source: "r if not input.xs[i] == 1", message: "var i is unsafe"),
        .init(source: "r if not input.xs[_]", message: "var _ is unsafe"),
        .init(source: "r if not x = 1", message: "var x is unsafe"),
        .init(source: "r if { some i; not input.xs[i] == 1 }", message: "var i is unsafe"),
    ]

    @Test(arguments: unsafeCases)
    func aVariableOnlyANegationMentionsIsUnsafe(_ c: UnsafeCase) async throws {
        do {
            _ = try RegoEngine(
                modules: [RegoModule(name: "t.rego", source: "package t\n\n" + c.source + "\n")], data: .object([:]))
            Issue.record("\(c.source): compiled; OPA refuses it with \(c.message)")
        } catch let e as RegoError {
            #expect(e.code == "rego_unsafe_var_error", "\(c.source): \(e)")
            #expect(e.message == c.message, "\(c.source): \(e)")
            #expect(e.line == 3, "\(c.source): \(e)")
        }
        if try TestRequirement.opaRef.isAvailable(for: "OPA's verdict on \(c.source)") {
            let (_, err) = try await DifferentialFuzzTests.reference(
                ["package t\n\n" + c.source + "\n"], data: .object([:]), input: .object([:]), query: "data.t")
            #expect(
                err?.contains("rego_unsafe_var_error") == true && err?.contains(c.message) == true,
                "\(c.source): OPA \(err ?? "accepts it")")
        }
    }

    @Test func aVariableLocalToAComprehensionInANegationIsSafe() throws {
        let engine = try RegoEngine(
            modules: [
                RegoModule(
                    name: "t.rego",
                    source: """
                        package t

                        r if not [x | x := input.xs[_]] == []
                        s if not count([x | x := input.xs[_]]) == 0
                        """)
            ], data: .object([:]))
        let doc = try engine.evaluate(path: "data.t", input: try RegoValue(jsonString: Self.input))
        #expect(doc == (try RegoValue(jsonString: #"{"r": true, "s": true}"#)))
    }
}
