import Foundation
import Synchronization
import TestSupport
import Testing

/// Issue 15, finding 4 moved hashing to Support/ (`Digest`); a forwarding alias (`HistoryLog.sha256Hex`) kept a
/// second name for it, so a reader met two. This test reads the sources (comments and string literals do not count,
/// as in ``FolderDependencyTests``): `sha256Hex` is declared in Support/Digest.swift alone, and nothing calls it
/// through another type.
@Suite struct OneDigestTests {
    /// The files under `root` (relative paths) whose code matches `pattern`.
    static func files(under root: URL, matching pattern: String) throws -> [String] {
        try StrippedSources.files(under: root, matching: Regex(pattern))
    }

    @Test func sha256HexIsDeclaredOnceAndCalledByItsOneName() throws {
        let sources = RepositoryPaths.root.appendingPathComponent("Sources")
        #expect(
            try Self.files(under: sources, matching: #"func\s+sha256Hex\b"#)
                == ["SwiftDeployKit/Support/Digest.swift"])
        for folder in ["Sources", "Tests"] {
            let callers = try Self.files(
                under: RepositoryPaths.root.appendingPathComponent(folder),
                matching: #"\b(?!Digest\.)\w+\.sha256Hex\b"#)
            #expect(callers.isEmpty, "\(folder)/ calls sha256Hex by another name than Digest's in \(callers)")
        }
    }

    /// The checker sees a declaration and a call through another type in code, not in a comment or a string.
    @Test func theCheckerSeesCodeOnly() throws {
        let dir = try TemporaryDirectory(prefix: "one-digest")
        defer { dir.remove() }
        try dir.write("enum D { static func sha256Hex(of d: Data) -> String { \"\" } }\n", to: "A/Alias.swift")
        try dir.write("let h = HistoryLog.sha256Hex(of: data)\n", to: "B/Call.swift")
        try dir.write(
            "// HistoryLog.sha256Hex(of:) was an alias; func sha256Hex\nlet s = \"x.sha256Hex\"\n"
                + "let h = Digest.sha256Hex(of: data)\n", to: "C/Fine.swift")
        #expect(try Self.files(under: dir.url, matching: #"func\s+sha256Hex\b"#) == ["A/Alias.swift"])
        #expect(try Self.files(under: dir.url, matching: #"\b(?!Digest\.)\w+\.sha256Hex\b"#) == ["B/Call.swift"])
    }
}

/// The Swift files of a folder as the source checks read them: comments and the text of string literals removed
/// (`FolderGraph.strip`). Each file is read and stripped once per test process, however many checks scan it.
enum StrippedSources {
    private static let cache = Mutex<[String: String]>([:])

    /// The files under `root` (paths relative to it, sorted) whose code matches `regex`.
    static func files(under root: URL, matching regex: Regex<AnyRegexOutput>) throws -> [String] {
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            if try code(of: url).contains(regex) {
                found.append(String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1)))
            }
        }
        return found.sorted()
    }

    private static func code(of url: URL) throws -> String {
        let path = url.standardizedFileURL.path
        if let code = cache.withLock({ $0[path] }) { return code }
        let code = FolderGraph.strip(try String(contentsOf: url, encoding: .utf8))
        cache.withLock { $0[path] = code }
        return code
    }
}
