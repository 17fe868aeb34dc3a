import Foundation
import Rego
import TestSupport
import Testing

/// Differential fuzzing: random valid policies, data and inputs (`PolicyGenerator`) evaluated
/// by this engine and by OPA's own evaluator (`shared/tools/opa-ref eval`); the whole
/// `data.fuzz` document must be equal, or both must fail. This engine runs with strict builtin
/// errors, as opa-ref's library evaluates, so a builtin error is an error on both sides.
///
/// Bounded by `REGO_DIFF_FUZZ_CASES` (default 40 modules, in batches of 10 per opa-ref call).
/// The seed is printed first; `REGO_DIFF_FUZZ_SEED=<seed>` replays a run (default: a fixed seed,
/// so CI is deterministic; `REGO_DIFF_FUZZ_SEED=random` draws a new one). A difference prints
/// the seed, the module, data and input. Under `CI=true` a missing opa-ref is a failure.
@Suite struct DifferentialFuzzTests {
    static let batch = 10

    struct Case {
        let seed: UInt64
        let package: String
        let module: String
        let data: RegoValue
        let input: RegoValue
    }

    static func makeCase(_ seed: UInt64, _ index: Int) -> Case {
        var g = PolicyGenerator(seed: seed &+ UInt64(index) &* 0x9E3779B97F4A7C15)
        let package = "fuzz.p\(index)"
        return Case(seed: seed, package: package, module: g.module(package: package), data: g.root(), input: g.root())
    }

    /// One opa-ref call for a batch sharing data and input: each module under its own package.
    static func reference(_ modules: [String], data: RegoValue, input: RegoValue, query: String) async throws -> (
        RegoValue?, String?
    ) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rego-diff-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var args: [String] = []
        for (i, m) in modules.enumerated() {
            let f = dir.appendingPathComponent("m\(i).rego")
            try m.write(to: f, atomically: true, encoding: .utf8)
            args += ["-d", f.path]
        }
        let d = dir.appendingPathComponent("data.json"), inp = dir.appendingPathComponent("input.json")
        try data.jsonString().write(to: d, atomically: true, encoding: .utf8)
        try input.jsonString().write(to: inp, atomically: true, encoding: .utf8)
        args += ["-d", "d:" + d.path, "-i", inp.path, query]
        let (output, _) = try await OPARef.eval(arguments: args)
        guard case .object(let o) = try RegoValue(jsonString: output) else { return (nil, "unreadable opa-ref output") }
        if case .array(let errs)? = o[.string("errors")] ?? o[.string("error")].map({ .array([$0]) }) {
            return (nil, errs.map { $0.jsonString() }.joined(separator: "; "))
        }
        if case .array(let rows)? = o[.string("result")], case .object(let row)? = rows.first,
            case .array(let exprs)? = row[.string("expressions")], case .object(let e)? = exprs.first
        {
            return (e[.string("value")], nil)
        }
        return (nil, nil)
    }

    static func ours(_ modules: [String], data: RegoValue, input: RegoValue, query: String) -> (RegoValue?, String?) {
        do {
            let engine = try RegoEngine(
                modules: modules.enumerated().map { RegoModule(name: "m\($0.offset).rego", source: $0.element) },
                data: .object([.string("d"): data]), options: .init(strictBuiltinErrors: true, timeout: 10))
            return (try engine.evaluate(path: query, input: input), nil)
        } catch {
            return (nil, "\(error)")
        }
    }

    static func normalized(_ v: RegoValue?) -> RegoValue? {
        v.map { (try? RegoValue(jsonData: $0.jsonData())) ?? $0 }
    }

    @Test(.requires(.opaRef))
    func randomPoliciesAgreeWithOPA() async throws {
        let env = ProcessInfo.processInfo.environment
        // A fixed default keeps CI deterministic; `REGO_DIFF_FUZZ_SEED=random` (or any number) explores further.
        let total = Int(env["REGO_DIFF_FUZZ_CASES"] ?? "") ?? 40
        let fuzzSeed = FuzzSeed.resolve(
            test: "DifferentialFuzzTests", filter: "RegoTests.DifferentialFuzzTests/",
            variable: "REGO_DIFF_FUZZ_SEED",
            fallback: env["REGO_DIFF_FUZZ_SEED"] == "random" ? nil : 1_795_695_704_745,
            extra: "REGO_DIFF_FUZZ_CASES=\(total)")
        let seed = fuzzSeed.value
        var compared = 0, bothFailed = 0, differences = 0
        var start = 0
        while start < total {
            let cases = (start..<min(total, start + Self.batch)).map { Self.makeCase(seed, $0) }
            start += Self.batch
            let data = cases[0].data, input = cases[0].input
            // The whole batch at once; on an error, each module alone (to compare each one's outcome).
            let (refAll, refErr) = try await Self.reference(
                cases.map(\.module), data: data, input: input, query: "data.fuzz")
            let groups: [[Case]] = refErr == nil ? [cases] : cases.map { [$0] }
            for group in groups {
                let (ref, rErr) =
                    await groups.count == 1
                    ? (refAll, refErr)
                    : try Self.reference(group.map(\.module), data: data, input: input, query: "data.fuzz")
                let (got, gErr) = Self.ours(group.map(\.module), data: data, input: input, query: "data.fuzz")
                compared += group.count
                if rErr != nil && gErr != nil {
                    bothFailed += group.count
                    continue
                }
                if rErr == nil && gErr == nil && Self.normalized(ref) == Self.normalized(got) { continue }
                differences += 1
                Issue.record(
                    """
                    differential fuzz difference (\(fuzzSeed), packages \
                    \(group.map(\.package).joined(separator: ", "))):
                    OPA: \(rErr ?? Self.normalized(ref)?.jsonString() ?? "undefined")
                    ours: \(gErr ?? Self.normalized(got)?.jsonString() ?? "undefined")
                    data.d = \(data.jsonString())
                    input = \(input.jsonString())
                    \(group.map(\.module).joined(separator: "\n"))
                    """)
            }
        }
        print(
            """
            DifferentialFuzzTests: seed \(seed): \(compared) modules compared, \(bothFailed) rejected by both, \
            \(differences) difference(s)
            """
        )
        #expect(compared == total)
        #expect(
            bothFailed * 2 <= total, "most generated modules should be valid: the generator drifted from the language")
    }
}
