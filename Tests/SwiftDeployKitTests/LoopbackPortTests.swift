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
}
