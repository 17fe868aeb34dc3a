import Foundation

/// Human output. Colour only when the stream is a TTY, never when `NO_COLOR`
/// is set or `--no-color` was given. Machine formats (json, junit, github)
/// must not go through the colouring helpers.
public struct Console: Sendable {
    public enum Verbosity: Int, Sendable { case quiet, normal, verbose }

    public enum Stream: Sendable { case output, error }

    public let verbosity: Verbosity
    public let stream: Stream
    public let useColor: Bool

    public init(
        verbosity: Verbosity = .normal, colorDisabled: Bool = false, stream: Stream = .output,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.verbosity = verbosity
        self.stream = stream
        let fd = stream == .output ? STDOUT_FILENO : STDERR_FILENO
        let noColorEnv = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        self.useColor = !colorDisabled && !noColorEnv && isatty(fd) == 1 && environment["TERM"] != "dumb"
    }

    public static var standardError: Console { Console(stream: .error) }

    /// Always printed (results, machine output).
    public func print(_ text: String) { write(text + "\n") }

    /// Printed unless `--quiet`.
    public func info(_ text: String) { if verbosity != .quiet { write(text + "\n") } }

    /// Printed only with `--verbose`.
    public func detail(_ text: String) { if verbosity == .verbose { write(text + "\n") } }

    /// `error: …` on standard error, whatever this console's stream.
    public func error(_ text: String) {
        let console = Console(verbosity: verbosity, colorDisabled: !useColor, stream: .error)
        let line = text.hasPrefix("error:") || text.contains(": error: ") ? text : "error: \(text)"
        FileHandle.standardError.write(Data((console.colored(line, .red) + "\n").utf8))
    }

    public func warning(_ text: String) {
        FileHandle.standardError.write(Data((colored("warning: ", .yellow) + text + "\n").utf8))
    }

    public enum Color: String, Sendable {
        case red = "31", green = "32", yellow = "33", blue = "34", magenta = "35", cyan = "36", gray = "90", bold = "1"
    }

    public func colored(_ text: String, _ color: Color) -> String {
        useColor ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }

    private func write(_ text: String) {
        let handle = stream == .output ? FileHandle.standardOutput : FileHandle.standardError
        handle.write(Data(text.utf8))
    }
}
