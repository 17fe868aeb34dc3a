import Foundation
import TestSupport
import Testing

/// The library's folders (Manifest/, Render/, Runtime/, …) are layers: a folder may use the folders below it and none
/// above, so the dependency graph between folders has no cycle. SwiftDeployKit is one module, so the compiler does not
/// enforce it; this test does, from the sources themselves: each top-level declaration (type, protocol, typealias,
/// free function) belongs to the folder of its file, and a file that names it makes its folder depend on that folder.
/// Comments and the text of string literals do not count (their interpolations do).
@Suite struct FolderDependencyTests {
    static let library = RepositoryPaths.root.appendingPathComponent("Sources/SwiftDeployKit")

    @Test func theLibrarysFoldersHaveNoDependencyCycle() throws {
        let graph = try FolderGraph(root: Self.library)
        #expect(graph.folders.count >= 8, "found only \(graph.folders.sorted()) under Sources/SwiftDeployKit")
        if let cycle = graph.cycle() {
            Issue.record(
                """
                folder cycle in Sources/SwiftDeployKit: \(cycle.joined(separator: " -> "))
                \(graph.explain(cycle))
                move the named declarations so that one folder of the cycle no longer uses the next
                """)
        }
    }

    /// The checker itself finds a cycle, names its edges, and finds none once the cycle is gone.
    @Test func theCheckerFindsACycleAndItsEdges() throws {
        let dir = try TemporaryDirectory(prefix: "folder-graph")
        defer { dir.remove() }
        try dir.write("struct Low { let x = 1 } // uses High in a comment only\n", to: "A/Low.swift")
        try dir.write("struct High { let low = Low(); let text = \"High \\(Middle.self)\" }\n", to: "B/High.swift")
        try dir.write("enum Middle { static func use() -> Low? { nil } }\nfunc helper() {}\n", to: "C/Middle.swift")
        var graph = try FolderGraph(root: dir.url)
        #expect(graph.cycle() == nil, "\(graph.edges)")
        #expect(graph.edges["B"]?["C"] == ["Middle"], "an interpolation counts: \(graph.edges)")
        #expect(graph.edges["A"] == nil, "a comment does not count: \(graph.edges)")

        try dir.write("extension Low { var up: String { \"\\(helper())\" } }\n", to: "A/Low+Up.swift")
        graph = try FolderGraph(root: dir.url)
        let cycle = try #require(graph.cycle())
        #expect(Set(cycle) == ["A", "C"], "\(cycle)")
        #expect(graph.explain(cycle).contains("A -> C: helper (A/Low+Up.swift)"), "\(graph.explain(cycle))")
    }

    /// The README's architecture section names every folder of the library, and only those, in layers: each folder
    /// uses only the folders named before it.
    @Test func theReadmeNamesTheLibrarysFoldersInLayers() throws {
        let readme = try String(contentsOf: RepositoryPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
        let line = try #require(
            readme.split(separator: "\n").first { $0.hasPrefix("Sources/SwiftDeployKit ") },
            "README.md has no 'Sources/SwiftDeployKit' line in its layout")
        let named = line.split(separator: " ").filter { $0.hasSuffix("/") && $0.count > 1 }.map {
            String($0.dropLast())
        }
        let graph = try FolderGraph(root: Self.library)
        #expect(Set(named) == graph.folders, "README names \(named), the library has \(graph.folders.sorted())")
        for (from, targets) in graph.edges {
            for (to, names) in targets {
                guard let a = named.firstIndex(of: from), let b = named.firstIndex(of: to) else { continue }
                #expect(
                    b < a,
                    """
                    \(from)/ uses \(to)/ (\(names.sorted().prefix(4).joined(separator: ", "))), named after it in \
                    README.md
                    """
                )
            }
        }
    }
}

/// The folder dependency graph of a tree of Swift sources (see ``FolderDependencyTests``).
struct FolderGraph {
    /// folder → folder it uses → the declarations it names there.
    var edges: [String: [String: Set<String>]] = [:]
    /// folder → folder → files that name them (for the explanation).
    var witnesses: [String: [String: Set<String>]] = [:]
    var folders: Set<String> = []

    init(root: URL) throws {
        var files: [(folder: String, path: String, code: String)] = []
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            let parts = relative.split(separator: "/")
            let folder = parts.count > 1 ? String(parts[0]) : "."
            let code = Self.strip(try String(contentsOf: url, encoding: .utf8))
            files.append((folder, relative, code))
            folders.insert(folder)
        }
        var owner: [String: Set<String>] = [:]
        let declaration = try Regex(
            #"^(?:(?:@\w+[ \t]+)*(?:public|internal|private|fileprivate|package|open|final|indirect|nonisolated)[ \t]+)*(?:struct|enum|class|protocol|actor|typealias|func)[ \t]+`?(\w+)"#
        ).anchorsMatchLineEndings()
        for file in files {
            for match in file.code.matches(of: declaration) {
                if let name = match.output[1].substring { owner[String(name), default: []].insert(file.folder) }
            }
        }
        let identifier = try Regex(#"[A-Za-z_][A-Za-z0-9_]*"#)
        for file in files {
            let names = Set(file.code.matches(of: identifier).map { String(file.code[$0.range]) })
            for name in names {
                for folder in owner[name] ?? [] where folder != file.folder {
                    edges[file.folder, default: [:]][folder, default: []].insert(name)
                    witnesses[file.folder, default: [:]][folder, default: []].insert("\(name) (\(file.path))")
                }
            }
        }
    }

    /// A cycle of folders (the first folder not repeated at the end), or nil when the graph has none.
    func cycle() -> [String]? {
        var state: [String: Int] = [:]  // 1 on the path, 2 done
        var path: [String] = []
        func visit(_ folder: String) -> [String]? {
            state[folder] = 1
            path.append(folder)
            for next in (edges[folder] ?? [:]).keys.sorted() {
                if state[next] == 1 { return Array(path[path.firstIndex(of: next)!...]) }
                if state[next] == nil, let found = visit(next) { return found }
            }
            path.removeLast()
            state[folder] = 2
            return nil
        }
        for folder in folders.sorted() where state[folder] == nil {
            if let found = visit(folder) { return found }
        }
        return nil
    }

    /// Each edge of `cycle` with the declarations and files that make it.
    func explain(_ cycle: [String]) -> String {
        zip(cycle, cycle.dropFirst() + [cycle[0]]).map { from, to in
            "  \(from) -> \(to): " + (witnesses[from]?[to] ?? []).sorted().prefix(6).joined(separator: ", ")
        }.joined(separator: "\n")
    }

    /// The code without comments and without the text of string literals (interpolations are kept).
    static func strip(_ source: String) -> String {
        let s = Array(source.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func starts(_ text: String, at index: Int) -> Bool {
            let t = Array(text.unicodeScalars)
            return index + t.count <= s.count && Array(s[index..<index + t.count]) == t
        }
        /// Skips a string literal starting at `i` (after any `#`s), appending its interpolations.
        func skipString(hashes: Int) {
            let multi = starts("\"\"\"", at: i)
            let close = (multi ? "\"\"\"" : "\"") + String(repeating: "#", count: hashes)
            let escape = "\\" + String(repeating: "#", count: hashes)
            i += multi ? 3 : 1
            out.append(contentsOf: " \"\" ".unicodeScalars)
            while i < s.count {
                if starts(escape + "(", at: i) {
                    var depth = 1
                    var j = i + escape.unicodeScalars.count + 1
                    let start = j
                    while j < s.count && depth > 0 {
                        if s[j] == "(" { depth += 1 } else if s[j] == ")" { depth -= 1 }
                        j += 1
                    }
                    out.append(
                        contentsOf: " \(strip(String(String.UnicodeScalarView(s[start..<max(start, j - 1)])))) "
                            .unicodeScalars)
                    i = j
                    continue
                }
                if starts(escape, at: i) {
                    i += escape.unicodeScalars.count + 1
                    continue
                }
                if starts(close, at: i) {
                    i += close.unicodeScalars.count
                    return
                }
                i += 1
            }
        }
        while i < s.count {
            if starts("//", at: i) {
                while i < s.count && s[i] != "\n" { i += 1 }
                continue
            }
            if starts("/*", at: i) {
                var depth = 0
                repeat {
                    if starts("/*", at: i) {
                        depth += 1
                        i += 2
                    } else if starts("*/", at: i) {
                        depth -= 1
                        i += 2
                    } else {
                        i += 1
                    }
                } while depth > 0 && i < s.count
                continue
            }
            if s[i] == "#" {
                var j = i
                while j < s.count && s[j] == "#" { j += 1 }
                if j < s.count && s[j] == "\"" {
                    let hashes = j - i
                    i = j
                    skipString(hashes: hashes)
                    continue
                }
            }
            if s[i] == "\"" {
                skipString(hashes: 0)
                continue
            }
            out.append(s[i])
            i += 1
        }
        return String(out)
    }
}
