import Foundation
import SwiftDeployKit

/// Outside programs for tests: where one is (`find`) and running one (`run`). Whether a test may run without it is
/// `TestRequirement`'s rule (`.requires(.nginx)`): skipped locally, a failure under `CI=true`.
public enum ExternalTool {
    /// The program's path on PATH (or in /usr/sbin, /sbin), or nil; prints nothing.
    public static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a program to completion (at most `timeout` seconds) with `ProcessRunner` and returns its status and its
    /// standard output followed by its standard error. For synchronous callers (a `defer`, a sync test): it blocks
    /// the calling thread on the runner's blocking wait, which needs no thread of the cooperative pool; async
    /// callers use `ProcessRunner.run`.
    public static func run(
        _ path: String, _ arguments: [String], currentDirectory: URL? = nil,
        timeout: TimeInterval = 900
    ) throws -> (status: Int32, output: String) {
        let result = try ProcessRunner.start([path] + arguments, currentDirectory: currentDirectory, timeout: timeout)
            .waitBlocking()
        return (result.status, result.stdout + result.stderr)
    }
}
