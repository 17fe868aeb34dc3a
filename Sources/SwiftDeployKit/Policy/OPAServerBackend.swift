import Foundation

/// Asks an OPA server: `POST <url>/v1/data/swiftdeploy/<domain>?strict-builtin-errors=true` with `{"input": …}`.
/// Strict like the embedded engine: a builtin error is an error, not an undefined rule; the answer must come within
/// the `policy.timeout` budget.
///
/// Each failure gives its own message and `.unavailable` (so an inconclusive verdict): connection refused,
/// connect or answer timeout, an HTTP error status (with OPA's `code`/`message` when it sent them), an undefined
/// document (`{}`: no such package), and a malformed answer.
public struct OPAServerBackend: PolicyBackend {
    public var baseURL: URL
    public var transport: HTTPTransport
    public var limits: HTTPLimits

    public init(
        baseURL: URL, transport: HTTPTransport = SocketHTTPClient(),
        limits: HTTPLimits = HTTPLimits(connectTimeout: 2, totalTimeout: 5, maxBodyBytes: 4 << 20)
    ) {
        self.baseURL = baseURL
        self.transport = transport
        self.limits = limits
    }

    public var engineDescription: String { "opa \(baseURL.absoluteString)" }

    public func evaluate(domain: String, input: JSONValue) async -> BackendResult {
        let path = baseURL.appendingPathComponent("v1/data/swiftdeploy/\(domain)")
        var components = URLComponents(url: path, resolvingAgainstBaseURL: false)
        components?.percentEncodedQuery = "strict-builtin-errors=true"
        let url = components?.url ?? path
        let name = "OPA server \(baseURL.absoluteString)"
        let body = Data(JSONValue.object(["input": input]).jsonString().utf8)
        let response: HTTPResponse
        do {
            response = try await transport.send(
                method: "POST", url: url, headers: ["Content-Type": "application/json"],
                body: body, limits: limits)
        } catch let error as HTTPClientError {
            switch error {
            case .timedOut:
                return .unavailable(
                    """
                    \(name) did not decide within \(formatSeconds(limits.totalTimeout)) (POST \(url.path)); check \
                    the server's load or raise the timeout
                    """
                )
            case .refused:
                return .unavailable(
                    """
                    \(name) refused the connection: no OPA listens there; start it (the Compose sidecar) or fix \
                    policy.opa.url
                    """
                )
            default:
                return .unavailable("\(name): \(error.summary)")
            }
        } catch {
            return .unavailable("\(name): \(error)")
        }
        let document = try? JSONValue.parse(response.body)
        guard (200..<300).contains(response.status) else {
            return .unavailable(
                """
                \(name) answered HTTP \(response.status) for POST \(url.path): \
                \(Self.describeError(document, body: response.body))
                """
            )
        }
        guard let document, case .object(let fields) = document else {
            return .unavailable(
                """
                \(name) answered something that is not a JSON object for POST \(url.path): \
                \(String(decoding: response.body.prefix(120), as: UTF8.self).debugDescription)
                """
            )
        }
        return DomainDocument.interpret(fields["result"], domain: domain, engine: name)
    }

    /// OPA's error shapes: `{"code", "message", "errors": [{"code", "message", "location": {"file", "row", "col"}}]}`
    /// (evaluation errors, with each engine error's code and the policy's file:row), or `{"code", "message"}` alone.
    static func describeError(_ document: JSONValue?, body: Data) -> String {
        var parts: [String] = []
        if case .array(let errors)? = document?["errors"] {
            for error in errors {
                var text = ""
                if let file = error["location"]?["file"]?.stringValue {
                    text += file
                    if let row = error["location"]?["row"]?.doubleValue { text += ":\(formatCount(row))" }
                    text += ": "
                }
                text += error["code"]?.stringValue ?? "error"
                if let message = error["message"]?.stringValue { text += ": \(message)" }
                parts.append(text)
            }
        }
        var head = document?["code"]?.stringValue ?? ""
        if let message = document?["message"]?.stringValue { head += head.isEmpty ? message : ": \(message)" }
        if parts.isEmpty {
            return head.isEmpty ? String(decoding: body.prefix(160), as: UTF8.self).debugDescription : head
        }
        return (head.isEmpty ? "" : head + ": ") + parts.joined(separator: "; ")
    }
}
