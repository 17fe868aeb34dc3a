import Foundation

/// Why a manifest could not be loaded.
public enum ManifestError: SwiftDeployFailure, Equatable {
    /// No file at the path.
    case notFound(path: String)
    /// The file exists but could not be read (permissions, not UTF-8, a directory).
    case unreadable(path: String, reason: String)
    /// The file was read; these problems were found (all of them, in file order).
    case invalid([ManifestProblem])

    public var exitStatus: ExitStatus { .invalidInput }

    public var errorDescription: String? {
        switch self {
        case .notFound(let path):
            return "manifest not found at \(path); create one (see README.md, 'Manifest') or pass --manifest PATH"
        case .unreadable(let path, let reason):
            return "cannot read manifest \(path): \(reason); check the file's permissions and that it is UTF-8 text"
        case .invalid(let problems):
            let lines = problems.map(\.description)
            let summary = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
            return
                (lines + [
                    "error: the manifest has \(summary); fix \(problems.count == 1 ? "it" : "them") and run again"
                ]).joined(separator: "\n")
        }
    }

    /// The problems, when the manifest was invalid.
    public var problems: [ManifestProblem] {
        if case .invalid(let problems) = self { return problems }
        return []
    }
}
