import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy rollout start|status|pause|resume|abort|promote`: progressive delivery (docs/rollout.md).
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract:
            """
            Progressive delivery: a candidate beside stable, a weighted split, step-by-step analysis, automatic \
            rollback.
            """,
        discussion: """
            Exit status of start, resume and promote: 0 promoted; 1 rolled back (a step was denied, or aborted); \
            2 paused or aborted on an inconclusive step; 3 failed (rolled back where it could be).
            """,
        subcommands: [Start.self, Status.self, Pause.self, Resume.self, Abort.self, Promote.self])

    /// Prints a rollout's end and exits with its status.
    static func finish(_ report: RolloutReport, console: Console) throws {
        switch report.outcome {
        case .promoted: console.print(console.colored("promoted", .green) + ": " + report.message)
        case .requested: console.print(report.message)
        case .paused: console.print(console.colored("paused", .yellow) + ": " + report.message)
        case .rolledBack, .aborted: console.print(console.colored("rolled back", .red) + ": " + report.message)
        }
        let status = report.exitStatus
        if status != .success { throw CommandFailure(status) }
    }

    static func workflow(_ global: GlobalOptions, healthTimeout: TimeInterval = 120) throws -> RolloutWorkflow {
        let context = try LifecycleCLI.context(global, commandTimeout: max(healthTimeout, 120))
        return RolloutWorkflow(context: context, healthTimeout: healthTimeout)
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Start a candidate beside stable and walk it through the steps.",
            discussion:
                """
                Runs in the foreground with a line per step and per decision. Ctrl-C or a kill leaves the rollout \
                paused where it was: `rollout status` shows it, `rollout resume` continues it.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("The candidate's image.", valueName: "ref"))
        var image: String

        @Option(help: ArgumentHelp("The candidate's version (APP_VERSION); default: the image's tag.", valueName: "v"))
        var version: String?

        @Option(
            help: ArgumentHelp(
                "Canary percents, increasing, ending at 100 (default: rollout.steps).", valueName: "10,50,100"))
        var steps: String?

        @Option(
            help: ArgumentHelp(
                "How long each step runs before it is judged (default: rollout.interval).", valueName: "duration"))
        var interval: String?

        @Option(
            help: ArgumentHelp(
                "Proceed past a deny or inconclusive infrastructure decision; the reason is recorded.",
                valueName: "reason"))
        var override: String?

        @Option(help: ArgumentHelp("How long the candidate may take to become healthy.", valueName: "duration"))
        var timeout: String = "120s"

        func run() async throws {
            let console = global.console
            let steps = try self.steps.map { text -> [Int] in
                switch RolloutSteps.parse(text) {
                case .success(let steps): return steps
                case .failure(let error): throw ValidationError(error.errorDescription ?? "\(error)")
                }
            }
            let interval = try self.interval.map { try LifecycleCLI.duration($0, option: "--interval") }
            let timeout = try LifecycleCLI.duration(timeout, option: "--timeout")
            let report = try await RolloutCommand.workflow(global, healthTimeout: timeout.seconds)
                .start(
                    image: image, version: version, steps: steps, interval: interval,
                    override: override.map { OverrideRequest(reason: $0) }, progress: LifecycleCLI.progress(console))
            try RolloutCommand.finish(report, console: console)
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Continue a paused or interrupted rollout from its current step.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let report = try await RolloutCommand.workflow(global).resume(
                progress: LifecycleCLI.progress(global.console))
            try RolloutCommand.finish(report, console: global.console)
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause", abstract: "Pause the rollout after its current sample.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let report = try await RolloutCommand.workflow(global).control(
                "pause", override: nil, progress: LifecycleCLI.progress(global.console))
            try RolloutCommand.finish(report, console: global.console)
        }
    }

    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "abort",
            abstract: "End the rollout: all traffic to stable at once, the candidate removed.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let report = try await RolloutCommand.workflow(global).control(
                "abort", override: nil, progress: LifecycleCLI.progress(global.console))
            global.console.print(report.message)
            if report.outcome == .requested { return }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "promote",
            abstract: "Skip the remaining steps and make the candidate the new stable (recorded like an override).")
        @OptionGroup var global: GlobalOptions

        @Option(
            help: ArgumentHelp(
                "Why the remaining steps are skipped; recorded with your user name.", valueName: "reason"))
        var override: String?

        func run() async throws {
            if let override, override.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw ValidationError("--override needs a reason, got an empty one")
            }
            let report = try await RolloutCommand.workflow(global)
                .control(
                    "promote", override: override.map { OverrideRequest(reason: $0) },
                    progress: LifecycleCLI.progress(global.console))
            try RolloutCommand.finish(report, console: global.console)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "The rollout's state, from the history and the running containers.")
        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @OptionGroup var global: GlobalOptions

        @Option(help: "Output format: text or json.")
        var format: Format = .text

        func run() async throws {
            let console = global.console
            // The project's own runtime (Compose, or the Swarm stack's tasks), as every lifecycle command picks it.
            let context = try LifecycleCLI.context(global)
            let containers = try? await context.runtime.containers()
            // On Swarm, nginx's weight label beside the history's weight (a failure to read it is shown, not hidden).
            var label: Result<String, any Error>? = nil
            if let swarm = context.runtime as? SwarmRuntime {
                do { label = .success(try await swarm.nginxWeightLabel()) } catch { label = .failure(error) }
            }
            let status = try RolloutStateReader(manifest: context.manifest).status(
                containers: containers, nginxWeightLabel: label)
            switch format {
            case .json:
                console.print(status.json.jsonString())
            case .text:
                console.print("rollout: \(status.state.rawValue)\(status.interrupted ? " (interrupted)" : "")")
                if status.state != .none {
                    let label =
                        status.nginxWeightLabel.map { "; nginx's label: \($0.isEmpty ? "none" : $0 + "%")" } ?? ""
                    console.print(
                        """
                          step \(status.step + 1)/\(status.steps.count), candidate weight \(status.weight)% \
                        (history\(label))  (steps \(status.steps.map { "\($0)%" }.joined(separator: ", ")), \
                        \(status.interval) each)
                        """
                    )
                }
                for (name, side) in [("stable", status.stable), ("canary", status.canary)] {
                    guard let side else { continue }
                    let replicas =
                        side.replicas.map { total in ", \(side.running ?? 0)/\(total) replicas running" } ?? ""
                    console.print("  \(name): \(side.image) (version \(side.version))\(replicas)")
                    for replica in side.notRunning { console.print("    not running: \(replica)") }
                }
                if let verdict = status.lastVerdict {
                    console.print("  last decision: \(verdict)")
                    for reason in status.lastReasons { console.print("    - \(reason)") }
                }
                if containers == nil {
                    console.print(
                        "  note: the container engine could not be asked; the state is from the history alone")
                }
                for note in status.notes { console.print("  note: \(note)") }
            }
        }
    }
}
