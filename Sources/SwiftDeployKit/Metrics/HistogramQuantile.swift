import Foundation

/// PromQL's `histogram_quantile` over classic (bucketed) histograms, with its exact semantics:
/// buckets sorted by upper bound and coalesced, counts forced monotonic, linear interpolation inside the
/// bucket holding the rank (the first bucket's lower bound is 0 unless its upper bound is ≤ 0), and the
/// `+Inf` rule: a rank that falls in the `+Inf` bucket answers the largest finite upper bound.
public enum HistogramQuantile {
    /// A cumulative bucket: `count` observations were ≤ `upperBound`.
    public struct Bucket: Sendable, Equatable {
        public var upperBound: Double
        public var count: Double
        public init(upperBound: Double, count: Double) {
            self.upperBound = upperBound
            self.count = count
        }
    }

    /// The `q`-quantile (0…1) of cumulative `buckets`. Returns NaN where PromQL does: no `+Inf` bucket, fewer
    /// than two buckets, or no observations; `-Inf` for q < 0 and `+Inf` for q > 1.
    public static func quantile(_ q: Double, buckets input: [Bucket]) -> Double {
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        guard !input.isEmpty else { return .nan }
        var buckets = input.sorted { $0.upperBound < $1.upperBound }
        guard let last = buckets.last, last.upperBound == .infinity else { return .nan }
        // Coalesce buckets with the same upper bound (series that differ only in labels outside `by (le)`).
        var coalesced: [Bucket] = []
        coalesced.reserveCapacity(buckets.count)
        for bucket in buckets {
            if let previous = coalesced.last, previous.upperBound == bucket.upperBound {
                coalesced[coalesced.count - 1].count += bucket.count
            } else {
                coalesced.append(bucket)
            }
        }
        buckets = coalesced
        // Cumulative counts must not decrease; PromQL lifts a lower count to the maximum seen so far.
        var maximum = -Double.infinity
        for index in buckets.indices {
            if buckets[index].count > maximum { maximum = buckets[index].count } else { buckets[index].count = maximum }
        }
        guard buckets.count >= 2 else { return .nan }
        let observations = buckets[buckets.count - 1].count
        guard observations != 0 else { return .nan }
        var rank = q * observations
        // The first bucket (excluding +Inf) whose cumulative count reaches the rank.
        var b = buckets.count - 1
        for index in 0..<(buckets.count - 1) where buckets[index].count >= rank {
            b = index
            break
        }
        if b == buckets.count - 1 { return buckets[buckets.count - 2].upperBound }
        if b == 0, buckets[0].upperBound <= 0 { return buckets[0].upperBound }
        var bucketStart = 0.0
        let bucketEnd = buckets[b].upperBound
        var count = buckets[b].count
        if b > 0 {
            bucketStart = buckets[b - 1].upperBound
            count -= buckets[b - 1].count
            rank -= buckets[b - 1].count
        }
        return bucketStart + (bucketEnd - bucketStart) * (rank / count)
    }
}
