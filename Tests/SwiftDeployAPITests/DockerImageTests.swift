import Foundation
import TestSupport
import Testing

/// Runs `scripts/test-api-image --no-build` on a real Docker engine: the api image on a
/// user-defined network, `/healthz` probed from a second container, Docker's
/// HEALTHCHECK, non-root user, size and a clean `docker stop`.
///
/// Opt in with `SWIFTDEPLOY_DOCKER_TESTS=1` after `scripts/build-images` (the script
/// cannot build here: `swift test` holds the build directory while it runs); under `CI=true` it always runs.
@Suite struct DockerImageTests {

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // SwiftDeployAPITests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // root
    }

    @Test(.requires(.docker))
    func imageAnswersHealthzInsideItsNetwork() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.repositoryRoot.appendingPathComponent("scripts/test-api-image").path, "--no-build"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "scripts/test-api-image failed:\n\(text)")
        #expect(text.contains("ok: healthz from a second container"), "\(text)")
        #expect(text.contains(" 0 failed"), "\(text)")
    }
}
