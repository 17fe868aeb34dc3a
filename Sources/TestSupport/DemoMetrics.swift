import Foundation

/// The demo service's metrics as a test can drive them: record requests, then render the exposition text the
/// service would serve (`http_requests_total{method,path,status_code}`, `http_request_duration_seconds{method,path}`
/// with buckets 5 ms … 5 s, `app_mode`, `chaos_active`, `app_uptime_seconds`).
public struct DemoMetrics: Sendable {
    public static let bucketBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5]

    struct Key: Hashable, Comparable {
        var path: String
        var status: Int
        static func < (a: Key, b: Key) -> Bool { (a.path, a.status) < (b.path, b.status) }
    }

    private var requests: [Key: Int] = [:]
    /// Per path: count per bucket bound (non-cumulative; +Inf for beyond 5 s), sum and count.
    private var histogram: [String: (buckets: [Int], sum: Double, count: Int)] = [:]
    public var chaosActive = 0
    public var uptime = 10.0

    public init() {}

    /// Records `count` requests to `path` answered `status` that took `seconds`.
    public mutating func record(path: String = "/", status: Int = 200, seconds: Double = 0.02, count: Int = 1) {
        guard count > 0 else { return }
        requests[Key(path: path, status: status), default: 0] += count
        var entry = histogram[path] ?? (Array(repeating: 0, count: DemoMetrics.bucketBounds.count + 1), 0, 0)
        let index = DemoMetrics.bucketBounds.firstIndex(where: { seconds <= $0 }) ?? DemoMetrics.bucketBounds.count
        entry.buckets[index] += count
        entry.sum += seconds * Double(count)
        entry.count += count
        histogram[path] = entry
    }

    /// The exposition text, in the Prometheus text format 0.0.4.
    public func exposition() -> String {
        var text =
            """
            # HELP http_requests_total Requests answered, by method, path and status code.\n# TYPE \
            http_requests_total counter\n
            """
        for (key, value) in requests.sorted(by: { $0.key < $1.key }) {
            text += "http_requests_total{method=\"GET\",path=\"\(key.path)\",status_code=\"\(key.status)\"} \(value)\n"
        }
        text +=
            "# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n"
        for (path, entry) in histogram.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (index, bound) in DemoMetrics.bucketBounds.enumerated() {
                cumulative += entry.buckets[index]
                text +=
                    """
                    http_request_duration_seconds_bucket{method=\"GET\",path=\"\(path)\",le=\"\(bound)\"} \
                    \(cumulative)\n
                    """
            }
            cumulative += entry.buckets[DemoMetrics.bucketBounds.count]
            text += "http_request_duration_seconds_bucket{method=\"GET\",path=\"\(path)\",le=\"+Inf\"} \(cumulative)\n"
            text += "http_request_duration_seconds_sum{method=\"GET\",path=\"\(path)\"} \(entry.sum)\n"
            text += "http_request_duration_seconds_count{method=\"GET\",path=\"\(path)\"} \(entry.count)\n"
        }
        text += "# TYPE app_mode gauge\napp_mode 1\n# TYPE chaos_active gauge\nchaos_active \(chaosActive)\n"
        text += "# TYPE app_uptime_seconds gauge\napp_uptime_seconds \(uptime)\n"
        return text
    }
}
