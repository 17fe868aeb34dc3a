import Foundation

/// Regular expressions compiled once per process. `String.range(of:options: .regularExpression)` compiles its
/// pattern with ICU on every call, which made loading a manifest (a dozen grammar checks) a measurable part of a
/// command's start-up. ``matches(_:_:)`` gives the same answer as `s.range(of: pattern, options: .regularExpression)
/// != nil` (no options, the whole string searched) from a pattern compiled the first time it is asked for.
///
/// A pattern in ``PatternMatcher``'s syntax (every pattern of the manifest grammar and the renderers' guards) runs
/// there, without ICU, whose set-up cost about 2 ms of every command's start; any other pattern runs in ICU.
enum CompiledPatterns {
    private enum Compiled {
        case matcher(PatternMatcher)
        case icu(NSRegularExpression)
        case invalid
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var compiled: [String: Compiled] = [:]

    /// Whether `pattern` matches somewhere in `s`. An invalid pattern (a programming error: the patterns are
    /// literals) never matches.
    static func matches(_ s: String, _ pattern: String) -> Bool {
        switch expression(for: pattern) {
        case .matcher(let matcher): return matcher.matches(s)
        case .icu(let expression):
            return expression.firstMatch(in: s, options: [], range: NSRange(s.startIndex..., in: s)) != nil
        case .invalid: return false
        }
    }

    /// `matches`, and false for a value ending in a line terminator: ICU's `$` (and ``PatternMatcher``'s, which
    /// answers as ICU) also matches before one final line terminator, where ECMA-262's (the JSON Schema's) does not.
    /// For guards, whose patterns admit no line terminator at the end: the manifest grammar and the renderers'.
    static func matchesStrictly(_ s: String, _ pattern: String) -> Bool {
        if let last = s.unicodeScalars.last, PatternMatcher.ScalarSet.isLineTerminator(last.value) { return false }
        return matches(s, pattern)
    }

    /// Whether `pattern` runs without ICU (tests hold every pattern of the code to it).
    static func runsWithoutICU(_ pattern: String) -> Bool {
        if case .matcher = expression(for: pattern) { return true }
        return false
    }

    private static func expression(for pattern: String) -> Compiled {
        lock.lock()
        defer { lock.unlock() }
        if let known = compiled[pattern] { return known }
        let made: Compiled
        if let matcher = try? PatternMatcher(pattern) {
            made = .matcher(matcher)
        } else if let expression = try? NSRegularExpression(pattern: pattern) {
            made = .icu(expression)
        } else {
            made = .invalid
        }
        compiled[pattern] = made
        return made
    }
}
