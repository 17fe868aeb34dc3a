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

    /// The process's start (`main.swift`). `swiftdeploy --version` alone is answered here, before the argument
    /// parser builds its command tree and before the concurrency runtime starts: the answer is the one ArgumentParser
    /// gives (the version on standard output, exit 0), in a fraction of the time (issue 15, finding 7: a CI pipeline
    /// calls it many times). Everything else runs ``entryPoint()`` in a task, and `dispatchMain()` hands the main queue
    /// to Dispatch (on Linux a worker thread drains it; the main thread ends with signals blocked, as under the async
    /// main before, so the signal sources of ``Interruption`` receive SIGINT and SIGTERM).
    public static func start(arguments: [String] = CommandLine.arguments) -> Never {
        if let answer = quickAnswer(Array(arguments.dropFirst())) {
            print(answer)
            Foundation.exit(0)
        }
        Task {
            await entryPoint()
            Foundation.exit(0)
        }
        dispatchMain()
    }

    /// What the command line `arguments` (without the program's name) prints without parsing, or nil when it needs
    /// the parser: only `--version` alone.
    static func quickAnswer(_ arguments: [String]) -> String? {
        arguments == ["--version"] ? configuration.version : nil
    }

    /// Runs the command line and maps every way it can end onto the exit-code contract (README): parse errors and
    /// `--help` as ArgumentParser answers them (64 / 0), a ``SwiftDeployFailure`` by its own status wherever it is
    /// thrown (also from `validate()`, so an invalid domain name is 64, not 1), a ``CommandFailure`` by its status,
    /// and any other error as an operation failure (3) with its description: never an accidental 1.
    public static func entryPoint() async {
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            Foundation.exit(finish(error))
        }
        do {
            var command = command
            if let asyncCommand = command as? AsyncParsableCommand {
                // SIGINT and SIGTERM cancel it: its children are stopped and an action it began is closed as
                // interrupted (exit 130).
                let box = CommandBox(asyncCommand)
                try await Interruption.shared.run { try await box.run() }
            } else {
                try command.run()
            }
        } catch {
            Foundation.exit(finish(error))
        }
    }

    /// The exit status for `error` (after printing what the user needs to read).
    static func finish(_ error: Error) -> Int32 {
        let status = exitStatus(for: error)
        switch error {
        case let failure as SwiftDeployFailure:
            Console.standardError.error(failure.errorDescription ?? "\(failure)")
        case is CommandFailure:
            break
        default:
            if isArgumentParserError(error) {
                let message = fullMessage(for: error)
                if !message.isEmpty {
                    if status.rawValue == 0 {
                        print(message)
                    } else {
                        FileHandle.standardError.write(Data((message + "\n").utf8))
                    }
                }
            } else {
                Console.standardError.error(
                    """
                    unexpected failure: \(error.localizedDescription) (\(String(reflecting: type(of: error)))); \
                    nothing more is known: run again with --verbose and report it if it persists
                    """
                )
            }
        }
        return status.rawValue
    }

    /// Where `error` lands in the exit-code contract.
    static func exitStatus(for error: Error) -> ExitStatus {
        switch error {
        case let failure as SwiftDeployFailure: return failure.exitStatus
        case let failure as CommandFailure: return failure.status
        default:
            guard isArgumentParserError(error) else { return .operationFailed }
            let code = exitCode(for: error).rawValue
            // ArgumentParser answers 0 (help, version) or 64 (usage); anything else is not in the contract.
            return ExitStatus(rawValue: code) ?? (code == 0 ? .success : .usage)
        }
    }

    /// Whether ArgumentParser produced `error` (a parse or validation error, help, a clean exit).
    static func isArgumentParserError(_ error: Error) -> Bool {
        if error is ValidationError || error is CleanExit || error is ExitCode { return true }
        // The type's name without `String(reflecting:)`, whose look-ups of printing protocols scan every conformance
        // record of the static binary.
        return _typeName(type(of: error), qualified: true).hasPrefix("ArgumentParser.")
    }
}

/// The parsed command, handed to the task ``Interruption`` runs it in (ArgumentParser's commands are not `Sendable`;
/// only that task touches it).
private final class CommandBox: @unchecked Sendable {
    private var command: AsyncParsableCommand
    init(_ command: AsyncParsableCommand) { self.command = command }
    func run() async throws { try await command.run() }
}

/// Thrown by a command that has already printed its own report and only needs
/// to exit with a status from the contract (for example a failed check list).
public struct CommandFailure: Error {
    public let status: ExitStatus
    public init(_ status: ExitStatus) { self.status = status }
}
