import Foundation
import Rego
import TestSupport
import Testing

/// OPA's own evaluation suite, read from the shared directory at test time.
///
/// Prints pass counts per tier (core, plumbing, other) and overall, and per directory.
/// Every case of every tier must pass unless it is listed, with its reason, in
/// `conformance-exclusions.txt`; a listed case that passes is reported too, so the
/// list only shrinks. Set `REGO_CONFORMANCE_RECORD=1` to rewrite the list from the
/// current failures (reasons already written are kept). Under `CI=true` a missing
/// suite is a failure, locally a skip (`.requires(.conformanceSuite)`).
@Suite struct ConformanceTests {
    static var exclusionsFile: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("conformance-exclusions.txt")
    }

    /// `file :: note<TAB>reason` lines; `#` comments.
    static func loadExclusions() -> [String: String] {
        guard let text = try? String(contentsOf: exclusionsFile, encoding: .utf8) else { return [:] }
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            out[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return out
    }

    @Test(.requires(.conformanceSuite))
    func allTiersPassOrAreListed() throws {
        let file = URL(fileURLWithPath: try TestRequirement.conformanceSuite.value())
        let cases = try ConformanceSuite.load(file)
        let exclusions = Self.loadExclusions()
        var perTier: [String: (pass: Int, total: Int)] = [:]
        var perDir: [String: (pass: Int, total: Int)] = [:]
        var failures: [(ConformanceSuite.Case, String)] = []
        var stale: [String] = []
        let started = Date()
        for c in cases {
            let outcome = ConformanceSuite.run(c)
            var passed = false
            if case .pass = outcome { passed = true }
            perTier[c.tier, default: (0, 0)].total += 1
            perDir["\(c.tier)/\(c.dir)", default: (0, 0)].total += 1
            if passed {
                perTier[c.tier]!.pass += 1
                perDir["\(c.tier)/\(c.dir)"]!.pass += 1
                if exclusions[c.key] != nil { stale.append(c.key) }
            } else if case .fail(let why) = outcome {
                failures.append((c, why))
            }
        }
        print("Conformance (\(String(format: "%.1f", Date().timeIntervalSince(started))) s):")
        for (tier, n) in perTier.sorted(by: { $0.key < $1.key }) {
            print("  tier \(tier): \(n.pass)/\(n.total) pass (\(Self.percent(n.pass, n.total)))")
        }
        let all = perTier.values.reduce((pass: 0, total: 0)) { ($0.pass + $1.pass, $0.total + $1.total) }
        print("  overall: \(all.pass)/\(all.total) pass (\(Self.percent(all.pass, all.total)))")
        for (dir, n) in perDir.sorted(by: { $0.key < $1.key }) {
            print("  \(dir): \(n.pass)/\(n.total)\(n.pass == n.total ? "" : "  (\(n.total - n.pass) failing)")")
        }
        if ProcessInfo.processInfo.environment["REGO_CONFORMANCE_RECORD"] == "1" {
            var text = "# Conformance cases that do not pass yet: `file :: note<TAB>reason`.\n"
            text += "# The conformance test fails on any other failing case, and on any case listed here that passes.\n"
            for (c, why) in failures {
                let reason =
                    exclusions[c.key].flatMap { $0.isEmpty ? nil : $0 }
                    ?? ConformanceReasons.reason(dir: c.dir, failure: why)
                text += "\(c.key)\t\(reason)\n"
            }
            try text.write(to: Self.exclusionsFile, atomically: true, encoding: .utf8)
            print("ConformanceTests: recorded \(failures.count) exclusions")
            return
        }
        for (c, why) in failures where exclusions[c.key] == nil {
            Issue.record("conformance case \(c.tier)/\(c.key) fails: \(why)")
        }
        for key in stale {
            Issue.record("conformance case \(key) passes now: remove it from conformance-exclusions.txt")
        }
        for (key, reason) in exclusions where reason.trimmingCharacters(in: .whitespaces).isEmpty {
            Issue.record("exclusion \(key) has no reason")
        }
    }

    static func percent(_ a: Int, _ b: Int) -> String {
        b == 0 ? "-" : String(format: "%.1f%%", Double(a) * 100 / Double(b))
    }
}
