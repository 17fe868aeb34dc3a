import Foundation

/// Regular expressions compiled once per process. `String.range(of:options: .regularExpression)` compiles its
/// pattern with ICU on every call, which made loading a manifest (a dozen grammar checks) a measurable part of a
/// command's start-up. ``matches(_:_:)`` gives the same answer as `s.range(of: pattern, options: .regularExpression)
/// != nil` (no options, the whole string searched) from a pattern compiled the first time it is asked for.
enum CompiledPatterns {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var compiled: [String: NSRegularExpression] = [:]

    /// Whether `pattern` matches somewhere in `s`. An invalid pattern (a programming error: the patterns are
    /// literals) never matches.
    static func matches(_ s: String, _ pattern: String) -> Bool {
        guard let expression = expression(for: pattern) else { return false }
        return expression.firstMatch(in: s, options: [], range: NSRange(s.startIndex..., in: s)) != nil
    }

    private static func expression(for pattern: String) -> NSRegularExpression? {
        lock.lock()
        defer { lock.unlock() }
        if let expression = compiled[pattern] { return expression }
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return nil }
        compiled[pattern] = expression
        return expression
    }
}
