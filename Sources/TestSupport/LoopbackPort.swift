import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP port on 127.0.0.1 that the kernel chose (a bind to port 0) and that this process HOLDS: the socket stays
/// bound until `close()` or `release()`, so no other test, process or test run can be given the same port meanwhile.
/// The one place tests get a port; there is no "probe for a free port, close it, hope" any more.
///
/// - `LoopbackPort.refusing()`: a port nothing listens on, for "connection refused" tests. The socket stays bound
///   and not listening for the rest of the test process, so a connection is refused for certain (nobody else can
///   start listening there) — a released port could be taken by a server of a test running beside it.
/// - `takeListener()`: the held socket starts listening and its descriptor is handed to an in-process server.
/// - `release()`: for a server in ANOTHER process that must bind the number itself (Docker's published ports,
///   opa-ref, Prometheus, the built demo service): the socket is closed right before that server starts, which
///   leaves only the window between the two binds. Hold the port until then, not from a test's set-up on.
public final class LoopbackPort: @unchecked Sendable {
    public let port: Int
    private let lock = NSLock()
    private var descriptor: Int32

    /// Binds a fresh socket to 127.0.0.1:0 and keeps it.
    public init() throws {
        let fd = try openLoopbackSocket()
        var address = loopbackAddress(port: 0)
        guard withSockaddr(&address, { bind(fd, $0, $1) }) == 0 else {
            let code = errno
            closeDescriptor(fd)
            throw LoopbackPortError(step: "bind(127.0.0.1:0)", code: code)
        }
        guard withSockaddr(&address, { getsockname(fd, $0, &$1) }) == 0 else {
            let code = errno
            closeDescriptor(fd)
            throw LoopbackPortError(step: "getsockname()", code: code)
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close() }

    /// Closes the socket (idempotent).
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if descriptor >= 0 { closeDescriptor(descriptor) }
        descriptor = -1
    }

    /// Closes the socket and returns the port, for a server in another process that binds it by number: call it
    /// immediately before starting that server.
    public func release() -> Int {
        close()
        return port
    }

    /// Makes the held socket listen and hands its descriptor over (the caller closes it from then on).
    public func takeListener(backlog: Int32 = 64) throws -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        guard descriptor >= 0 else { throw LoopbackPortError(step: "takeListener() after close", code: EBADF) }
        guard listen(descriptor, backlog) == 0 else { throw LoopbackPortError(step: "listen()", code: errno) }
        let fd = descriptor
        descriptor = -1
        return fd
    }

    /// A port nothing listens on and nothing will for the rest of this test process (see the type's comment).
    public static func refusing() -> Int {
        guard let held = try? LoopbackPort() else { return 1 }  // port 1: privileged, nothing of ours listens
        heldLock.lock()
        heldForever.append(held)
        heldLock.unlock()
        return held.port
    }

    /// connect(2) to 127.0.0.1:`port`: the connected socket (the caller closes it), or a `LoopbackPortError` with the
    /// errno (`ECONNREFUSED` when nothing listens there). The one client-side connect of the tests (readiness probes,
    /// "is anyone listening" checks).
    public static func connect(port: Int) throws -> Int32 {
        let fd = try openLoopbackSocket()
        var address = loopbackAddress(port: port)
        guard withSockaddr(&address, { connectDescriptor(fd, $0, $1) }) == 0 else {
            let code = errno
            closeDescriptor(fd)
            throw LoopbackPortError(step: "connect(127.0.0.1:\(port))", code: code)
        }
        return fd
    }

    /// A port for a server in another process: reserved here, released at once for that server to bind.
    /// Prefer a server that binds port 0 itself and names its port (`BoundPort`), then `withReleasedPort`.
    public static func forServer() throws -> Int {
        try LoopbackPort().release()
    }

    /// `count` distinct ports for servers in other processes, reserved together (so no two are the same number) and
    /// released at once: for the ports a manifest must name, which Compose or Swarm publish when the project is
    /// deployed. The window until then is open (a collision fails the deploy naming the port); prefer a port the
    /// server chooses itself (`BoundPort`, `DockerTestEnvironment.publishedPort`).
    public static func forServers(_ count: Int) throws -> [Int] {
        let held = try (0..<count).map { _ in try LoopbackPort() }
        return held.map { $0.release() }
    }

    /// For a server in another process that must be given its port by number and cannot bind port 0 and name it (the
    /// demo service's APP_PORT): `start` is called with a port reserved here and released immediately before the
    /// call. When it reports the port taken (returns nil: another process bound the port in the window between the
    /// two binds), it is called once more with a fresh port; a second collision throws.
    public static func withReleasedPort<T>(_ start: (Int) async throws -> T?) async throws -> T {
        for _ in 0..<2 {
            let held = try LoopbackPort()
            if let started = try await start(held.release()) { return started }
        }
        throw LoopbackPortError(
            step: "starting a server on a released port (taken before it bound it, twice)", code: EADDRINUSE)
    }

    /// Whether a server's or Docker's output says the port it was to bind is taken (EADDRINUSE, or Docker's "port is
    /// already allocated").
    public static func isBindCollision(_ output: String) -> Bool {
        output.localizedCaseInsensitiveContains("address already in use")
            || output.localizedCaseInsensitiveContains("port is already allocated")
    }

    private static let heldLock = NSLock()
    nonisolated(unsafe) private static var heldForever: [LoopbackPort] = []
}

/// A new TCP/IPv4 socket, or the errno of socket(2).
private func openLoopbackSocket() throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw LoopbackPortError(step: "socket()", code: errno) }
    return fd
}

/// 127.0.0.1:`port` (0: the kernel chooses; out of range: clamped to 0-65535) for bind(2) and connect(2).
private func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

/// Calls `body` with `address` as the `sockaddr` pointer and length the socket calls take (getsockname(2) writes
/// both back).
private func withSockaddr(
    _ address: inout sockaddr_in, _ body: (UnsafeMutablePointer<sockaddr>, inout socklen_t) -> Int32
) -> Int32 {
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    return withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, &length) }
    }
}

/// The C library's close(2) and connect(2); inside `LoopbackPort` the names are the methods'.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
private func connectDescriptor(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}

public struct LoopbackPortError: Error, CustomStringConvertible {
    public let step: String
    public let code: Int32
    public var description: String {
        "loopback port: \(step) failed: \(String(cString: strerror(code)))"
    }
}
