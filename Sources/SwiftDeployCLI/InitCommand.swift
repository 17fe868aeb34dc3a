import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy init`: generate nginx.conf and docker-compose.yml from the manifest.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Generate nginx.conf, docker-compose.yml and (with slo or observability) observability/ from the manifest.",
        discussion: """
            Both files are rendered before either is written, each is written atomically, and a file \
            whose bytes would not change is left alone. With --check nothing is written: the command \
            exits 1 when the files on disk differ from what the manifest generates (a CI drift check).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Write nothing; exit 1 when the generated files on disk are missing or out of date.")
    var check = false

    func run() async throws {
        let console = global.console
        let manifest = try ManifestLoader().load(from: global.manifestURL, displayPath: global.manifest)
        let generator = try ConfigGenerator(manifest: manifest, manifestName: global.manifestURL.lastPathComponent)
        if check {
            let drifted = try generator.drift()
            if drifted.isEmpty {
                console.info("the generated files are up to date with \(global.manifest)")
                return
            }
            for file in drifted {
                let state = file.status() == .created ? "missing" : "out of date"
                console.print("\(displayPath(file.url)): \(state); run `swiftdeploy init` to regenerate it")
            }
            throw CommandFailure(.failed)
        }
        let results = try generator.write()
        for (file, outcome) in results {
            switch outcome {
            case .created: console.info("wrote \(displayPath(file.url)) (new)")
            case .updated: console.info("wrote \(displayPath(file.url)) (updated)")
            case .unchanged: console.info("unchanged \(displayPath(file.url))")
            }
        }
        // Keys are paths relative to the manifest: observability/ holds two files named prometheus.yml.
        func relative(_ url: URL) -> String {
            let base = manifest.directory.path + "/"
            return url.path.hasPrefix(base) ? String(url.path.dropFirst(base.count)) : url.path
        }
        let written = results.filter { $0.outcome != .unchanged }.map { relative($0.file.url) }
        let entry = ProjectHistory.entry(
            event: .`init`, manifest: manifest, outcome: "ok",
            message: written.isEmpty ? "generated files already up to date" : "wrote \(written.joined(separator: ", "))",
            details: ["files": .object(Dictionary(results.map { (relative($0.file.url), JSONValue.string($0.outcome.rawValue)) }, uniquingKeysWith: { a, _ in a }))])
        if let problem = await ProjectHistory.append(entry, for: manifest) {
            console.warning("the files were written but the history could not record it: \(problem)")
        }
    }

    private func displayPath(_ url: URL) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        return url.path.hasPrefix(cwd + "/") ? String(url.path.dropFirst(cwd.count + 1)) : url.path
    }
}
