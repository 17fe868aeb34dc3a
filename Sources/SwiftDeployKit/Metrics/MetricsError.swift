import Foundation

/// A metrics source that could not give figures. Every case leaves the decision inconclusive (exit 2).
public enum MetricsError: SwiftDeployFailure, Equatable {
    /// The endpoint could not be reached or did not answer in time (refused, timed out, too large, …).
    case unreachable(HTTPClientError)
    /// The endpoint answered a non-2xx status.
    case httpStatus(url: String, status: Int, excerpt: String)
    /// The body is not exposition text.
    case unparsable(url: String, ExpositionError)
    /// A Prometheus query failed or answered something unexpected.
    case prometheus(url: String, query: String, reason: String)
    /// The configured source cannot be used at all (no usable URL); it is never replaced by another source.
    case unusable(source: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .unreachable(let error):
            return "metrics: \(error.summary); check metrics.source / --metrics-url and that the service is up"
        case .httpStatus(let url, let status, let excerpt):
            return
                """
                metrics: \(url) answered HTTP \
                \(status)\(excerpt.isEmpty ? "" : " (\(excerpt.debugDescription))"); it should serve the \
                Prometheus exposition with 200
                """
        case .unparsable(let url, let error):
            return "metrics: \(url) is not parsable: \(error.errorDescription ?? "\(error)")"
        case .prometheus(let url, let query, let reason):
            return
                """
                metrics: Prometheus at \(url) could not answer \(query.debugDescription): \(reason); check \
                metrics.prometheus_url and that Prometheus scrapes the service
                """
        case .unusable(let source, let reason):
            return "metrics: \(source) cannot be used: \(reason)"
        }
    }

    public var exitStatus: ExitStatus { .inconclusive }
}
