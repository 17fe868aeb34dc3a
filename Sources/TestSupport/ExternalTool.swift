import Foundation
import SwiftDeployKit

/// Tests that need an outside program (nginx, docker-compose, opa-ref) ask here.
/// Locally a missing tool skips the test with a printed reason; under CI
/// (`CI=true`), where the project's scripts install everything, it is a failure.
public enum ExternalTool {
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The tool's path, or nil after printing why the test is skipped. Under CI a
    /// missing tool is reported through `missing` so the test fails.
    public static func locate(_ name: String, missing: (String) -> Void) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        let message = "\(name) is not installed; run scripts/bootstrap to install the test dependencies"
        if isCI { missing(message) } else { print("skipping: \(message)") }
        return nil
    }

    /// Runs a program to completion (at most `timeout` seconds) with `ProcessRunner` and returns its status and its
    /// standard output followed by its standard error. For synchronous callers (a `defer`, a sync test): it blocks
    /// the calling thread on the runner's blocking wait, which needs no thread of the cooperative pool; async
    /// callers use `ProcessRunner.run`.
    public static func run(_ path: String, _ arguments: [String], currentDirectory: URL? = nil,
                           timeout: TimeInterval = 900) throws -> (status: Int32, output: String) {
        let result = try ProcessRunner.start([path] + arguments, currentDirectory: currentDirectory, timeout: timeout)
            .waitBlocking()
        return (result.status, result.stdout + result.stderr)
    }
}
