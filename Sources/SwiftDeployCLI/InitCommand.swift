import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy init`: ``InitWorkflow`` generates nginx.conf and docker-compose.yml from the manifest and records it.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract:
            "Generate nginx.conf, docker-compose.yml and (with slo or observability) observability/ from the manifest.",
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
        let workflow = try InitWorkflow(
            manifest: manifest, manifestName: global.manifestURL.lastPathComponent,
            recorder: HistoryRecorder(manifest: manifest))
        if check {
            let drifted = try workflow.drift()
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
        let report = try await workflow.run()
        for (file, outcome) in report.files {
            switch outcome {
            case .created: console.info("wrote \(displayPath(file.url)) (new)")
            case .updated: console.info("wrote \(displayPath(file.url)) (updated)")
            case .unchanged: console.info("unchanged \(displayPath(file.url))")
            }
        }
        if let problem = report.recordingProblem {
            console.warning("the files were written but the history could not record it: \(problem)")
        }
    }

    private func displayPath(_ url: URL) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        return url.path.hasPrefix(cwd + "/") ? String(url.path.dropFirst(cwd.count + 1)) : url.path
    }
}
