import Foundation

/// Delivery figures computed from the history (DORA-style).
///
/// - *Deployment frequency*: successful `deploy` and `promote` lines in the
///   period, per day of the period.
/// - *Change failure rate*: successful promotions followed by a `rollback` or
///   a failed gate (verdict `deny` or outcome `failed`) before the next
///   successful deploy or promotion, over all successful promotions.
/// - *Time to restore*: from the first failure signal (a failed gate, or a
///   `deploy`/`promote`/`rollback`/`status` whose outcome failed) to the next
///   recovery (a gate that allowed or warned, a successful deploy, promote or
///   rollback, a `status` whose outcome is `ok`/`healthy`).
public struct AuditDelivery: Sendable, Hashable, Codable {
    public var deployments = 0
    public var promotions = 0
    public var failedDeployments = 0
    public var periodDays = 0.0
    public var failedPromotions = 0
    public var incidents = 0
    public var restoreSecondsMedian: Double?
    public var restoreSecondsMean: Double?
    public var restoreSecondsMax: Double?
    /// Start of an incident still open at the end of the period.
    public var openIncidentSince: String?
    /// `swiftdeploy rollout` runs started in the period; those promoted (also counted in `deployments`);
    /// those rolled back or aborted: failures prevented before they reached every client.
    public var rollouts = 0
    public var rolloutsPromoted = 0
    public var preventedFailures = 0
    /// Lead time for changes: from a change's commit time (git) to its successful deploy or promotion.
    public var leadTimeSecondsMedian: Double?
    public var leadTimeSecondsMax: Double?
    /// Changes whose lead time was measured, and those whose commit was absent or unknown to git.
    public var leadTimeSamples = 0
    public var leadTimeUnknown = 0

    /// Shipped changes (successful deploys and promotions) per day.
    public var deploymentsPerDay: Double { periodDays > 0 ? Double(deployments + promotions) / max(periodDays, 1) : 0 }
    /// Failed promotions over successful promotions, nil when there were none.
    public var changeFailureRate: Double? { promotions > 0 ? Double(failedPromotions) / Double(promotions) : nil }
}

/// Per-hour metric observations for the charts.
struct MetricBucket {
    var errorRateSum = 0.0, errorRateCount = 0
    var p99Sum = 0.0, p99Count = 0
    mutating func merge(_ o: MetricBucket) {
        errorRateSum += o.errorRateSum
        errorRateCount += o.errorRateCount
        p99Sum += o.p99Sum
        p99Count += o.p99Count
    }
}

/// The one pass over the history. State is bounded: counters, one bucket per
/// hour spanned (charts) and per day (decisions), a sample of at most
/// `restoreSampleLimit` restore times (the median is exact below it, from a
/// uniform reservoir sample above it), the first 100 torn lines; the lists
/// (timeline, changes, violations, overrides) go to scratch files.
final class AuditAccumulator {
    static let restoreSampleLimit = 65_536
    static let successOutcomes: Set<String> = ["ok", "success", "succeeded", "passed", "done", "applied"]
    static let failureOutcomes: Set<String> = [
        "failed", "failure", "error", "errored", "aborted", "timeout", "timed_out", "unhealthy",
    ]

    let since: Date?
    let until: Date?
    var verifier = HistoryChainVerifier()
    var records = 0
    var unreadableRecords = 0
    var events: [String: Int] = [:]
    var verdicts: [String: Int] = [:]
    var firstTime: Date?
    var lastTime: Date?
    var currentMode: String?
    var lastChaos: String?
    var hourly: [Int64: MetricBucket] = [:]
    var daily: [Int64: [String: Int]] = [:]
    var delivery = AuditDelivery()
    var rollouts = AuditRolloutFolder()

    /// Successful changes in the period with the commit they recorded (the most recent `leadSampleLimit`).
    private var changeCommits: [(time: Date, commit: String?)] = []
    static let leadSampleLimit = 10_000
    private var promotionOpen = false
    private var incidentStart: Date?
    private var restoreSample: [Double] = []
    private var restoreCount = 0
    private var restoreSum = 0.0
    private var restoreMax = 0.0
    private var rng: UInt64 = 0x9E37_79B9_7F4A_7C15

    let timeline: AuditSpill
    let changes: AuditSpill
    let violations: AuditSpill
    let overrides: AuditSpill
    private let reader = HistoryJSONReader()

    init(since: Date?, until: Date?, scratch: URL) throws {
        self.since = since
        self.until = until
        timeline = try AuditSpill(directory: scratch, name: "timeline.jsonl")
        changes = try AuditSpill(directory: scratch, name: "changes.jsonl")
        violations = try AuditSpill(directory: scratch, name: "violations.jsonl")
        overrides = try AuditSpill(directory: scratch, name: "overrides.jsonl")
    }

    /// What a line gives on its own (its hash and fields): computed apart from the pass, on any thread.
    struct PreparedLine {
        var hash: LineDigest
        var line: AuditLine?
        /// What the pass reads of `line` that depends on the line alone, worked out with it (on the decoding
        /// threads): `time` parsed (`HistoryTime.parse`; nil when absent or not a time), the event, the outcome and
        /// the verdict in lower case.
        var time: Date?
        var event: HistoryEvent?
        var outcome: String?
        var verdict: String?
    }

    static func prepare(_ bytes: UnsafeRawBufferPointer, digest: LineDigest, reader: HistoryJSONReader)
        -> PreparedLine
    {
        guard let line = AuditLine.decode(bytes, reader: reader) else { return PreparedLine(hash: digest, line: nil) }
        return PreparedLine(
            hash: digest, line: line, time: line.time.flatMap { HistoryTime.parse($0) },
            event: HistoryEvent(rawValue: line.event ?? "unknown"), outcome: line.outcome?.lowercased(),
            verdict: line.decision?.verdict?.lowercased())
    }

    func consume(_ bytes: UnsafeRawBufferPointer, number: Int, terminated: Bool) throws {
        try consume(
            Self.prepare(bytes, digest: LineDigest(of: bytes), reader: reader), number: number, terminated: terminated)
    }

    /// Takes line `number`, in file order.
    func consume(_ prepared: PreparedLine, number: Int, terminated: Bool) throws {
        let hash = prepared.hash
        let line = prepared.line
        let chain = terminated ? line?.chainFields : nil
        verifier.consume(
            line: number, hash: hash, seq: chain?.seq, prev: chain?.prev, sealed: line?.sealed,
            terminated: terminated)
        guard let line, chain != nil else { return }
        guard let timeText = line.time, let time = prepared.time else {
            unreadableRecords += 1
            return
        }
        if let until, time > until { return }
        let previousMode = currentMode
        if let after = line.modeAfter { currentMode = after }
        if let since, time < since {
            if let chaos = line.details?.chaos { lastChaos = Self.describe(chaos) }
            return
        }
        try record(prepared, line, number: number, time: time, timeText: timeText, previousMode: previousMode)
    }

    private func record(
        _ prepared: PreparedLine, _ line: AuditLine, number: Int, time: Date, timeText: HistoryText,
        previousMode: String?
    ) throws {
        records += 1
        if firstTime == nil || time < firstTime! { firstTime = time }
        if lastTime == nil || time > lastTime! { lastTime = time }
        let eventName = line.event ?? "unknown"
        events[eventName, default: 0] += 1
        let event = prepared.event
        let outcome = prepared.outcome
        let succeeded = outcome.map { Self.successOutcomes.contains($0) } ?? true
        let failed = outcome.map { Self.failureOutcomes.contains($0) } ?? false
        let verdict = prepared.verdict

        // The item of the report's lists, made only for a line that goes to one (most lines go to none).
        func item() -> AuditItem {
            AuditItem(
                line: number, time: timeText.string, event: eventName, actor: line.actor?.displayName ?? "unknown",
                outcome: line.outcome, message: line.message?.string, modeBefore: line.modeBefore,
                modeAfter: line.modeAfter)
        }

        if let decision = line.decision {
            let v = verdict ?? "unknown"
            verdicts[v, default: 0] += 1
            daily[Self.dayIndex(time), default: [:]][v, default: 0] += 1
            if v == "deny" || v == "inconclusive" {
                var violation = item()
                violation.domain = decision.domain
                violation.verdict = decision.verdict
                violation.reasons = decision.reasons ?? []
                violation.engine = decision.engine
                try violations.append(violation)
            }
        }
        let metrics = line.decision?.input ?? line.details?.metrics
        if let m = metrics, m.errorRate != nil || m.p99 != nil {
            var bucket = hourly[Self.hourIndex(time)] ?? MetricBucket()
            if let e = m.errorRate, e.isFinite {
                bucket.errorRateSum += e
                bucket.errorRateCount += 1
            }
            if let p = m.p99, p.isFinite {
                bucket.p99Sum += p
                bucket.p99Count += 1
            }
            hourly[Self.hourIndex(time)] = bucket
        }
        // An override is its `override` line; the intent and the action it let through carry the same override
        // for context, and are not overrides of their own.
        if event == .override {
            var o = item()
            o.reason = line.override?.reason
            try overrides.append(o)
        }
        if event?.isAction == true { try timeline.append(item()) }

        var changeText: [String] = []
        if let after = line.modeAfter, case let before = line.modeBefore ?? previousMode ?? "none", before != after {
            changeText.append("mode \(before) → \(after)")
        }
        if let chaos = line.details?.chaos {
            let text = Self.describe(chaos)
            if text != lastChaos {
                changeText.append("chaos \(lastChaos ?? "none") → \(text)")
                lastChaos = text
            }
        }
        if !changeText.isEmpty {
            var change = item()
            change.change = changeText.joined(separator: "; ")
            change.chaos = lastChaos
            try changes.append(change)
        }

        if event == .rollout, let fields = line.details?.rollout {
            if rollouts.consume(fields, verdict: verdict, outcome: outcome, time: time, timeText: timeText.string) {
                delivery.deployments += 1
                promotionOpen = false
            }
            delivery.rollouts = rollouts.total
            delivery.rolloutsPromoted = rollouts.promoted
            delivery.preventedFailures = rollouts.prevented
        }

        // Delivery figures.
        let gateFailed = event == .gate && (verdict == "deny" || failed)
        switch event {
        case .deploy?:
            if failed {
                delivery.failedDeployments += 1
            } else if succeeded {
                delivery.deployments += 1
                promotionOpen = false
            }
            if succeeded && !failed { noteChange(time, line.commit?.string) }
        case .promote?:
            if succeeded && !failed {
                delivery.promotions += 1
                promotionOpen = true
                noteChange(time, line.commit?.string)
            }
        case .rollback?:
            if promotionOpen {
                delivery.failedPromotions += 1
                promotionOpen = false
            }
        default: break
        }
        if gateFailed && promotionOpen {
            delivery.failedPromotions += 1
            promotionOpen = false
        }

        let failureSignal = gateFailed || ([.deploy, .promote, .rollback, .status].contains(event) && failed)
        let restoreSignal: Bool = {
            switch event {
            case .gate?: return !failed && (verdict == "allow" || verdict == "warn")
            case .deploy?, .promote?, .rollback?: return succeeded && !failed
            case .status?: return outcome == "ok" || outcome == "healthy"
            default: return false
            }
        }()
        if failureSignal {
            if incidentStart == nil {
                incidentStart = time
                delivery.incidents += 1
            }
        } else if restoreSignal, let start = incidentStart {
            addRestore(time.timeIntervalSince(start))
            incidentStart = nil
        }
    }

    private func noteChange(_ time: Date, _ commit: String?) {
        if changeCommits.count >= Self.leadSampleLimit { changeCommits.removeFirst(changeCommits.count / 2) }
        changeCommits.append((time, commit))
    }

    /// Lead time for changes over the period's successful changes, all commits resolved in one call.
    func resolveLeadTimes(_ commitTimes: ([String]) async -> [String: Double]) async {
        let known = await commitTimes(Array(Set(changeCommits.compactMap(\.commit))))
        var leads: [Double] = []
        for change in changeCommits {
            guard let commit = change.commit else {
                delivery.leadTimeUnknown += 1
                continue
            }
            guard let committed = known[commit] else {
                delivery.leadTimeUnknown += 1
                continue
            }
            leads.append(max(0, change.time.timeIntervalSince1970 - committed))
        }
        guard !leads.isEmpty else { return }
        let sorted = leads.sorted(), mid = sorted.count / 2
        delivery.leadTimeSecondsMedian = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        delivery.leadTimeSecondsMax = sorted.last
        delivery.leadTimeSamples = leads.count
    }

    private func addRestore(_ seconds: Double) {
        restoreCount += 1
        restoreSum += seconds
        restoreMax = max(restoreMax, seconds)
        if restoreSample.count < Self.restoreSampleLimit {
            restoreSample.append(seconds)
        } else {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let slot = Int((rng >> 33) % UInt64(restoreCount))
            if slot < Self.restoreSampleLimit { restoreSample[slot] = seconds }
        }
    }

    /// Closes the pass: finishes the chain and the delivery figures.
    func finish() throws {
        verifier.finish()
        for spill in [timeline, changes, violations, overrides] { try spill.close() }
        let start = since ?? firstTime
        let end = until ?? lastTime
        if let start, let end, end > start { delivery.periodDays = end.timeIntervalSince(start) / 86_400 }
        if restoreCount > 0 {
            let sorted = restoreSample.sorted()
            let mid = sorted.count / 2
            delivery.restoreSecondsMedian = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
            delivery.restoreSecondsMean = restoreSum / Double(restoreCount)
            delivery.restoreSecondsMax = restoreMax
        }
        delivery.openIncidentSince = incidentStart.map(HistoryTime.format)
    }

    static func hourIndex(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / 3600).rounded(.down)) }
    static func dayIndex(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / 86_400).rounded(.down)) }

    static func describe(_ chaos: JSONValue) -> String {
        switch chaos {
        case .string(let s): return s
        case .null: return "none"
        case .bool(let b): return b ? "on" : "off"
        default: return chaos.jsonString()
        }
    }
}
