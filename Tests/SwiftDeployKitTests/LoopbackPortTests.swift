import Foundation
import TestSupport
import Testing

/// Ports for tests are bound to port 0 and held, never probed and let go.
@Suite struct LoopbackPortTests {
    /// bind(2) of 127.0.0.1:port on a fresh socket (SO_REUSEADDR set, as servers do); the errno, 0 when it bound.
    static func bindError(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return bound == 0 ? 0 : errno
    }

    /// `LoopbackPort.connect(port:)`: 0 when it connected (the socket closed again), the errno when it did not.
    static func connectError(_ port: Int) -> Int32 {
        do {
            close(try LoopbackPort.connect(port: port))
            return 0
        } catch let error as LoopbackPortError {
            return error.code
        } catch {
            return -1
        }
    }

    @Test func aRefusedConnectNamesTheStepThePortAndTheReason() throws {
        let port = LoopbackPort.refusing()
        let error = #expect(throws: LoopbackPortError.self) { try LoopbackPort.connect(port: port) }
        #expect(error?.code == ECONNREFUSED)
        #expect(
            error?.description == "loopback port: connect(127.0.0.1:\(port)) failed: Connection refused",
            "\(String(describing: error))")
    }

    @Test func aHeldPortCannotBeTakenByAnotherServerUntilReleased() throws {
        let held = try LoopbackPort()
        #expect(held.port > 0)
        #expect(Self.bindError(held.port) == EADDRINUSE, "another server could bind a held port")
        let port = held.release()
        #expect(Self.bindError(port) == 0, "the released port is free for the server it was reserved for")
    }

    @Test func aRefusingPortRefusesAndStaysTaken() {
        let port = LoopbackPort.refusing()
        #expect(Self.connectError(port) == ECONNREFUSED)
        #expect(Self.bindError(port) == EADDRINUSE, "a server of another test could start listening there")
    }

    @Test func theHeldSocketIsHandedToTheServer() throws {
        let held = try LoopbackPort()
        let listener = try held.takeListener()
        defer { close(listener) }
        #expect(Self.connectError(held.port) == 0)
        held.close()  // no longer ours: closing the reservation must not close the server's socket
        #expect(Self.connectError(held.port) == 0)
    }

    @Test func twoReservationsNeverShareAPort() throws {
        let ports = try (0..<50).map { _ in try LoopbackPort() }
        #expect(Set(ports.map(\.port)).count == 50)
    }

    /// The ports of one manifest (public, admin, Prometheus…) are distinct and free for the servers to bind.
    @Test func portsReservedTogetherAreDistinctAndReleased() throws {
        let ports = try LoopbackPort.forServers(20)
        #expect(Set(ports).count == 20)
        #expect(ports.allSatisfy { Self.bindError($0) == 0 })
    }

    /// A server given its port by number: the port is free when the server starts (released right before), a
    /// collision in the window is tried once more on a fresh port, and a second collision is an error, not a loop.
    @Test func aServerOnAReleasedPortIsTriedOnceMoreOnACollision() async throws {
        final class Calls: @unchecked Sendable { var ports: [Int] = [] }
        let calls = Calls()
        let started = try await LoopbackPort.withReleasedPort { port -> Int? in
            calls.ports.append(port)
            #expect(Self.bindError(port) == 0, "the port is released before the server starts")
            return calls.ports.count == 1 ? nil : port  // the first start finds its port taken
        }
        #expect(calls.ports.count == 2 && started == calls.ports[1])
        #expect(calls.ports[0] != calls.ports[1], "the second try gets a fresh port")

        let twice = Calls()
        let error = await #expect(throws: LoopbackPortError.self) {
            try await LoopbackPort.withReleasedPort { port -> Int? in
                twice.ports.append(port)
                return nil
            }
        }
        #expect(twice.ports.count == 2, "one retry, no more")
        #expect(error?.code == EADDRINUSE)
    }

    @Test func bindCollisionsAreRecognisedInTheServersWords() {
        // The demo service's and Docker's own messages.
        #expect(
            LoopbackPort.isBindCollision(
                "swiftdeploy-api: cannot serve on 127.0.0.1:56637: bind(descriptor:ptr:bytes:): Address already in use)"
            ))
        #expect(
            LoopbackPort.isBindCollision(
                "Bind for 127.0.0.1:18080 failed: port is already allocated"))
        #expect(!LoopbackPort.isBindCollision("swiftdeploy-api: invalid configuration (1 problem)"))
    }

    /// The port a server bound on port 0 names in its log: Prometheus' and opa-ref's lines; nothing before the line
    /// is written; a server that exits first is an error naming it and its log.
    @Test func theBoundPortIsReadFromTheServersLog() async throws {
        let prometheus = """
            ts=2026-11-27T09:50:27.474Z caller=web.go:503 level=info component=web msg="Start listening for \
            connections" address=127.0.0.1:0
            ts=2026-11-27T09:50:27.518Z caller=tls_config.go:232 level=info component=web msg="Listening on" \
            address=127.0.0.1:45955
            """
        #expect(BoundPort.port(in: prometheus, after: "msg=\"Listening on\"") == 45955)
        #expect(BoundPort.port(in: prometheus, after: "msg=\"Start listening") == nil, "port 0 is no port")
        #expect(
            BoundPort.port(
                in: "opa-ref: serving OPA Data API on http://127.0.0.1:8181\n", after: "serving OPA Data API on")
                == 8181)

        let dir = try TemporaryDirectory(prefix: "bound-port")
        defer { dir.remove() }
        let log = try dir.write("starting\n", to: "server.log")
        let error = await #expect(throws: BoundPortError.self) {
            try await BoundPort.read(from: log, marker: "Listening on", server: "a server", isRunning: { false })
        }
        #expect(error?.description.hasPrefix("a server exited without naming the port it bound") == true)
        #expect(error?.description.hasSuffix("Log: starting\n") == true, "\(String(describing: error))")
        _ = try dir.write("starting\nmsg=\"Listening on\" address=127.0.0.1:40001\n", to: "server.log")
        #expect(try await BoundPort.read(from: log, marker: "Listening on", server: "s", isRunning: { true }) == 40001)
    }
}
