import ArgumentParser
import Foundation
import SwiftDeployKit

/// The root command. Each subcommand lives in its own file and its `run()`
/// orchestrates library calls; it computes nothing itself.
public struct SwiftDeployCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "swiftdeploy",
        abstract: "Declarative deploys with policy gates: one manifest.yaml, generated nginx and Compose files.",
        version: SwiftDeployVersion.current,
        subcommands: [
            InitCommand.self,
            ValidateCommand.self,
            AuditCommand.self,
            HistoryCommand.self,
            PolicyCommand.self,
            GateCommand.self,
            DeployCommand.self,
            PromoteCommand.self,
            RolloutCommand.self,
            TeardownCommand.self,
            StatusCommand.self,
        ]
    )

    public init() {}

    /// Runs the command line and maps every failure onto the exit-code contract.
    public static func entryPoint() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as SwiftDeployFailure {
            Console.standardError.error(failure.errorDescription ?? "\(failure)")
            Foundation.exit(failure.exitStatus.rawValue)
        } catch let exit as CommandFailure {
            Foundation.exit(exit.status.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}

/// Thrown by a command that has already printed its own report and only needs
/// to exit with a status from the contract (for example a failed check list).
public struct CommandFailure: Error {
    public let status: ExitStatus
    public init(_ status: ExitStatus) { self.status = status }
}
