import Foundation

/// One instant query against Prometheus' HTTP API (`GET <base>/api/v1/query`): the one place that builds the request
/// and checks the answer's envelope, for the metrics window (``MetricsSource``) and the SLO evidence
/// (``SLOCollector``), which each read the series their own way.
struct PrometheusQuery {
    var transport: HTTPTransport
    var limits: HTTPLimits

    /// The series of the instant vector that `query` answers at `at` (Unix seconds; nil: Prometheus' now), each as
    /// Prometheus sent it (`{"metric": {…}, "value": [timestamp, "value"]}`). Throws ``MetricsError``:
    /// `unreachable` (no answer), `httpStatus` (an error status without a JSON body), `prometheus` (not JSON, an
    /// error Prometheus reported, or not an instant vector).
    func instantVector(base: URL, query: String, at: Double?) async throws -> [JSONValue] {
        var components = URLComponents(
            url: base.appendingPathComponent("api/v1/query"), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery =
            "query=" + (query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query)
            + (at.map { "&time=" + String(format: "%.3f", $0) } ?? "")
        let url = components.url!
        let shown = base.absoluteString
        let response: HTTPResponse
        do {
            response = try await transport.send(
                method: "GET", url: url, headers: ["Accept": "application/json"], body: nil, limits: limits)
        } catch let error as HTTPClientError {
            throw MetricsError.unreachable(error)
        }
        guard let document = try? JSONValue.parse(response.body), case .object = document else {
            if !(200..<300).contains(response.status) {
                throw MetricsError.httpStatus(
                    url: url.absoluteString, status: response.status,
                    excerpt: String(decoding: response.body.prefix(120), as: UTF8.self))
            }
            throw MetricsError.prometheus(url: shown, query: query, reason: "the answer is not JSON")
        }
        guard document["status"]?.stringValue == "success" else {
            let reason = [document["errorType"]?.stringValue, document["error"]?.stringValue].compactMap { $0 }.joined(
                separator: ": ")
            throw MetricsError.prometheus(
                url: shown, query: query, reason: reason.isEmpty ? "HTTP \(response.status)" : reason)
        }
        guard document["data"]?["resultType"]?.stringValue == "vector",
            case .array(let result)? = document["data"]?["result"]
        else {
            throw MetricsError.prometheus(url: shown, query: query, reason: "the answer is not an instant vector")
        }
        return result
    }

    /// A series' value (`"value": [timestamp, "text"]`) as a number: Prometheus writes infinities as `+Inf`/`-Inf`
    /// and "no value" as `NaN`, all kept as such; nil when the pair or its text is not a number.
    static func value(of series: JSONValue) -> Double? {
        guard case .array(let pair)? = series["value"], pair.count == 2, let text = pair[1].stringValue else {
            return nil
        }
        return Double(text)
            ?? (text == "+Inf" ? .infinity : (text == "-Inf" ? -.infinity : (text == "NaN" ? .nan : nil)))
    }
}
