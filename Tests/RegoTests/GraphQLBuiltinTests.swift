import Foundation
import Testing

@testable import Rego

/// The `graphql.*` builtins on hostile and edge-case input: exact error messages and positions
/// (OPA's, from its gqlparser), bounded nesting, large documents, malformed AST objects, and
/// errors that stay errors (never a `true`). Agreement with OPA's evaluator on a wider corpus is
/// `DifferentialTests` (`Tests/Fixtures/rego/differential/graphql`).
@Suite struct GraphQLBuiltinTests {
    /// Evaluates `x := <expr>` with the given data; `strict` makes builtin errors halt.
    func eval(_ expr: String, data: RegoValue = .object([:]), strict: Bool) throws -> RegoValue? {
        let source = "package t\n\nimport rego.v1\n\nx := \(expr)\n"
        let engine = try RegoEngine(
            modules: [RegoModule(name: "t.rego", source: source)], data: data,
            options: .init(strictBuiltinErrors: strict, timeout: 20))
        return try engine.evaluate(path: "data.t.x", input: nil)
    }

    func strictError(_ expr: String, data: RegoValue) -> RegoError? {
        do {
            _ = try eval(expr, data: data, strict: true)
            return nil
        } catch let e as RegoError {
            return e
        } catch {
            return RegoError(code: "unexpected", message: "\(error)")
        }
    }

    func doc(_ s: String) -> RegoValue { .object([.string("doc"): .string(s)]) }

    @Test(arguments: [
        ("{", "Expected Name, found <EOF> in GraphQL string at location 1:2"),
        ("{ a(x: \"unterminated) }", "Unexpected <Invalid> in GraphQL string at location 1:24"),
        ("{ a(x: \"bad \\q escape\") }", "Unexpected <Invalid> in GraphQL string at location 1:14"),
        ("{ a(x: 'single') }", "Unexpected <Invalid> in GraphQL string at location 1:8"),
        ("{ a(x: 00) }", "Unexpected <Invalid> in GraphQL string at location 1:9"),
        ("{ a ^ }", "Expected Name, found <Invalid> in GraphQL string at location 1:5"),
        ("query Q($v: Int = $w) { a }", "Unexpected $ in GraphQL string at location 1:19"),
        ("{ ...on }", "Expected Name, found } in GraphQL string at location 1:9"),
        ("fragment F on T { a } extra", "Unexpected Name \"extra\" in GraphQL string at location 1:23"),
        ("{ a }\n\n  { b c(d: [1, 2) }", "Unexpected ) in GraphQL string at location 3:17"),
        ("{ a(s: \"é\") b( }", "Expected Name, found } in GraphQL string at location 1:16"),
    ])
    func queryParseErrorsCarryOPAsMessageAndPosition(_ query: String, _ message: String) {
        let e = strictError("graphql.parse_query(data.doc)", data: doc(query))
        #expect(e?.code == "eval_builtin_error", "\(String(describing: e))")
        #expect(e?.message == "graphql.parse_query: \(message)", "\(String(describing: e))")
    }

    @Test(arguments: [
        ("type Hello {}", "expected at least one definition, found } in GraphQL string at location 1:13"),
        ("extend type Hello", "Unexpected <EOF> in GraphQL string at location 1:18"),
        ("\"d\" extend type A { a: Int }", "Unexpected String \"d\" in GraphQL string at location 1:2"),
        ("directive @d on NOWHERE", "Unexpected Name \"NOWHERE\" in GraphQL string at location 1:17"),
        ("input I { a(x: Int): Int }", "Expected :, found ( in GraphQL string at location 1:12"),
        ("union U = | | A", "Expected Name, found | in GraphQL string at location 1:13"),
    ])
    func schemaParseErrorsCarryOPAsMessageAndPosition(_ schema: String, _ message: String) {
        let e = strictError("graphql.parse_schema(data.doc)", data: doc(schema))
        #expect(e?.message == "graphql.parse_schema: \(message)", "\(String(describing: e))")
    }

    @Test func malformedInputIsUndefinedWithoutStrictModeAndNeverValid() throws {
        let bad = doc("{ a(")
        #expect(try eval("graphql.parse_query(data.doc)", data: bad, strict: false) == nil)
        #expect(try eval("graphql.parse(data.doc, \"type Query { a: Int }\")", data: bad, strict: false) == nil)
        #expect(
            try eval("graphql.is_valid(data.doc, \"type Query { a: Int }\")", data: bad, strict: false) == .bool(false))
        #expect(try eval("graphql.is_valid(\"{ a }\", data.doc)", data: bad, strict: false) == .bool(false))
        #expect(try eval("graphql.schema_is_valid(data.doc)", data: bad, strict: false) == .bool(false))
        #expect(
            try eval("graphql.parse_and_verify(data.doc, \"type Query { a: Int }\")", data: bad, strict: false)
                == .array([.bool(false), .object([:]), .object([:])]))
    }

    @Test func aPolicyGatedOnValidityDeniesMalformedQueries() throws {
        let source = """
            package gate

            import rego.v1

            default allow := false

            allow if graphql.is_valid(input.query, data.schema)
            """
        let engine = try RegoEngine(
            modules: [RegoModule(name: "gate.rego", source: source)],
            data: .object([.string("schema"): .string("type Query { a: Int, b(n: Int!): Int }")]),
            options: .init(strictBuiltinErrors: true))
        for query in ["{ a }", "{ b(n: 1) }"] {
            #expect(
                try engine.evaluate(path: "data.gate.allow", input: .object([.string("query"): .string(query)]))
                    == .bool(true), "\(query)")
        }
        for query in [
            "{ a", "{ b }", "{ c }", "{ a { x } }", "{ b(n: \"1\") }", String(repeating: "{", count: 10_000), "\u{0}",
        ] {
            #expect(
                try engine.evaluate(path: "data.gate.allow", input: .object([.string("query"): .string(query)]))
                    == .bool(false), "\(query.prefix(40))")
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        let depth = 100_000
        let lists = "{ a(x: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + ") }"
        let selections = String(repeating: "{ a ", count: depth) + String(repeating: "}", count: depth)
        let types =
            "type Query { a: " + String(repeating: "[", count: depth) + "Int" + String(repeating: "]", count: depth)
            + " }"
        for (fn, text) in [
            ("graphql.parse_query", lists), ("graphql.parse_query", selections), ("graphql.parse_schema", types),
        ] {
            let e = strictError("\(fn)(data.doc)", data: doc(text))
            #expect(e?.code == "eval_builtin_error", "\(fn): \(String(describing: e))")
            #expect(e?.message.contains("document nested deeper than 256 levels") == true, "\(String(describing: e))")
        }
        // Nesting within the bound parses.
        let ok = String(repeating: "{ a ", count: 200) + String(repeating: "}", count: 200)
        #expect(try eval("count(graphql.parse_query(data.doc).Operations)", data: doc(ok), strict: true) == .int(1))
    }

    @Test func deeplyNestedASTObjectsAreRefused() throws {
        var value: RegoValue = .object([.string("Kind"): .int(1), .string("Raw"): .string("1")])
        for _ in 0..<1_000 {
            value = .object([
                .string("Kind"): .int(8), .string("Children"): .array([.object([.string("Value"): value])]),
            ])
        }
        let query: RegoValue = .object([
            .string("Operations"): .array([
                .object([
                    .string("Operation"): .string("query"),
                    .string("SelectionSet"): .array([
                        .object([
                            .string("Name"): .string("a"),
                            .string("Arguments"): .array([
                                .object([.string("Name"): .string("x"), .string("Value"): value])
                            ]),
                        ])
                    ]),
                ])
            ])
        ])
        let data: RegoValue = .object([.string("q"): query])
        #expect(
            try eval("graphql.is_valid(data.q, \"type Query { a(x: [Int]): Int }\")", data: data, strict: true)
                == .bool(false))
        let e = strictError("graphql.parse(data.q, \"type Query { a(x: [Int]): Int }\")", data: data)
        #expect(e?.message.contains("nested deeper than 256 levels") == true, "\(String(describing: e))")
    }

    @Test func aLargeDocumentParsesAndValidates() throws {
        let fields = (0..<20_000).map { "f\($0): a" }.joined(separator: " ")
        let data: RegoValue = .object([.string("doc"): .string("{ \(fields) }")])
        let started = Date()
        #expect(
            try eval("graphql.is_valid(data.doc, \"type Query { a: Int }\")", data: data, strict: true) == .bool(true))
        #expect(Date().timeIntervalSince(started) < 15, "20,000 fields took \(Date().timeIntervalSince(started)) s")
    }

    @Test func manyFieldsSharingAResponseNameExhaustTheBudgetAndAreInvalid() throws {
        let fields = String(repeating: "a ", count: 1_000)
        let e = strictError("graphql.parse(data.doc, \"type Query { a: Int }\")", data: doc("{ \(fields) }"))
        #expect(e?.message.contains("too many fields with the same response name") == true, "\(String(describing: e))")
    }

    @Test func malformedASTObjectsAreInvalidOrErrors() throws {
        let schema = "type Query { a: Int }"
        for bad in [
            #"{"Operations": 7}"#,
            #"{"Operations": [{"SelectionSet": [{"Name": 1}]}]}"#,
            #"{"Operations": [{"SelectionSet": [{"Name": "a", "Arguments": [{"Name": "x", "Value": {"Kind": 42}}]}]}]}"#,
            #"{"Operations": [{"SelectionSet": [{"Name": "a", "Arguments": [{"Name": "x", "Value": {"Kind": 1.5}}]}]}]}"#,
        ] {
            let data: RegoValue = .object([.string("q"): try RegoValue(jsonString: bad)])
            #expect(
                try eval("graphql.is_valid(data.q, \"\(schema)\")", data: data, strict: true) == .bool(false), "\(bad)")
            let e = strictError("graphql.parse(data.q, \"\(schema)\")", data: data)
            #expect(
                e?.code == "eval_builtin_error"
                    && e?.message.hasPrefix("graphql.parse: json: cannot unmarshal") == true,
                "\(bad): \(String(describing: e))")
        }
        let badSchema: RegoValue = .object([
            .string("s"): try RegoValue(
                jsonString: #"{"Definitions": [{"Kind": "OBJECT", "Name": "Query", "Fields": [{"Name": "a"}]}]}"#)
        ])
        #expect(try eval("graphql.schema_is_valid(data.s)", data: badSchema, strict: true) == .bool(false))
    }

    @Test func validationErrorsAreJoinedAsOPAReportsThem() {
        let e = strictError(
            "graphql.parse(data.doc, \"type Query { a: Int, b(n: Int!): Int }\")", data: doc("{\n  b\n  c\n}"))
        #expect(
            e?.message == """
                graphql.parse: Field "b" argument "n" of type "Int!" is required, but it was not provided.
                input:3:3: Cannot query field "c" on type "Query". Did you mean "a" or "b"?
                 in GraphQL string at location 2:3
                """, "\(String(describing: e))")
    }

    @Test func anInvalidSchemaNamesTheConversionError() {
        let e = strictError("graphql.parse(\"{ a }\", data.doc)", data: doc("type Query { a: Missing }"))
        #expect(
            e?.message
                == """
                graphql.parse: Error in gqlparser SchemaDocument to Schema conversion: input:1:17: Undefined type \
                Missing.
                """,
            "\(String(describing: e))")
    }

    @Test func astObjectsRoundTrip() throws {
        let data: RegoValue = .object([
            .string("q"): .string(
                """
                query Q($v: [Int!]! = [1]) @cached(ttl: 1) { a(x: $v) { ... on T { b } ...F } } fragment F on T { \
                c }
                """),
            .string("s"): .string(
                "\"d\" type Query { a(x: [Int!]!): T } type T { b: Int c: Int } directive @cached(ttl: Int) on QUERY"),
        ])
        let parsed = try #require(try eval("graphql.parse(data.q, data.s)", data: data, strict: true))
        guard case .array(let pair) = parsed, pair.count == 2 else {
            Issue.record("graphql.parse gave \(parsed)")
            return
        }
        #expect(try eval("graphql.parse_query(data.q)", data: data, strict: true) == pair[0])
        #expect(try eval("graphql.parse_schema(data.s)", data: data, strict: true) == pair[1])
        // The schema object converts back to the same object.
        #expect(
            try eval(
                """
                graphql.parse_and_verify(\"{ a(x: [1]) { b } }\", graphql.parse_schema(data.s))[2] == \
                graphql.parse_schema(data.s)
                """,
                data: data, strict: true) == .bool(true))
    }
}
