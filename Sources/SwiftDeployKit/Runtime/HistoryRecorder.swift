import Foundation

/// Records lifecycle events in the project's hash-chained history (`history.path`).
/// The manifest and thresholds are named by the SHA-256 of their bytes at the time of the record.
public struct HistoryRecorder: LifecycleRecording {
    public let log: HistoryLog
    /// The manifest file, hashed into every record.
    public let manifestURL: URL

    public init(log: HistoryLog, manifestURL: URL) {
        self.log = log
        self.manifestURL = manifestURL
    }

    /// The history of the manifest at `manifestURL`.
    public init(manifest: Manifest, manifestURL: URL) {
        self.init(log: HistoryLog(manifest: manifest), manifestURL: manifestURL)
    }

    public func record(_ record: LifecycleRecord, manifest: Manifest) throws {
        var details = record.details
        if let override = record.override { details["override_by"] = .string(override.who) }
        if let decision = record.decision, !decision.warnings.isEmpty {
            details["warnings"] = .array(decision.warnings.map(JSONValue.string))
        }
        let entry = HistoryEntry(
            event: record.event,
            outcome: record.outcome,
            message: record.message,
            manifestHash: (try? Data(contentsOf: manifestURL)).map(HistoryLog.sha256Hex(of:)),
            thresholdsHash: (try? Data(contentsOf: manifest.thresholdsURL)).map(HistoryLog.sha256Hex(of:)),
            modeBefore: record.modeBefore?.rawValue,
            modeAfter: record.modeAfter?.rawValue,
            decision: record.decision.map {
                HistoryDecision(domain: $0.domain, verdict: $0.verdict.rawValue, reasons: $0.reasons, engine: $0.engine, input: $0.input)
            },
            override: record.override.map { HistoryOverride(reason: $0.reason) },
            details: details)
        try log.append(entry)
    }
}
