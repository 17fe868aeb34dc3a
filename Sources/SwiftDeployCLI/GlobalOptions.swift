import ArgumentParser
import Foundation
import SwiftDeployKit

/// Options every subcommand accepts: `@OptionGroup var global: GlobalOptions`.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Path to the manifest (default: ./manifest.yaml).")
    public var manifest: String = "manifest.yaml"

    @Flag(name: .long, help: "Never colour output (NO_COLOR in the environment does the same).")
    public var noColor = false

    @Flag(name: [.short, .long], help: "Print errors and results only.")
    public var quiet = false

    @Flag(name: [.short, .long], help: "Print more detail.")
    public var verbose = false

    public init() {}

    /// The manifest path made absolute against the working directory.
    public var manifestURL: URL {
        URL(fileURLWithPath: manifest, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .standardizedFileURL
    }

    /// The console for this invocation: colour only on a TTY, never with `--no-color` or `NO_COLOR`.
    public var console: Console {
        Console(verbosity: quiet ? .quiet : (verbose ? .verbose : .normal), colorDisabled: noColor)
    }
}
