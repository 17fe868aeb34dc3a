import ArgumentParser
import Foundation
import Rego

/// `swiftdeploy policy bench`: times parse+compile and per-decision evaluation in process, like `opa bench`.
public struct PolicyBenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time parse+compile and per-decision evaluation of a query with the embedded engine."
    )

    @Option(
        name: [.customShort("d"), .customLong("data")],
        help: "Policy or data file or directory (repeatable; prefix:PATH allowed).")
    public var data: [String] = []

    @Option(name: [.customShort("i"), .customLong("input")], help: "Input document (JSON file).")
    public var input: String?

    @Option(name: .customLong("count"), help: "Evaluations to time.")
    public var count = 2000

    @Option(name: .customLong("compile-count"), help: "Compilations to time.")
    public var compileCount = 200

    @Flag(name: .customLong("json"), help: "Print the figures as JSON.")
    public var json = false

    @Argument(help: "The query, e.g. data.swiftdeploy.canary")
    public var query: String

    /// Accepted as on every subcommand; the figures print the same with any of them.
    @OptionGroup public var global: GlobalOptions

    public init() {}

    public func run() throws {
        do {
            let (loader, inputValue) = try PolicyOutput.load(data: data, inputFile: input, standardInput: false)
            let b = try RegoBenchmark.measure(
                modules: loader.modules, data: loader.data, input: inputValue, query: query,
                compileRuns: compileCount, evalRuns: count)
            func us(_ t: TimeInterval) -> String { String(format: "%.1f", t * 1e6) }
            if json {
                print(
                    RegoValue.object([
                        .string("compile_us"): .object([
                            .string("mean"): .number(RegoNumber(b.compile.mean * 1e6)!),
                            .string("median"): .number(RegoNumber(b.compile.median * 1e6)!),
                            .string("runs"): .int(b.compile.runs),
                        ]),
                        .string("eval_us"): .object([
                            .string("mean"): .number(RegoNumber(b.evaluate.mean * 1e6)!),
                            .string("median"): .number(RegoNumber(b.evaluate.median * 1e6)!),
                            .string("p99"): .number(RegoNumber(b.evaluate.p99 * 1e6)!),
                            .string("runs"): .int(b.evaluate.runs),
                        ]),
                    ]).jsonString())
            } else {
                print(
                    """
                    parse+compile: mean \(us(b.compile.mean)) µs, median \(us(b.compile.median)) µs \
                    (\(b.compile.runs) runs)
                    """
                )
                print(
                    """
                    evaluation:    mean \(us(b.evaluate.mean)) µs, median \(us(b.evaluate.median)) µs, p99 \
                    \(us(b.evaluate.p99)) µs (\(b.evaluate.runs) runs)
                    """
                )
                print("result:        \(b.result.map { String($0.jsonString().prefix(200)) } ?? "undefined")")
            }
        } catch let error as RegoError {
            print(PolicyOutput.errorJSON(error))
            throw CommandFailure(.inconclusive)
        }
    }
}
