import Foundation

/// Timing of the engine on one policy, input and query (what `policy bench` prints).
public struct RegoBenchmark: Sendable {
    public struct Stats: Sendable {
        public let runs: Int
        public let mean: TimeInterval
        public let median: TimeInterval
        public let p99: TimeInterval
        public let min: TimeInterval

        init(_ samples: [TimeInterval]) {
            let s = samples.sorted()
            runs = s.count
            mean = s.reduce(0, +) / Double(max(1, s.count))
            median = s.isEmpty ? 0 : s[s.count / 2]
            p99 = s.isEmpty ? 0 : s[Swift.min(s.count - 1, Int(Double(s.count) * 0.99))]
            self.min = s.first ?? 0
        }
    }

    /// Parse + compile of all modules, per run.
    public let compile: Stats
    /// One evaluation of the query with the input on a compiled engine, per run.
    public let evaluate: Stats
    /// The value the query produced (to show the benchmark measured real work).
    public let result: RegoValue?

    /// Compiles `modules` `compileRuns` times and evaluates `query` `evalRuns` times (after 10 warm-up runs).
    public static func measure(
        modules: [RegoModule], data: RegoValue, input: RegoValue?, query: String,
        compileRuns: Int = 200, evalRuns: Int = 2000
    ) throws -> RegoBenchmark {
        var compileSamples: [TimeInterval] = []
        var engine = try RegoEngine(modules: modules, data: data)
        for _ in 0..<compileRuns {
            // The previous engine is freed after the clock is read: freeing it is not part of
            // parsing and compiling this one.
            let previous = engine
            let t = DispatchTime.now().uptimeNanoseconds
            engine = try RegoEngine(modules: modules, data: data)
            compileSamples.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
            withExtendedLifetime(previous) {}
        }
        var result: RegoValue? = nil
        for _ in 0..<10 { result = try engine.evaluate(path: query, input: input) }
        var evalSamples: [TimeInterval] = []
        for _ in 0..<evalRuns {
            let t = DispatchTime.now().uptimeNanoseconds
            result = try engine.evaluate(path: query, input: input)
            evalSamples.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
        }
        return RegoBenchmark(compile: Stats(compileSamples), evaluate: Stats(evalSamples), result: result)
    }
}
