import Foundation
import Testing

@testable import SwiftDeployKit

/// Expected values are worked by hand with PromQL's `histogram_quantile` algorithm
/// (promql/quantile.go `BucketQuantile`): rank = q × count(+Inf); the first bucket whose cumulative count
/// reaches the rank; linear interpolation between its lower and upper bound.
@Suite struct QuantileTests {
    typealias B = HistogramQuantile.Bucket

    static let demo: [B] = [
        B(upperBound: 0.005, count: 0), B(upperBound: 0.01, count: 0), B(upperBound: 0.025, count: 10),
        B(upperBound: 0.05, count: 20), B(upperBound: .infinity, count: 20),
    ]

    @Test func interpolatesInsideTheBucketHoldingTheRank() {
        // q=0.5: rank 10 → bucket (0.01, 0.025] holds 10 → 0.01 + 0.015 × 10/10 = 0.025
        #expect(abs(HistogramQuantile.quantile(0.5, buckets: Self.demo) - 0.025) < 1e-12)
        // q=0.99: rank 19.8 → bucket (0.025, 0.05] holds 10, rank within 9.8 → 0.025 + 0.025 × 0.98 = 0.0495
        #expect(abs(HistogramQuantile.quantile(0.99, buckets: Self.demo) - 0.0495) < 1e-12)
        // q=0.25: rank 5 → (0.01, 0.025], 5 of 10 → 0.0175
        #expect(abs(HistogramQuantile.quantile(0.25, buckets: Self.demo) - 0.0175) < 1e-12)
    }

    @Test func emptyBucketsAreSkipped() {
        // 4 in (0.005, 0.01], none in the next three buckets, 1 in (0.1, 0.25].
        let buckets = [
            B(upperBound: 0.005, count: 0), B(upperBound: 0.01, count: 4), B(upperBound: 0.025, count: 4),
            B(upperBound: 0.05, count: 4), B(upperBound: 0.1, count: 4), B(upperBound: 0.25, count: 5),
            B(upperBound: .infinity, count: 5),
        ]
        // q=0.9: rank 4.5 → first count ≥ 4.5 is le=0.25 (count 5); lower 0.1, 1 in bucket, rank 0.5 → 0.175
        #expect(abs(HistogramQuantile.quantile(0.9, buckets: buckets) - 0.175) < 1e-12)
        // q=0.8: rank 4 → le=0.01 reaches it → 0.005 + 0.005 × 4/4 = 0.01
        #expect(abs(HistogramQuantile.quantile(0.8, buckets: buckets) - 0.01) < 1e-12)
    }

    @Test func allObservationsInInfBucketAnswerTheLargestFiniteBound() {
        let buckets = [B(upperBound: 0.5, count: 0), B(upperBound: 5, count: 0), B(upperBound: .infinity, count: 7)]
        #expect(HistogramQuantile.quantile(0.99, buckets: buckets) == 5)
        #expect(HistogramQuantile.quantile(0.5, buckets: buckets) == 5)
    }

    @Test func rankBeyondTheLastFiniteBucketAnswersItsBound() {
        // 99 of 100 within 1s, 1 beyond 5s: q=0.995 → rank 99.5 > 99 → +Inf bucket → 5
        let buckets = [B(upperBound: 1, count: 99), B(upperBound: 5, count: 99), B(upperBound: .infinity, count: 100)]
        #expect(HistogramQuantile.quantile(0.995, buckets: buckets) == 5)
        // q=0.99 → rank 99 → le=1 reaches it → 0 + 1 × 99/99 = 1
        #expect(HistogramQuantile.quantile(0.99, buckets: buckets) == 1)
    }

    @Test func firstBucketStartsAtZero() {
        let buckets = [B(upperBound: 0.1, count: 10), B(upperBound: .infinity, count: 10)]
        #expect(abs(HistogramQuantile.quantile(0.5, buckets: buckets) - 0.05) < 1e-12)
    }

    @Test func nonPositiveFirstBoundIsReturnedAsIs() {
        let buckets = [B(upperBound: -1, count: 5), B(upperBound: 0, count: 5), B(upperBound: .infinity, count: 10)]
        #expect(HistogramQuantile.quantile(0.25, buckets: buckets) == -1)
    }

    @Test func undefinedCasesAreNaNLikePromQL() {
        #expect(HistogramQuantile.quantile(0.5, buckets: []).isNaN)
        // No +Inf bucket.
        #expect(
            HistogramQuantile.quantile(0.5, buckets: [B(upperBound: 1, count: 3), B(upperBound: 2, count: 4)]).isNaN)
        // Only +Inf.
        #expect(HistogramQuantile.quantile(0.5, buckets: [B(upperBound: .infinity, count: 4)]).isNaN)
        // No observations (an idle window).
        #expect(
            HistogramQuantile.quantile(0.5, buckets: [B(upperBound: 1, count: 0), B(upperBound: .infinity, count: 0)])
                .isNaN)
        #expect(HistogramQuantile.quantile(.nan, buckets: Self.demo).isNaN)
        #expect(HistogramQuantile.quantile(-0.1, buckets: Self.demo) == -.infinity)
        #expect(HistogramQuantile.quantile(1.1, buckets: Self.demo) == .infinity)
    }

    @Test func nonMonotonicCountsAreLifted() {
        // [5, 3, 10] is treated as [5, 5, 10]: q=0.5 → rank 5 → le=0.1 → 0.1 × 5/5
        let buckets = [B(upperBound: 0.1, count: 5), B(upperBound: 0.2, count: 3), B(upperBound: .infinity, count: 10)]
        #expect(abs(HistogramQuantile.quantile(0.5, buckets: buckets) - 0.1) < 1e-12)
    }

    @Test func unsortedAndDuplicateBoundsAreSortedAndSummed() {
        // Two series' buckets summed by le: (0.1: 2+3, +Inf: 4+6) → q=0.5 rank 5 → le=0.1 → 0.1
        let buckets = [
            B(upperBound: .infinity, count: 4), B(upperBound: 0.1, count: 2),
            B(upperBound: 0.1, count: 3), B(upperBound: .infinity, count: 6),
        ]
        #expect(abs(HistogramQuantile.quantile(0.5, buckets: buckets) - 0.1) < 1e-12)
    }
}
