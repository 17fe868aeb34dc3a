import Foundation

/// History lines for commands that act on a manifest without a policy decision (`init`, `validate`):
/// the event, its outcome, the manifest and thresholds hashes, and the mode (unchanged by these commands).
public enum ProjectHistory {
    public static func entry(event: HistoryEvent, manifest: Manifest, outcome: String, message: String,
                             details: [String: JSONValue] = [:]) -> HistoryEntry {
        let hashes = manifest.fileHashes()
        return HistoryEntry(event: event, outcome: outcome, message: message, manifestHash: hashes.manifest,
                            thresholdsHash: hashes.thresholds, modeBefore: manifest.services.mode.rawValue,
                            modeAfter: manifest.services.mode.rawValue, details: details)
    }

    /// Appends `entry` to the manifest's history. Returns the error message instead of throwing, for commands
    /// whose own work is done and must not be reported as failed because the record could not be written.
    @discardableResult
    public static func append(_ entry: HistoryEntry, for manifest: Manifest) async -> String? {
        do {
            try await HistoryLog(manifest: manifest).append(entry)
            return nil
        } catch {
            return (error as? LocalizedError)?.errorDescription ?? "\(error)"
        }
    }
}
