import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small real HTTP/1.1 server on 127.0.0.1 for tests: a metrics endpoint whose counters move between scrapes,
/// a fake that answers errors, or one that is slow. Each connection is served on its own thread and closed after
/// one response. Loopback only; stops with `stop()`.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: Data
        /// 1 for the first request the server received, 2 for the second, …
        public var sequence: Int
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        /// Seconds to wait before answering (timeouts).
        public var delay: Double
        /// Close the connection without answering.
        public var hangUp: Bool

        public init(
            status: Int = 200, headers: [String: String] = [:], body: Data = Data(), delay: Double = 0,
            hangUp: Bool = false
        ) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.hangUp = hangUp
        }

        public static func text(
            _ text: String, status: Int = 200, contentType: String = "text/plain; version=0.0.4; charset=utf-8"
        ) -> Response {
            Response(status: status, headers: ["Content-Type": contentType], body: Data(text.utf8))
        }

        public static func json(_ text: String, status: Int = 200) -> Response {
            Response(status: status, headers: ["Content-Type": "application/json"], body: Data(text.utf8))
        }
    }

    public let port: Int
    private let listener: Int32
    private let handler: @Sendable (Request) -> Response
    private let lock = NSLock()
    private var stopped = false
    private var count = 0
    private var log: [Request] = []

    /// Starts listening on an ephemeral loopback port.
    public init(handler: @escaping @Sendable (Request) -> Response) throws {
        self.handler = handler
        let held = try LoopbackPort()
        let fd = try held.takeListener()
        self.listener = fd
        self.port = held.port
        let thread = Thread { [self] in self.acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// `http://127.0.0.1:<port>` + `path`.
    public func url(_ path: String = "/metrics") -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

    /// Requests received so far.
    public var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }

    public func stop() {
        lock.lock()
        let wasStopped = stopped
        stopped = true
        lock.unlock()
        // Only wake the accept loop here; it closes the descriptor itself when it exits. Closing it here would let
        // the next server's socket() reuse the number while this loop still polls it, serving another test's
        // connections with this server's handler.
        if !wasStopped { shutdown(listener, Int32(SHUT_RDWR)) }
    }

    /// A loopback port nothing listens on, for "connection refused" tests: held bound (not listening) for the rest
    /// of the test process, so no server of a test running beside it can take it (`LoopbackPort.refusing()`).
    public static func unusedPort() -> Int { LoopbackPort.refusing() }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopped {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0, !isStopped else { continue }
            let client = accept(listener, nil, nil)
            if client < 0 { if isStopped { return } else { continue } }
            let thread = Thread { [self] in self.serve(client) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var headerEnd: Int? = nil
        var contentLength = 0
        while true {
            if let end = headerEnd, received.count >= end + 4 + contentLength { break }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5_000) > 0 else { return }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            received.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, received.count >= 4 {
                for i in 0...(received.count - 4)
                where received[i] == 13 && received[i + 1] == 10 && received[i + 2] == 13 && received[i + 3] == 10 {
                    headerEnd = i
                    break
                }
                if let end = headerEnd {
                    let head = String(decoding: received[0..<end], as: UTF8.self)
                    for line in head.components(separatedBy: "\r\n")
                    where line.lowercased().hasPrefix("content-length:") {
                        contentLength =
                            Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
            }
        }
        guard let end = headerEnd else { return }
        let head = String(decoding: received[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = head[0].split(separator: " ")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
        }
        lock.lock()
        count += 1
        let request = Request(
            method: parts.count > 0 ? String(parts[0]) : "", path: parts.count > 1 ? String(parts[1]) : "",
            headers: headers, body: Data(received[(end + 4)...]), sequence: count)
        log.append(request)
        lock.unlock()

        let response = handler(request)
        if response.delay > 0 { Thread.sleep(forTimeInterval: response.delay) }
        if response.hangUp { return }
        var text =
            """
            HTTP/1.1 \(response.status) \(response.status < 400 ? "OK" : "Error")\r\nConnection: \
            close\r\nContent-Length: \(response.body.count)\r\n
            """
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        var payload = [UInt8](text.utf8)
        payload.append(contentsOf: response.body)
        var offset = 0
        while offset < payload.count {
            let sent = payload[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }
}

/// A loopback listener whose accept queue is full and never drained: a new connection to it is neither accepted
/// nor refused, so connecting times out (the "connect timeout" case, without leaving the machine).
public final class SaturatedListener: @unchecked Sendable {
    public let port: Int
    private var descriptors: [Int32] = []

    public init() throws {
        let held = try LoopbackPort()
        port = held.port
        descriptors.append(try held.takeListener(backlog: 0))
        // Fill the queue: the first connection completes the handshake and waits, unaccepted.
        if let filler = try? LoopbackPort.connect(port: port) { descriptors.append(filler) }
    }

    deinit { stop() }

    public func stop() {
        for fd in descriptors { close(fd) }
        descriptors.removeAll()
    }
}
