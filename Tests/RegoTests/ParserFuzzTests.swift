import Foundation
import Rego
import TestSupport
import Testing

/// A bounded mutation fuzzer over the parser and compiler (libFuzzer needs a
/// toolchain flag SwiftPM tests don't get here, so this is the in-process kind).
///
/// Seeds are the committed policies plus, when present, the conformance modules.
/// Each mutant is parsed, compiled and, when it compiles, evaluated with a short
/// time limit: any outcome but a crash or hang is fine. `REGO_FUZZ_SECONDS`
/// (default 5) bounds the run; `REGO_FUZZ_SEED` makes it reproducible.
@Suite struct ParserFuzzTests {
    typealias SplitMix = SplitMix64

    static let fragments = [
        "{", "}", "[", "]", "(", ")", "\"", "`", ":=", "=", "==", "if", "else", "contains", "some", "in", "every",
        "not", "with", "as", "default", "import", "package", "1e400", "-", "0.5", "\n", ";", ",", ".", "|", "&",
        "x", "_", "input", "data", "count(", "sprintf(\"%v\", [", "\\u12", "#", "set()", "9999999999999999999999",
    ]

    static func seeds() throws -> [String] {
        var out: [String] = []
        let corpus = ConformanceSuite.repositoryRoot.appendingPathComponent("Tests/Fixtures/rego")
        if let e = FileManager.default.enumerator(atPath: corpus.path) {
            for case let path as String in e where path.hasSuffix(".rego") {
                if let s = try? String(contentsOf: corpus.appendingPathComponent(path), encoding: .utf8) {
                    out.append(s)
                }
            }
        }
        // The conformance modules are seeds too: under CI=true a missing suite fails the test (a smaller corpus is not
        // the fuzzing CI asked for); locally the committed policies alone are used, as printed.
        if let file = try TestRequirement.conformanceSuite.valueIfAvailable(
            for: "the conformance modules as fuzz seeds")
        {
            for c in try ConformanceSuite.load(URL(fileURLWithPath: file)).prefix(400) { out += c.modules }
        }
        if out.isEmpty { out = ["package p\n\nallow if input.x == 1\n"] }
        return out
    }

    static func mutate(_ s: String, _ rng: inout SplitMix) -> String {
        var chars = Array(s)
        let rounds = Int.random(in: 1...4, using: &rng)
        for _ in 0..<rounds {
            let pos = chars.isEmpty ? 0 : Int.random(in: 0..<chars.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !chars.isEmpty: chars.remove(at: pos)
            case 1: chars.insert(contentsOf: Array(fragments.randomElement(using: &rng)!), at: pos)
            case 2 where !chars.isEmpty: chars = Array(chars[..<pos])
            case 3 where !chars.isEmpty:
                let end = min(chars.count, pos + Int.random(in: 1...40, using: &rng))
                chars.insert(contentsOf: chars[pos..<end], at: pos)
            case 4:
                chars.insert(
                    contentsOf: Array(String(repeating: "[", count: Int.random(in: 1...400, using: &rng))), at: pos)
            default:
                if !chars.isEmpty { chars[pos] = Character(Unicode.Scalar(UInt8.random(in: 32...126, using: &rng))) }
            }
        }
        return String(chars)
    }

    @Test func mutatedPoliciesNeverCrashOrHang() throws {
        let env = ProcessInfo.processInfo.environment
        let budget = Double(env["REGO_FUZZ_SECONDS"] ?? "") ?? 5
        // Printed first, so a crash still leaves the seed; the mutants come in the same order for the same seed, so a
        // replay with at least the same REGO_FUZZ_SECONDS reaches the same one.
        let seed = FuzzSeed.resolve(
            test: "ParserFuzzTests", filter: "RegoTests.ParserFuzzTests/", variable: "REGO_FUZZ_SEED",
            extra: "REGO_FUZZ_SECONDS=\(Int(budget.rounded(.up)))")
        var rng = seed.generator
        let seeds = try Self.seeds()
        let start = Date()
        var runs = 0, parsed = 0, evaluated = 0
        while Date().timeIntervalSince(start) < budget {
            let source = Self.mutate(seeds.randomElement(using: &rng)!, &rng)
            runs += 1
            guard
                let engine = try? RegoEngine(
                    modules: [RegoModule(name: "fuzz.rego", source: source)], data: .object([:]),
                    options: .init(timeout: 0.5))
            else { continue }
            parsed += 1
            let before = Date()
            if (try? engine.evaluate(path: "data", input: .object([:]))) != nil { evaluated += 1 }
            #expect(
                Date().timeIntervalSince(before) < 5,
                "evaluation of mutant \(runs) ran past its limit (\(seed)):\n\(source)")
        }
        print(
            """
            ParserFuzzTests: seed \(seed.value): \(runs) mutants, \(parsed) compiled, \(evaluated) evaluated in \
            \(String(format: "%.1f", Date().timeIntervalSince(start))) s
            """
        )
        #expect(runs > 0)
    }
}
