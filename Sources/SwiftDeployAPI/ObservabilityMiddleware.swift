import HTTPTypes
import Hummingbird
import Logging

/// The outermost middleware: it turns every error into a JSON response, then stamps,
/// measures and logs each request.
///
/// For every request, whatever happened inside:
/// - `X-Request-ID` is echoed (or a fresh id is made when the client sent none);
/// - in canary mode, `X-Mode: canary` is added, error responses included;
/// - `http_requests_total` and `http_request_duration_seconds` are recorded;
/// - one JSON access-log line is written with method, path, status, duration_ms, request_id.
struct ObservabilityMiddleware<Context: RequestContext>: RouterMiddleware {
    static var requestIDHeader: HTTPField.Name { HTTPField.Name("X-Request-ID")! }
    static var modeHeader: HTTPField.Name { HTTPField.Name("X-Mode")! }
    /// Longest `X-Request-ID` echoed and logged; longer ids are cut to this length.
    static var maximumRequestIDLength: Int { 128 }

    let mode: ServiceMode
    let metrics: ServiceMetrics
    let logger: Logger

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        let path = request.uri.path
        let requestID =
            request.headers[Self.requestIDHeader].map { String($0.prefix(Self.maximumRequestIDLength)) }
            ?? Self.makeRequestID()

        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = APIResponse.error(from: error, method: method, path: path)
        }
        if mode == .canary {
            response.headers[Self.modeHeader] = "canary"
        }
        response.headers[Self.requestIDHeader] = requestID

        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let status = response.status.code
        metrics.recordRequest(method: method, path: path, status: status, seconds: seconds)
        logger.info(
            "request",
            metadata: [
                "method": .string(method),
                "path": .string(String(path.prefix(512))),
                "status": .stringConvertible(status),
                "duration_ms": .stringConvertible((seconds * 1_000_000).rounded() / 1000),
                "request_id": .string(requestID),
            ]
        )
        return response
    }

    /// A random 16-hex-digit id for requests that arrive without `X-Request-ID`.
    static func makeRequestID() -> String {
        let value = UInt64.random(in: .min ... .max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
