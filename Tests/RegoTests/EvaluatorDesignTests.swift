import Foundation
import Rego
import Testing

/// The evaluator's design promises (docs/rego.md, "Evaluator"): no unoptimised code, no
/// oversized thread stacks, bounded native recursion, deep recursion a clean error on any
/// thread, and memory that does not grow with the product of a join.
@Suite struct EvaluatorDesignTests {
    static func engine(_ source: String, timeout: TimeInterval? = 10) throws -> RegoEngine {
        try RegoEngine(
            modules: [RegoModule(name: "p.rego", source: source)], data: .object([:]),
            options: .init(timeout: timeout))
    }

    final class Box<T>: @unchecked Sendable {
        var result: Result<T, Error>?
        init() {}
    }

    /// Runs `work` on a new thread with a small stack and returns its result (or error).
    /// The caller's task is suspended meanwhile: no thread of the cooperative pool waits for the small-stack one.
    static func onSmallStack<T>(_ bytes: Int, _ work: @escaping @Sendable () throws -> T) async -> Result<T, Error> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, Error>, Never>) in
            let thread = Thread { continuation.resume(returning: Result { try work() }) }
            thread.stackSize = bytes
            thread.start()
        }
    }

    static let recursive = """
        package p

        f(x) := y if { y := f(x + 1) }
        r := f(1)
        """

    @Test func deepRecursionIsAnErrorOnASmallStack() async throws {
        let engine = try Self.engine(Self.recursive)
        // 1 MiB: far below the old 512 MiB worker stacks, and below a default thread's 8 MiB.
        let result = await Self.onSmallStack(1 << 20) { try engine.evaluate(path: "data.p.r", input: nil) }
        guard case .failure(let error) = result else {
            Issue.record("unbounded recursion produced a value: \(result)")
            return
        }
        let e = try #require(error as? RegoError)
        #expect(e.code == "eval_limit_error", "got \(e)")
    }

    @Test func deepRecursionIsAnErrorOnTheCallersThread() throws {
        let engine = try Self.engine(Self.recursive)
        let e = #expect(throws: RegoError.self) { try engine.evaluate(path: "data.p.r", input: nil) }
        #expect(e?.code == "eval_limit_error")
        #expect(e?.message.contains("recursion") == true, "the message says what to look for: \(String(describing: e))")
    }

    @Test func deepTermsParseAndEvaluateOnASmallStackOrFailCleanly() async throws {
        let nested = String(repeating: "[", count: 900) + "1" + String(repeating: "]", count: 900)
        let result = await Self.onSmallStack(1 << 20) { () -> RegoValue? in
            let engine = try Self.engine("package p\n\nx := \(nested)\n")
            return try engine.evaluate(path: "data.p.x", input: nil)
        }
        switch result {
        case .success(let v):
            var depth = 0
            var cur = v
            while case .array(let items)? = cur, let first = items.first {
                depth += 1
                cur = first
            }
            #expect(depth == 900 && cur == .int(1))
        case .failure(let error):
            let e = try #require(error as? RegoError)
            #expect(e.code == "rego_parse_error" || e.code == "eval_limit_error", "got \(e)")
        }
    }

    @Test func aLongChainOfRulesEvaluates() throws {
        // 100 rules each depending on the next: legal depth must not trip the guards (even
        // unoptimised, on a test thread).
        var source = "package p\n\n"
        for i in 0..<100 { source += "r\(i) := r\(i + 1) + 1\n" }
        source += "r100 := 0\n"
        let engine = try Self.engine(source)
        #expect(try engine.evaluate(path: "data.p.r0", input: nil) == .int(100))
    }

    @Test func aJoinRunsDepthFirstWithoutMaterialisingTheProduct() throws {
        // 200^3 = 8 million combinations; breadth-first evaluation would hold 40,000
        // environments after two expressions. Depth-first it holds a few hundred.
        let engine = try Self.engine(
            """
            package p

            n := numbers.range(1, 200)
            hits := [[a, b, c] | some a in n; some b in n; a + b == 3; some c in n; c == a]
            """)
        #expect(try engine.evaluate(path: "data.p.hits", input: nil)?.jsonString() == "[[1,2,1],[2,1,2]]")
    }

    @Test func everyAndNotStopAtTheFirstSolution() throws {
        let engine = try Self.engine(
            """
            package p

            big := numbers.range(1, 10000)
            some_big if { some x in big; x > 5 }
            all_pos if { every x in big { x > 0 } }
            none_neg if { not neg }
            neg if { some x in big; x < 0 }
            """)
        #expect(try engine.evaluate(path: "data.p.some_big", input: nil) == .bool(true))
        #expect(try engine.evaluate(path: "data.p.all_pos", input: nil) == .bool(true))
        #expect(try engine.evaluate(path: "data.p.none_neg", input: nil) == .bool(true))
    }

    /// The sources keep the promises: no unoptimised methods, no dedicated big-stack threads.
    @Test func noUnoptimisedCodeAndNoOversizedStacks() throws {
        let sources = ConformanceSuite.repositoryRoot.appendingPathComponent("Sources")
        let files =
            FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        #expect(files.count > 20, "Sources/ not found at \(sources.path)")
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                #expect(!code.contains("@_optimize(none)"), "\(file.lastPathComponent):\(i + 1) disables the optimiser")
                #expect(!code.contains(".stackSize ="), "\(file.lastPathComponent):\(i + 1) sets a thread stack size")
            }
        }
    }
}
