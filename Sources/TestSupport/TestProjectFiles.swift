import Foundation
import SwiftDeployKit

/// What an end-to-end test project holds beside its manifest, as a user's project has it.
public enum TestProjectFiles {
    /// Copies the repository's `policies/` and writes its `thresholds.json` into `directory`, with only the canary's
    /// latency bounds relaxed: a loaded CI machine makes every request slower, and these suites are about the
    /// error-rate and health decisions.
    public static func writePoliciesAndRelaxedThresholds(into directory: URL) throws {
        try FileManager.default.copyItem(
            at: RepositoryPaths.root.appendingPathComponent("policies"),
            to: directory.appendingPathComponent("policies"))
        var thresholds = try JSONValue.parse(
            Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
        if case .object(var all) = thresholds, case .object(var canary)? = all["canary"] {
            canary["max_p99_ms"] = .int(60_000)
            canary["warn_p95_ms"] = .int(30_000)
            all["canary"] = .object(canary)
            thresholds = .object(all)
        }
        try Data(thresholds.jsonString(pretty: true).utf8).write(
            to: directory.appendingPathComponent("thresholds.json"))
    }
}
