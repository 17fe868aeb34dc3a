import Foundation

/// Swarm mode for tests on the real engine. `SwarmTestEnvironment.begin()` makes the engine a one-node Swarm
/// manager (`docker swarm init --advertise-addr 127.0.0.1`) when it is not one already, and the returned
/// `SwarmTestSession.end()` leaves the swarm again, only if this session initialised it.
///
/// The engine is shared: run swarm tests one suite at a time (`.serialized`) and, on a machine where several people
/// use the engine, wrap the whole `swift test` run in the lock everyone agrees on (`flock <lock> swift test …`).
/// Gate the tests with `.requires(.docker)` (under `CI=true` a missing engine fails them).
public enum SwarmTestEnvironment {
    /// The address a one-node test swarm advertises.
    public static let advertiseAddress = "127.0.0.1"

    /// `docker info`'s `Swarm.LocalNodeState` (`inactive`, `active`, `pending`, `error`, `locked`) and whether this
    /// node is a manager; throws when the engine does not answer.
    public static func state() throws -> (state: String, manager: Bool) {
        let result = try DockerTestEnvironment.docker([
            "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}",
        ])
        guard result.status == 0 else {
            throw SwarmTestError.engine("docker info failed (\(result.status)): \(result.output)")
        }
        let parts = result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        return (parts.first ?? "", parts.dropFirst().first == "true")
    }

    /// Makes the engine a Swarm manager. Throws when it is in a swarm as a worker (a test must not change
    /// someone else's cluster) or `swarm init` fails.
    public static func begin() throws -> SwarmTestSession {
        let current = try state()
        if current.state == "active" {
            guard current.manager else {
                throw SwarmTestError.engine(
                    "the engine is a swarm worker; swarm tests need a manager (or an engine in no swarm)")
            }
            return SwarmTestSession(initialised: false)
        }
        let result = try DockerTestEnvironment.docker(["swarm", "init", "--advertise-addr", advertiseAddress])
        guard result.status == 0 else {
            throw SwarmTestError.engine(
                "docker swarm init --advertise-addr \(advertiseAddress) failed (\(result.status)): \(result.output)")
        }
        return SwarmTestSession(initialised: true)
    }
}

/// One test's use of Swarm mode; `end()` undoes what `begin()` did.
public struct SwarmTestSession: Sendable {
    /// True when `begin()` ran `docker swarm init` (and `end()` therefore leaves the swarm).
    public let initialised: Bool

    /// Leaves the swarm (`docker swarm leave --force`) if this session initialised it; otherwise does nothing.
    public func end() {
        guard initialised else { return }
        _ = try? DockerTestEnvironment.docker(["swarm", "leave", "--force"])
    }
}

public enum SwarmTestError: Error, CustomStringConvertible {
    case engine(String)

    public var description: String {
        switch self {
        case .engine(let message): return message
        }
    }
}
