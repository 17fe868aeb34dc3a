import Foundation
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
}
