import Foundation

/// Failures of the history log and the audit report. Each message names the
/// file, the value involved and what to do next.
public enum HistoryError: SwiftDeployFailure, Equatable {
    /// The history file (or its directory) could not be opened or created.
    case cannotOpen(path: String, reason: String)
    /// The exclusive lock could not be taken.
    case cannotLock(path: String, reason: String)
    /// There is no history file yet.
    case missing(path: String)
    /// Reading the file failed part-way.
    case readFailed(path: String, reason: String)
    /// Writing or syncing the new line failed; the line may be torn and the next append seals it.
    case writeFailed(path: String, reason: String)
    /// No intact record in the last `scannedBytes` of a non-empty file: it is not a swiftdeploy history.
    case notAHistory(path: String, scannedBytes: Int)
    /// `--since`/`--until` or another time argument did not parse.
    case invalidTime(value: String)
    /// A requested output could not be written.
    case cannotWriteReport(path: String, reason: String)
    /// An option value outside its domain (for example an unknown `--format`).
    case invalidArgument(name: String, value: String, expected: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .cannotOpen, .cannotLock, .writeFailed, .cannotWriteReport: return .operationFailed
        case .missing, .readFailed, .notAHistory: return .invalidInput
        case .invalidTime, .invalidArgument: return .usage
        }
    }

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason):
            return
                """
                cannot open history file '\(path)': \(reason); check that the directory exists and is writable, \
                or pass another path with --history
                """
        case let .cannotLock(path, reason):
            return
                """
                cannot lock history file '\(path)' for appending: \(reason); the file system must support \
                flock(2) (local disks do, some network mounts do not)
                """
        case let .missing(path):
            return
                """
                no history at '\(path)': nothing has been recorded there yet; run a command that records (deploy, \
                promote, gate…) or 'swiftdeploy history append', or pass the right file with --history
                """
        case let .readFailed(path, reason):
            return
                """
                cannot read history file '\(path)': \(reason); check its permissions, or pass another path with \
                --history
                """
        case let .writeFailed(path, reason):
            return
                """
                cannot write to history file '\(path)': \(reason); free disk space or fix permissions, then retry \
                (a partly written line is sealed by the next append and reported by 'swiftdeploy audit')
                """
        case let .notAHistory(path, scannedBytes):
            return
                """
                '\(path)' does not look like a swiftdeploy history: no intact record in its last \(scannedBytes) \
                bytes; point --history at the right file, or move this one aside so a new history can start
                """
        case let .invalidTime(value):
            return
                """
                invalid time '\(value)': use RFC 3339 (2026-05-01T12:00:00Z), a date (2026-05-01, UTC midnight) \
                or a duration back from now (90m, 12h, 7d)
                """
        case let .cannotWriteReport(path, reason):
            return
                """
                cannot write report '\(path)': \(reason); check that the directory exists and is writable, or \
                choose another path with --output
                """
        case let .invalidArgument(name, value, expected):
            return "invalid value '\(value)' for \(name): expected \(expected)"
        }
    }
}
