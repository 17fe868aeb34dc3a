import Foundation
import TestSupport
import Testing

/// Issue 15, finding 1: every program the library, the CLI and the tests start goes through the one `ProcessRunner`
/// (posix_spawn in a process group of its own, the exit watched through a pidfd, bounded output, timeouts,
/// cancellation). Foundation's `Process` must not come back beside it: this test reads the sources (comments and the
/// text of string literals do not count, as in ``FolderDependencyTests``) and names every file that uses the type.
@Suite struct OneProcessRunnerTests {
    /// The files under `root` whose code names the type `Process` (`Process()`, `Foundation.Process`, `: Process`).
    static func filesUsingProcess(under root: URL) throws -> [String] {
        try StrippedSources.files(
            under: root, matching: Regex(#"(?:^|[^A-Za-z0-9_])Process(?![A-Za-z0-9_])"#).anchorsMatchLineEndings())
    }

    @Test func noSourceStartsAProgramWithFoundationsProcess() throws {
        for folder in ["Sources", "Tests"] {
            let root = RepositoryPaths.root.appendingPathComponent(folder)
            #expect(FileManager.default.fileExists(atPath: root.path), "no \(folder)/ at \(RepositoryPaths.root.path)")
            let found = try Self.filesUsingProcess(under: root)
            #expect(
                found.isEmpty,
                """
                \(folder)/ uses Foundation's Process in \(found.joined(separator: ", ")): start the program through \
                ProcessRunner (ExternalTool.capture, BackgroundProcess or TestServer in the tests)
                """)
        }
    }

    /// The checker finds the type in code, in every spelling, and not in a comment, a string or a longer name.
    @Test func theCheckerFindsProcessInCodeOnly() throws {
        let dir = try TemporaryDirectory(prefix: "one-runner")
        defer { dir.remove() }
        try dir.write("let p = Process()\n", to: "A/Call.swift")
        try dir.write("let p: Foundation.Process? = nil\n", to: "B/Qualified.swift")
        try dir.write("func f(_ p: Process) {}\n", to: "C/Parameter.swift")
        try dir.write(
            """
            // Foundation's Process is not used here.
            let text = "Process() in a string"
            let info = ProcessInfo.processInfo
            let runner: RunningProcess? = nil
            let other = BackgroundProcess.self
            """, to: "D/Fine.swift")
        #expect(
            try Self.filesUsingProcess(under: dir.url) == ["A/Call.swift", "B/Qualified.swift", "C/Parameter.swift"])
    }
}
