import Foundation

/// The type a `# TYPE` line declares. Samples without one are `untyped` (text 0.0.4) or `unknown` (OpenMetrics).
public enum MetricType: String, Sendable, Equatable, CaseIterable {
    case counter, gauge, histogram, summary, untyped, unknown, info, stateset, gaugehistogram
}

/// One `name="value"` pair of a sample, with escapes already resolved.
public struct MetricLabel: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One sample line: `name{labels} value [timestamp]`.
public struct MetricSample: Sendable, Equatable {
    /// The sample's own name, with any `_bucket`/`_sum`/`_count`/`_total` suffix.
    public var name: String
    /// Labels in the order they were written.
    public var labels: [MetricLabel]
    /// The value; `NaN`, `+Inf` and `-Inf` are kept as such.
    public var value: Double
    /// The timestamp in milliseconds since the epoch (OpenMetrics' seconds are converted), when written.
    public var timestampMs: Double?

    public init(name: String, labels: [MetricLabel] = [], value: Double, timestampMs: Double? = nil) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestampMs = timestampMs
    }

    /// The value of label `name`, or nil when the sample has no such label.
    public subscript(label name: String) -> String? {
        for label in labels where label.name == name { return label.value }
        return nil
    }

    /// A stable identity for the series: the name and the labels sorted by name, in exposition syntax.
    /// Two scrapes' samples of the same series have the same key whatever order the labels were written in.
    public var seriesKey: String {
        if labels.isEmpty { return name }
        let sorted = labels.count == 1 ? labels : labels.sorted { $0.name < $1.name }
        var key = name
        key.append("{")
        for (index, label) in sorted.enumerated() {
            if index > 0 { key.append(",") }
            key.append(label.name)
            key.append("=\"")
            for ch in label.value.unicodeScalars {
                switch ch {
                case "\\": key.append("\\\\")
                case "\"": key.append("\\\"")
                case "\n": key.append("\\n")
                default: key.unicodeScalars.append(ch)
                }
            }
            key.append("\"")
        }
        key.append("}")
        return key
    }
}

/// A metric family: a `# TYPE`/`# HELP` header and the samples that belong to it.
public struct MetricFamily: Sendable, Equatable {
    /// The family name (for an OpenMetrics counter, without `_total`).
    public var name: String
    public var type: MetricType
    public var help: String?
    /// The OpenMetrics `# UNIT`, when given.
    public var unit: String?
    public var samples: [MetricSample]

    public init(name: String, type: MetricType, help: String? = nil, unit: String? = nil, samples: [MetricSample] = [])
    {
        self.name = name
        self.type = type
        self.help = help
        self.unit = unit
        self.samples = samples
    }
}

/// Which text format a body is in. They differ in timestamps (milliseconds vs seconds), `# EOF`, `# UNIT` and
/// exemplars.
public enum ExpositionFormat: String, Sendable, Equatable {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    case prometheusText = "prometheus-text-0.0.4"
    /// OpenMetrics 1.0 text (`application/openmetrics-text`): must end with `# EOF`.
    case openMetrics = "openmetrics-text-1.0"

    /// The format a `Content-Type` header announces, or nil when it names neither.
    public init?(contentType: String) {
        let lowered = contentType.lowercased()
        if lowered.hasPrefix("application/openmetrics-text") {
            self = .openMetrics
        } else if lowered.hasPrefix("text/plain") {
            self = .prometheusText
        } else {
            return nil
        }
    }
}
