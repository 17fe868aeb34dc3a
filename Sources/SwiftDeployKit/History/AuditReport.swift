import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The formats `audit` writes.
public enum AuditFormat: String, Sendable, CaseIterable {
    /// GitHub-flavoured Markdown (`audit_report.md`).
    case markdown = "md"
    /// A self-contained HTML page with inline SVG charts.
    case html
    /// Machine-readable JSON (`schema: swiftdeploy.audit/v1`), stable API.
    case json

    /// The default file name for this format.
    public var defaultFileName: String {
        switch self {
        case .markdown: return "audit_report.md"
        case .html: return "audit_report.html"
        case .json: return "audit_report.json"
        }
    }
}

/// What bounds and checks an audit run.
public struct AuditOptions: Sendable {
    /// Only lines at or after this time count (the chain is always checked whole).
    public var since: Date?
    /// Only lines at or before this time count.
    public var until: Date?
    /// A head hash kept elsewhere: a mismatch means the end of the history was rewritten or cut.
    public var expectedHead: String?
    /// When the report is generated (printed in it).
    public var now: Date
    /// Resolves a commit to its time (Unix seconds) for the lead time for changes; nil leaves lead time out.
    public var commitTime: (@Sendable (String) async -> Double?)?
    /// Resolves many commits at once (the same answers as `commitTime`; unknown ones absent); preferred over
    /// `commitTime` when set: one git process for thousands of changes rather than one each.
    public var commitTimes: (@Sendable ([String]) async -> [String: Double])?
    /// Each objective's compliance over the period, measured by the caller (from Prometheus); shown as given.
    public var objectives: [ObjectiveCompliance]

    public init(
        since: Date? = nil, until: Date? = nil, expectedHead: String? = nil, now: Date = Date(),
        commitTime: (@Sendable (String) async -> Double?)? = nil,
        commitTimes: (@Sendable ([String]) async -> [String: Double])? = nil,
        objectives: [ObjectiveCompliance] = []
    ) {
        self.commitTimes = commitTimes
        self.since = since
        self.until = until
        self.expectedHead = expectedHead
        self.now = now
        self.commitTime = commitTime
        self.objectives = objectives
    }
}

/// The outcome of an audit: what the command prints and how it exits.
public struct AuditSummary: Sendable {
    public var history: URL
    public var chain: HistoryChainStatus
    /// nil when no `expectedHead` was given.
    public var headMatches: Bool?
    /// Intact records in the period.
    public var records: Int
    public var events: [String: Int]
    public var verdicts: [String: Int]
    public var currentMode: String?
    public var delivery: AuditDelivery
    public var violations: Int
    public var overrides: Int
    public var firstTime: Date?
    public var lastTime: Date?
    /// Where the report went (nil for `verify`).
    public var output: URL?

    /// `.failed` when the chain is broken or the head does not match; else `.success`.
    public var exitStatus: ExitStatus {
        chain.isIntact && headMatches != false ? .success : .failed
    }
}

/// `swiftdeploy audit`: one streaming pass over the history that verifies
/// the chain and gathers the report, then renders it.
public enum AuditReport {
    /// Checks the chain only (no report): fast, and what `audit --verify` runs.
    public static func verify(history: URL, expectedHead: String? = nil) throws -> AuditSummary {
        var verifier = HistoryChainVerifier()
        // Hashing and decoding depend on the line alone: they run on several threads; the chain is walked in order,
        // on this thread between blocks (the walk is too cheap to gain from overlapping the next block's hashing).
        try HistoryLineReader.forEachPreparedLine(in: history, overlap: false, makeContext: { HistoryJSONReader() }) {
            reader, bytes, terminated, digest in
            (hash: digest, link: terminated ? HistoryChainLink.decode(bytes, reader: reader) : nil)
        } consume: { line, number, terminated in
            verifier.consume(
                line: number, hash: line.hash, seq: line.link?.seq, prev: line.link?.prev, sealed: line.link?.sealed,
                terminated: terminated)
        }
        verifier.finish()
        let status = verifier.status
        return AuditSummary(
            history: history, chain: status, headMatches: expectedHead.map { headMatches($0, status.head) },
            records: status.records, events: [:], verdicts: [:], currentMode: nil,
            delivery: AuditDelivery(), violations: 0, overrides: 0, firstTime: nil, lastTime: nil, output: nil)
    }

    /// Writes the report for `history` to `output` (through a temporary file
    /// renamed into place) and returns what it found. Throws
    /// `HistoryError.readFailed` when the history cannot be read and
    /// `.cannotWriteReport` when the output cannot be written; a broken chain
    /// is not an error but shows in the report and in `exitStatus`.
    public static func write(
        history: URL, to output: URL, format: AuditFormat,
        options: AuditOptions = AuditOptions()
    ) async throws -> AuditSummary {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swiftdeploy-audit-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) } catch {
            throw HistoryError.cannotWriteReport(
                path: scratch.path, reason: "cannot create a scratch directory: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: scratch) }

        let accumulator = try AuditAccumulator(since: options.since, until: options.until, scratch: scratch)
        try HistoryLineReader.forEachPreparedLine(in: history, makeContext: { HistoryJSONReader() }) {
            reader, bytes, _, digest in
            AuditAccumulator.prepare(bytes, digest: digest, reader: reader)
        } consume: { line, number, terminated in
            try accumulator.consume(line, number: number, terminated: terminated)
        }
        try accumulator.finish()
        if let commitTimes = options.commitTimes {
            await accumulator.resolveLeadTimes(commitTimes)
        } else if let commitTime = options.commitTime {
            await accumulator.resolveLeadTimes { commits in
                var times: [String: Double] = [:]
                for commit in Set(commits) { if let time = await commitTime(commit) { times[commit] = time } }
                return times
            }
        }
        let status = accumulator.verifier.status
        let summary = AuditSummary(
            history: history, chain: status, headMatches: options.expectedHead.map { headMatches($0, status.head) },
            records: accumulator.records, events: accumulator.events, verdicts: accumulator.verdicts,
            currentMode: accumulator.currentMode, delivery: accumulator.delivery,
            violations: accumulator.violations.count, overrides: accumulator.overrides.count,
            firstTime: accumulator.firstTime, lastTime: accumulator.lastTime, output: output)

        let directory = output.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(
            ".\(output.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        do {
            let out: AuditOutput
            do { out = try AuditOutput(url: temporary) } catch {
                throw HistoryError.cannotWriteReport(
                    path: output.path, reason: "cannot create a file in '\(directory.path)'")
            }
            let renderer = AuditRenderer(summary: summary, accumulator: accumulator, options: options, out: out)
            switch format {
            case .markdown: try renderer.markdown()
            case .html: try renderer.html()
            case .json: try renderer.json()
            }
            try out.close()
            if rename(temporary.path, output.path) != 0 {
                throw HistoryError.cannotWriteReport(path: output.path, reason: HistoryLog.errnoText())
            }
        } catch let error as HistoryError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw HistoryError.cannotWriteReport(path: output.path, reason: error.localizedDescription)
        }
        return summary
    }

    static func headMatches(_ expected: String, _ head: String) -> Bool {
        expected.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == head
    }
}
