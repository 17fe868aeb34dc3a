import ArgumentParser
import Foundation
import SwiftDeployKit

extension DeploymentMode: ExpressibleByArgument {}

/// `swiftdeploy promote canary|stable`: canary gate, in-place mode rewrite, app recreate, confirmation, rollback.
struct PromoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Switch the app to canary or stable mode when the canary policy allows it.",
        discussion: """
            Scrapes the metrics over metrics.window, evaluates the canary policy and only when allowed rewrites \
            services.mode in manifest.yaml in place, recreates the app container alone and confirms the new mode \
            from the service (X-Mode). A new mode that does not come up healthy is rolled back. Exit status: 0 \
            promoted, already in that mode, or (--dry-run) allowed; 1 denied; 2 inconclusive; 3 failed (rolled back \
            or not deployed).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The mode to switch to: canary or stable.")
    var mode: DeploymentMode

    @Flag(help: "Decide and report; change nothing.")
    var dryRun = false

    @Option(
        help: ArgumentHelp(
            "Proceed past a deny or inconclusive policy decision; the reason and your user name are recorded.",
            valueName: "reason"))
    var override: String?

    @Option(
        help: ArgumentHelp(
            """
            How long the mode switch may take, health wait included (default 60s; on Swarm replicas × the update \
            monitor + 30s, at least 60s).
            """,
            valueName: "duration"))
    var timeout: String?

    func run() async throws {
        let console = global.console
        let (context, timeout) = try LifecycleCLI.context(global, timeoutOption: timeout)
        let report = try await PromoteWorkflow(
            context: context, target: mode, dryRun: dryRun,
            override: override.map { OverrideRequest(reason: $0) },
            timeout: timeout
        )
        .run(progress: LifecycleCLI.progress(console))
        if let drift = report.drift { console.warning(drift) }
        switch report.outcome {
        case .noop:
            console.print("already in \(mode.rawValue) mode; nothing to do")
        case .dryRun:
            let decision = report.decision!
            let verdict = decision.verdict
            let word =
                verdict.permitsAction
                ? console.colored("would be allowed", .green)
                : console.colored(verdict == .deny ? "would be denied" : "could not be decided", .red)
            console.print(
                """
                dry run: promote \(report.previous.rawValue) → \(mode.rawValue) \(word) (canary policy: \
                \(verdict.rawValue), \(decision.engine))
                """
            )
            for reason in decision.reasons { console.print("  - \(reason)") }
            for warning in decision.warnings { console.print("  warning: \(warning)") }
            if !verdict.permitsAction, override != nil {
                console.print("  --override was given: a real run would proceed and record the override")
            }
            console.info("nothing was changed")
            if !verdict.permitsAction, override == nil { throw CommandFailure(verdict.exitStatus()) }
        case .promoted:
            if report.overridden, let decision = report.decision {
                console.warning(
                    """
                    promoted on --override past the canary policy's \(decision.verdict.rawValue) decision; \
                    recorded in the history
                    """
                )
            }
            console.print(
                console.colored("promoted", .green)
                    + """
                     \(context.manifest.project) from \(report.previous.rawValue) to \(mode.rawValue); the \
                    service answered \(report.confirmation ?? "")
                    """
            )
        }
    }
}
