import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The start-up shortcuts give Foundation's answers: `HorizontalSpace.trimmed` is `trimmingCharacters(in:
/// .whitespaces)`, `CompiledPatterns.matches` is `range(of:options: .regularExpression) != nil`.
@Suite struct TextMatchingTests {
    static let lines = [
        "", " ", "\t", "  package swiftdeploy.canary  ", "\tpackage x\t", "\u{00A0}# METADATA\u{3000}",
        "\u{2003}x\u{202F}", "x\n", "\nx", " \r", "\r\n", "# é ", "👍🏽 ", " a b ", "\u{200B}x\u{200B}",
        "\u{1680}\u{2000}\u{205F}y\u{0009}",
    ]

    @Test(arguments: lines)
    func trimmingIsFoundations(_ line: String) {
        #expect(String(HorizontalSpace.trimmed(line)) == line.trimmingCharacters(in: .whitespaces))
        #expect(String(HorizontalSpace.trimmed(Substring(line))) == line.trimmingCharacters(in: .whitespaces))
    }

    static let patterns = [
        ManifestGrammar.Pattern.projectName, ManifestGrammar.Pattern.imageReference, ManifestGrammar.Pattern.email,
        ManifestGrammar.Pattern.filePath, ManifestGrammar.Pattern.environmentValue, #"^[+-]?[0-9]+$"#,
        #"^[0-9]{1,2}(\.[0-9]{1,6})?$|^100(\.0+)?$"#, #"^[1-9][0-9]{0,2}d$"#,
    ]
    static let values = [
        "", "app", "App", "a}b", "shop-checkout", "nginx:1.25", "registry.example.com:5000/team/app:1.2.3",
        "ops@example.com", "../etc/passwd", "var/report.md", "${HOME}", "12", "-3", "+7", "1.5", "99.999999",
        "100.0", "30d", "0d", "12\n", "x\ny", "ünïcode", "a\u{0000}b",
    ]

    @Test(arguments: patterns)
    func matchingIsFoundations(_ pattern: String) {
        for value in Self.values {
            // Twice: the first call compiles the pattern, the second uses the compiled one.
            for _ in 0..<2 {
                #expect(
                    CompiledPatterns.matches(value, pattern)
                        == (value.range(of: pattern, options: .regularExpression) != nil),
                    "\(pattern) on \(value.debugDescription)")
            }
        }
    }

    /// `TextLines.lines` (lazy) gives the lines the scalar split gave, on generated text with "\n", "\r", "\r\n",
    /// combining marks and emoji; `TextBytes.equal` is `utf8.elementsEqual`, also on canonically equal text.
    @Test func lazyLinesAndByteEqualityAreTheSlowForms() {
        let seed = FuzzSeed.resolve(
            test: "TextMatchingTests.lazyLinesAndByteEqualityAreTheSlowForms", filter: "TextMatchingTests")
        var random = seed.generator
        let pieces = ["a", "\n", "\r", "\r\n", " ", "é", "e\u{301}", "👍🏽", "package x", "#", "\u{2028}", ""]
        for _ in 0..<5_000 {
            let text = (0..<Int.random(in: 0...12, using: &random)).map { _ in
                pieces.randomElement(using: &random)!
            }.joined()
            let slow = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars in
                scalars.last == "\r" ? String(Substring(scalars.dropLast())) : String(Substring(scalars))
            }
            #expect(TextLines.lines(text).map(String.init) == slow, "\(text.debugDescription); \(seed.replayHint)")
            let other = Bool.random(using: &random) ? text : text.replacingOccurrences(of: "é", with: "e\u{301}")
            #expect(
                TextBytes.equal(text, other) == text.utf8.elementsEqual(other.utf8),
                "\(text.debugDescription) and \(other.debugDescription); \(seed.replayHint)")
        }
        #expect(!TextBytes.equal("é", "e\u{301}") && "é" == "e\u{301}")
    }
}
