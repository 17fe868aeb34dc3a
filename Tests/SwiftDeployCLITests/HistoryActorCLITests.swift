import Foundation
import TestSupport
import Testing

/// The history names who did something even when the environment does not (USER unset: a container, cron, CI).
@Suite("History actor from the command line")
struct HistoryActorCLITests {
    @Test func withoutUSERTheHistoryNamesThePasswdUserNotUnknown() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // CLIRunner's environment is PATH, HOME and NO_COLOR only: no USER, no LOGNAME.
        let append = try await CLIRunner.run(
            ["history", "append", "--event", "deploy", "--outcome", "ok"], in: dir.url)
        #expect(append.status == 0, "\(append.stderr)")
        let line = try String(contentsOf: dir.url.appendingPathComponent("history.jsonl"), encoding: .utf8)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let actor = try #require(record["actor"] as? [String: Any], "no actor in \(line)")
        let expected = try await ExternalTool.run("/usr/bin/id", ["-un"]).output.trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(actor["user"] as? String == expected, "\(line)")
        #expect(actor["user"] as? String != "unknown")
    }
}
