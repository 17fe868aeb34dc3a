import Foundation
import TestSupport
import Testing

@testable import Rego

/// The compile-time type checker: OPA's `rego_type_error` codes and message shapes, with locations.
@Suite struct TypeCheckerTests {
    func compileError(_ source: String) -> RegoError? {
        do {
            _ = try RegoEngine(modules: [RegoModule(name: "t.rego", source: source)], data: .object([:]))
            return nil
        } catch let e as RegoError {
            return e
        } catch {
            return RegoError(code: "unexpected", message: "\(error)")
        }
    }

    @Test func countOfANumberIsRejectedAtCompileTime() throws {
        let e = try #require(compileError("package t\n\nx := count(5)\n"))
        #expect(e.code == "rego_type_error")
        #expect(
            e.message.hasPrefix(
                """
                count: invalid argument(s)\n\thave: (number)\n\twant: (collection: any<string, array[any], \
                object[any: any], set[any]>)
                """
            ), "\(e.message)")
        #expect(e.file == "t.rego")
        #expect(e.line == 3)
        #expect(e.column != nil)
        #expect(e.description.hasPrefix("t.rego:3:\(e.column ?? 0): rego_type_error: count: invalid argument(s)"))
    }

    @Test(arguments: [
        ("y := concat(\",\", [1, 2])", "concat: invalid argument(s)"),
        ("z if input.a == sum(\"a\")", "sum: invalid argument(s)"),
        ("z if upper(1) == \"1\"", "upper: invalid argument(s)"),
        ("z := 1 + \"a\"", "plus: invalid argument(s)"),
        ("z if { n := 3; startswith(n, \"x\") }", "startswith: invalid argument(s)"),
        ("z := count([1], 2, 3)", "count: arity mismatch"),
        ("z := foo.bar(1)", "undefined function foo.bar"),
        ("z := data.t.nothing(1)", "undefined function data.t.nothing"),
        ("z := http.send({\"method\": \"get\", \"url\": \"http://x\"})", "http.send: not supported by this engine"),
        ("z := net.lookup_ip_addr(\"example.com\")", "net.lookup_ip_addr: not supported by this engine"),
        ("z := graphql.parse_query(1)", "graphql.parse_query: invalid argument(s)"),
        ("z := providers.aws.sign_req({}, {}, \"now\")", "providers.aws.sign_req: invalid argument(s)"),
        ("w := 1\nz if w.foo", "undefined ref: data.t.w.foo"),
        // `some … in` over a scalar (OPA iterates it as a reference): seed 1795726530097 wrote the
        // domain on two lines, which OPA's parser (and this one) read as `input.m - 1 - 1 - 1 == input.n`.
        (
            "z if {\n\tsome k0, _ in input.m\n\t-1 - 1 - 1 == input.n\n}",
            """
            undefined ref: equal(minus(minus(minus(input.m, 1), 1), 1), \
            input.n)[k0]\n\tequal(minus(minus(minus(input.m, 1), 1), 1), \
            input.n)[k0]\n\t^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\thave: boolean
            """
        ),
        ("z if { x := 1; some y in x }", "undefined ref: x["),
        ("z if { some x in count([1]) }", "undefined ref: count([1])["),
        ("z if { some x in true }", "match error"),
    ])
    func illTypedCallsAreRejected(_ rule: String, _ message: String) throws {
        let e = try #require(compileError("package t\n\n\(rule)\n"), "\(rule) compiled")
        #expect(e.code == "rego_type_error")
        #expect(e.message.hasPrefix(message), "\(e.message)")
        #expect(e.file == "t.rego" && e.line != nil, "the error has a location: \(e)")
    }

    @Test(arguments: [
        "x := count(input.items)",
        "x := semver.is_valid(1)",
        "x if { a := [1, 2]; count(a) == 2 }",
        "x := concat(\",\", [\"a\", input.b])",
        "x := count({k | some k, _ in input})",
        "x := sum([n | some n in input.xs])",
        "x := to_number(\"1\")",
        "x := graphql.is_valid(input.query, \"type Query { a: Int }\")",
        "x := graphql.schema_is_valid(graphql.parse_schema(\"type Query { a: Int }\"))",
        "x := providers.aws.sign_req(input.request, {\"aws_service\": \"s3\"}, 0)",
        "x := data.t.f(1)\nf(a) := a",
        "x if { every y in 5 { y > 0 } }",
        "x if { some y in input.n }",
    ])
    func wellTypedCallsCompile(_ rule: String) {
        #expect(compileError("package t\n\n\(rule)\n") == nil, "\(rule)")
    }

    /// OPA types a rule by its value (in its body's environment) and a user function by its
    /// result, so a rule or function used as the wrong type is refused at compile time. Each
    /// module is OPA's answer (refused, and where, or accepted), checked against opa-ref in the
    /// same run when it is there.
    static let ruleTypeCases: [(module: String, refusal: String?)] = [
        ("r1 := \"a\"\nx if { r1 - 1 == 0 }", "minus: invalid argument(s)\n\thave: (string, number)"),
        ("p if true\ny if { p + 1 > 0 }", "plus: invalid argument(s)\n\thave: (boolean, number)"),
        (
            "r := count(input.xs)\nq if { startswith(r, \"a\") }",
            "startswith: invalid argument(s)\n\thave: (number, string)"
        ),
        (
            "r := x if { x := sprintf(\"%v\", [1]) }\nq if r * 2 > 1",
            "mul: invalid argument(s)\n\thave: (string, number)"
        ),
        ("a := \"x\"\nb := a\nq if b - 1 > 0", "minus: invalid argument(s)\n\thave: (string, number)"),
        ("r := [1, \"a\"]\nq if r - 1", "minus: invalid argument(s)"),
        ("r := {\"a\": 1}\nq if r - 1", "minus: invalid argument(s)"),
        ("r := null\nq if r + 1", "plus: invalid argument(s)\n\thave: (null, number)"),
        (
            "f(x) := 1\ng := f(1)\nq if startswith(g, \"a\")",
            "startswith: invalid argument(s)\n\thave: (number, string)"
        ),
        ("s contains \"a\" if true\nq if s + 1 > 0", "plus: invalid argument(s)\n\thave: (set[string], number)"),
        // `some k, v in d` types `v` by d's elements and `k` by its keys, as OPA's checker does,
        // and a reference into such a variable by the elements' elements.
        (
            "q if { some x in [1, 2]; startswith(x, \"a\") }",
            "startswith: invalid argument(s)\n\thave: (number, string)"
        ),
        (
            "q if { some k, x in [\"a\"]; startswith(k, \"a\") }",
            "startswith: invalid argument(s)\n\thave: (number, string)"
        ),
        ("q if { some x in {\"a\"}; x + 1 > 0 }", "plus: invalid argument(s)\n\thave: (string, number"),
        ("q if { some k, v in {\"a\": 1}; k + 1 > 0 }", "plus: invalid argument(s)\n\thave: (string, number"),
        (
            "q if { some k, v in {\"a\": 1}; startswith(v, \"a\") }",
            "startswith: invalid argument(s)\n\thave: (number, string)"
        ),
        ("q if { some x in [\"a\"]; y := x; y + 1 > 0 }", "plus: invalid argument(s)\n\thave: (string, number"),
        (
            "s contains x if { some x in [1, 2] }\nq if { some y in s; startswith(y, \"a\") }",
            "startswith: invalid argument(s)\n\thave: (number, string)"
        ),
        (
            "q if { some x in [{\"a\": 1}]; startswith(x.a, \"a\") }",
            "startswith: invalid argument(s)\n\thave: (number, string)"
        ),
        // An object literal's keys are known, as in OPA: a missing key, or a step into a scalar,
        // is `undefined ref` (in locals, in rules, across the clauses of a rule).
        ("q if { x := {\"a\": 1}; x.b }", "undefined ref: x.b\n\tx.b\n\t ^\n\t have: \"b\"\n\t want (one of): [\"a\"]"),
        (
            "q if { x := {\"a\": {\"b\": 1}}; x.a.d }",
            "undefined ref: x.a.d\n\tx.a.d\n\t ^\n\t have: \"d\"\n\t want (one of): [\"b\"]"
        ),
        ("q if { x := {\"a\": 1}; x.a.c }", "undefined ref: x.a.c\n\tx.a.c\n\t^^^\n\thave: number"),
        ("q if { x := {1: 1}; x[\"1\"] }", "undefined ref: x[\"1\"]"),
        (
            "q if { x := {\"a\": 1}; y := {\"b\": 2}; z := [x, y]; some w in z; w.c }",
            "undefined ref: w.c\n\tw.c\n\t ^\n\t have: \"c\"\n\t want (one of): [\"a\" \"b\"]"
        ),
        (
            "r := {\"a\": 1}\nr2 := r.b",
            "undefined ref: data.t.r.b\n\tdata.t.r.b\n\t ^\n\t have: \"b\"\n\t want (one of): [\"a\"]"
        ),
        (
            "r := {\"a\": 1} if input.x\nr := {\"b\": 1} if input.y\nq if r.c",
            "undefined ref: data.t.r.c\n\tdata.t.r.c\n\t ^\n\t have: \"c\"\n\t want (one of): [\"a\" \"b\"]"
        ),
        (
            "q if { {\"a\": 1, \"b\": \"x\"} - 1 }",
            "minus: invalid argument(s)\n\thave: (object<a: number, b: string>, number)"
        ),
        // Accepted: a union of types matches when one of them does; an input is any; a function's
        // parameter is any; a cycle is left open.
        ("default r := 0\nr := \"a\" if input.x\nz if r - 1 > 0", nil),
        ("r := 1 if { false } else := \"a\"\nq if startswith(r, \"a\")", nil),
        ("r := \"a\" if { false } else := 1\nq if r - 1 > 0", nil),
        ("f(x) := \"a\" if x > 1\nf(x) := 1 if x <= 1\nq if f(1) - 1 > 0", nil),
        ("f(x) := x\ng := f(1)\nq if startswith(g, \"a\")", nil),
        ("r := input.x\nq if r - 1 > 0", nil),
        ("s contains 1 if true\nw if { s - 1 }", nil),
        // Iteration left open: keys of an array are numbers, elements of mixed or unknown type
        // match, and `every` declares untyped variables in OPA (an evaluation error there).
        ("q if { some k, x in [\"a\"]; k + 1 > 0; startswith(x, \"a\") }", nil),
        ("q if { some x in [1, \"a\"]; startswith(x, \"a\") }", nil),
        ("q if { some x in []; startswith(x, \"a\") }", nil),
        ("q if { some x in input.xs; startswith(x, \"a\") }", nil),
        ("q if { every x in [1] { startswith(x, \"a\") } }", nil),
        ("f(xs) if { some x in xs; startswith(x, \"a\") }\nq if f([\"a\"])", nil),
        ("q if { some x in [{\"a\": 1, \"b\": \"c\"}]; startswith(x.b, \"a\") }", nil),
        ("q if { x := {\"a\": 1}; x[_] }", nil),
        ("q if { x := {\"a\": 1}; x[\"a\"] }", nil),
        ("q if { x := {\"a\": 1}; k := \"b\"; x[k] }", nil),
        ("q if { x := {\"a\": 1}; count(x) > 0 }", nil),
        ("r := {\"a\": {\"b\": 1}}\nq if r.a.b > 0", nil),
        ("q if { x := {\"a\": input.y}; x.a.b.c }", nil),
        ("r := {\"a\": 1}\nq if { r.b with data.t.r as {\"b\": 1} }", nil),
    ]

    @Test(arguments: ruleTypeCases)
    func rulesAndFunctionsAreTypedByTheirValues(_ module: String, _ refusal: String?) throws {
        let source = "package t\n\n\(module)\n"
        let e = compileError(source)
        if let refusal {
            let err = try #require(e, "\(module) compiled; OPA refuses it with \(refusal)")
            #expect(err.code == "rego_type_error" && err.message.hasPrefix(refusal), "\(module): \(err)")
            #expect(err.file == "t.rego" && err.line != nil, "the error has a location: \(err)")
        } else {
            #expect(e == nil, "\(module): refused (\(e.map { "\($0)" } ?? "")); OPA accepts it")
        }
        if try TestRequirement.opaRef.isAvailable(for: "OPA's verdict on \(module)") {
            let (_, opaErr) = try DifferentialFuzzTests.reference(
                [source], data: .object([:]), input: .object([:]), query: "data.t")
            let opaRefuses = opaErr?.contains("rego_type_error") == true
            #expect(opaRefuses == (refusal != nil), "\(module): OPA \(opaErr ?? "accepts it")")
        }
    }

    @Test func queriesAreCheckedToo() throws {
        let engine = try RegoEngine(modules: [], data: .object([:]))
        #expect(throws: RegoError.self) { try engine.query("x := count(5)", input: nil) }
        do {
            _ = try engine.query("x := count(5)", input: nil)
        } catch let e as RegoError {
            #expect(e.code == "rego_type_error")
            #expect(e.message.hasPrefix("count: invalid argument(s)"))
        }
    }

    @Test func everyBuiltinHasAParsedSignatureThatAgreesWithItsImplementation() {
        for (name, text) in BuiltinSignatures.table {
            #expect(BuiltinSignature(text) != nil, "signature of \(name) does not parse: \(text)")
        }
        for (name, arity) in Builtins.implementedArities {
            guard let sig = BuiltinSignature.all[name] else {
                Issue.record("builtin \(name) has no signature in BuiltinSignatures.table")
                continue
            }
            #expect(sig.arity == arity, "\(name): signature takes \(sig.arity) argument(s), implementation \(arity)")
            #expect(Builtins.table[name]?.arity == sig.arity)
        }
        for name in BuiltinSignatures.table.keys {
            #expect(Builtins.implementedArities[name] != nil, "signature for \(name), which is not implemented")
        }
    }

    /// The signature parser reads bytes; the Character-wise reading it replaced is kept here as the reference: both
    /// must give the same signature (or both none) for every signature of the table, every prefix of each, and
    /// malformed variants. The table is ASCII (the byte-wise reader takes only ASCII letters into a word).
    @Test func signaturesParseAsTheCharacterWiseReaderDid() {
        func same(_ text: String) -> Bool {
            let new = BuiltinSignature(text), old = ReferenceSignature.parse(text)
            switch (new, old) {
            case (nil, nil): return true
            case let (n?, o?):
                return n.argNames == o.argNames && n.args == o.args && n.result == o.result && n.variadic == o.variadic
            default: return false
            }
        }
        var texts = Array(BuiltinSignatures.table.values)
        for text in BuiltinSignatures.table.values {
            for cut in stride(from: 0, to: text.count, by: 3) { texts.append(String(text.prefix(cut))) }
            texts.append(text + " ")
            texts.append(" " + text)
            texts.append(text.replacingOccurrences(of: " ", with: "\t"))
            texts.append(text.replacingOccurrences(of: "x", with: "x9_Z"))
            texts.append(text.replacingOccurrences(of: ":", with: "::"))
        }
        texts += [
            "", "(", "()", "() =>", "() => any", "(...)", "(...) => any", "(x: numbr) => any", "(-: any) => any",
            "(x_1: any<string,number>) => set[any]", "(x: object[string: any]) => object[any:any]",
        ]
        #expect(texts.count > 1000)
        #expect(BuiltinSignatures.table.values.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } })
        for text in texts { #expect(same(text), "\(text.debugDescription)") }
    }

    @Test func typesUnifyAsOPAs() {
        let coll = BuiltinSignature("(c: any<string, array[any], object[any: any], set[any]>) => number")!.args[0]
        #expect(RegoType.number.unifies(coll) == false)
        #expect(RegoType.array(.number).unifies(coll))
        #expect(RegoType.any.unifies(coll))
        #expect(RegoType.array(.number).unifies(.array(.string)) == false)
        #expect(RegoType.union([.number, .string]).unifies(.string))
        #expect(
            RegoType.of(try! RegoValue(jsonString: #"{"a": [1, "x"]}"#))
                == .object(.string, .array(.union([.number, .string]))))
    }
}

/// The Character-wise signature reader the byte-wise one replaced (the reference for the test above).
enum ReferenceSignature {
    struct Parsed {
        var argNames: [String] = [], args: [RegoType] = [], result: RegoType = .any, variadic = false
    }

    static func parse(_ text: String) -> Parsed? {
        var p = Substring(text)
        var out = Parsed()
        func skip() { while p.first == " " { p.removeFirst() } }
        func eat(_ s: String) -> Bool {
            skip()
            if p.hasPrefix(s) {
                p.removeFirst(s.count)
                return true
            }
            return false
        }
        func word() -> String {
            skip()
            let w = p.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            p.removeFirst(w.count)
            return String(w)
        }
        func type() -> RegoType? {
            switch word() {
            case "any":
                guard eat("<") else { return .any }
                var ts: [RegoType] = []
                repeat {
                    guard let t = type() else { return nil }
                    ts.append(t)
                } while eat(",")
                return eat(">") ? .union(ts) : nil
            case "null": return .null
            case "boolean": return .boolean
            case "number": return .number
            case "string": return .string
            case "array":
                guard eat("["), let e = type(), eat("]") else { return nil }
                return .array(e)
            case "set":
                guard eat("["), let e = type(), eat("]") else { return nil }
                return .set(e)
            case "object":
                guard eat("["), let k = type(), eat(":"), let v = type(), eat("]") else { return nil }
                return .object(k, v)
            default: return nil
            }
        }
        guard eat("(") else { return nil }
        if eat("...") {
            guard eat(")") else { return nil }
            out.variadic = true
            return out
        }
        if !eat(")") {
            repeat {
                let save = p
                let name = word()
                if eat(":") {
                    out.argNames.append(name)
                } else {
                    p = save
                    out.argNames.append("")
                }
                guard let t = type() else { return nil }
                out.args.append(t)
            } while eat(",")
            guard eat(")") else { return nil }
        }
        guard eat("=>"), let r = type() else { return nil }
        out.result = r
        skip()
        guard p.isEmpty else { return nil }
        return out
    }
}
