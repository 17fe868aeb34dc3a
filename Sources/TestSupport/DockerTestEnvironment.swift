import Foundation
import Testing

/// Helpers for tests on the real Docker engine. Gate such tests with `.requires(.docker)` (`TestRequirement.docker`):
/// locally they run with `SWIFTDEPLOY_DOCKER_TESTS=1` (scripts/test sets it after starting the engine and building
/// the images) and show as skipped otherwise; under `CI=true` they always run, and a missing engine fails them.
public enum DockerTestEnvironment {
    /// Runs `docker arguments…`; returns status and combined output.
    @discardableResult
    public static func docker(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try ExternalTool.runBlocking("/usr/bin/env", ["docker"] + arguments)
    }

    /// A TCP port a manifest names (`validate` checks it is free): the kernel's choice (bind to port 0), released at
    /// once. Never the same as a port another test of this process holds (`LoopbackPort`). Throws (naming why) when no
    /// loopback port can be bound, rather than handing out a port nobody chose. Several ports of one project:
    /// `LoopbackPort.forServers`; a container a test runs itself: `publishedPort`.
    public static func freePort() throws -> Int {
        try LoopbackPort.forServer()
    }

    /// The loopback port Docker chose for `container`'s `containerPort` published as `127.0.0.1::<containerPort>`
    /// (`docker port`), for a container run by a test itself: Docker binds the port, nothing is reserved and released.
    public static func publishedPort(container: String, containerPort: Int) throws -> Int {
        let result = try docker(["port", container, "\(containerPort)/tcp"])
        for line in result.output.split(separator: "\n") where line.hasPrefix("127.0.0.1:") {
            if let port = Int(line.dropFirst("127.0.0.1:".count).prefix(while: \.isNumber)) { return port }
        }
        throw LoopbackPortError(
            step: "docker port \(container) \(containerPort)/tcp (no 127.0.0.1 mapping: \(result.output))", code: ENOENT
        )
    }
}
