/// An error from parsing, compiling or evaluating Rego.
///
/// `code` follows OPA: `rego_parse_error`, `rego_compile_error`,
/// `rego_recursion_error`, `rego_unsafe_var_error`, `eval_type_error`,
/// `eval_conflict_error`, `eval_builtin_error`, plus `invalid_json` for bad
/// JSON input and `eval_limit_error` when an evaluation exceeds its budget.
/// `description` reads like OPA's: `file:line:col: code: message`.
public struct RegoError: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: String
    public let message: String
    /// The module file name, when the error has a source location.
    public let file: String?
    /// 1-based line, when known.
    public let line: Int?
    /// 1-based column, when known.
    public let column: Int?

    public init(code: String, message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        var prefix = ""
        if let file {
            prefix = file
            if let line { prefix += ":\(line)" }
            if let column { prefix += ":\(column)" }
            prefix += ": "
        }
        return "\(prefix)\(code): \(message)"
    }

    static func typeError(_ message: String, _ loc: SourceLocation? = nil) -> RegoError {
        RegoError(code: "eval_type_error", message: message, file: loc?.file, line: loc?.line)
    }
    static func builtin(_ message: String, _ loc: SourceLocation? = nil) -> RegoError {
        RegoError(code: "eval_builtin_error", message: message, file: loc?.file, line: loc?.line)
    }
    static func conflict(_ message: String, _ loc: SourceLocation? = nil) -> RegoError {
        RegoError(code: "eval_conflict_error", message: message, file: loc?.file, line: loc?.line)
    }
    static func compile(_ message: String, _ loc: SourceLocation? = nil) -> RegoError {
        RegoError(code: "rego_compile_error", message: message, file: loc?.file, line: loc?.line, column: loc?.column)
    }
}

/// A position in a module's source.
public struct SourceLocation: Sendable, Hashable {
    public let file: String
    public let line: Int
    public let column: Int
}
