/// One problem found in a manifest, with its position when YAML gives one.
///
/// Printed as `manifest.yaml:7:9: error: services.port must be 1-65535, got 70000`,
/// the form editors and CI annotations understand.
public struct ManifestProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// The key path the problem is about, e.g. `services.port`.
    public var path: String
    /// The full message, starting with the key path.
    public var message: String

    public init(file: String, line: Int?, column: Int?, path: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        if let line, let column { return "\(file):\(line):\(column): error: \(message)" }
        return "\(file): error: \(message)"
    }
}
