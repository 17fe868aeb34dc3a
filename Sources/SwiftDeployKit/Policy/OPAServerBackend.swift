import Foundation

/// Asks an OPA server: `POST <url>/v1/data/swiftdeploy/<domain>` with `{"input": …}`.
///
/// Each failure gives its own message and `.unavailable` (so an inconclusive verdict): connection refused,
/// connect or answer timeout, an HTTP error status (with OPA's `code`/`message` when it sent them), an undefined
/// document (`{}`: no such package), and a malformed answer.
public struct OPAServerBackend: PolicyBackend {
    public var baseURL: URL
    public var transport: HTTPTransport
    public var limits: HTTPLimits

    public init(baseURL: URL, transport: HTTPTransport = SocketHTTPClient(),
                limits: HTTPLimits = HTTPLimits(connectTimeout: 2, totalTimeout: 5, maxBodyBytes: 4 << 20)) {
        self.baseURL = baseURL
        self.transport = transport
        self.limits = limits
    }

    public var engineDescription: String { "opa \(baseURL.absoluteString)" }

    public func evaluate(domain: String, input: JSONValue) async -> BackendResult {
        let url = baseURL.appendingPathComponent("v1/data/swiftdeploy/\(domain)")
        let name = "OPA server \(baseURL.absoluteString)"
        let body = Data(JSONValue.object(["input": input]).jsonString().utf8)
        let response: HTTPResponse
        do {
            response = try await transport.send(method: "POST", url: url, headers: ["Content-Type": "application/json"],
                                                body: body, limits: limits)
        } catch let error as HTTPClientError {
            switch error {
            case .timedOut:
                return .unavailable("\(name) did not decide within \(formatSeconds(limits.totalTimeout)) (POST \(url.path)); check the server's load or raise the timeout")
            case .refused:
                return .unavailable("\(name) refused the connection: no OPA listens there; start it (the Compose sidecar) or fix policy.opa.url")
            default:
                return .unavailable("\(name): \(error.summary)")
            }
        } catch {
            return .unavailable("\(name): \(error)")
        }
        let document = try? JSONValue.parse(response.body)
        guard (200..<300).contains(response.status) else {
            var detail = ""
            if let code = document?["code"]?.stringValue { detail += " \(code)" }
            if let message = document?["message"]?.stringValue { detail += ": \(message)" }
            if detail.isEmpty { detail = " " + String(decoding: response.body.prefix(160), as: UTF8.self).debugDescription }
            return .unavailable("\(name) answered HTTP \(response.status) for POST \(url.path):\(detail)")
        }
        guard let document, case .object(let fields) = document else {
            return .unavailable("\(name) answered something that is not a JSON object for POST \(url.path): \(String(decoding: response.body.prefix(120), as: UTF8.self).debugDescription)")
        }
        return DomainDocument.interpret(fields["result"], domain: domain, engine: name)
    }
}
