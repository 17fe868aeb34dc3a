/// The lines of a text file as editors write them, "\n" or "\r\n" (Windows). Split at the Unicode scalar "\n":
/// Swift's `split(separator: "\n")` on a String compares Characters, and "\r\n" is one Character, so a file with
/// Windows line endings would be one line. Each line comes without its trailing "\r".
enum TextLines {
    static func split(_ text: String) -> [Substring] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars in
            scalars.last == "\r" ? Substring(scalars.dropLast()) : Substring(scalars)
        }
    }
}
