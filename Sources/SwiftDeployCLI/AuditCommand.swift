import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy audit`: verifies the history's hash chain and writes the report.
///
/// Exit status: 0 chain intact (and head as expected), 1 chain broken or
/// `--expect-head` mismatch (the report is still written), 65 history
/// missing or unreadable, 3 report could not be written, 64 bad arguments.
public struct AuditCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify the history's hash chain and write a report (Markdown, HTML or JSON).",
        discussion: """
            The whole chain is always checked; --since/--until bound only what the report counts.
            Exit status: 0 intact, 1 chain broken or head mismatch, 65 history missing or unreadable, 3 write failed.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var location: HistoryLocationOptions

    @Flag(name: .long, help: "Only verify the chain and print the head hash; write no report.")
    var verify = false

    @Option(
        name: .long,
        help: ArgumentHelp("Fail (exit 1) unless the head hash is this one (a copy kept elsewhere).", valueName: "hash")
    )
    var expectHead: String?

    @Option(name: .long, help: ArgumentHelp("Report format: md, html or json.", valueName: "format"))
    var format: AuditFormat = .markdown

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where to write the report (default: audit_report.<md|html|json> next to the manifest).", valueName: "path")
    )
    var output: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Count only lines from this time: RFC 3339, a date, or a duration back (7d, 12h).", valueName: "time"))
    var since: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Count only lines up to this time: RFC 3339, a date, or a duration back.", valueName: "time")
    )
    var until: String?

    public init() {}

    public func validate() throws {
        if let expectHead, !(expectHead.count == 64 && expectHead.allSatisfy(\.isHexDigit)) {
            throw ValidationError(
                """
                --expect-head must be a 64-digit SHA-256 hex hash as printed by 'swiftdeploy audit', got \
                '\(expectHead)'
                """
            )
        }
    }

    public func run() async throws {
        let console = global.console
        let historyURL = location.url(manifest: global.manifestURL)
        let now = Date()
        let sinceDate = try since.map { try HistoryTime.parseBound($0, now: now) }
        let untilDate = try until.map { try HistoryTime.parseBound($0, now: now) }
        if let s = sinceDate, let u = untilDate, s > u {
            throw ValidationError("--since (\(HistoryTime.format(s))) is after --until (\(HistoryTime.format(u)))")
        }

        let summary: AuditSummary
        if verify {
            summary = try AuditReport.verify(history: historyURL, expectedHead: expectHead)
        } else {
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            // The manifest's history.report names the Markdown report; other formats go beside it.
            let manifest = try? ManifestLoader().load(from: global.manifestURL)
            let configured = manifest.map { manifest in
                format == .markdown
                    ? manifest.reportURL
                    : manifest.reportURL.deletingLastPathComponent().appendingPathComponent(format.defaultFileName)
            }
            let outputURL =
                output.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL }
                ?? configured
                ?? global.manifestURL.deletingLastPathComponent().appendingPathComponent(format.defaultFileName)
            // Lead time for changes from git (the project's repository); each objective's compliance over the period
            // from Prometheus, when the manifest has an slo block.
            var objectives: [ObjectiveCompliance] = []
            if let manifest, manifest.slo != nil {
                let from = sinceDate ?? now.addingTimeInterval(-(manifest.slo?.windowSeconds ?? 30 * 86_400))
                objectives = await SLOCollector().compliance(manifest: manifest, from: from, to: untilDate ?? now)
            }
            let directory = manifest?.directory ?? global.manifestURL.deletingLastPathComponent()
            let git = DeliveryFiguresReader.git(in: directory)
            summary = try await AuditReport.write(
                history: historyURL, to: outputURL, format: format,
                options: AuditOptions(
                    since: sinceDate, until: untilDate, expectedHead: expectHead, now: now,
                    commitTime: git.commitTime, commitTimes: git.commitTimes,
                    objectives: objectives))
        }
        report(summary, console: console)
        if summary.exitStatus != .success { throw CommandFailure(summary.exitStatus) }
    }

    private func report(_ s: AuditSummary, console: Console) {
        let name = s.history.path
        let c = s.chain
        for torn in c.tornLines {
            console.warning(
                "\(name):\(torn.line): torn line (a write cut short by a crash)"
                    + (torn.sealed
                        ? "; sealed by the next append, the chain continues past it" : "; the next append will seal it")
            )
        }
        if c.tornCount > c.tornLines.count {
            console.warning("\(name): \(c.tornCount - c.tornLines.count) more torn lines not listed")
        }
        if let b = c.firstBreak {
            console.error(
                "\(name):\(b.line): error: chain broken: \(b.message)"
                    + (c.breakCount > 1 ? " (\(c.breakCount) breaks in all)" : "")
                    + "; restore the file from a copy, or keep it as evidence and start a new history")
        } else {
            console.info(console.colored("chain intact", .green) + ": \(c.records) records in \(c.lines) lines")
        }
        if s.headMatches == false {
            console.error(
                """
                \(name): error: head hash \(c.head) does not match the expected \(expectHead ?? ""): the end of \
                the history was rewritten or removed
                """
            )
        }
        console.print("head \(c.head) (record #\(c.headSequence))")
        if let output = s.output {
            console.info(
                """
                wrote \(output.path): \(s.records) records in period, \(s.violations) violations, \(s.overrides) \
                overrides
                """
            )
        }
    }
}

extension AuditFormat: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "md", "markdown": self = .markdown
        case "html": self = .html
        case "json": self = .json
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["md", "html", "json"] }
}
