import ArgumentParser
import Foundation
import TestSupport
import Testing

@testable import SwiftDeployCLI

/// Walks every subcommand of the built binary through ArgumentParser's own description of the tool
/// (`--experimental-dump-help`), so a subcommand added later is checked without editing this test.
@Suite("Command tree")
struct CommandTreeTests {
    static let globalOptions = ["manifest", "no-color", "quiet", "verbose"]

    struct Command {
        let path: [String]
        let options: Set<String>
        /// A value for each required positional argument (the first allowed value where the tool lists them).
        let requiredPositionals: [String]
        let isLeaf: Bool
    }

    static func commands() async throws -> [Command] {
        let result = try await CLIRunner.run(
            ["--experimental-dump-help"], in: FileManager.default.temporaryDirectory, timeout: 60)
        guard result.status == 0,
            let root = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            let command = root["command"] as? [String: Any]
        else {
            throw TreeError.unreadable(
                "swiftdeploy --experimental-dump-help exited \(result.status): \(result.stderr.prefix(500))")
        }
        var found: [Command] = []
        func walk(_ node: [String: Any], _ path: [String]) {
            let name = node["commandName"] as? String ?? "?"
            let here = path + [name]
            let arguments = node["arguments"] as? [[String: Any]] ?? []
            let longNames = arguments.flatMap {
                ($0["names"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "long" }
            }
            .compactMap { $0["name"] as? String }
            // A value for every required argument: positionals as they are, required options after their name.
            let positionals = arguments.filter { $0["isOptional"] as? Bool != true }.flatMap { argument -> [String] in
                let value = (argument["allValues"] as? [String])?.first ?? "x"
                switch argument["kind"] as? String {
                case "positional": return [value]
                case "option":
                    let long =
                        (argument["names"] as? [[String: Any]] ?? []).first { $0["kind"] as? String == "long" }?["name"]
                        as? String
                    return long.map { ["--\($0)", value] } ?? []
                default: return []
                }
            }
            let children = (node["subcommands"] as? [[String: Any]] ?? []).filter {
                $0["commandName"] as? String != "help"
            }
            found.append(
                Command(path: here, options: Set(longNames), requiredPositionals: positionals, isLeaf: children.isEmpty)
            )
            for child in children { walk(child, here) }
        }
        walk(command, [])
        return found
    }

    enum TreeError: Error, CustomStringConvertible {
        case unreadable(String)
        var description: String {
            if case .unreadable(let s) = self { return s }
            return ""
        }
    }

    @Test func everySubcommandTakesTheGlobalOptions() async throws {
        let all = try await Self.commands()
        let leaves = all.filter(\.isLeaf)
        // The tree as the README documents it; a vanished subcommand must not make this test vacuous.
        #expect(leaves.count >= 12, "found only \(leaves.map { $0.path.joined(separator: " ") })")
        for name in ["policy eval", "policy bench", "policy test", "gate", "audit", "history append", "status"] {
            #expect(leaves.contains { $0.path.dropFirst().joined(separator: " ") == name }, "no subcommand '\(name)'")
        }
        for command in leaves {
            for option in Self.globalOptions where !command.options.contains(option) {
                Issue.record(
                    "'\(command.path.joined(separator: " "))' lacks the global option --\(option) the README promises")
            }
        }
    }

    @Test func globalOptionsParseOnEverySubcommand() async throws {
        // Not only declared: each leaf parses them (in process, without running) and they reach its GlobalOptions.
        for command in try await Self.commands() where command.isLeaf {
            let arguments =
                Array(command.path.dropFirst()) + command.requiredPositionals
                + ["--manifest", "elsewhere.yaml", "--no-color", "--quiet", "--verbose"]
            do {
                let parsed = try SwiftDeployCommand.parseAsRoot(arguments)
                let global = Mirror(reflecting: parsed).children.first {
                    $0.label == "_global" || $0.label == "global"
                }?.value
                let options = (global as? OptionGroup<GlobalOptions>)?.wrappedValue ?? global as? GlobalOptions
                #expect(
                    options?.manifest == "elsewhere.yaml" && options?.noColor == true && options?.quiet == true,
                    "swiftdeploy \(arguments.joined(separator: " ")): the global options did not reach the command")
            } catch {
                Issue.record(
                    """
                    swiftdeploy \(arguments.joined(separator: " ")) does not parse: \
                    \(SwiftDeployCommand.message(for: error))
                    """
                )
            }
        }
    }

    /// Every command names itself: without `commandName` ArgumentParser derives the name from the type with
    /// `String(describing:)` at every start, a dynamic cast that scans all of the binary's protocol conformances (the
    /// largest part of `swiftdeploy --version`'s start-up before it was named; benchmarks/startup).
    @Test func everyCommandNamesItself() async {
        func walk(_ command: ParsableCommand.Type, _ path: [String]) async {
            let name = command.configuration.commandName
            #expect(
                name != nil, "\((path + ["\(command)"]).joined(separator: " ")) has no commandName in its configuration"
            )
            for subcommand in command.configuration.subcommands {
                await walk(subcommand, path + [name ?? "\(command)"])
            }
        }
        await walk(SwiftDeployCommand.self, [])
        #expect(
            RolloutCommand.configuration.subcommands.map { $0.configuration.commandName ?? "-" }
                == ["start", "status", "pause", "resume", "abort", "promote"])
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptsNameEverySubcommand(_ shell: String) async throws {
        let result = try await CLIRunner.run(
            ["--generate-completion-script", shell], in: FileManager.default.temporaryDirectory, timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        for command in try await Self.commands() where command.path.count == 2 {
            #expect(result.stdout.contains(command.path[1]), "the \(shell) completion lacks '\(command.path[1])'")
        }
        #expect(result.stdout.contains("manifest"), "the \(shell) completion lacks the global --manifest")
    }
}

/// The man page (README: `scripts/generate-manual`, issue 15 finding 9). ArgumentParser's GenerateManual plugin runs
/// the built `swiftdeploy --experimental-dump-help` and writes one section per command from that description: its
/// name, its abstract and each shown option's help. Running the plugin here would build its tool in the package's
/// .build while this suite runs from it (a second build on one build database, minutes on this machine), so the
/// suite checks what the plugin reads; the plugin itself was run by hand when this test was written.
@Suite("Man page input")
struct ManualInputTests {
    /// What would make the page wrong or empty: a version of the description the plugin cannot read, a command
    /// without an abstract, a shown option or argument without help. Empty when there is nothing.
    static func problems(_ dump: [String: Any]) -> [String] {
        var found: [String] = []
        if dump["serializationVersion"] as? Int != 0 {
            found.append(
                "serializationVersion \(dump["serializationVersion"] ?? "none"): GenerateManual reads version 0")
        }
        guard let root = dump["command"] as? [String: Any] else { return found + ["no command"] }
        func walk(_ node: [String: Any], _ path: [String]) {
            let here = path + [node["commandName"] as? String ?? "?"]
            let name = here.joined(separator: " ")
            if ((node["abstract"] as? String) ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                found.append("'\(name)' has no abstract")
            }
            for argument in node["arguments"] as? [[String: Any]] ?? []
            where argument["shouldDisplay"] as? Bool != false {
                if ((argument["abstract"] as? String) ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                    let label =
                        (argument["names"] as? [[String: Any]])?.first?["name"] as? String ?? argument["valueName"]
                        as? String ?? "?"
                    found.append("'\(name)': '\(label)' has no help")
                }
            }
            for child in node["subcommands"] as? [[String: Any]] ?? [] where child["commandName"] as? String != "help" {
                walk(child, here)
            }
        }
        walk(root, [])
        return found
    }

    static func dump() async throws -> [String: Any] {
        let result = try await CLIRunner.run(
            ["--experimental-dump-help"], in: FileManager.default.temporaryDirectory, timeout: 60)
        guard result.status == 0,
            let dump = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        else {
            throw CommandTreeTests.TreeError.unreadable(
                "swiftdeploy --experimental-dump-help exited \(result.status): \(result.stderr.prefix(500))")
        }
        return dump
    }

    @Test(.requires(.swiftdeployBinary))
    func everyCommandOfThePageHasItsTextAndThePluginCanReadIt() async throws {
        let dump = try await Self.dump()
        #expect(Self.problems(dump) == [])
        // Not vacuous: the page's commands are the README's.
        let commands = try await CommandTreeTests.commands()
        #expect(commands.count >= 20, "\(commands.map { $0.path.joined(separator: " ") })")
        for name in ["init", "validate", "deploy", "promote", "teardown", "status", "gate", "audit", "rollout start"] {
            #expect(commands.contains { $0.path.dropFirst().joined(separator: " ") == name }, "no '\(name)'")
        }
    }

    /// The check finds each kind of problem in a description made to have them.
    @Test func theCheckFindsAMissingAbstractAndMissingHelp() throws {
        let text = """
            {"serializationVersion": 0, "command": {"commandName": "tool", "abstract": "A tool.", "arguments": [],
             "subcommands": [
               {"commandName": "good", "abstract": "Fine.", "arguments": [
                 {"kind": "option", "names": [{"kind": "long", "name": "shown"}], "abstract": "Help."},
                 {"kind": "option", "names": [{"kind": "long", "name": "hidden"}], "shouldDisplay": false}]},
               {"commandName": "bare", "arguments": [
                 {"kind": "option", "names": [{"kind": "long", "name": "undocumented"}]}]},
               {"commandName": "help", "arguments": []}]}}
            """
        let dump = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Self.problems(dump) == ["'tool bare' has no abstract", "'tool bare': 'undocumented' has no help"])
        var newer = dump
        newer["serializationVersion"] = 1
        #expect(Self.problems(newer).first?.hasPrefix("serializationVersion 1") == true)
    }
}

/// The runner behind `runGate`, `PolicyCommandTests` and the end-to-end tests.
@Suite("CLI runner")
struct CLIRunnerTests {
    @Test func aChildFillingStderrBeforeStdoutCannotDeadlockTheRunner() async throws {
        // 1 MiB on stderr first: far more than a pipe buffer, so reading stdout to its end first would hang.
        let script = "head -c 1048576 /dev/zero | tr '\\0' x >&2; cat; echo done"
        let started = Date()
        let result = try await CLIRunner.run(
            executable: URL(fileURLWithPath: "/bin/sh"), ["-c", script],
            in: FileManager.default.temporaryDirectory, input: "from stdin\n", timeout: 60)
        #expect(result.status == 0)
        #expect(result.stderr.utf8.count == 1_048_576)
        #expect(result.stdout == "from stdin\ndone\n")
        #expect(
            Date().timeIntervalSince(started) < 50, "the runner waited for its timeout instead of draining the pipes")
    }
}
