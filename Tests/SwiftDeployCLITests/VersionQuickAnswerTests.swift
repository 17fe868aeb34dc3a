import ArgumentParser
import Foundation
import SwiftDeployKit
import TestSupport
import Testing

@testable import SwiftDeployCLI

/// `swiftdeploy --version` is answered before the argument parser starts (issue 15, finding 7): the same answer,
/// and only for that command line.
@Suite("--version answered before parsing")
struct VersionQuickAnswerTests {
    @Test func theAnswerIsTheOneTheParserGives() throws {
        let answer = try #require(SwiftDeployCommand.quickAnswer(["--version"]))
        #expect(answer == SwiftDeployVersion.current)
        do {
            _ = try SwiftDeployCommand.parseAsRoot(["--version"])
            Issue.record("the parser did not answer --version with a clean exit")
        } catch {
            #expect(SwiftDeployCommand.fullMessage(for: error) == answer)
            #expect(SwiftDeployCommand.exitStatus(for: error) == .success)
        }
    }

    @Test(arguments: [
        [], ["--version", "--quiet"], ["--quiet", "--version"], ["gate", "--version"], ["--Version"], ["--version="],
        ["-v"], ["--help"], ["version"], [" --version"],
    ])
    func anyOtherCommandLineGoesToTheParser(_ arguments: [String]) {
        #expect(SwiftDeployCommand.quickAnswer(arguments) == nil)
    }

    @Test(.requires(.swiftdeployBinary))
    func theBuiltProgramPrintsItsVersionAndSucceeds() async throws {
        let quick = try await CLIRunner.run(["--version"], in: FileManager.default.temporaryDirectory, timeout: 60)
        #expect(quick.status == 0)
        #expect(quick.stdout == SwiftDeployVersion.current + "\n")
        #expect(quick.stderr == "")
        // Through the parser (another option after it): the parser's own answer to the same question.
        let parsed = try await CLIRunner.run(
            ["--version", "--quiet"], in: FileManager.default.temporaryDirectory, timeout: 60)
        #expect(parsed.status == 0 && parsed.stdout == quick.stdout, "\(parsed)")
        // A command that runs through the task and the main queue still ends with its own status.
        let usage = try await CLIRunner.run(
            ["no-such-command"], in: FileManager.default.temporaryDirectory, timeout: 60)
        #expect(usage.status == 64, "\(usage)")
        let help = try await CLIRunner.run(["--help"], in: FileManager.default.temporaryDirectory, timeout: 60)
        #expect(help.status == 0 && help.stdout.contains("USAGE: swiftdeploy"), "\(help)")
    }
}
