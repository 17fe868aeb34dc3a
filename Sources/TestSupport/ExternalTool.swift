import Foundation

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

    /// Runs a program to completion and returns its status and combined output.
    public static func run(_ path: String, _ arguments: [String], currentDirectory: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
