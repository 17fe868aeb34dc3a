import ArgumentParser
import Foundation
import Rego
import SwiftDeployKit

/// `swiftdeploy policy …`: evaluate and test Rego policies with the embedded engine.
public struct PolicyCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Evaluate and test Rego policies with the embedded engine (no OPA needed).",
        subcommands: [PolicyEvalCommand.self, PolicyTestCommand.self, PolicyBenchCommand.self]
    )
    public init() {}
}

/// `swiftdeploy policy eval [-d PATH]… [-i FILE | -I] QUERY`, printing `opa eval -f json`'s shape.
public struct PolicyEvalCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a Rego query and print the result set as `opa eval -f json` does.",
        discussion: """
            Loads modules and data as `opa eval` does: a .rego file is a module, a .json file merges \
            at the root of data, `a.b:FILE` loads FILE at data.a.b, directories are walked. \
            Prints {} when the query is undefined. Exits 0, or 2 on an error.
            """
    )

    @Option(
        name: [.customShort("d"), .customLong("data")],
        help: "Policy or data file or directory (repeatable; prefix:PATH loads data under data.prefix).")
    public var data: [String] = []

    @Option(name: [.customShort("i"), .customLong("input")], help: "Input document (JSON file).")
    public var input: String?

    @Flag(name: [.customShort("I"), .customLong("stdin-input")], help: "Read the input document from standard input.")
    public var stdinInput = false

    @Flag(
        name: .customLong("strict-builtin-errors"),
        help: "Stop on builtin errors instead of treating them as undefined.")
    public var strictBuiltinErrors = false

    @Argument(help: "The query, e.g. data.swiftdeploy.canary")
    public var query: String

    /// Accepted as on every subcommand; the result set is machine output and prints the same with any of them.
    @OptionGroup public var global: GlobalOptions

    public init() {}

    public func validate() throws {
        if input != nil && stdinInput { throw ValidationError("use either -i FILE or -I (standard input), not both") }
    }

    public func run() throws {
        do {
            let (loader, inputValue) = try PolicyOutput.load(data: data, inputFile: input, standardInput: stdinInput)
            let engine = try RegoEngine(
                modules: loader.modules, data: loader.data,
                options: .init(strictBuiltinErrors: strictBuiltinErrors))
            let results = try engine.queryResults(query, input: inputValue)
            print(PolicyOutput.evalJSON(results))
        } catch let error as RegoError {
            print(PolicyOutput.errorJSON(error))
            throw CommandFailure(.inconclusive)
        }
    }
}

/// `swiftdeploy policy test [PATH]…`: runs `test_*` rules like `opa test`.
public struct PolicyTestCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the test_* rules of Rego policies, like `opa test`.",
        discussion: "Exits 0 when every test passes, 1 when one fails, 2 when the policies cannot be loaded."
    )

    @Argument(help: "Policy and data files or directories (default: policies).")
    public var paths: [String] = []

    @OptionGroup public var global: GlobalOptions

    public init() {}

    public func run() throws {
        let console = global.console
        let engine: RegoEngine
        do {
            var loader = RegoLoader()
            try loader.load(paths.isEmpty ? ["policies"] : paths)
            engine = try RegoEngine(modules: loader.modules, data: loader.data)
        } catch let error as RegoError {
            console.error("\(error)")
            throw CommandFailure(.inconclusive)
        }
        let results = RegoTestRunner(engine: engine).run()
        if results.isEmpty {
            console.error(
                """
                no test_* rules found in \((paths.isEmpty ? ["policies"] : paths).joined(separator: ", ")): name \
                test rules test_<something>
                """
            )
            throw CommandFailure(.inconclusive)
        }
        for r in results {
            let ms = String(format: "%.1fms", r.duration * 1000)
            if r.passed {
                console.info("\(r.name): \(console.colored("PASS", .green)) (\(ms))")
            } else if let e = r.error {
                console.print("\(r.name): \(console.colored("ERROR", .red)) (\(ms))\n  \(e)")
            } else {
                console.print("\(r.name): \(console.colored("FAIL", .red)) (\(ms))")
            }
        }
        let passed = results.filter(\.passed).count
        let failed = results.count - passed
        console.print(String(repeating: "-", count: 80))
        if failed == 0 {
            console.print("PASS: \(passed)/\(results.count)")
        } else {
            console.print("PASS: \(passed)/\(results.count)")
            console.print("FAIL: \(failed)/\(results.count)")
            throw CommandFailure(.failed)
        }
    }
}
