import Foundation

/// The Mann–Whitney U test (Wilcoxon rank-sum) between two independent samples, two-sided, as
/// `scipy.stats.mannwhitneyu(x, y)` computes it with its defaults (`use_continuity=True`,
/// `alternative='two-sided'`, `method='auto'`):
///
/// - `u` is U₁ = R₁ − n₁(n₁+1)/2 of the first sample, with ties given their average rank;
/// - the p-value is **exact** (the permutation distribution of U, counted) when one sample has at most 8
///   values and there is no tie, and otherwise **asymptotic**: the normal approximation with the tie
///   correction of the variance and a continuity correction of 0.5;
/// - when every value is the same the samples cannot differ: the p-value is 1.
///
/// Alongside, the effect sizes Kayenta's Mann–Whitney judge reports: the ratio of the means (its default
/// effect measure), the common-language effect size (the probability that a value of `x` exceeds one of `y`,
/// ties counted half) and the Hodges–Lehmann estimate of the shift (the median of all differences xᵢ − yⱼ).
/// Verified against scipy on committed fixtures (Tests/Fixtures/mannwhitney).
public struct MannWhitneyU: Sendable, Equatable {
    public enum Method: String, Sendable, Equatable { case exact, asymptotic }

    public var n1: Int
    public var n2: Int
    /// U of the first sample.
    public var u: Double
    /// Two-sided p-value.
    public var pValue: Double
    public var method: Method
    /// mean(x) / mean(y); nil when mean(y) is 0 (and mean(x) is not), 1 when both are 0.
    public var meanRatio: Double?
    /// U₁ / (n₁n₂): 0.5 means no difference, above 0.5 means `x` tends to be larger.
    public var commonLanguageEffect: Double
    /// Median of xᵢ − yⱼ over all pairs: positive when `x` is shifted up.
    public var hodgesLehmann: Double

    /// Runs the test; nil when either sample is empty or holds a value that is not finite.
    public static func test(_ x: [Double], _ y: [Double]) -> MannWhitneyU? {
        let n1 = x.count, n2 = y.count
        guard n1 > 0, n2 > 0, x.allSatisfy(\.isFinite), y.allSatisfy(\.isFinite) else { return nil }
        let (ranks, tieCounts) = averageRanks(x + y)
        let r1 = ranks[0..<n1].reduce(0, +)
        let u1 = r1 - Double(n1 * (n1 + 1)) / 2
        let u2 = Double(n1 * n2) - u1
        let uMax = max(u1, u2)
        let hasTies = tieCounts.contains { $0 > 1 }
        let method: Method = (n1 > 8 && n2 > 8) || hasTies ? .asymptotic : .exact
        let p: Double
        switch method {
        case .exact:
            p = min(1, 2 * exactSurvival(atLeast: uMax, n1: n1, n2: n2))
        case .asymptotic:
            let n = Double(n1 + n2)
            let tieTerm = tieCounts.reduce(0.0) { $0 + Double($1 * $1 * $1 - $1) }
            let variance = Double(n1 * n2) / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
            if variance <= 0 {
                p = 1
            } else {
                let z = (uMax - Double(n1 * n2) / 2 - 0.5) / variance.squareRoot()
                p = min(1, max(0, 2 * 0.5 * erfc(z / 2.0.squareRoot())))
            }
        }
        let meanX = x.reduce(0, +) / Double(n1), meanY = y.reduce(0, +) / Double(n2)
        let ratio: Double? = meanY != 0 ? meanX / meanY : (meanX == 0 ? 1 : nil)
        var differences: [Double] = []
        differences.reserveCapacity(n1 * n2)
        for a in x { for b in y { differences.append(a - b) } }
        return MannWhitneyU(
            n1: n1, n2: n2, u: u1, pValue: p, method: method, meanRatio: ratio,
            commonLanguageEffect: u1 / Double(n1 * n2), hodgesLehmann: median(differences))
    }

    /// Average ranks (1-based) of `values` in their original order, and the size of every group of equal values.
    static func averageRanks(_ values: [Double]) -> (ranks: [Double], ties: [Int]) {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var ties: [Int] = []
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, values[order[end + 1]] == values[order[start]] { end += 1 }
            let rank = Double(start + end + 2) / 2
            for k in start...end { ranks[order[k]] = rank }
            ties.append(end - start + 1)
            start = end + 1
        }
        return (ranks, ties)
    }

    /// P(U ≥ u) under the null hypothesis without ties: the number of arrangements with each U value,
    /// counted by the recurrence f(m, n, k) = f(m−1, n, k−n) + f(m, n−1, k), over C(m+n, m).
    static func exactSurvival(atLeast u: Double, n1: Int, n2: Int) -> Double {
        let maxU = n1 * n2
        // counts[n][k] for the current m, built up from m = 0.
        var previous = [[Double]](repeating: [Double](repeating: 0, count: maxU + 1), count: n2 + 1)
        for n in 0...n2 { previous[n][0] = 1 }  // m = 0: only U = 0
        if n1 > 0 {
            for m in 1...n1 {
                var current = [[Double]](repeating: [Double](repeating: 0, count: maxU + 1), count: n2 + 1)
                current[0][0] = 1  // n = 0: only U = 0
                if n2 > 0 {
                    for n in 1...n2 {
                        for k in 0...(m * n) {
                            current[n][k] = (k >= n ? previous[n][k - n] : 0) + current[n - 1][k]
                        }
                    }
                }
                previous = current
            }
        }
        let counts = previous[n2]
        let total = counts.reduce(0, +)
        let threshold = Int(u.rounded(.up))
        guard threshold <= maxU else { return 0 }
        let tail = counts[max(threshold, 0)...maxU].reduce(0, +)
        return tail / total
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// The figures as the policy sees them (`input.comparison.<series>`).
    public var json: JSONValue {
        func number(_ value: Double?) -> JSONValue {
            guard let value, value.isFinite else { return .null }
            return .double(value)
        }
        return .object([
            "u": number(u), "p_value": number(pValue), "method": .string(method.rawValue),
            "n_canary": .int(Int64(n1)), "n_baseline": .int(Int64(n2)),
            "mean_ratio": number(meanRatio), "effect_size": number(commonLanguageEffect),
            "hodges_lehmann": number(hodgesLehmann),
        ])
    }
}
