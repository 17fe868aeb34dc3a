// The one HTTP client of the package: swiftdeploy's metrics scrapes, OPA calls and health waits, and the demo
// service's `healthcheck` probe. A target of its own so the demo service shares it without the library.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Limits for one HTTP exchange.
public struct HTTPLimits: Sendable, Equatable {
    /// Seconds allowed to establish the TCP connection.
    public var connectTimeout: Double
    /// Seconds allowed for the whole exchange, connection included.
    public var totalTimeout: Double
    /// The largest body accepted, in bytes; a larger one is refused rather than read.
    public var maxBodyBytes: Int

    public init(connectTimeout: Double = 2, totalTimeout: Double = 10, maxBodyBytes: Int = 32 << 20) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxBodyBytes = maxBodyBytes
    }
}

/// One header line of a response as it came: the name lower-cased, the value trimmed.
public struct HTTPHeaderField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A response: status, headers (names lower-cased; a repeated header's values joined with ", ") and the decoded
/// body. `fields` keeps every header line in order, repeats apart (how often a proxy sent a header).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var fields: [HTTPHeaderField]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], fields: [HTTPHeaderField]? = nil, body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.fields =
            fields ?? headers.sorted { $0.key < $1.key }.map { HTTPHeaderField(name: $0.key, value: $0.value) }
        self.body = body
    }
}

/// Why an HTTP exchange failed, one case per reason a user must tell apart.
public enum HTTPClientError: Error, Equatable, Sendable {
    case invalidURL(String)
    case unresolvable(host: String, reason: String)
    case refused(url: String)
    case connectTimedOut(url: String, seconds: Double)
    case timedOut(url: String, seconds: Double)
    case tooLarge(url: String, limit: Int)
    case malformedResponse(url: String, reason: String)
    case connectionFailed(url: String, reason: String)

    /// One sentence naming the endpoint and the reason.
    public var summary: String {
        switch self {
        case .invalidURL(let url):
            return
                """
                \(url) is not an http:// URL this client can reach (https is not supported; use the loopback \
                admin listener or a plain-http proxy)
                """
        case .unresolvable(let host, let reason):
            return "cannot resolve host \(host): \(reason)"
        case .refused(let url):
            return "connection refused by \(url): nothing listens there (is the service running?)"
        case .connectTimedOut(let url, let seconds):
            return "connecting to \(url) timed out after \(formatSeconds(seconds))"
        case .timedOut(let url, let seconds):
            return "\(url) did not answer within \(formatSeconds(seconds))"
        case .tooLarge(let url, let limit):
            return "\(url) answered more than \(limit) bytes, the body size cap; refusing to read it"
        case .malformedResponse(let url, let reason):
            return "\(url) answered something that is not HTTP/1.x: \(reason)"
        case .connectionFailed(let url, let reason):
            return "connection to \(url) failed: \(reason)"
        }
    }
}

/// `500ms`, `2s`, `1.5s`: how messages show a timeout.
public func formatSeconds(_ seconds: Double) -> String {
    seconds < 1
        ? "\(Int((seconds * 1000).rounded()))ms"
        : (seconds == seconds.rounded() ? "\(Int(seconds))s" : String(format: "%.1fs", seconds))
}

/// Sends one HTTP request. A protocol so tests and the gate can swap the transport.
public protocol HTTPTransport: Sendable {
    func send(method: String, url: URL, headers: [String: String], body: Data?, limits: HTTPLimits) async throws
        -> HTTPResponse
}

/// A small HTTP/1.1 client on POSIX sockets: a non-blocking connect bounded by the connect timeout, the whole
/// exchange bounded by the total timeout, `Connection: close`, `Content-Length` and chunked bodies, and a body cap.
/// Plain `http://` only: every endpoint swiftdeploy talks to by default is on loopback.
public struct SocketHTTPClient: HTTPTransport {
    public init() {}

    public func send(
        method: String, url: URL, headers: [String: String] = [:], body: Data? = nil,
        limits: HTTPLimits = HTTPLimits()
    ) async throws -> HTTPResponse {
        // A thread of its own: blocking socket calls must not occupy the cooperative pool or wait for a
        // dispatch worker, or the timeouts would measure the queue instead of the endpoint.
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    continuation.resume(
                        returning: try self.sendBlocking(
                            method: method, url: url, headers: headers, body: body, limits: limits))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// The same exchange on the calling thread.
    public func sendBlocking(
        method: String, url: URL, headers: [String: String] = [:], body: Data? = nil,
        limits: HTTPLimits = HTTPLimits()
    ) throws -> HTTPResponse {
        let shown = url.absoluteString
        // An IPv6 literal without its brackets, whichever way URL reports it.
        guard url.scheme?.lowercased() == "http",
            let host = url.host?.trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
            !host.isEmpty
        else { throw HTTPClientError.invalidURL(shown) }
        let port = url.port ?? 80
        let start = MonotonicClock.now()
        let deadline = start + limits.totalTimeout
        let connectDeadline = min(deadline, start + limits.connectTimeout)

        let fd = try connect(host: host, port: port, url: shown, connectDeadline: connectDeadline, limits: limits)
        defer { close(fd) }

        var target = url.path.isEmpty ? "/" : url.path
        if let query = url.query { target += "?" + query }
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var request =
            "\(method) \(target) HTTP/1.1\r\nHost: \(hostHeader)\r\nConnection: close\r\nUser-Agent: swiftdeploy\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request += "\(name): \(value)\r\n" }
        if let body { request += "Content-Length: \(body.count)\r\n" }
        request += "\r\n"
        var payload = Data(request.utf8)
        if let body { payload.append(body) }
        try write(fd, payload, url: shown, deadline: deadline, limits: limits)
        return try read(fd, url: shown, deadline: deadline, limits: limits, method: method)
    }

    private func connect(host: String, port: Int, url: String, connectDeadline: Double, limits: HTTPLimits) throws
        -> Int32
    {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw HTTPClientError.unresolvable(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(result) }
        var lastError: HTTPClientError = .refused(url: url)
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let info = current {
            current = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd < 0 {
                lastError = .connectionFailed(url: url, reason: String(cString: strerror(errno)))
                continue
            }
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            #if canImport(Glibc)
            let rc = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            #else
            let rc = Darwin.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
            #endif
            if rc == 0 { return fd }
            let code = errno
            if code != EINPROGRESS {
                close(fd)
                lastError =
                    code == ECONNREFUSED
                    ? .refused(url: url) : .connectionFailed(url: url, reason: String(cString: strerror(code)))
                continue
            }
            let remaining = connectDeadline - MonotonicClock.now()
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = remaining > 0 ? poll(&pfd, 1, Int32(max(1, remaining * 1000))) : 0
            if ready <= 0 {
                close(fd)
                lastError = .connectTimedOut(url: url, seconds: limits.connectTimeout)
                continue
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if soError == 0 { return fd }
            close(fd)
            lastError =
                soError == ECONNREFUSED
                ? .refused(url: url) : .connectionFailed(url: url, reason: String(cString: strerror(soError)))
        }
        throw lastError
    }

    private func wait(_ fd: Int32, for events: Int32, url: String, deadline: Double, limits: HTTPLimits) throws {
        while true {
            let remaining = deadline - MonotonicClock.now()
            guard remaining > 0 else { throw HTTPClientError.timedOut(url: url, seconds: limits.totalTimeout) }
            var pfd = pollfd(fd: fd, events: Int16(events), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, min(remaining * 1000, 60_000))))
            if ready > 0 { return }
            if ready < 0, errno != EINTR {
                throw HTTPClientError.connectionFailed(url: url, reason: String(cString: strerror(errno)))
            }
        }
    }

    private func write(_ fd: Int32, _ data: Data, url: String, deadline: Double, limits: HTTPLimits) throws {
        var offset = 0
        let bytes = [UInt8](data)
        while offset < bytes.count {
            try wait(fd, for: Int32(POLLOUT), url: url, deadline: deadline, limits: limits)
            let sent = bytes[offset...].withUnsafeBytes { pointer -> Int in
                #if canImport(Glibc)
                return Glibc.send(fd, pointer.baseAddress, pointer.count, Int32(MSG_NOSIGNAL))
                #else
                return Darwin.send(fd, pointer.baseAddress, pointer.count, 0)
                #endif
            }
            if sent < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw HTTPClientError.connectionFailed(
                    url: url, reason: "sending the request failed: \(String(cString: strerror(errno)))")
            }
            offset += sent
        }
    }

    private func read(_ fd: Int32, url: String, deadline: Double, limits: HTTPLimits, method: String) throws
        -> HTTPResponse
    {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int? = nil
        var head: (status: Int, headers: [String: String], fields: [HTTPHeaderField])? = nil
        let headerCap = 64 * 1024
        while true {
            try wait(fd, for: Int32(POLLIN), url: url, deadline: deadline, limits: limits)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                if errno == ECONNRESET, headerEnd == nil, received.isEmpty {
                    throw HTTPClientError.connectionFailed(
                        url: url, reason: "the server reset the connection before answering")
                }
                throw HTTPClientError.connectionFailed(url: url, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            received.append(contentsOf: chunk[0..<count])
            if headerEnd == nil {
                if let end = findHeaderEnd(received) {
                    headerEnd = end
                    head = try parseHead(Array(received[0..<end]), url: url)
                    if let length = head?.headers["content-length"].flatMap(Int.init), length > limits.maxBodyBytes {
                        throw HTTPClientError.tooLarge(url: url, limit: limits.maxBodyBytes)
                    }
                } else if received.count > headerCap {
                    throw HTTPClientError.malformedResponse(
                        url: url, reason: "no end of headers in the first \(headerCap) bytes")
                }
            }
            if let end = headerEnd {
                let bodyBytes = received.count - end - 4
                if bodyBytes > limits.maxBodyBytes + 64 * 1024 {  // chunk framing overhead allowed
                    throw HTTPClientError.tooLarge(url: url, limit: limits.maxBodyBytes)
                }
                if let length = head?.headers["content-length"].flatMap(Int.init),
                    head?.headers["transfer-encoding"] == nil,
                    bodyBytes >= length
                {
                    break
                }
                if let status = head?.status, status == 204 || status == 304 || method == "HEAD" { break }
            }
        }
        guard let end = headerEnd, let head else {
            if received.isEmpty {
                throw HTTPClientError.malformedResponse(url: url, reason: "the connection closed without an answer")
            }
            throw HTTPClientError.malformedResponse(url: url, reason: "the answer ended inside the headers")
        }
        var body = Array(received[(end + 4)...])
        if head.headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try decodeChunked(body, url: url)
        } else if let length = head.headers["content-length"].flatMap(Int.init) {
            guard body.count >= length else {
                throw HTTPClientError.malformedResponse(
                    url: url, reason: "the body ended after \(body.count) of \(length) bytes")
            }
            body = Array(body[0..<length])
        }
        if body.count > limits.maxBodyBytes { throw HTTPClientError.tooLarge(url: url, limit: limits.maxBodyBytes) }
        return HTTPResponse(status: head.status, headers: head.headers, fields: head.fields, body: Data(body))
    }

    private func findHeaderEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func parseHead(_ bytes: [UInt8], url: String) throws -> (
        status: Int, headers: [String: String], fields: [HTTPHeaderField]
    ) {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let statusLine = lines.first ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status)
        else {
            throw HTTPClientError.malformedResponse(
                url: url, reason: "bad status line \(String(statusLine.prefix(80)).debugDescription)")
        }
        var headers: [String: String] = [:]
        var fields: [HTTPHeaderField] = []
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                throw HTTPClientError.malformedResponse(
                    url: url, reason: "bad header line \(String(line.prefix(80)).debugDescription)")
            }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
            fields.append(HTTPHeaderField(name: name, value: value))
        }
        return (status, headers, fields)
    }

    private func decodeChunked(_ bytes: [UInt8], url: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while true {
            var lineEnd = i
            while lineEnd + 1 < bytes.count, !(bytes[lineEnd] == 13 && bytes[lineEnd + 1] == 10) { lineEnd += 1 }
            guard lineEnd + 1 < bytes.count else {
                throw HTTPClientError.malformedResponse(url: url, reason: "the chunked body ended early")
            }
            let sizeText =
                String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw HTTPClientError.malformedResponse(url: url, reason: "bad chunk size \(sizeText.debugDescription)")
            }
            i = lineEnd + 2
            if size == 0 { return out }
            guard i + size <= bytes.count else {
                throw HTTPClientError.malformedResponse(url: url, reason: "the chunked body ended early")
            }
            out.append(contentsOf: bytes[i..<(i + size)])
            i += size + 2
        }
    }
}

/// A monotonic clock in seconds, unaffected by wall-clock changes.
public enum MonotonicClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
