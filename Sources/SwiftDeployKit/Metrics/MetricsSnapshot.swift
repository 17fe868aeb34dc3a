import Foundation

/// One scrape of a metrics endpoint, parsed: what `status` shows and half of a window.
public struct MetricsSnapshot: Sendable {
    public var families: [MetricFamily]
    /// Wall-clock time the scrape completed.
    public var takenAt: Date
    /// A monotonic reading (seconds) taken when the scrape completed; windows are measured with it.
    public var monotonicSeconds: Double
    /// Where the body came from (the URL, or a file name in tests).
    public var source: String
    public var format: ExpositionFormat
    /// The size of the body in bytes.
    public var byteCount: Int
    /// For a snapshot merged from every replica of a service (``ReplicaMetricsSource``): the replicas that answered,
    /// by address. Nil for one endpoint's scrape.
    public var replicas: [String]? = nil
    /// Replicas the engine wants running whose metrics were not read (not running yet, or without an address), each
    /// named with its state and node; nil when the locator cannot tell.
    public var replicasNotRead: [String]? = nil

    public init(
        families: [MetricFamily], takenAt: Date = Date(), monotonicSeconds: Double = MonotonicClock.now(),
        source: String, format: ExpositionFormat = .prometheusText, byteCount: Int = 0
    ) {
        self.families = families
        self.takenAt = takenAt
        self.monotonicSeconds = monotonicSeconds
        self.source = source
        self.format = format
        self.byteCount = byteCount
    }

    /// Parses a body into a snapshot; throws ``ExpositionError`` naming the line of a malformed body.
    public static func parse(
        _ data: Data, source: String, contentType: String? = nil,
        takenAt: Date = Date(), monotonicSeconds: Double = MonotonicClock.now()
    ) throws -> MetricsSnapshot {
        let declared = contentType.flatMap(ExpositionFormat.init(contentType:))
        let format =
            declared ?? (ExpositionParser.endsWithEOF([UInt8](data.suffix(16))) ? .openMetrics : .prometheusText)
        let families = try ExpositionParser().parse(data, format: format)
        return MetricsSnapshot(
            families: families, takenAt: takenAt, monotonicSeconds: monotonicSeconds,
            source: source, format: format, byteCount: data.count)
    }

    /// The family called `name` (for OpenMetrics counters, the name without `_total` also finds it).
    public func family(_ name: String) -> MetricFamily? {
        if let found = families.first(where: { $0.name == name }) { return found }
        if name.hasSuffix("_total") {
            let base = String(name.dropLast("_total".count))
            return families.first(where: { $0.name == base })
        }
        return nil
    }

    /// Every sample called exactly `name`, across families.
    public func samples(named name: String) -> [MetricSample] {
        if let family = family(name) {
            let own = family.samples.filter { $0.name == name }
            if !own.isEmpty { return own }
        }
        var result: [MetricSample] = []
        for family in families where name.hasPrefix(family.name) {
            result.append(contentsOf: family.samples.filter { $0.name == name })
        }
        return result
    }

    /// The sum of every sample called `name` (a gauge such as `chaos_active`), or nil when there is none.
    public func total(_ name: String) -> Double? {
        let found = samples(named: name)
        return found.isEmpty ? nil : found.reduce(0) { $0 + $1.value }
    }

    /// The number of samples in the scrape.
    public var sampleCount: Int { families.reduce(0) { $0 + $1.samples.count } }
}
