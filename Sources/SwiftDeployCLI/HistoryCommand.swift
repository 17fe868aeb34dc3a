import ArgumentParser
import Foundation
import SwiftDeployKit

/// Where the history lives: `--history PATH`, else `history.jsonl` next to the manifest.
struct HistoryLocationOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            The history file (default: the manifest's history.path; history.jsonl next to the manifest when the \
            manifest cannot be read).
            """,
            valueName: "path"))
    var history: String?

    /// `--history`, resolved against the current directory.
    var override: URL? {
        history.map {
            URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                .standardizedFileURL
        }
    }
}

/// `swiftdeploy history …`: work with the history directly.
public struct HistoryCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Record events in the tamper-evident history (history.jsonl).",
        subcommands: [HistoryAppendCommand.self]
    )
    public init() {}
}

/// `swiftdeploy history append`: lets a CI pipeline record its own events in
/// the same chained, locked, redacted log the other commands write.
public struct HistoryAppendCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append one event to the history (locked, fsynced, hash-chained; secrets redacted).",
        discussion: """
            Example: swiftdeploy history append --event deploy --outcome ok --message "release 1.4.2" --detail \
            duration_ms=5230
            Prints the new record's sequence number and the new head hash.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var location: HistoryLocationOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The event: \(HistoryEvent.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "event"))
    var event: HistoryEvent

    @Option(name: .long, help: "A short result word (ok, failed, refused…).")
    var outcome: String?

    @Option(name: .long, help: "One human sentence about what happened.")
    var message: String?

    @Option(name: .long, help: "Deployment mode before the event.")
    var modeBefore: String?

    @Option(name: .long, help: "Deployment mode after the event.")
    var modeAfter: String?

    @Option(name: .long, help: "For --event override: why the decision was overridden.")
    var reason: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Extra detail as key=value (value read as JSON when it parses, else as text); repeatable.",
            valueName: "key=value"))
    var detail: [String] = []

    @Option(name: .long, help: .hidden)
    var `repeat`: Int = 1

    public init() {}

    public func validate() throws {
        guard self.repeat >= 1 else { throw ValidationError("--repeat must be at least 1, got \(self.repeat)") }
        for item in detail where !item.contains("=") || item.hasPrefix("=") {
            throw ValidationError("--detail '\(item)' must be key=value, for example --detail duration_ms=5230")
        }
        if reason != nil && event != .override {
            throw ValidationError("--reason is only for --event override (got --event \(event.rawValue))")
        }
    }

    public func run() async throws {
        var details: [String: JSONValue] = [:]
        for item in detail {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let raw = parts.count > 1 ? String(parts[1]) : ""
            details[String(parts[0])] = (try? JSONValue.parse(Data(raw.utf8))) ?? .string(raw)
        }
        let entry = HistoryEntry(
            event: event, outcome: outcome, message: message, modeBefore: modeBefore, modeAfter: modeAfter,
            override: reason.map(HistoryOverride.init(reason:)), details: details)
        let place = HistoryLocation(manifest: global.manifestURL, override: location.override)
        if let problem = place.manifestProblem { global.console.warning(problem) }
        let log = HistoryLog(url: place.url)
        var last: HistoryRecord?
        for _ in 0..<self.repeat { last = try await log.append(entry) }
        if let last {
            global.console.info(
                "recorded #\(last.sequence) (\(last.entry.event.rawValue)) in \(log.url.path); head \(last.hash)")
        }
    }
}

extension HistoryEvent: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
