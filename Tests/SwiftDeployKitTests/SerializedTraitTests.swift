import Foundation
import TestSupport
import Testing

/// `.serialized` only where a resource is truly shared (issue 15, finding 2): every `.serialized` trait under Tests/
/// says, in a `// serialized: <reason>` comment on its line or in the comment lines right above it, what would collide
/// if two tests of its suite ran at once (the engine's swarm, the host's load the deploy gate reads, …). A suite
/// whose tests share nothing runs without the trait, so `--parallel` runs its tests side by side.
@Suite struct SerializedTraitTests {
    static let tests = RepositoryPaths.root.appendingPathComponent("Tests")

    @Test func everySerializedTraitNamesWhatItsTestsShare() throws {
        let files =
            FileManager.default.enumerator(at: Self.tests, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
            .sorted { $0.path < $1.path } ?? []
        #expect(files.count > 50, "found only \(files.count) test sources under \(Self.tests.path)")
        var traits = 0
        for file in files {
            let relative = String(
                file.standardizedFileURL.path.dropFirst(Self.tests.standardizedFileURL.path.count + 1))
            let check = SerializedTraits.check(try String(contentsOf: file, encoding: .utf8), file: relative)
            traits += check.traits
            for problem in check.problems { Issue.record(Comment(rawValue: problem)) }
        }
        // The engine suites keep it (Compose deploys, the swarm); finding none means the scan is broken.
        #expect(traits >= 5, "found \(traits) .serialized traits under Tests/")
    }

    /// The checker itself: an unexplained trait, one explained only by the suite's doc comment, an empty reason and a
    /// reason cut off by a blank line are problems; a reason on the trait's line or in the comment block above it is
    /// not; the word in a comment or in a multi-line string literal (a fixture's source) is no trait.
    @Test func theCheckerFindsEveryUnexplainedTrait() {
        let source = """
            /// A suite whose doc comment says .serialized is no reason.
            @Suite(.serialized) struct Bare {}
            @Suite(.serialized) struct SameLine {}  // serialized: the fixed port 18080 both tests bind
            @Suite(
                // serialized: the engine's swarm, which each test
                // inits and leaves
                .serialized, .requires(.docker))
            struct Above {}
            // serialized:
            @Suite(.serialized) struct EmptyReason {}
            // serialized: the lock file both tests take

            @Suite(.serialized) struct CutOff {}
            struct Fixture {
                let text = \"\"\"
                    @Suite(.serialized) struct InAString {}
                    \"\"\"
                let name = ".serialized in a one-line string"
            }
            @Suite struct Plain { @Test(.serialized) func one() {} }
            """
        let check = SerializedTraits.check(source, file: "A.swift")
        #expect(check.traits == 6, "\(check)")
        #expect(
            check.problems.map { $0.prefix(while: { $0 != " " }) } == [
                "A.swift:2:", "A.swift:10:", "A.swift:13:", "A.swift:20:",
            ], "\(check.problems)")
        #expect(
            check.problems.first?.contains("// serialized: <what two of its tests at once would collide on>") == true)
    }
}

/// The `.serialized` traits of one source file and those without a `// serialized: <reason>` comment.
enum SerializedTraits {
    private static let trait = try! Regex(#"\.serialized\b"#)

    static func check(_ text: String, file: String) -> (traits: Int, problems: [String]) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var traits = 0
        var problems: [String] = []
        let isText = MultilineStrings.textLines(lines)  // the text of a multi-line string literal is no code
        for (index, line) in lines.enumerated() {
            if isText[index] { continue }
            guard let match = line.firstMatch(of: trait) else { continue }
            let before = line[..<match.range.lowerBound]
            // In a comment or a one-line string literal: not a trait.
            if before.contains("//") || before.filter({ $0 == "\"" }).count % 2 == 1 { continue }
            traits += 1
            if hasReason(sameLine: String(line[match.range.upperBound...]), above: lines[..<index]) { continue }
            problems.append(
                """
                \(file):\(index + 1): .serialized without the resource its tests share: say what two of its tests at \
                once would collide on in a comment on that line or right above it \
                (// serialized: <what two of its tests at once would collide on>), or remove the trait
                """)
        }
        return (traits, problems)
    }

    /// A `// serialized:` comment with a reason of a few words after the trait on its line, or in the block of `//`
    /// comment lines (not `///` documentation) right above it.
    private static func hasReason(sameLine: String, above: ArraySlice<String>) -> Bool {
        if let comment = sameLine.range(of: "//") { return isReason(String(sameLine[comment.lowerBound...])) }
        var block: [String] = []
        for line in above.reversed() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("//"), !trimmed.hasPrefix("///") else { break }
            block.insert(trimmed, at: 0)
        }
        guard let start = block.firstIndex(where: { $0.hasPrefix("// serialized:") }) else { return false }
        return isReason(block[start...].joined(separator: " "))
    }

    private static func isReason(_ comment: String) -> Bool {
        guard let marker = comment.range(of: "// serialized:") else { return false }
        let reason = comment[marker.upperBound...].replacingOccurrences(of: "//", with: " ")
        return reason.split(whereSeparator: \.isWhitespace).count >= 3
    }
}

/// Which lines of a Swift source are the text of a `"""` string literal (a test's own fixture sources): those lines
/// are no code. The line that opens a literal is code; the lines after it, up to the one that closes it, are text.
enum MultilineStrings {
    static func textLines(_ lines: [String]) -> [Bool] {
        var inside = false
        return lines.map { line in
            let opensOrCloses = (line.components(separatedBy: "\"\"\"").count - 1) % 2 == 1
            defer { if opensOrCloses { inside.toggle() } }
            return inside
        }
    }
}
