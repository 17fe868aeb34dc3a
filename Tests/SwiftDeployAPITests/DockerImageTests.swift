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
        let result = try ExternalTool.captureBlocking(
            ["/bin/bash", Self.repositoryRoot.appendingPathComponent("scripts/test-api-image").path, "--no-build"],
            timeout: 900)
        let text = result.stdout + result.stderr
        #expect(result.status == 0, "scripts/test-api-image failed:\n\(text)")
        #expect(text.contains("ok: healthz from a second container"), "\(text)")
        #expect(text.contains(" 0 failed"), "\(text)")
    }
}
