import Foundation

/// The burn-rate arithmetic of the SRE workbook (chapter 5, "Alerting on SLOs"), in one place: the windows the
/// error ratio is recorded over, the four multiwindow alerts, their names and the PromQL that feeds them.
///
/// Burn rate = error ratio over a window / error budget (1 − target). A burn rate of 1 spends exactly the whole
/// budget in the SLO window; 14.4 over 1 hour spends 2% of a 30-day budget in that hour.
public enum SLOMath {
    /// The windows every objective's error ratio is recorded over (besides the SLO window itself).
    public static let windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]

    public enum Severity: String, Sendable, CaseIterable {
        case page, ticket
    }

    /// One multiwindow alert: fires when the burn rate exceeds `factor` over both `long` and `short`.
    public struct BurnAlert: Sendable, Equatable {
        public var severity: Severity
        public var long: String
        public var short: String
        /// The burn-rate factor, as text so the threshold is exact (`14.4`).
        public var factorText: String

        public var factor: Decimal { Decimal(string: factorText)! }

        /// `AvailabilityBurnRate1h`.
        public func name(for objective: Manifest.Objective) -> String { "\(objective.camelName)BurnRate\(long)" }
        /// The error ratio above which the alert fires: factor × budget, exact in decimal.
        public func threshold(for objective: Manifest.Objective) -> Decimal { factor * objective.errorBudget }
    }

    /// The SRE workbook's recommended set for a 30-day objective.
    public static let alerts: [BurnAlert] = [
        BurnAlert(severity: .page, long: "1h", short: "5m", factorText: "14.4"),
        BurnAlert(severity: .page, long: "6h", short: "30m", factorText: "6"),
        BurnAlert(severity: .ticket, long: "1d", short: "2h", factorText: "3"),
        BurnAlert(severity: .ticket, long: "3d", short: "6h", factorText: "1"),
    ]

    /// `slo:sli_error:ratio_rate5m`: the recorded error ratio of every objective over `window`.
    public static func ratioRecord(_ window: String) -> String { "slo:sli_error:ratio_rate\(window)" }
    /// The objective's target as a fraction (`0.995`), one series per objective.
    public static let objectiveRecord = "slo:objective:ratio"
    /// The objective's error budget as a fraction (`0.005`).
    public static let budgetRecord = "slo:error_budget:ratio"
    /// The fraction of the budget left over the SLO window (1 − ratio over the window / budget; negative when
    /// overspent).
    public static let budgetRemainingRecord = "slo:error_budget_remaining:ratio"

    /// A decimal as PromQL and YAML write it: `0.072`, `14.4`, `1`.
    public static func text(_ value: Decimal) -> String {
        var v = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &v, 12, .plain)
        return NSDecimalNumber(decimal: rounded).stringValue
    }

    /// Seconds in a Prometheus range such as `5m`, `1h`, `3d`, `30d`.
    public static func seconds(_ window: String) -> Double? {
        guard let unit = window.last, let n = Double(window.dropLast()) else { return nil }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86_400
        default: return nil
        }
    }
}

/// The PromQL over the service's own metrics (`http_requests_total`, `http_request_duration_seconds`) that
/// defines each objective's error ratio.
public struct SLOQueries: Sendable {
    public let manifest: Manifest

    public init(manifest: Manifest) { self.manifest = manifest }

    /// The Prometheus job the generated prometheus.yml scrapes the app under.
    public var job: String { manifest.services.name }

    /// `job="app",path!~"/healthz|/metrics"`: the requests an objective counts.
    public var baseMatcher: String {
        var parts = ["job=\"\(sloPromQLString(job))\""]
        if !manifest.metrics.excludePaths.isEmpty {
            let pattern = manifest.metrics.excludePaths.map(sloRegexEscape).joined(separator: "|")
            parts.append("path!~\"\(sloPromQLString(pattern))\"")
        }
        return parts.joined(separator: ",")
    }

    /// The error ratio of `objective` over `window`: 5xx answers over all answers (availability), or answers slower
    /// than the threshold over all answers (latency). NaN without traffic, so no alert and no verdict comes from
    /// nothing.
    public func errorRatio(_ objective: Manifest.Objective, window: String) -> String {
        let base = baseMatcher
        switch objective.indicator {
        case .availability:
            // A service that never failed has no 5xx series at all: count that as zero errors (`or vector(0)`), so
            // only "no requests" (an empty denominator) leaves the ratio undefined.
            return "(sum(rate(http_requests_total{\(base),status_code=~\"5..\"}[\(window)])) or vector(0))"
                + " / sum(rate(http_requests_total{\(base)}[\(window)]))"
        case .latency:
            let le = leMatcher(objective.thresholdSeconds ?? 0)
            let total = "sum(rate(http_request_duration_seconds_count{\(base)}[\(window)]))"
            let fast = "sum(rate(http_request_duration_seconds_bucket{\(base),le=~\"\(le)\"}[\(window)]))"
            return "(\(total) - \(fast)) / \(total)"
        }
    }

    /// The `le` label of a bucket bound, matched however the client wrote it: Swift writes `1.0` and `0.3`,
    /// Go writes `1` and `0.3`.
    public func leMatcher(_ seconds: Double) -> String {
        if seconds == seconds.rounded(), seconds < 1e15 {
            let whole = String(Int(seconds))
            return "\(whole)|\(whole)\\\\.0"
        }
        return sloPromQLString(sloRegexEscape(Self.shortest(seconds)))
    }

    /// The shortest decimal text of a bucket bound (`0.3`, `0.025`).
    static func shortest(_ value: Double) -> String {
        var text = "\(value)"
        if text.contains("e") { text = String(format: "%.9f", value) }
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// Request rate by variant (stable, canary) for the dashboard.
    public var requestRate: String { "sum by (variant) (rate(http_requests_total{\(baseMatcher)}[5m]))" }

    /// A latency quantile in seconds over 5 minutes.
    public func quantile(_ q: String) -> String {
        "histogram_quantile(\(q), sum by (le) (rate(http_request_duration_seconds_bucket{\(baseMatcher)}[5m])))"
    }

    /// The share of requests the canary answered over 5 minutes: the rollout weight as the traffic saw it.
    public var rolloutWeight: String {
        """
        sum(rate(http_requests_total{\(baseMatcher),variant=\"canary\"}[5m])) / \
        sum(rate(http_requests_total{\(baseMatcher)}[5m]))
        """
    }
}

func sloRegexEscape(_ text: String) -> String {
    var out = ""
    for ch in text {
        if "\\.+*?()|[]{}^$".contains(ch) { out.append("\\") }
        out.append(ch)
    }
    return out
}

/// Escapes text for a PromQL double-quoted string.
func sloPromQLString(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
}
