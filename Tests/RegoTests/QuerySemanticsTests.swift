import Foundation
import Rego
import TestSupport
import Testing

/// OPA's query semantics (a false expression fails the query) and number literals kept as
/// written, checked against fixed answers taken from OPA and, when the shared directory is
/// there, against OPA's own evaluator (`tools/opa-ref`) in the same run.
@Suite struct QuerySemanticsTests {
    static let scoresPolicy = """
        package t

        scores := {"api": 0.99, "db": 0.95, "cache": 0.999}
        allow := false
        """

    static func engine(_ source: String, data: RegoValue = .object([:])) throws -> RegoEngine {
        try RegoEngine(modules: [RegoModule(name: "t.rego", source: source)], data: data)
    }

    /// Runs `opa-ref eval` on `source` and returns its result set: one row per solution, each
    /// `{"bindings": {...}, "expressions": [values]}` (empty for undefined).
    static func opaResultSet(_ source: String, input: String? = nil, query: String) async throws -> [RegoValue] {
        let tool = URL(fileURLWithPath: try TestRequirement.opaRef.value())
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rego-query-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let policy = dir.appendingPathComponent("t.rego")
        try source.write(to: policy, atomically: true, encoding: .utf8)
        var args = ["eval", "-d", policy.path]
        if let input {
            let file = dir.appendingPathComponent("input.json")
            try input.write(to: file, atomically: true, encoding: .utf8)
            args += ["-i", file.path]
        }
        let result = try await ExternalTool.capture([tool.path] + args + [query], timeout: 120)
        guard result.status == 0 else {
            Issue.record("opa-ref eval exited \(result.status) on \(query): the comparison cannot be made")
            return []
        }
        guard case .object(let doc) = try RegoValue(jsonData: Data(result.stdout.utf8)),
            case .array(let rows)? = doc[.string("result")]
        else { return [] }
        return rows.map { row in
            guard case .object(let r) = row else { return row }
            var exprs: [RegoValue] = []
            if case .array(let es)? = r[.string("expressions")] {
                for e in es { if case .object(let eo) = e, let v = eo[.string("value")] { exprs.append(v) } }
            }
            return .object([
                .string("bindings"): r[.string("bindings")] ?? .object([:]), .string("expressions"): .array(exprs),
            ])
        }
    }

    static func bindingsOnly(_ row: RegoValue) -> RegoValue {
        RegoValue.lookup(row, [.string("bindings")]) ?? .object([:])
    }

    /// This engine's result set in the same shape as `opaResultSet`.
    static func ourResultSet(_ engine: RegoEngine, input: RegoValue? = nil, query: String) throws -> [RegoValue] {
        try engine.queryResults(query, input: input).map { r in
            var b: [RegoValue: RegoValue] = [:]
            for (k, v) in r.bindings { b[.string(k)] = v }
            return .object([
                .string("bindings"): .object(b), .string("expressions"): .array(r.expressions.map(\.value)),
            ])
        }
    }

    // MARK: item 1: a false expression fails the query

    @Test func falseComparisonDropsTheRow() async throws {
        let rows = try Self.engine(Self.scoresPolicy).query("data.t.scores[name] > 0.98", input: nil)
        let names = rows.compactMap { row -> String? in
            if case .string(let s)? = row["name"] { return s }
            return nil
        }
        #expect(names.sorted() == ["api", "cache"], "db (0.95) must not give a row; got \(rows)")
    }

    /// OPA (measured with opa-ref): a single expression without iteration is captured and
    /// reported even when false (`1 > 2`, `data.t.scores.db > 0.98` give one row); with
    /// iteration or several expressions a false expression fails the query.
    @Test func falseFailsOnlyWithIterationOrSeveralExpressions() async throws {
        let engine = try Self.engine(Self.scoresPolicy)
        let ground = try engine.queryResults("data.t.scores.db > 0.98", input: nil)
        #expect(ground.count == 1 && ground.first?.expressions.first?.value == .bool(false))
        #expect(try engine.queryResults("false", input: nil).count == 1)
        #expect(try engine.queryResults("x := 1; x > 2", input: nil).isEmpty)
        #expect(try engine.queryResults("data.t.scores[_] > 0.98", input: nil).count == 2)
        #expect(try engine.queryResults("[1, 2][_] == 5", input: nil).isEmpty)
        #expect(
            try engine.queryResults("x := false", input: nil).count == 1, "assigning false is not a false expression")
        #expect(try engine.queryResults("data.t.scores.api > 0.98", input: nil).count == 1)
    }

    @Test func documentReadKeepsFalse() async throws {
        // The Data API (and every decision path) reads a document: false stays false, not undefined.
        #expect(try Self.engine(Self.scoresPolicy).evaluate(path: "data.t.allow", input: nil) == .bool(false))
    }

    @Test(.requires(.opaRef))
    func resultSetsEqualOPAs() async throws {
        let engine = try Self.engine(Self.scoresPolicy)
        // opa-ref prints the bindings of each row for a query (not the expression values): compare those.
        for query in [
            "data.t.scores[name] > 0.98", "data.t.scores.db > 0.98", "data.t.scores[_] > 0.98", "false",
            "x := 1; x > 2", "data.t.scores[k] < 0.999; x := data.t.scores[k]", "not data.t.allow",
        ] {
            let ours = Set(try Self.ourResultSet(engine, query: query).map(Self.bindingsOnly))
            let theirs = await Set(try Self.opaResultSet(Self.scoresPolicy, query: query).map(Self.bindingsOnly))
            #expect(ours == theirs, "\(query): ours \(ours) vs OPA \(theirs)")
        }
    }

    // MARK: item 3: numbers keep their literal text

    static let numbersPolicy = """
        package s

        vals := [2.0, 1e3, 2.5, 1.0e0, 100, 2e308, 1.50, 12345678901234567890, 1.5e300, -0.0, 0.1, 1e-7, 2.50e1, \
        3.0000001]
        v := [sprintf("%v", [x]) | some x in vals]
        d := [sprintf("%d", [x]) | some x in vals]
        f := [sprintf("%f", [x]) | some x in vals]
        s := [sprintf("%s", [x]) | some x in vals]
        marshal := json.marshal(vals)
        sum := 2.0 + 0
        product := 1.50 * 2
        same := 2.0 == 2
        members := count({2.0, 2, 2.00})
        """

    @Test func literalTextIsKept() async throws {
        let e = try Self.engine(Self.numbersPolicy)
        func doc(_ name: String) async throws -> RegoValue? { try e.evaluate(path: "data.s.\(name)", input: nil) }
        await #expect(
            try doc("marshal")
                == .string(
                    "[2.0,1e3,2.5,1.0e0,100,2e308,1.50,12345678901234567890,1.5e300,-0.0,0.1,1e-7,2.50e1,3.0000001]"))
        await #expect(try doc("vals")?.jsonString().hasPrefix("[2.0,1e3,2.5,1.0e0,100,2e308,1.50,") == true)
        // Arithmetic is exact and its result carries no literal text, as in OPA.
        await #expect(try doc("sum")?.jsonString() == "2")
        await #expect(try doc("product")?.jsonString() == "3")
        await #expect(try doc("same") == .bool(true))
        await #expect(try doc("members") == .int(1), "2.0, 2 and 2.00 are one number")
        // Input JSON keeps its text too.
        let input = try RegoValue(jsonString: #"{"x": 2.0, "y": [1.50, 1e3]}"#)
        #expect(try e.evaluate(path: "input", input: input)?.jsonString() == #"{"x":2.0,"y":[1.50,1e3]}"#)
    }

    /// Expected strings are OPA's (opa-ref, Go's fmt on the json.Number conversions).
    @Test func sprintfConvertsNumbersByTheirText() async throws {
        let e = try Self.engine(Self.numbersPolicy)
        func strings(_ name: String) async throws -> [String] {
            guard case .array(let xs)? = try e.evaluate(path: "data.s.\(name)", input: nil) else { return [] }
            return xs.map {
                if case .string(let s) = $0 { return s }
                return "?"
            }
        }
        await #expect(
            try strings("v") == [
                "2", "1e3", "2.5", "1", "100", "2e308", "1.5", "12345678901234567890", "1.5e+300", "0", "0.1", "1e-7",
                "25", "3.0000001",
            ])
        await #expect(
            try strings("d") == [
                "2", "%!d(string=1e3)", "%!d(float64=2.5)", "%!d(float64=1)", "100", "%!d(string=2e308)",
                "%!d(float64=1.5)", "12345678901234567890", "%!d(float64=1.5e+300)", "0", "%!d(float64=0.1)",
                "%!d(string=1e-7)", "%!d(float64=25)", "%!d(float64=3.0000001)",
            ])
        await #expect(
            try strings("s") == [
                "%!s(int64=2)", "1e3", "%!s(float64=2.5)", "%!s(float64=1)", "%!s(int64=100)", "2e308",
                "%!s(float64=1.5)", "12345678901234567890", "%!s(float64=1.5e+300)", "%!s(int64=0)", "%!s(float64=0.1)",
                "1e-7", "%!s(float64=25)", "%!s(float64=3.0000001)",
            ])
        let f = try await strings("f")
        #expect(f.count == 14)
        #expect(
            Array(f.prefix(8)) == [
                "%!f(int64=2)", "%!f(string=1e3)", "2.500000", "1.000000", "%!f(int64=100)", "%!f(string=2e308)",
                "1.500000", "%!f(big.Int=12345678901234567890)",
            ])
        #expect(Array(f.suffix(5)) == ["%!f(int64=0)", "0.100000", "%!f(string=1e-7)", "25.000000", "3.000000"])
    }

    @Test(.requires(.opaRef))
    func numberTextEqualsOPAs() async throws {
        // Strings carry the text through opa-ref's JSON bridge unchanged, so compare those.
        let e = try Self.engine(Self.numbersPolicy)
        let query = "x := [data.s.v, data.s.d, data.s.f, data.s.s, data.s.marshal]"
        let ours = try Self.ourResultSet(e, query: query).map(Self.bindingsOnly)
        let theirs = try await Self.opaResultSet(Self.numbersPolicy, query: query).map(Self.bindingsOnly)
        #expect(!theirs.isEmpty)
        #expect(ours == theirs)
    }
}
