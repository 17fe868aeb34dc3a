import Foundation

/// Renders a finished `AuditAccumulator` as Markdown, HTML or JSON, reading
/// the list sections back from their scratch files row by row.
struct AuditRenderer {
    let summary: AuditSummary
    let accumulator: AuditAccumulator
    let options: AuditOptions
    let out: AuditOutput

    // MARK: Markdown

    func markdown() throws {
        let s = summary
        try out.write("# swiftdeploy audit report\n\n")
        try out.write(
            """
            History `\(mdCode(s.history.lastPathComponent))`, generated \(HistoryTime.format(options.now)) by \
            swiftdeploy \(SwiftDeployVersion.current).\n\n
            """
        )
        try out.write("## Summary\n\n| Item | Value |\n| --- | --- |\n")
        try out.write("| Period | \(md(periodText)) |\n")
        try out.write("| Records in period | \(s.records) |\n")
        try out.write("| Current mode | \(md(s.currentMode ?? "unknown")) |\n")
        try out.write("| Chain | \(md(chainText)) |\n")
        try out.write("| Head hash | `\(s.chain.head)` (record #\(s.chain.headSequence)) |\n")
        if let matches = s.headMatches {
            try out.write(
                """
                | Expected head | \
                \(matches ? "matches" : "**does not match**: expected `\(mdCode(options.expectedHead ?? ""))`") \
                |\n
                """
            )
        }
        try out.write("| Torn lines | \(md(tornText)) |\n")
        try out.write("| Violations | \(s.violations) |\n| Overrides | \(s.overrides) |\n\n")

        try out.write("### Events\n\n| Event | Count |\n| --- | ---: |\n")
        if s.events.isEmpty { try out.write("| (none) | 0 |\n") }
        for (event, count) in sortedCounts(s.events, order: HistoryEvent.allCases.map(\.rawValue)) {
            try out.write("| \(md(event)) | \(count) |\n")
        }
        try out.write("\n### Decisions by verdict\n\n| Verdict | Count |\n| --- | ---: |\n")
        if s.verdicts.isEmpty { try out.write("| (none) | 0 |\n") }
        for (verdict, count) in sortedCounts(s.verdicts, order: ["allow", "warn", "deny", "inconclusive"]) {
            try out.write("| \(md(verdict)) | \(count) |\n")
        }

        let d = s.delivery
        try out.write("\n## Delivery\n\n| Figure | Value |\n| --- | --- |\n")
        try out.write("| Deployment frequency | \(md(frequencyText)) |\n")
        try out.write("| Change failure rate | \(md(failureRateText)) |\n")
        try out.write("| Time to restore | \(md(restoreText)) |\n")
        try out.write("| Lead time for changes | \(md(leadTimeText)) |\n")
        try out.write("| Failed deployments | \(d.failedDeployments) |\n\n")
        if !options.objectives.isEmpty {
            try out.write(
                """
                ## Service level objectives\n\n| Objective | Target | Compliance over the period | Budget used \
                |\n| --- | ---: | ---: | ---: |\n
                """
            )
            for o in options.objectives {
                try out.write(
                    "| \(md(o.name)) | \(md(o.target))% | \(md(o.complianceText)) | \(md(o.budgetUsedText)) |\n")
            }
            try out.write("\n")
        }

        try out.write("## Timeline\n\n")
        if accumulator.timeline.count == 0 {
            try out.write("No actions in the period.\n\n")
        } else {
            try out.write(
                """
                | Line | Time | Event | Actor | Outcome | Mode | Message |\n| ---: | --- | --- | --- | --- | --- \
                | --- |\n
                """
            )
            try accumulator.timeline.forEach { i in
                try out.write(
                    """
                    | \(i.line) | \(md(i.time)) | \(md(i.event)) | \(md(i.actor)) | \(md(i.outcome ?? "")) | \
                    \(md(modeText(i))) | \(md(i.message ?? "")) |\n
                    """
                )
            }
            try out.write("\n")
        }

        try out.write("## Mode and chaos changes\n\n")
        if accumulator.changes.count == 0 {
            try out.write("No mode or chaos changes in the period.\n\n")
        } else {
            try out.write("| Line | Time | Event | Change | Actor |\n| ---: | --- | --- | --- | --- |\n")
            try accumulator.changes.forEach { i in
                try out.write(
                    "| \(i.line) | \(md(i.time)) | \(md(i.event)) | \(md(i.change ?? "")) | \(md(i.actor)) |\n")
            }
            try out.write("\n")
        }

        try out.write("## Violations\n\nEvery decision with verdict `deny` or `inconclusive`.\n\n")
        if accumulator.violations.count == 0 {
            try out.write("No violations in the period.\n\n")
        } else {
            try out.write(
                """
                | Line | Time | Event | Domain | Verdict | Engine | Actor | Reasons |\n| ---: | --- | --- | --- | \
                --- | --- | --- | --- |\n
                """
            )
            try accumulator.violations.forEach { i in
                let reasons =
                    (i.reasons ?? []).isEmpty ? "(no reason given)" : (i.reasons ?? []).joined(separator: "\n")
                try out.write(
                    """
                    | \(i.line) | \(md(i.time)) | \(md(i.event)) | \(md(i.domain ?? "")) | \(md(i.verdict ?? "")) \
                    | \(md(i.engine ?? "")) | \(md(i.actor)) | \(md(reasons)) |\n
                    """
                )
            }
            try out.write("\n")
        }

        try out.write("## Rollouts\n\n")
        if accumulator.rollouts.rollouts.isEmpty {
            try out.write("No rollouts in the period.\n\n")
        } else {
            try out.write(
                """
                \(d.rollouts) rollout(s): \(d.rolloutsPromoted) promoted (counted as deployments), \
                \(d.preventedFailures) rolled back or aborted (failures prevented).\n\n
                """
            )
            try out.write(
                """
                | Started | Image | Version | Steps (weight verdict) | Outcome | Duration |\n| --- | --- | --- | \
                --- | --- | ---: |\n
                """
            )
            for r in accumulator.rollouts.rollouts {
                try out.write(
                    """
                    | \(md(r.started)) | \(md(r.image)) | \(md(r.version)) | \(md(r.stepsText)) | \
                    \(md(r.outcome)) | \(md(r.seconds.map(Self.duration) ?? "–")) |\n
                    """
                )
            }
            try out.write("\n")
        }

        try out.write("## Overrides\n\n")
        if accumulator.overrides.count == 0 {
            try out.write("No overrides in the period.\n\n")
        } else {
            try out.write("| Line | Time | Who | Why | Message |\n| ---: | --- | --- | --- | --- |\n")
            try accumulator.overrides.forEach { i in
                try out.write(
                    """
                    | \(i.line) | \(md(i.time)) | \(md(i.actor)) | \(md(i.reason ?? "(no reason recorded)")) | \
                    \(md(i.message ?? "")) |\n
                    """
                )
            }
            try out.write("\n")
        }
        try out.write(
            "---\n\nTo check a copy of this history later: `swiftdeploy audit --verify --expect-head \(s.chain.head)`\n"
        )
    }

    /// Escapes text for one GitHub-flavoured Markdown table cell (see ``MarkdownText``): no link, image, HTML,
    /// emphasis or table break can come through a message.
    static func markdownCell(_ text: String) -> String { MarkdownText.cell(text) }

    private func md(_ text: String) -> String { Self.markdownCell(text) }
    private func mdCode(_ text: String) -> String { text.replacingOccurrences(of: "`", with: "'") }

    // MARK: Shared text

    var periodText: String {
        let s = summary
        let from = options.since ?? s.firstTime
        let to = options.until ?? s.lastTime
        guard let from, let to else { return "no records" }
        let days = max(to.timeIntervalSince(from), 0) / 86_400
        return "\(HistoryTime.format(from)) to \(HistoryTime.format(to)) (\(String(format: "%.1f", days)) days)"
    }

    var chainText: String {
        let c = summary.chain
        if let b = c.firstBreak {
            return "BROKEN at line \(b.line): \(b.message)"
                + (c.breakCount > 1 ? " (\(c.breakCount) breaks in all)" : "")
        }
        return "intact: \(c.records) records in \(c.lines) lines"
    }

    var tornText: String {
        let c = summary.chain
        guard c.tornCount > 0 else { return "none" }
        let listed = c.tornLines.map {
            "line \($0.line) (\($0.sealed ? "sealed by the next append" : "last line, awaiting the next append"))"
        }
        return "\(c.tornCount): " + listed.joined(separator: ", ") + (c.tornCount > c.tornLines.count ? ", …" : "")
    }

    var frequencyText: String {
        let d = summary.delivery
        let shipped = d.deployments + d.promotions
        guard d.periodDays > 0 else { return "\(shipped) successful deploys/promotions (period too short for a rate)" }
        return
            """
            \(shipped) successful deploys/promotions (\(d.deployments) deploys, \(d.promotions) promotions) in \
            \(String(format: "%.1f", d.periodDays)) days: \(String(format: "%.2f", d.deploymentsPerDay)) per day
            """
    }

    var failureRateText: String {
        let d = summary.delivery
        guard let rate = d.changeFailureRate else { return "no successful promotions in the period" }
        return
            """
            \(String(format: "%.1f", rate * 100))% (\(d.failedPromotions) of \(d.promotions) promotions rolled \
            back or followed by a failed gate)
            """
    }

    var leadTimeText: String {
        let d = summary.delivery
        guard let median = d.leadTimeSecondsMedian, let maxS = d.leadTimeSecondsMax else {
            return d.leadTimeUnknown > 0
                ? "unknown: none of the \(d.leadTimeUnknown) change(s) recorded a commit git knows"
                : "no changes in the period"
        }
        var text =
            """
            median \(Self.duration(median)), max \(Self.duration(maxS)) over \(d.leadTimeSamples) change(s), \
            commit to deploy
            """
        if d.leadTimeUnknown > 0 { text += "; \(d.leadTimeUnknown) change(s) without a known commit" }
        return text
    }

    var restoreText: String {
        let d = summary.delivery
        var parts: [String] = []
        if let median = d.restoreSecondsMedian, let mean = d.restoreSecondsMean, let maxS = d.restoreSecondsMax {
            parts.append(
                """
                median \(Self.duration(median)), mean \(Self.duration(mean)), max \(Self.duration(maxS)) over \
                \(d.incidents - (d.openIncidentSince == nil ? 0 : 1)) restored incident(s)
                """
            )
        } else if d.incidents == 0 {
            parts.append("no incidents in the period")
        }
        if let open = d.openIncidentSince { parts.append("an incident is still open since \(open)") }
        return parts.joined(separator: "; ")
    }

    func modeText(_ i: AuditItem) -> String {
        switch (i.modeBefore, i.modeAfter) {
        case let (b?, a?) where b != a: return "\(b) → \(a)"
        case let (_, a?): return a
        case let (b?, nil): return b
        default: return ""
        }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        if s < 86_400 { return "\(s / 3600)h \((s % 3600) / 60)m" }
        return "\(s / 86_400)d \((s % 86_400) / 3600)h"
    }

    func sortedCounts(_ counts: [String: Int], order: [String]) -> [(String, Int)] {
        counts.sorted { a, b in
            let ia = order.firstIndex(of: a.key) ?? Int.max, ib = order.firstIndex(of: b.key) ?? Int.max
            return ia != ib ? ia < ib : a.key < b.key
        }
    }

    // MARK: JSON

    func json() throws {
        let s = summary
        let c = s.chain
        let d = s.delivery
        func opt(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        func optD(_ v: Double?) -> JSONValue { v.map { .double($0) } ?? .null }
        let chain: JSONValue = .object([
            "intact": .bool(c.isIntact), "lines": .int(Int64(c.lines)), "records": .int(Int64(c.records)),
            "head": .string(c.head), "head_seq": .int(Int64(c.headSequence)),
            "first_break": c.firstBreak.map { .object(["line": .int(Int64($0.line)), "message": .string($0.message)]) }
                ?? .null,
            "breaks": .int(Int64(c.breakCount)), "torn_count": .int(Int64(c.tornCount)),
            "torn_lines": .array(
                c.tornLines.map { .object(["line": .int(Int64($0.line)), "sealed": .bool($0.sealed)]) }),
            "expected_head": opt(options.expectedHead), "head_matches": s.headMatches.map { .bool($0) } ?? .null,
        ])
        let delivery: JSONValue = .object([
            "deployments": .int(Int64(d.deployments)), "promotions": .int(Int64(d.promotions)),
            "failed_deployments": .int(Int64(d.failedDeployments)),
            "failed_promotions": .int(Int64(d.failedPromotions)),
            "period_days": .double(d.periodDays), "deployments_per_day": .double(d.deploymentsPerDay),
            "change_failure_rate": optD(d.changeFailureRate), "incidents": .int(Int64(d.incidents)),
            "restore_seconds": .object([
                "median": optD(d.restoreSecondsMedian), "mean": optD(d.restoreSecondsMean),
                "max": optD(d.restoreSecondsMax),
            ]),
            "open_incident_since": opt(d.openIncidentSince),
            "rollouts": .int(Int64(d.rollouts)), "rollouts_promoted": .int(Int64(d.rolloutsPromoted)),
            "prevented_failures": .int(Int64(d.preventedFailures)),
            "lead_time_seconds": .object([
                "median": optD(d.leadTimeSecondsMedian), "max": optD(d.leadTimeSecondsMax),
                "samples": .int(Int64(d.leadTimeSamples)), "unknown": .int(Int64(d.leadTimeUnknown)),
            ]),
        ])
        let head: [(String, JSONValue)] = [
            ("schema", "swiftdeploy.audit/v1"),
            ("generated", .string(HistoryTime.format(options.now))),
            ("history", .string(s.history.lastPathComponent)),
            (
                "period",
                .object([
                    "since": opt(options.since.map(HistoryTime.format)),
                    "until": opt(options.until.map(HistoryTime.format)),
                    "first": opt(s.firstTime.map(HistoryTime.format)), "last": opt(s.lastTime.map(HistoryTime.format)),
                ])
            ),
            ("chain", chain),
            ("records", .int(Int64(s.records))),
            ("events", .object(s.events.mapValues { .int(Int64($0)) })),
            ("verdicts", .object(s.verdicts.mapValues { .int(Int64($0)) })),
            ("current_mode", opt(s.currentMode)),
            ("delivery", delivery),
            ("objectives", .array(options.objectives.map(\.json))),
            ("series", seriesJSON()),
            ("rollouts", .array(accumulator.rollouts.rollouts.map(\.json))),
        ]
        try out.write("{\n")
        for (key, value) in head { try out.write("  \(JSONValue.string(key).jsonString()): \(value.jsonString()),\n") }
        let lists: [(String, AuditSpill)] = [
            ("timeline", accumulator.timeline), ("changes", accumulator.changes),
            ("violations", accumulator.violations), ("overrides", accumulator.overrides),
        ]
        for (index, (key, spill)) in lists.enumerated() {
            try out.write("  \"\(key)\": [")
            var first = true
            // The spill holds each item as JSONValue.encoder() writes it: copied as it is.
            try spill.forEachLine { line in
                try out.write(first ? "\n    " : ",\n    ")
                try out.write(line)
                first = false
            }
            try out.write(first ? "]" : "\n  ]")
            try out.write(index == lists.count - 1 ? "\n" : ",\n")
        }
        try out.write("}\n")
    }

    private func seriesJSON() -> JSONValue {
        let metrics = metricSeries()
        return .object([
            "resolution": .string(metrics.resolution),
            "metrics": .array(
                metrics.points.map { p in
                    .object([
                        "time": .string(HistoryTime.format(p.time)),
                        "error_rate": p.errorRate.map { .double($0) } ?? .null,
                        "p99_ms": p.p99.map { .double($0) } ?? .null,
                    ])
                }),
            "decisions_per_day": .array(
                decisionDays().map { day in
                    .object(["day": .string(day.day), "counts": .object(day.counts.mapValues { .int(Int64($0)) })])
                }),
        ])
    }

    // MARK: Series

    struct MetricPoint {
        var time: Date
        var errorRate: Double?
        var p99: Double?
    }

    /// Hourly points when the data spans two weeks or less, daily beyond.
    func metricSeries() -> (resolution: String, points: [MetricPoint]) {
        let hours = accumulator.hourly
        guard let lo = hours.keys.min(), let hi = hours.keys.max() else { return ("hour", []) }
        let daily = hi - lo > 14 * 24
        var buckets: [Int64: MetricBucket] = [:]
        if daily {
            // In hour order: floating-point sums depend on the order of the additions, and a dictionary's order
            // changes from run to run (the report must be byte-identical for the same history).
            for h in hours.keys.sorted() { buckets[h / 24, default: MetricBucket()].merge(hours[h]!) }
        } else {
            buckets = hours
        }
        let step: Double = daily ? 86_400 : 3600
        let points = buckets.keys.sorted().map { k -> MetricPoint in
            let b = buckets[k]!
            return MetricPoint(
                time: Date(timeIntervalSince1970: Double(k) * step),
                errorRate: b.errorRateCount > 0 ? b.errorRateSum / Double(b.errorRateCount) : nil,
                p99: b.p99Count > 0 ? b.p99Sum / Double(b.p99Count) : nil)
        }
        return (daily ? "day" : "hour", points)
    }

    func decisionDays() -> [(day: String, counts: [String: Int])] {
        accumulator.daily.keys.sorted().map { k in
            (HistoryTime.day(Date(timeIntervalSince1970: Double(k) * 86_400)), accumulator.daily[k]!)
        }
    }
}
