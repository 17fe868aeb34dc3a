import Foundation
import Hummingbird

/// Builders for the service's JSON responses. Every body the service sends, errors
/// included, is a JSON object with `Content-Type: application/json`.
enum APIResponse {
    /// Every route the service answers, as listed in a 404 message.
    static let routeList = "GET /, GET /healthz, GET /metrics, POST /chaos"

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// `{"error": message}` with the given status.
    static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        json(["error": message], status: status)
    }

    /// The response for an error that escaped a handler: its own status and message
    /// when it is an HTTP error, 500 otherwise.
    static func error(from error: any Error, method: String, path: String) -> Response {
        switch error {
        case let chaos as ChaosError:
            return self.error(chaos.message, status: .init(code: chaos.status))
        case let http as HTTPError:
            if http.status == .notFound {
                return self.error(
                    "no route for \(method) \(path); this service answers \(routeList)",
                    status: .notFound
                )
            }
            return self.error(http.body ?? http.status.reasonPhrase, status: http.status)
        case let responseError as any HTTPResponseError:
            return self.error("\(responseError.status.reasonPhrase)", status: responseError.status)
        default:
            return self.error("internal error while answering \(method) \(path)", status: .internalServerError)
        }
    }
}
