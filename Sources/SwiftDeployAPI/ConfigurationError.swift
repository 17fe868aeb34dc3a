import Foundation

/// The service's environment holds values it cannot start with. The service prints
/// every problem and exits with status 65 (invalid input) before it binds a port.
struct ConfigurationError: LocalizedError, Equatable {
    /// One invalid variable: its name, the value found, why it is wrong and what to do.
    struct Problem: Equatable, Sendable {
        var variable: String
        var value: String
        var reason: String
        var fix: String

        var message: String { "\(variable)='\(value)' \(reason); \(fix)" }
    }

    var problems: [Problem]

    var errorDescription: String? {
        if problems.count == 1 {
            return "invalid configuration: \(problems[0].message)"
        }
        return "invalid configuration (\(problems.count) problems):\n"
            + problems.map { "  - \($0.message)" }.joined(separator: "\n")
    }
}
