import Foundation
import Testing

@testable import SwiftDeployKit

/// The JSON report copies the list items (timeline, changes, violations, overrides) from its scratch files as they
/// are: each line there must be exactly what `JSONValue.encoder()` (JSONEncoder, sorted keys, slashes unescaped) makes
/// of the item, as the report wrote it before, and must decode back to the same item.
@Suite("Audit list items written without JSONEncoder")
struct AuditItemEncodingTests {
    func ours(_ item: AuditItem) -> String {
        var out: [UInt8] = []
        item.appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func foundations(_ item: AuditItem) throws -> String {
        String(decoding: try JSONValue.encoder().encode(item), as: UTF8.self)
    }

    func check(_ item: AuditItem, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let text = ours(item)
        #expect(text == (try foundations(item)), sourceLocation: sourceLocation)
        let decoded = try JSONDecoder().decode(AuditItem.self, from: Data(text.utf8))
        #expect(try foundations(decoded) == text, sourceLocation: sourceLocation)
    }

    static let every = AuditItem(
        line: 42, time: "2026-05-01T09:30:00.123Z", event: "gate", actor: "octobot (github-actions job 1)",
        outcome: "failed", message: "canary deny: error rate 5%", modeBefore: "canary", modeAfter: "stable",
        domain: "canary", verdict: "deny", reasons: ["error rate 5.1% | p99 352 ms", ""], engine: "embedded",
        reason: "hotfix", chaos: "slow", change: "mode canary → stable")

    @Test func everyFieldAndEachFieldAlone() throws {
        try check(Self.every)
        try check(AuditItem(line: 0, time: "", event: "", actor: ""))
        try check(AuditItem(line: -7, time: "t", event: "e", actor: "a", reasons: []))
        let optionals: [WritableKeyPath<AuditItem, String?>] = [
            \.outcome, \.message, \.modeBefore, \.modeAfter, \.domain, \.verdict, \.engine, \.reason, \.chaos, \.change,
        ]
        for path in optionals {
            var item = AuditItem(line: Int.max, time: "t", event: "e", actor: "a")
            item[keyPath: path] = "x/y"
            try check(item)
            var without = Self.every
            without[keyPath: path] = nil
            try check(without)
        }
    }

    @Test func everyEscapeJSONEncoderWrites() throws {
        // Every ASCII byte, quotes, backslashes, slashes, DEL, and scalars beyond ASCII (JSONEncoder leaves those).
        var all = ""
        for value in 0..<0x80 { all.unicodeScalars.append(Unicode.Scalar(UInt8(value))) }
        let texts = [
            all, "\"", "\\", "/", "\\\"", "\u{7F}", "\u{80}", "\u{A0}", "\u{2028}\u{2029}", "\u{FEFF}", "é", "e\u{301}",
            "😀", "\r\n", "</script>", "a\u{0}b",
        ]
        for text in texts {
            var item = Self.every
            item.message = text
            item.actor = text
            item.reasons = [text, text]
            try check(item)
        }
    }

    @Test func randomItemsAgree() throws {
        var rng = AuditItemRandom(seed: 0x5EED_A0D1)
        let pool: [Unicode.Scalar] =
            (0..<0x80).map { Unicode.Scalar(UInt8($0)) } + ["é", "→", "😀", "\u{2028}", "\u{7FF}"]
        func text() -> String {
            var s = ""
            for _ in 0..<rng.next(upTo: 24) { s.unicodeScalars.append(pool[rng.next(upTo: pool.count)]) }
            return s
        }
        func maybe() -> String? { rng.next(upTo: 3) == 0 ? nil : text() }
        for _ in 0..<500 {
            let item = AuditItem(
                line: rng.next(upTo: 1_000_000) - 1000, time: text(), event: text(), actor: text(), outcome: maybe(),
                message: maybe(), modeBefore: maybe(), modeAfter: maybe(), domain: maybe(), verdict: maybe(),
                reasons: rng.next(upTo: 3) == 0 ? nil : (0..<rng.next(upTo: 4)).map { _ in text() }, engine: maybe(),
                reason: maybe(), chaos: maybe(), change: maybe())
            try check(item)
        }
    }

    /// A JSON report made by the copying renderer lists exactly what JSONEncoder makes of each item.
    @Test func theReportListsItemsAsJSONEncoderWritesThem() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "audit-items-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = directory.appendingPathComponent("history.jsonl")
        let log = HistoryLog(url: history, environment: localEnvironment)
        try await log.append(HistoryEntry(event: .deploy, outcome: "ok", message: "tab\there \"quoted\" / \u{1}"))
        try await log.append(
            HistoryEntry(
                event: .gate, outcome: "failed",
                decision: HistoryDecision(
                    domain: "canary", verdict: "deny", reasons: ["a\\b", "é → ü", "line\nbreak"], engine: "embedded")))
        try await log.append(HistoryEntry(event: .override, override: HistoryOverride(reason: "on-call </b> ok")))
        let output = directory.appendingPathComponent("audit_report.json")
        _ = try await AuditReport.write(history: history, to: output, format: .json)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as! [String: Any]
        let text = try String(contentsOf: output, encoding: .utf8)
        var listed = 0
        for key in ["timeline", "changes", "violations", "overrides"] {
            for element in report[key] as! [Any] {
                let data = try JSONSerialization.data(withJSONObject: element)
                let item = try JSONDecoder().decode(AuditItem.self, from: data)
                #expect(text.contains("    " + (try foundations(item))))
                listed += 1
            }
        }
        #expect(listed >= 4)
    }
}

/// A small seeded generator (AuditItemRandom64): the same items on every run.
struct AuditItemRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(upTo bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(max(1, bound)))
    }
}
