import Foundation
import SwiftDeployKit

/// The tests' HTTP requests to the services they start (nginx, the demo service, Prometheus, Alertmanager), over the
/// package's one client, `SocketHTTPClient`, whose timeouts and body cap are tested: no curl, no URLSession.
public enum TestHTTP {
    /// An answer: status, headers (names lower-cased; a repeated header's values joined with ", "), every header
    /// line in order (`fields`) and the body as text.
    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let fields: [HTTPHeaderField]
        public let body: String
    }

    /// Sends `method url` with `headers`; a `body` goes with `Content-Type: application/json` unless `headers` name
    /// one. Nil when nothing answers within `timeout` seconds (refused, timed out, not HTTP).
    public static func request(
        _ url: URL, method: String = "GET", headers: [String: String] = [:], body: String? = nil, timeout: Double = 5
    ) async -> Response? {
        let (headers, data) = prepared(headers: headers, body: body)
        guard
            let answer = try? await SocketHTTPClient().send(
                method: method, url: url, headers: headers, body: data, limits: limits(timeout))
        else { return nil }
        return Response(answer)
    }

    /// `request` to `http://127.0.0.1:<port><path>`.
    public static func request(
        port: Int, path: String, method: String = "GET", headers: [String: String] = [:], body: String? = nil,
        timeout: Double = 5
    ) async -> Response? {
        await request(
            URL(string: "http://127.0.0.1:\(port)\(path)")!, method: method, headers: headers, body: body,
            timeout: timeout)
    }

    /// `request` on the calling thread, for synchronous callers (a sync test, a traffic thread of its own).
    public static func requestBlocking(
        _ url: URL, method: String = "GET", headers: [String: String] = [:], body: String? = nil, timeout: Double = 5
    ) -> Response? {
        let (headers, data) = prepared(headers: headers, body: body)
        guard
            let answer = try? SocketHTTPClient().sendBlocking(
                method: method, url: url, headers: headers, body: data, limits: limits(timeout))
        else { return nil }
        return Response(answer)
    }

    /// `requestBlocking` to `http://127.0.0.1:<port><path>`.
    public static func requestBlocking(
        port: Int, path: String, method: String = "GET", headers: [String: String] = [:], body: String? = nil,
        timeout: Double = 5
    ) -> Response? {
        requestBlocking(
            URL(string: "http://127.0.0.1:\(port)\(path)")!, method: method, headers: headers, body: body,
            timeout: timeout)
    }

    private static func prepared(headers: [String: String], body: String?) -> ([String: String], Data?) {
        guard let body else { return (headers, nil) }
        var headers = headers
        if !headers.keys.contains(where: { $0.lowercased() == "content-type" }) {
            headers["Content-Type"] = "application/json"
        }
        return (headers, Data(body.utf8))
    }

    /// The whole exchange within `timeout`, the connect as well.
    private static func limits(_ timeout: Double) -> HTTPLimits {
        HTTPLimits(connectTimeout: timeout, totalTimeout: timeout)
    }
}

extension TestHTTP.Response {
    init(_ answer: HTTPResponse) {
        self.init(
            status: answer.status, headers: answer.headers, fields: answer.fields,
            body: String(decoding: answer.body, as: UTF8.self))
    }
}
