/// The lines of a text file as editors write them, "\n" or "\r\n" (Windows). Split at the Unicode scalar "\n":
/// Swift's `split(separator: "\n")` on a String compares Characters, and "\r\n" is one Character, so a file with
/// Windows line endings would be one line. Each line comes without its trailing "\r".
enum TextLines {
    static func split(_ text: String) -> [Substring] { Array(lines(text)) }

    /// The same lines one at a time, for readers that stop early (a policy's header ends at its `package` line):
    /// nothing after the last line asked for is looked at.
    static func lines(_ text: String) -> Lines { Lines(text: text, position: text.startIndex) }

    struct Lines: Sequence, IteratorProtocol {
        let text: String
        var position: String.Index?

        mutating func next() -> Substring? {
            guard let start = position else { return nil }
            // "\n" is one byte in UTF-8 and never part of another scalar: its index is a scalar boundary.
            let newline = text.utf8[start...].firstIndex(of: UInt8(ascii: "\n"))
            var line = text.unicodeScalars[start..<(newline ?? text.endIndex)]
            position = newline.map { text.utf8.index(after: $0) }
            if line.last == "\r" { line = line.dropLast() }
            return Substring(line)
        }
    }
}
