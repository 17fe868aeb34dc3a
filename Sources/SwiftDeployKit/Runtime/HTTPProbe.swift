import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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

/// `HTTPProbing` over URLSession, with no caching, cookies or proxies (loopback targets only).
public struct URLSessionProbe: HTTPProbing {
    public init() {}

    public func get(_ url: URL, timeout: TimeInterval) async -> HTTPAnswer {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.connectionProxyDictionary = [:]
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        request.timeoutInterval = timeout
        do {
            let (data, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else {
                return HTTPAnswer(status: nil, failure: "not an HTTP answer")
            }
            var headers: [String: String] = [:]
            for (key, value) in http.allHeaderFields {
                if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
            }
            return HTTPAnswer(status: http.statusCode, headers: headers, body: String(decoding: data, as: UTF8.self))
        } catch {
            return HTTPAnswer(status: nil, failure: (error as NSError).localizedDescription)
        }
    }
}
