import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `swiftdeploy-api healthcheck`: one HTTP/1.1 GET to a `/healthz` URL over a plain
/// socket, so the container image needs neither curl nor wget. Healthy means status
/// 200 and a body containing `"status":"ok"`.
///
/// Only `http://HOST[:PORT][/PATH]` URLs are accepted (HOST may be a name, an IPv4
/// address or a bracketed IPv6 address). Names resolve through the system resolver,
/// so `http://api:3000/healthz` works on a Compose network.
struct HealthProbe {
    struct Target: Equatable {
        var host: String
        var port: Int
        var path: String
    }

    enum Outcome: Equatable {
        case healthy(String)
        case unhealthy(String)
    }

    let target: Target
    /// Seconds allowed for connecting, and again for the answer.
    let timeout: Double

    /// Parses a probe URL, or returns why it cannot be used.
    static func parse(url: String) -> Result<Target, ProbeURLError> {
        let prefix = "http://"
        guard url.hasPrefix(prefix) else {
            return .failure(ProbeURLError(url: url, reason: "must start with http:// (https is not supported by the probe)"))
        }
        let rest = url.dropFirst(prefix.count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                return .failure(ProbeURLError(url: url, reason: "has an unclosed '[' in its IPv6 host"))
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                return .failure(ProbeURLError(url: url, reason: "has unexpected text after the IPv6 host"))
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return .failure(ProbeURLError(url: url, reason: "has no host")) }
        var port = 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                return .failure(ProbeURLError(url: url, reason: "has port '\(portText)', which is not 1-65535"))
            }
            port = value
        }
        return .success(Target(host: String(host), port: port, path: path.isEmpty ? "/" : String(path)))
    }

    /// Performs the probe. Never throws: every failure becomes `.unhealthy(reason)`.
    func run() -> Outcome {
        let description = "http://\(target.host.contains(":") ? "[\(target.host)]" : target.host):\(target.port)\(target.path)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard status == 0, let first = list else {
            return .unhealthy("cannot resolve '\(target.host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }

        var lastError = "no address to connect to"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            guard fd >= 0 else { lastError = "socket() failed: \(errnoText())"; continue }
            defer { close(fd) }
            if let failure = connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) {
                lastError = "cannot connect to \(description): \(failure)"
                continue
            }
            return exchange(fd, description: description)
        }
        return .unhealthy(lastError)
    }

    /// Connects with a timeout; returns nil on success or the reason it failed.
    private func connect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: socklen_t) -> String? {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        #if canImport(Darwin)
        let result = Darwin.connect(fd, address, length)
        #else
        let result = Glibc.connect(fd, address, length)
        #endif
        if result != 0 {
            guard errno == EINPROGRESS else { return errnoText() }
            var pollfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&pollfd, 1, Int32(timeout * 1000))
            if ready == 0 { return "timed out after \(timeout)s" }
            if ready < 0 { return errnoText() }
            var error: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
            if error != 0 { return String(cString: strerror(error)) }
        }
        _ = fcntl(fd, F_SETFL, flags)
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return nil
    }

    private func exchange(_ fd: Int32, description: String) -> Outcome {
        let hostHeader = target.host.contains(":") ? "[\(target.host)]:\(target.port)" : "\(target.host):\(target.port)"
        let request = "GET \(target.path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: swiftdeploy-api-healthcheck\r\n"
            + "X-Request-ID: healthcheck\r\nConnection: close\r\n\r\n"
        var bytes = Array(request.utf8)
        let sent = bytes.withUnsafeMutableBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { return .unhealthy("cannot send the request to \(description): \(errnoText())") }

        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while answer.count < 65536 {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    return .unhealthy("\(description) did not answer within \(timeout)s")
                }
                return .unhealthy("reading the answer from \(description) failed: \(errnoText())")
            }
            answer += chunk[0..<count]
        }
        let text = String(decoding: answer, as: UTF8.self)
        let statusLine = text.prefix { $0 != "\r" && $0 != "\n" }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
            return .unhealthy("\(description) answered something that is not HTTP: '\(statusLine.prefix(60))'")
        }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        guard code == 200 else {
            return .unhealthy("\(description) answered \(code): \(body.prefix(200))")
        }
        guard body.replacingOccurrences(of: " ", with: "").contains("\"status\":\"ok\"") else {
            return .unhealthy("\(description) answered 200 without \"status\":\"ok\": \(body.prefix(200))")
        }
        return .healthy("\(description) answered 200 \(body.prefix(200))")
    }

    private func errnoText() -> String { String(cString: strerror(errno)) }
}

/// A probe URL that cannot be used; the message names the URL and the reason.
struct ProbeURLError: Error, Equatable {
    var url: String
    var reason: String
    var message: String { "healthcheck URL '\(url)' \(reason); use e.g. http://127.0.0.1:3000/healthz" }
}
