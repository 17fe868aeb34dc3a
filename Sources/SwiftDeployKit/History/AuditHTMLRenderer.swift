import Foundation

/// The HTML format: one self-contained page (no scripts, no external files),
/// charts drawn as inline SVG.
extension AuditRenderer {
    func html() throws {
        let s = summary
        try out.write(
            """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, \
            initial-scale=1">
            <title>swiftdeploy audit report</title>
            <style>
            body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2rem \
            auto;max-width:72rem;padding:0 1rem;color:#1f2328}
            table{border-collapse:collapse;margin:0.5rem 0 1.5rem}th,td{border:1px solid #d0d7de;padding:4px \
            8px;text-align:left;vertical-align:top}
            th{background:#f6f8fa}td.n{text-align:right}.bad{color:#cf222e;font-weight:600}.ok{color:#1a7f37;font-weight:600}
            code{background:#f6f8fa;padding:1px 4px;border-radius:4px}svg{background:#fff;border:1px solid \
            #d0d7de;margin:0.5rem 0 1.5rem}
            .chart text{font-size:11px;fill:#57606a}
            </style></head><body>
            <h1>swiftdeploy audit report</h1>
            <p>History <code>\(h(s.history.lastPathComponent))</code>, generated \
            \(h(HistoryTime.format(options.now))) by swiftdeploy \(h(SwiftDeployVersion.current)).</p>
            <h2>Summary</h2>
            <table>
            <tr><th>Period</th><td>\(h(periodText))</td></tr>
            <tr><th>Records in period</th><td>\(s.records)</td></tr>
            <tr><th>Current mode</th><td>\(h(s.currentMode ?? "unknown"))</td></tr>
            <tr><th>Chain</th><td class="\(s.chain.isIntact ? "ok" : "bad")">\(h(chainText))</td></tr>
            <tr><th>Head hash</th><td><code>\(s.chain.head)</code> (record #\(s.chain.headSequence))</td></tr>

            """)
        if let matches = s.headMatches {
            try out.write(
                """
                <tr><th>Expected head</th><td \
                class=\"\(matches ? "ok" : "bad")\">\(matches ? "matches" : "does not match: expected " + h(options.expectedHead ?? ""))</td></tr>\n
                """
            )
        }
        try out.write(
            """
            <tr><th>Torn \
            lines</th><td>\(h(tornText))</td></tr>\n<tr><th>Violations</th><td>\(s.violations)</td></tr>\n<tr><th>Overrides</th><td>\(s.overrides)</td></tr>\n</table>\n
            """
        )
        try out.write("<h3>Events</h3>\n<table><tr><th>Event</th><th>Count</th></tr>\n")
        for (event, count) in sortedCounts(s.events, order: HistoryEvent.allCases.map(\.rawValue)) {
            try out.write("<tr><td>\(h(event))</td><td class=\"n\">\(count)</td></tr>\n")
        }
        try out.write("</table>\n<h3>Decisions by verdict</h3>\n<table><tr><th>Verdict</th><th>Count</th></tr>\n")
        for (verdict, count) in sortedCounts(s.verdicts, order: ["allow", "warn", "deny", "inconclusive"]) {
            try out.write("<tr><td>\(h(verdict))</td><td class=\"n\">\(count)</td></tr>\n")
        }
        try out.write("</table>\n<h2>Delivery</h2>\n<table>\n")
        try out.write("<tr><th>Deployment frequency</th><td>\(h(frequencyText))</td></tr>\n")
        try out.write("<tr><th>Change failure rate</th><td>\(h(failureRateText))</td></tr>\n")
        try out.write("<tr><th>Time to restore</th><td>\(h(restoreText))</td></tr>\n")
        try out.write("<tr><th>Failed deployments</th><td>\(s.delivery.failedDeployments)</td></tr>\n</table>\n")

        try out.write("<h2>Charts</h2>\n")
        let series = metricSeries()
        try out.write("<h3>Error rate (mean per \(series.resolution))</h3>\n")
        try out.write(
            lineChart(series.points.compactMap { p in p.errorRate.map { (p.time, $0) } }, unit: "", percent: true))
        try out.write("<h3>p99 latency, ms (mean per \(series.resolution))</h3>\n")
        try out.write(
            lineChart(series.points.compactMap { p in p.p99.map { (p.time, $0) } }, unit: " ms", percent: false))
        try out.write("<h3>Decisions per day</h3>\n")
        try out.write(decisionChart(decisionDays()))

        try out.write("<h2>Timeline</h2>\n")
        try table(
            accumulator.timeline, headers: ["Line", "Time", "Event", "Actor", "Outcome", "Mode", "Message"],
            empty: "No actions in the period."
        ) { i in
            [String(i.line), i.time, i.event, i.actor, i.outcome ?? "", modeText(i), i.message ?? ""]
        }
        try out.write("<h2>Mode and chaos changes</h2>\n")
        try table(
            accumulator.changes, headers: ["Line", "Time", "Event", "Change", "Actor"],
            empty: "No mode or chaos changes in the period."
        ) { i in
            [String(i.line), i.time, i.event, i.change ?? "", i.actor]
        }
        try out.write(
            "<h2>Violations</h2>\n<p>Every decision with verdict <code>deny</code> or <code>inconclusive</code>.</p>\n")
        try table(
            accumulator.violations,
            headers: ["Line", "Time", "Event", "Domain", "Verdict", "Engine", "Actor", "Reasons"],
            empty: "No violations in the period."
        ) { i in
            [
                String(i.line), i.time, i.event, i.domain ?? "", i.verdict ?? "", i.engine ?? "", i.actor,
                (i.reasons ?? []).joined(separator: "\n"),
            ]
        }
        try out.write("<h2>Rollouts</h2>\n")
        if accumulator.rollouts.rollouts.isEmpty {
            try out.write("<p>No rollouts in the period.</p>\n")
        } else {
            try out.write(
                """
                <table>\n<tr><th>Started</th><th>Image</th><th>Version</th><th>Steps (weight \
                verdict)</th><th>Outcome</th><th>Duration</th></tr>\n
                """
            )
            for r in accumulator.rollouts.rollouts {
                let cells = [
                    r.started, r.image, r.version, r.stepsText, r.outcome, r.seconds.map(AuditRenderer.duration) ?? "–",
                ]
                try out.write("<tr>" + cells.map { "<td>\(Self.htmlEscape($0))</td>" }.joined() + "</tr>\n")
            }
            try out.write("</table>\n")
        }
        try out.write("<h2>Overrides</h2>\n")
        try table(
            accumulator.overrides, headers: ["Line", "Time", "Who", "Why", "Message"],
            empty: "No overrides in the period."
        ) { i in
            [String(i.line), i.time, i.actor, i.reason ?? "(no reason recorded)", i.message ?? ""]
        }
        try out.write(
            """
            <p>To check a copy of this history later: <code>swiftdeploy audit --verify --expect-head \
            \(s.chain.head)</code></p>\n</body></html>\n
            """
        )
    }

    /// HTML-escapes text (element content and attribute values).
    static func htmlEscape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\n": out += "<br>"
            default: out.append(ch)
            }
        }
        return out
    }

    private func h(_ text: String) -> String { Self.htmlEscape(text) }

    private func table(_ spill: AuditSpill, headers: [String], empty: String, row: (AuditItem) -> [String]) throws {
        guard spill.count > 0 else {
            try out.write("<p>\(h(empty))</p>\n")
            return
        }
        try out.write("<table><tr>" + headers.map { "<th>\(h($0))</th>" }.joined() + "</tr>\n")
        try spill.forEach { item in
            let cells = row(item)
            try out.write(
                "<tr>"
                    + cells.enumerated().map {
                        $0.offset == 0 ? "<td class=\"n\">\(h($0.element))</td>" : "<td>\(h($0.element))</td>"
                    }.joined() + "</tr>\n")
        }
        try out.write("</table>\n")
    }

    private static let width = 860.0, height = 220.0, left = 64.0, right = 16.0, top = 12.0, bottom = 28.0

    private func lineChart(_ points: [(Date, Double)], unit: String, percent: Bool) -> String {
        guard !points.isEmpty else { return "<p>No metrics recorded in the period.</p>\n" }
        let w = Self.width, hgt = Self.height, l = Self.left, r = Self.right, t = Self.top, b = Self.bottom
        let t0 = points.first!.0.timeIntervalSince1970, t1 = points.last!.0.timeIntervalSince1970
        let maxV = max(points.map(\.1).max() ?? 0, percent ? 0.0001 : 1)
        func x(_ d: Date) -> Double {
            t1 > t0 ? l + (d.timeIntervalSince1970 - t0) / (t1 - t0) * (w - l - r) : l + (w - l - r) / 2
        }
        func y(_ v: Double) -> Double { t + (1 - v / maxV) * (hgt - t - b) }
        func label(_ v: Double) -> String {
            percent ? String(format: "%.2f%%", v * 100) : String(format: "%.0f", v) + unit
        }
        var svg =
            """
            <svg class=\"chart\" role=\"img\" viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" width=\"\(Int(w))\" \
            height=\"\(Int(hgt))\" xmlns=\"http://www.w3.org/2000/svg\">\n
            """
        for frac in [0.0, 0.5, 1.0] {
            let yy = y(maxV * frac)
            svg +=
                "<line x1=\"\(fmt(l))\" y1=\"\(fmt(yy))\" x2=\"\(fmt(w - r))\" y2=\"\(fmt(yy))\" stroke=\"#eaeef2\"/>"
            svg +=
                "<text x=\"\(fmt(l - 6))\" y=\"\(fmt(yy + 4))\" text-anchor=\"end\">\(h(label(maxV * frac)))</text>\n"
        }
        let path = points.map { "\(fmt(x($0.0))),\(fmt(y($0.1)))" }.joined(separator: " ")
        svg += "<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
        if points.count <= 200 {
            for p in points {
                svg +=
                    """
                    <circle cx=\"\(fmt(x(p.0)))\" cy=\"\(fmt(y(p.1)))\" r=\"2.5\" \
                    fill=\"#0969da\"><title>\(h(HistoryTime.format(p.0))): \(h(label(p.1)))</title></circle>\n
                    """
            }
        }
        svg += "<text x=\"\(fmt(l))\" y=\"\(fmt(hgt - 8))\">\(h(HistoryTime.format(points.first!.0)))</text>"
        svg +=
            """
            <text x=\"\(fmt(w - r))\" y=\"\(fmt(hgt - 8))\" \
            text-anchor=\"end\">\(h(HistoryTime.format(points.last!.0)))</text>\n</svg>\n
            """
        return svg
    }

    private func decisionChart(_ days: [(day: String, counts: [String: Int])]) -> String {
        guard !days.isEmpty else { return "<p>No decisions recorded in the period.</p>\n" }
        // The legend sits in its own strip above the bars.
        let w = Self.width, hgt = Self.height, l = Self.left, r = Self.right, legendY = Self.top, t = Self.top + 20,
            b = Self.bottom
        let colors: [(String, String)] = [
            ("allow", "#1a7f37"), ("warn", "#bf8700"), ("deny", "#cf222e"), ("inconclusive", "#8250df"),
        ]
        let totals = days.map { $0.counts.values.reduce(0, +) }
        let maxT = Double(max(totals.max() ?? 1, 1))
        let slot = (w - l - r) / Double(days.count)
        let barW = min(max(slot * 0.8, 1), 48)
        var svg =
            """
            <svg class=\"chart\" role=\"img\" viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" width=\"\(Int(w))\" \
            height=\"\(Int(hgt))\" xmlns=\"http://www.w3.org/2000/svg\">\n
            """
        svg +=
            """
            <text x=\"\(fmt(l - 6))\" y=\"\(fmt(t + 4))\" text-anchor=\"end\">\(Int(maxT))</text><text \
            x=\"\(fmt(l - 6))\" y=\"\(fmt(hgt - b))\" text-anchor=\"end\">0</text>\n
            """
        for (index, day) in days.enumerated() {
            var base = hgt - b
            let x = l + Double(index) * slot + (slot - barW) / 2
            var kinds = colors
            for key in day.counts.keys.sorted() where !colors.contains(where: { $0.0 == key }) {
                kinds.append((key, "#57606a"))
            }
            for (kind, color) in kinds {
                guard let n = day.counts[kind], n > 0 else { continue }
                let hh = Double(n) / maxT * (hgt - t - b)
                base -= hh
                svg +=
                    """
                    <rect x=\"\(fmt(x))\" y=\"\(fmt(base))\" width=\"\(fmt(barW))\" height=\"\(fmt(hh))\" \
                    fill=\"\(color)\"><title>\(h(day.day)): \(n) \(h(kind))</title></rect>\n
                    """
            }
        }
        svg +=
            """
            <text x=\"\(fmt(l))\" y=\"\(fmt(hgt - 8))\">\(h(days.first!.day))</text><text x=\"\(fmt(w - r))\" \
            y=\"\(fmt(hgt - 8))\" text-anchor=\"end\">\(h(days.last!.day))</text>\n
            """
        var legendX = l + 8
        for (kind, color) in colors {
            svg +=
                """
                <rect x=\"\(fmt(legendX))\" y=\"\(fmt(legendY))\" width=\"10\" height=\"10\" \
                fill=\"\(color)\"/><text x=\"\(fmt(legendX + 14))\" y=\"\(fmt(legendY + 9))\">\(kind)</text>
                """
            legendX += 90
        }
        return svg + "\n</svg>\n"
    }

    private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}
