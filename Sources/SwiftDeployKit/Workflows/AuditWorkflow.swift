import Foundation

/// Where a project's history lives: `--history PATH` when given, else the manifest's `history.path`, else
/// `history.jsonl` next to the manifest when the manifest cannot be read (a history can be audited, or appended to,
/// without its project). A manifest that exists but does not load is said, never passed over in silence: its
/// `history.path` may name another file.
public struct HistoryLocation: Sendable {
    /// The history file.
    public var url: URL
    /// The manifest, when it loaded.
    public var manifest: Manifest?
    /// Why the manifest did not load, when the file exists: the caller prints it as a warning.
    public var manifestProblem: String?

    public init(manifest manifestURL: URL, override: URL?) {
        let loaded: Manifest?
        var problem: String?
        do {
            loaded = try ManifestLoader().load(from: manifestURL)
        } catch {
            loaded = nil
            if FileManager.default.fileExists(atPath: manifestURL.path) {
                problem = """
                    \(manifestURL.path) does not load (\(error)); the history read is \
                    \(override?.path ?? manifestURL.deletingLastPathComponent()
                        .appendingPathComponent(Manifest.Defaults.historyPath).path), and the manifest's history, \
                    report and slo settings are not used: fix the manifest (swiftdeploy validate), or pass --history
                    """
            }
        }
        manifest = loaded
        manifestProblem = problem
        url =
            override ?? loaded?.historyURL
            ?? manifestURL.deletingLastPathComponent().appendingPathComponent(Manifest.Defaults.historyPath)
    }
}

/// What `swiftdeploy audit` asks for.
public struct AuditRequest: Sendable {
    public var manifestURL: URL
    /// `--history`.
    public var history: URL?
    /// `--verify`: the chain only, no report.
    public var verifyOnly: Bool
    public var format: AuditFormat
    /// `--output`.
    public var output: URL?
    public var since: Date?
    public var until: Date?
    public var expectedHead: String?
    public var now: Date

    public init(
        manifestURL: URL, history: URL? = nil, verifyOnly: Bool = false, format: AuditFormat = .markdown,
        output: URL? = nil, since: Date? = nil, until: Date? = nil, expectedHead: String? = nil, now: Date = Date()
    ) {
        self.manifestURL = manifestURL
        self.history = history
        self.verifyOnly = verifyOnly
        self.format = format
        self.output = output
        self.since = since
        self.until = until
        self.expectedHead = expectedHead
        self.now = now
    }
}

/// What `swiftdeploy audit` found, and the warnings to print beside it.
public struct AuditOutcome: Sendable {
    public var summary: AuditSummary
    public var warnings: [String]
}

/// `swiftdeploy audit`: verifies the history's chain and, unless `verifyOnly`, writes the report with the delivery
/// figures (lead time from git) and, when the manifest has an slo block, each objective's compliance (Prometheus).
public struct AuditWorkflow: Sendable {
    public init() {}

    public func run(_ request: AuditRequest) async throws -> AuditOutcome {
        let location = HistoryLocation(manifest: request.manifestURL, override: request.history)
        let warnings = location.manifestProblem.map { [$0] } ?? []
        if request.verifyOnly {
            let summary = try AuditReport.verify(history: location.url, expectedHead: request.expectedHead)
            return AuditOutcome(summary: summary, warnings: warnings)
        }
        let manifest = location.manifest
        // The manifest's history.report names the Markdown report; other formats go beside it.
        let configured = manifest.map { manifest in
            request.format == .markdown
                ? manifest.reportURL
                : manifest.reportURL.deletingLastPathComponent().appendingPathComponent(request.format.defaultFileName)
        }
        let outputURL =
            request.output ?? configured
            ?? request.manifestURL.deletingLastPathComponent().appendingPathComponent(request.format.defaultFileName)
        var objectives: [ObjectiveCompliance] = []
        if let manifest, let slo = manifest.slo {
            let from = request.since ?? request.now.addingTimeInterval(-slo.windowSeconds)
            objectives = await SLOCollector().compliance(
                manifest: manifest, from: from, to: request.until ?? request.now)
        }
        let directory = manifest?.directory ?? request.manifestURL.deletingLastPathComponent()
        let git = DeliveryFiguresReader.git(in: directory)
        let summary = try await AuditReport.write(
            history: location.url, to: outputURL, format: request.format,
            options: AuditOptions(
                since: request.since, until: request.until, expectedHead: request.expectedHead, now: request.now,
                commitTime: git.commitTime, commitTimes: git.commitTimes, objectives: objectives))
        return AuditOutcome(summary: summary, warnings: warnings)
    }
}
