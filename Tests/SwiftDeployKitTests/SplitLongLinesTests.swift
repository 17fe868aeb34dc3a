import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// scripts/split-long-lines (run by `scripts/lint --fix`) rewrites string literals: a long one becomes a multi-line
/// literal with line continuations, a long content line of a multi-line literal is continued on the next. It claims
/// the strings stay the same; this test holds it to that. It splits a copy of a fixture of long literals (escapes,
/// interpolations with literals and spaces inside, trailing and leading and double spaces, non-ASCII, a comment after
/// code, multi-line literals) with the script, compiles the fixture and the copy into one program with swiftc, and
/// compares every string the two evaluate to. A third copy with one continuation removed must differ, so the
/// comparison can fail.
@Suite struct SplitLongLinesTests {
    @Test(.requires(.tool("swiftc"), .tool("python3")))
    func splitLiteralsEvaluateToTheSameStrings() async throws {
        let dir = try TemporaryDirectory(prefix: "split-long-lines")
        defer { dir.remove() }
        let fixture = try String(
            contentsOf: RepositoryPaths.fixtures.appendingPathComponent("split-long-lines/Literals.swift.txt"),
            encoding: .utf8)
        try dir.write(fixture, to: "original.swift")
        let copy = try dir.write(fixture, to: "copy.swift")
        let script = RepositoryPaths.root.appendingPathComponent("scripts/split-long-lines").path
        let run = try await ExternalTool.capture(["python3", script, copy.path], timeout: 120)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let split = try String(contentsOf: copy, encoding: .utf8)
        let count =
            run.stdout.components(separatedBy: "split ").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
            ?? 0
        // Not vacuous: the script split the fixture's literals (19 lines when this test was written).
        #expect(count >= 15, "the script split only \(count) lines: \(run.stdout)")
        #expect(split != fixture)
        try dir.write(split.replacingOccurrences(of: "enum Literals", with: "enum LiteralsSplit"), to: "split.swift")

        // One continuation of the split copy removed: a line break enters that string.
        var lines = split.components(separatedBy: "\n")
        let original = Set(fixture.components(separatedBy: "\n"))
        let continued = try #require(lines.firstIndex { $0.hasSuffix(" \\") && !original.contains($0) })
        lines[continued].removeLast()
        try dir.write(
            lines.joined(separator: "\n").replacingOccurrences(of: "enum Literals", with: "enum LiteralsBroken"),
            to: "broken.swift")
        try dir.write(
            """
            func compare(_ name: String, _ a: [String], _ b: [String]) {
                var differ = 0
                for (index, (x, y)) in zip(a, b).enumerated() where x != y {
                    differ += 1
                    print("\\(name) case \\(index): \\(x.debugDescription) became \\(y.debugDescription)")
                }
                print("\\(name): \\(a.count) \\(b.count) \\(differ)")
            }
            compare("split", Literals.all("N", 7), LiteralsSplit.all("N", 7))
            compare("broken", Literals.all("N", 7), LiteralsBroken.all("N", 7))

            """, to: "main.swift")
        let program = dir.url.appendingPathComponent("compare").path
        let compiled = try await ExternalTool.capture(
            ["swiftc", "-Onone", "-o", program]
                + ["original", "split", "broken", "main"].map { dir.path + "/\($0).swift" },
            timeout: 600)
        try #require(compiled.status == 0, "the split copy does not compile: \(compiled.stderr)")
        let compared = try await ExternalTool.capture([program], timeout: 60)
        let report = compared.stdout
        let cases = fixture.components(separatedBy: "v.append(").count - 1
        #expect(report.contains("split: \(cases) \(cases) 0\n"), "\(report)")
        #expect(report.contains("broken: \(cases) \(cases) 1\n"), "the comparison missed a changed string: \(report)")
    }
}
