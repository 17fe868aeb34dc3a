/// Leading and trailing blanks of a line: tabs, Unicode space separators (`Zs`) and U+200B, the set
/// `CharacterSet.whitespaces` holds. ``trimmed(_:)`` answers what `trimmingCharacters(in: .whitespaces)` does without
/// a round trip through Foundation's NSString per line, which was a visible part of loading a policy bundle.
enum HorizontalSpace {
    static func contains(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar == " " || scalar == "\t" }
        // CoreFoundation counts U+200B (zero width space, once a Zs) among the whitespace too.
        return scalar.properties.generalCategory == .spaceSeparator || scalar == "\u{200B}"
    }

    /// `text` without its leading and trailing blanks.
    static func trimmed(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !contains($0) }),
            let last = scalars.lastIndex(where: { !contains($0) })
        else { return text[text.endIndex...] }
        return Substring(scalars[first...last])
    }

    static func trimmed(_ text: String) -> Substring { trimmed(Substring(text)) }
}
