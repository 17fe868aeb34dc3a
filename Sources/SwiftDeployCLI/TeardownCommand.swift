import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy teardown [--clean]`: removes this project's containers, networks and volumes.
struct TeardownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teardown",
        abstract: "Remove the project's containers, networks and volumes (and with --clean the generated files).",
        discussion: """
            Only resources labelled with this project's Compose name are touched; other projects on the host are \
            left alone. Exit status: 0 nothing of the project is left; 3 Docker failed or something was left behind.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Also delete the generated files: nginx.conf, docker-compose.yml and observability/.")
    var clean = false

    func run() async throws {
        let console = global.console
        let context = try LifecycleCLI.context(global)
        let report = try await TeardownWorkflow(context: context, clean: clean).run(
            progress: LifecycleCLI.progress(console))
        let removed = report.removed
        console.print(
            console.colored("removed", .green)
                + """
                 project \(context.manifest.project): \(removed.containers.count) container(s), \
                \(removed.networks.count) network(s), \(removed.volumes.count) volume(s)
                """
        )
        if clean {
            console.info(
                report.deletedFiles.isEmpty
                    ? "no generated files to delete"
                    : "deleted \(report.deletedFiles.map { context.manifest.shownPath($0) }.joined(separator: ", "))")
        }
    }
}
