import Foundation
import Rego
import TestSupport
import Testing

/// Evaluates gate-style policies with this engine and with OPA's own evaluator
/// (`shared/tools/opa-ref`), and expects identical results.
///
/// Corpus: `Tests/Fixtures/rego/differential/<case>/{policy.rego,data.json,query.txt,inputs/*.json}`,
/// plus the repository's default `policies/` (with `thresholds.json` at `data.thresholds`)
/// evaluated as a whole document against `Tests/Fixtures/rego/default-policy-inputs/` and every corpus input.
@Suite struct DifferentialTests {
    static var opaRef: URL? { OPARef.executable().0 }

    static var corpus: URL {
        ConformanceSuite.repositoryRoot.appendingPathComponent("Tests/Fixtures/rego/differential")
    }

    /// Runs `opa-ref eval` and returns the first expression's value (nil when undefined).
    static func reference(_ args: [String], query: String) async throws -> RegoValue?? {
        guard let tool = opaRef else { return .none }
        let result = try await ExternalTool.capture([tool.path, "eval"] + args + [query], timeout: 120)
        guard result.status == 0 else {
            print("DifferentialTests: opa-ref failed (\(result.status)): \(result.stderr.prefix(400))")
            return .none
        }
        let doc = try RegoValue(jsonData: Data(result.stdout.utf8))
        guard case .object(let o) = doc, case .array(let rows)? = o[.string("result")],
            case .object(let row)? = rows.first,
            case .array(let exprs)? = row[.string("expressions")], case .object(let e)? = exprs.first
        else {
            return .some(nil)
        }
        return .some(e[.string("value")])
    }

    static func normalized(_ v: RegoValue?) -> RegoValue? {
        v.map { (try? RegoValue(jsonData: $0.jsonData())) ?? $0 }
    }

    struct Scenario: CustomStringConvertible {
        let name: String
        let loads: [String]
        let input: URL
        let query: String
        var description: String { "\(name) with \(input.lastPathComponent)" }
    }

    static func scenarios() -> [Scenario] {
        var out: [Scenario] = []
        let fm = FileManager.default
        let cases = (try? fm.contentsOfDirectory(atPath: corpus.path).sorted()) ?? []
        var allInputs: [URL] = []
        for c in cases {
            let dir = corpus.appendingPathComponent(c)
            let query = ((try? String(contentsOf: dir.appendingPathComponent("query.txt"), encoding: .utf8)) ?? "data")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let inputs = ((try? fm.contentsOfDirectory(atPath: dir.appendingPathComponent("inputs").path)) ?? [])
                .sorted()
                .map { dir.appendingPathComponent("inputs").appendingPathComponent($0) }
            allInputs += inputs
            for input in inputs {
                out.append(
                    Scenario(
                        name: c,
                        loads: [
                            dir.appendingPathComponent("policy.rego").path,
                            dir.appendingPathComponent("data.json").path,
                        ], input: input, query: query))
            }
        }
        let policies = ConformanceSuite.repositoryRoot.appendingPathComponent("policies")
        if fm.fileExists(atPath: policies.path) {
            var loads = [policies.path]
            let thresholds = ConformanceSuite.repositoryRoot.appendingPathComponent("thresholds.json")
            if fm.fileExists(atPath: thresholds.path) { loads.append("thresholds:" + thresholds.path) }
            let own = corpus.deletingLastPathComponent().appendingPathComponent("default-policy-inputs")
            let ownInputs = ((try? fm.contentsOfDirectory(atPath: own.path)) ?? []).sorted().map {
                own.appendingPathComponent($0)
            }
            for input in ownInputs + allInputs {
                out.append(Scenario(name: "default policies", loads: loads, input: input, query: "data"))
            }
        }
        return out
    }

    @Test(.requires(.opaRef))
    func engineAgreesWithOPA() async throws {
        try TestRequirement.opaRef.value()
        let scenarios = Self.scenarios()
        #expect(scenarios.count >= 8, "the differential corpus went missing")
        var compared = 0
        for s in scenarios {
            guard
                let expected = try await Self.reference(
                    s.loads.flatMap { ["-d", $0] } + ["-i", s.input.path], query: s.query)
            else {
                Issue.record("opa-ref could not evaluate \(s): see its error above; the comparison cannot be made")
                return
            }
            var loader = RegoLoader()
            try loader.load(s.loads)
            let engine = try RegoEngine(modules: loader.modules, data: loader.data)
            let input = try RegoValue(jsonData: Data(contentsOf: s.input))
            let got = try engine.evaluate(path: s.query, input: input)
            #expect(
                Self.normalized(got) == Self.normalized(expected),
                "\(s): engine \(got?.jsonString() ?? "undefined") vs OPA \(expected?.jsonString() ?? "undefined")")
            compared += 1
        }
        print("DifferentialTests: \(compared) scenario(s) compared with opa-ref")
    }
}
