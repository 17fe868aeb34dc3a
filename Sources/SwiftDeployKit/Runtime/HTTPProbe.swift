import Foundation

/// One HTTP answer, or why there was none.
public struct HTTPAnswer: Sendable, Equatable {
    /// The status code; nil when no answer came (refused, timed out).
    public var status: Int?
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: String
    /// Why there was no answer.
    public var failure: String?

    public init(status: Int?, headers: [String: String] = [:], body: String = "", failure: String? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.failure = failure
    }

    /// `200`, `503`, or the failure, for messages.
    public var summary: String {
        if let status { return "HTTP \(status)" }
        return failure ?? "no answer"
    }
}

/// Fetches a URL. Health waits and mode confirmation go through this seam.
public protocol HTTPProbing: Sendable {
    func get(_ url: URL, timeout: TimeInterval) async -> HTTPAnswer
}

/// Health waits and mode confirmation use the one HTTP client, with its timeouts and body cap.
extension SocketHTTPClient: HTTPProbing {
    /// The largest body a probe reads: health and `GET /` answers are small.
    public static let probeBodyLimit = 1 << 20

    public func get(_ url: URL, timeout: TimeInterval) async -> HTTPAnswer {
        let limits = HTTPLimits(connectTimeout: timeout, totalTimeout: timeout, maxBodyBytes: Self.probeBodyLimit)
        do {
            let response = try await send(method: "GET", url: url, limits: limits)
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
