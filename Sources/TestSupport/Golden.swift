import Foundation

/// Golden-file comparison: `assertGolden(actual, at:)` returns nil when the file
/// matches, otherwise a unified diff. With `SWIFTDEPLOY_RECORD=1` in the
/// environment it (re)writes the expected file instead; never edit expectations by hand.
public enum Golden {
    public static var recording: Bool { ProcessInfo.processInfo.environment["SWIFTDEPLOY_RECORD"] == "1" }

    public static func compare(_ actual: String, to expectedURL: URL) -> String? {
        if recording {
            try? Data(actual.utf8).write(to: expectedURL)
            return nil
        }
        guard let expected = try? String(contentsOf: expectedURL, encoding: .utf8) else {
            return "missing golden file \(expectedURL.path); record it with SWIFTDEPLOY_RECORD=1"
        }
        if expected == actual { return nil }
        return
            """
            \(expectedURL.lastPathComponent) differs from the golden file (re-record with SWIFTDEPLOY_RECORD=1 if \
            intended):\n
            """
                + diff(expected, actual)
    }

    /// A line diff, good enough to read a mismatch.
    public static func diff(_ expected: String, _ actual: String) -> String {
        let a = expected.components(separatedBy: "\n"), b = actual.components(separatedBy: "\n")
        var out: [String] = []
        let n = max(a.count, b.count)
        for i in 0..<n {
            let l = i < a.count ? a[i] : nil, r = i < b.count ? b[i] : nil
            if l != r {
                if let l { out.append("\(i + 1)- \(l)") }
                if let r { out.append("\(i + 1)+ \(r)") }
            }
            if out.count > 60 {
                out.append("…")
                break
            }
        }
        return out.joined(separator: "\n")
    }
}
