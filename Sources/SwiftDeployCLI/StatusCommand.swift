import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy status`: a live dashboard of the deployment.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show mode, version, chaos, per-service health, traffic and policy verdicts; redraws in place.",
        discussion: """
            Each frame scrapes the metrics over --interval and asks each policy domain for its verdict; every \
            frame is recorded in the history. With --once: one frame, exit 0 when healthy, 1 otherwise.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one frame and exit (0 healthy, 1 otherwise).")
    var once = false

    @Flag(help: "Keep refreshing (the default on a terminal).")
    var watch = false

    @Option(help: ArgumentHelp("Time between frames, also each frame's traffic window.", valueName: "duration"))
    var interval: String = "5s"

    @Option(help: "Output format: text or json (one JSON document per frame, one per line).")
    var format: Format = .text

    func validate() throws {
        if once && watch { throw ValidationError("--once and --watch exclude each other; pick one") }
    }

    func run() async throws {
        let console = global.console
        let interval = try LifecycleCLI.duration(interval, option: "--interval")
        let context = try LifecycleCLI.context(global)
        // With an slo block the dashboard also shows the slo domain: each objective's budget remaining and burn rates.
        let domains = ["infrastructure", "canary"] + (context.manifest.slo != nil ? ["slo"] : [])
        let workflow = StatusWorkflow(
            context: context, metrics: LifecycleCLI.statusMetrics(), window: interval, domains: domains)
        let live = !once && (watch || isatty(STDOUT_FILENO) == 1)
        let redraw = live && isatty(STDOUT_FILENO) == 1 && format == .text
        let renderer = DashboardRenderer(console: console)
        repeat {
            try Task.checkCancellation()  // SIGINT or SIGTERM ends --watch (exit 130)
            let snapshot = try await workflow.snapshot()
            switch format {
            case .json: console.print(snapshot.json.jsonString())
            case .text:
                // Home the cursor and clear below it: the frame redraws in place without flicker.
                console.print((redraw ? "\u{1B}[H\u{1B}[J" : (live ? "\n" : "")) + renderer.render(snapshot))
            }
            if !live { if !snapshot.healthy { throw CommandFailure(.failed) } }
        } while live
    }
}
