import Foundation

extension PolicyDecision {
    /// The history line for this decision: `event` (`gate`, `deploy`, `promote`, `status`), the verdict as the
    /// outcome, the reasons, engine and input (redacted by `HistoryLog`), warnings and timings in `details`.
    /// `manifest` gives the mode before and after and, with `hashes`, the manifest and thresholds hashes.
    public func historyEntry(event: HistoryEvent, manifest: Manifest, modeAfter: DeploymentMode? = nil,
                             hashes: Bool = true) -> HistoryEntry {
        var details: [String: JSONValue] = ["timings_ms": .object(timingsMs.mapValues { .double($0) })]
        if !warnings.isEmpty { details["warnings"] = .array(warnings.map { .string($0) }) }
        let first = reasons.first.map { ": \($0)" } ?? ""
        return HistoryEntry(
            event: event,
            outcome: verdict.rawValue,
            message: "\(domain) \(verdict.rawValue)\(first)",
            manifestHash: hashes ? manifest.fileHashes().manifest : nil,
            thresholdsHash: hashes ? manifest.fileHashes().thresholds : nil,
            modeBefore: manifest.services.mode.rawValue,
            modeAfter: (modeAfter ?? manifest.services.mode).rawValue,
            decision: HistoryDecision(domain: domain, verdict: verdict.rawValue, reasons: reasons, engine: engine, input: input),
            details: details)
    }
}
