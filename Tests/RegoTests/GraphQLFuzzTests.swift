import Foundation
import TestSupport
import Testing

@testable import Rego

/// A bounded mutation fuzzer over the GraphQL lexer, parser and validators (in process, as
/// `ParserFuzzTests`). Seeds are the documents of the GraphQL differential corpus. Each mutant
/// is parsed as a query and as a schema; what parses is validated (against the corpus' main
/// schema, or as a schema) and its AST object must convert back (to the same object when every
/// selection is a field: like OPA, this engine reads every selection of an object as a field). Any
/// outcome but a crash, a hang or a broken round trip is fine. `REGO_FUZZ_SECONDS` (default 5)
/// bounds the run; `REGO_FUZZ_SEED` replays one.
@Suite struct GraphQLFuzzTests {
    static let fragments = [
        "{", "}", "[", "]", "(", ")", "\"", "\"\"\"", "\\", "\\u00", "\\u12G4", "...", "$", "@", ":", "!", "|",
        "&", "=", "#", "\n", "\r", "\u{0}", "\u{7}", "é", "\u{FEFF}", "on", "fragment", "query", "extend",
        "schema", "type", "implements", "directive", "repeatable", "__typename", "-0", "01", "1e", "1.5e+3",
    ]

    static func seeds() throws -> (docs: [String], schema: String) {
        let url = ConformanceSuite.repositoryRoot.appendingPathComponent(
            "Tests/Fixtures/rego/differential/graphql/data.json")
        guard case .object(let o) = try RegoValue(jsonData: Data(contentsOf: url)),
            case .object(let schemas)? = o[.string("schemas")], case .object(let queries)? = o[.string("queries")],
            case .string(let main)? = schemas[.string("main")]
        else {
            throw RegoError(code: "test", message: "the GraphQL corpus lost its schemas and queries")
        }
        let docs = (Array(schemas.values) + Array(queries.values)).compactMap { v -> String? in
            if case .string(let s) = v { return s }
            return nil
        }
        return (docs, main)
    }

    static func mutate(_ s: String, _ rng: inout ParserFuzzTests.SplitMix) -> String {
        var chars = Array(s.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let pos = chars.isEmpty ? 0 : Int.random(in: 0..<chars.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !chars.isEmpty: chars.remove(at: pos)
            case 1: chars.insert(contentsOf: Array(fragments.randomElement(using: &rng)!.unicodeScalars), at: pos)
            case 2 where !chars.isEmpty: chars = Array(chars[..<pos])
            case 3 where !chars.isEmpty:
                let end = min(chars.count, pos + Int.random(in: 1...40, using: &rng))
                chars.insert(contentsOf: chars[pos..<end], at: pos)
            case 4:
                chars.insert(
                    contentsOf: Array(
                        String(
                            repeating: ["[", "{", "(", "{a "].randomElement(using: &rng)!,
                            count: Int.random(in: 1...400, using: &rng)
                        ).unicodeScalars), at: pos)
            default:
                if !chars.isEmpty { chars[pos] = Unicode.Scalar(UInt8.random(in: 0...127, using: &rng)) }
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: chars)
        return String(out)
    }

    static func onlyFields(_ doc: GQLQueryDocument) -> Bool {
        var stack = doc.operations.flatMap(\.selectionSet) + doc.fragments.flatMap(\.selectionSet)
        while let s = stack.popLast() {
            guard case .field(let f) = s else { return false }
            stack += f.selectionSet
        }
        return true
    }

    @Test func mutatedDocumentsNeverCrashHangOrBreakTheRoundTrip() throws {
        let env = ProcessInfo.processInfo.environment
        let budget = Double(env["REGO_FUZZ_SECONDS"] ?? "") ?? 5
        let seed = FuzzSeed.resolve(
            test: "GraphQLFuzzTests", filter: "RegoTests.GraphQLFuzzTests/", variable: "REGO_FUZZ_SEED",
            extra: "REGO_FUZZ_SECONDS=\(Int(budget.rounded(.up)))")
        var rng = seed.generator
        let (docs, main) = try Self.seeds()
        let mainDoc = try GraphQLParser.parseSchema(main)
        let start = Date()
        var runs = 0, queries = 0, schemas = 0
        while Date().timeIntervalSince(start) < budget {
            let text = Self.mutate(docs.randomElement(using: &rng)!, &rng)
            runs += 1
            let before = Date()
            if let q = try? GraphQLParser.parseQuery(text) {
                queries += 1
                let value = GraphQLRego.query(q)
                let back = try GraphQLRego.decodeQuery(value)
                if Self.onlyFields(q) {
                    #expect(GraphQLRego.query(back) == value, "query AST round trip, \(seed): \(text.debugDescription)")
                }
                // A fresh schema each time: building one merges extensions into its definitions.
                if let schema = try? GraphQLSchema.build(try GraphQLParser.parseSchema(main)) {
                    _ = GraphQLValidator.validate(schema, q)
                }
            }
            if let s = try? GraphQLParser.parseSchema(text) {
                schemas += 1
                let value = GraphQLRego.schema(s)
                #expect(
                    GraphQLRego.schema(try GraphQLRego.decodeSchema(value)) == value,
                    "schema AST round trip, \(seed): \(text.debugDescription)")
                _ = try? GraphQLSchema.build(s)
            }
            #expect(
                Date().timeIntervalSince(before) < 5,
                "a mutant took \(Date().timeIntervalSince(before)) s, \(seed): \(text.prefix(200).debugDescription)")
        }
        _ = mainDoc
        print("GraphQLFuzzTests: \(runs) mutants, \(queries) parsed as queries, \(schemas) as schemas")
        #expect(runs > 0)
    }
}
