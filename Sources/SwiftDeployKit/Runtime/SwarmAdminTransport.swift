import Foundation

/// How swiftdeploy reaches nginx's admin listener on Swarm, where it is bound to nginx's own loopback and published
/// nowhere: `docker exec` into the stack's nginx task on this node, where `bash` opens `/dev/tcp/127.0.0.1/<port>`
/// and sends one HTTP/1.0 GET. The path, the Accept header and the port are arguments, never part of the script, and
/// are checked first (a URL-path grammar; no control character, so no CR/LF, in a header value). The port is the one
/// the generated `nginx.conf` listens on (`listen 127.0.0.1:<port>`), so a project's own template is followed. The
/// caller's timeout bounds the `docker exec`. Requests to any other URL go to `fallback` unchanged, so the one
/// transport serves every HTTP call of a command.
///
/// The manifest's admin URLs (`http://127.0.0.1:<nginx.admin_port>/…`) are what the workflows ask for; on Swarm
/// this transport is what answers them.
public struct SwarmAdminTransport: HTTPTransport, HTTPProbing {
    public var runtime: SwarmRuntime
    /// The admin port the manifest's URLs name (`nginx.admin_port`).
    public var adminPort: Int
    /// The generated nginx.conf, whose `listen 127.0.0.1:<port>` names the admin listener inside the container; nil
    /// or a missing file: `ContainerLayout.nginxAdminPort`, the port the built-in template renders.
    public var nginxConf: URL?
    public var fallback: any HTTPTransport

    public init(
        runtime: SwarmRuntime, adminPort: Int, nginxConf: URL? = nil, fallback: any HTTPTransport = SocketHTTPClient()
    ) {
        self.runtime = runtime
        self.adminPort = adminPort
        self.nginxConf = nginxConf
        self.fallback = fallback
    }

    /// The transport for a manifest's project: its admin port and its generated nginx.conf.
    public init(runtime: SwarmRuntime, manifest: Manifest, fallback: any HTTPTransport = SocketHTTPClient()) {
        self.init(
            runtime: runtime, adminPort: manifest.nginx.adminPort, nginxConf: manifest.nginxConfigURL,
            fallback: fallback)
    }

    /// The bash program run inside the nginx container: $1 is the path, $2 the Accept header, $3 the port.
    static let script =
        #"exec 3<>"/dev/tcp/127.0.0.1/$3" || exit 97; printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: %s\r\nX-Request-ID: swiftdeploy-admin\r\n\r\n' "$1" "$2" >&3; cat <&3"#

    func isAdmin(_ url: URL) -> Bool {
        url.scheme == "http" && (url.host == "127.0.0.1" || url.host == "localhost") && url.port == adminPort
    }

    /// The port of the first `listen 127.0.0.1:<port>;` in an nginx.conf (the admin listener on Swarm), nil without
    /// one.
    static func adminListenPort(inNginxConf text: String) -> Int? {
        guard let match = text.range(of: #"(?m)^\s*listen\s+127\.0\.0\.1:[0-9]{1,5}\s*;"#, options: .regularExpression)
        else { return nil }
        let digits = text[match].drop { $0 != ":" }.dropFirst().prefix { $0.isNumber }
        return Int(digits).flatMap { (1...65535).contains($0) ? $0 : nil }
    }

    /// The admin listener's port inside the nginx container, from the generated nginx.conf.
    func containerAdminPort(url: URL) throws -> Int {
        guard let nginxConf, let text = try? String(contentsOf: nginxConf, encoding: .utf8) else {
            return ContainerLayout.nginxAdminPort
        }
        guard let port = Self.adminListenPort(inNginxConf: text) else {
            throw HTTPClientError.connectionFailed(
                url: url.absoluteString,
                reason:
                    """
                    \(nginxConf.lastPathComponent) has no 'listen 127.0.0.1:<port>;' admin listener, which \
                    swiftdeploy reaches through docker exec on Swarm; render it again with 'swiftdeploy init'
                    """
            )
        }
        return port
    }

    public func send(method: String, url: URL, headers: [String: String], body: Data?, limits: HTTPLimits) async throws
        -> HTTPResponse
    {
        guard isAdmin(url) else {
            return try await fallback.send(method: method, url: url, headers: headers, body: body, limits: limits)
        }
        guard method == "GET", body == nil else {
            throw HTTPClientError.connectionFailed(
                url: url.absoluteString, reason: "only GET reaches the Swarm admin listener through docker exec")
        }
        let path = url.path.isEmpty ? "/" : url.path
        guard path.range(of: #"^/[A-Za-z0-9._~/-]*$"#, options: .regularExpression) != nil else {
            throw HTTPClientError.invalidURL(url.absoluteString)
        }
        // A header value is written into the request: a CR or LF (or any control character) would end the header and
        // start another, so it is refused, never sent.
        for (name, value) in headers where value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        {
            throw HTTPClientError.connectionFailed(
                url: url.absoluteString,
                reason:
                    """
                    the \(name) header holds a control character (CR/LF): \(value.debugDescription); refused, \
                    nothing was sent
                    """
            )
        }
        let accept = headers.first { $0.key.lowercased() == "accept" }?.value ?? "*/*"
        let port = try containerAdminPort(url: url)
        let timeout = max(1, limits.totalTimeout)
        let result: CommandResult
        do {
            result = try await runtime.exec(
                service: "nginx",
                command: ["bash", "-c", Self.script, "swiftdeploy-admin", path, accept, String(port)],
                timeout: timeout)
        } catch RuntimeError.commandTimedOut {
            throw HTTPClientError.timedOut(url: url.absoluteString, seconds: timeout)
        } catch let error as RuntimeError {
            throw HTTPClientError.connectionFailed(
                url: url.absoluteString, reason: "docker exec into the stack's nginx: \(error.localizedDescription)")
        }
        guard result.succeeded else {
            let reason =
                result.status == 97
                ? "nginx's admin listener (127.0.0.1:\(port) in its container) refused the connection"
                : (result.status == 127 || result.status == 126
                    ? "the nginx image has no bash, which swiftdeploy uses to reach the admin listener on Swarm"
                    : "docker exec failed (\(result.status)): \(result.outputTail(lines: 2))")
            throw HTTPClientError.connectionFailed(url: url.absoluteString, reason: reason)
        }
        let raw = Data(result.stdout.utf8)
        if raw.count > limits.maxBodyBytes + 64 * 1024 {
            throw HTTPClientError.tooLarge(url: url.absoluteString, limit: limits.maxBodyBytes)
        }
        return try Self.parse(raw, url: url.absoluteString)
    }

    /// Reads an HTTP/1.x response written in full (HTTP/1.0: no chunking, the body runs to the end).
    static func parse(_ raw: Data, url: String) throws -> HTTPResponse {
        let separator = Data("\r\n\r\n".utf8)
        guard let split = raw.range(of: separator) else {
            throw HTTPClientError.malformedResponse(url: url, reason: "no end of headers in \(raw.count) bytes")
        }
        let head = String(decoding: raw[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusWords = head.first?.split(separator: " ") ?? []
        guard statusWords.count >= 2, statusWords[0].hasPrefix("HTTP/1."), let status = Int(statusWords[1]) else {
            throw HTTPClientError.malformedResponse(
                url: url, reason: "status line \(head.first.map { $0.debugDescription } ?? "missing")")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        return HTTPResponse(status: status, headers: headers, body: Data(raw[split.upperBound...]))
    }

    public func get(_ url: URL, timeout: TimeInterval) async -> HTTPAnswer {
        let limits = HTTPLimits(
            connectTimeout: timeout, totalTimeout: timeout, maxBodyBytes: SocketHTTPClient.probeBodyLimit)
        do {
            let response = try await send(method: "GET", url: url, headers: [:], body: nil, limits: limits)
            return HTTPAnswer(
                status: response.status, headers: response.headers, body: String(decoding: response.body, as: UTF8.self)
            )
        } catch let error as HTTPClientError {
            return HTTPAnswer(status: nil, failure: error.summary)
        } catch {
            return HTTPAnswer(status: nil, failure: "\(url.absoluteString): \(error)")
        }
    }
}
