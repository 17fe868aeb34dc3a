import Foundation
import SwiftDeployKit

/// Draws one status frame as text. Pure: the same snapshot gives the same text.
struct DashboardRenderer {
    let console: Console

    func render(_ s: StatusSnapshot) -> String {
        var lines: [String] = []
        let state = s.healthy ? console.colored("healthy", .green) : console.colored("NOT HEALTHY", .red)
        lines.append(
            console.colored("swiftdeploy status", .bold)
                + " · \(s.project) · \(state) · \(DashboardRenderer.timestamp(s.takenAt))")
        let running = s.runningMode ?? "not running"
        var mode = "mode      \(running)"
        if s.runningMode != s.manifestMode.rawValue { mode += " (manifest says \(s.manifestMode.rawValue))" }
        mode += "   version \(s.version ?? "-")"
        mode += "   chaos \((try? s.figures.get().chaos).flatMap { $0 } ?? "-")"
        mode += "   uptime \(s.uptime.map(DashboardRenderer.duration) ?? "-")"
        lines.append(mode)
        if let drift = s.drift { lines.append(console.colored("          ! \(drift)", .yellow)) }
        let services = s.expectedServices.map { name -> String in
            if let replicas = s.replicas(of: name) {
                let text = "\(replicas.running)/\(replicas.desired) running"
                return "\(name) " + console.colored(text, replicas.running >= replicas.desired ? .green : .red)
            }
            guard let c = s.containers.first(where: { $0.service == name }) else {
                return "\(name) " + console.colored("missing", .red)
            }
            return "\(name) " + console.colored(c.summary, c.isReady ? .green : .red)
        }
        let endpoint = console.colored(s.endpoint.summary, s.endpoint.status == 200 ? .green : .red)
        lines.append("services  " + services.joined(separator: "   ") + "   health endpoint \(endpoint)")
        if let nodes = s.nodes {
            // Swarm: every node with its role and state (a node that went down shows here, its tasks moved below).
            lines.append(
                "nodes     "
                    + nodes.map { node in
                        "\(node.name) \(node.role) "
                            + console.colored(
                                node.availability == "active" ? node.state : "\(node.state), \(node.availability)",
                                node.isUp ? .green : .red)
                    }.joined(separator: "   "))
        }
        if s.replicaTargets != nil {
            // Replicas: each task (Swarm, with its node) or container (Compose) and its state.
            for task in s.containers {
                let error = task.lastHealthOutput.isEmpty || task.isReady ? "" : " (\(task.lastHealthOutput))"
                let place = s.nodes == nil ? "" : " on \(task.node ?? "-")"
                lines.append(
                    "          \(task.name)\(place): "
                        + console.colored(
                            (s.nodes == nil ? task.summary : task.state) + error, task.isReady ? .green : .red))
            }
        }
        switch s.figures {
        case .success(let f):
            let errors = f.errorRate.map { String(format: "%.2f%%", $0 * 100) } ?? "-"
            lines.append(
                String(format: "traffic   %.1f req/s", f.requestRate) + "   errors \(errors)"
                    + """
                       p50 \(DashboardRenderer.ms(f.p50Ms))  p95 \(DashboardRenderer.ms(f.p95Ms))  p99 \
                    \(DashboardRenderer.ms(f.p99Ms))
                    """
                    + "   (last \(Int(f.windowSeconds.rounded()))s)")
        case .failure(let why):
            lines.append("traffic   unavailable: \(why.reason)")
        }
        if let r = s.rollout {
            lines.append(
                """
                rollout   \(r.status.state.rawValue)\(r.status.interrupted ? " (interrupted)" : "") · step \
                \(r.status.step + 1)/\(r.status.steps.count) · candidate \(r.status.weight)%
                """
            )
            for (name, side, weight, image) in [
                ("stable", r.stable, 100 - r.status.weight, r.status.stable),
                ("canary", r.canary, r.status.weight, r.status.canary),
            ] {
                let head =
                    """
                              \(name.padding(toLength: 7, withPad: " ", startingAt: 0)) \
                    \(String(format: "%3d%%", weight))  \
                    \((image.map { "\($0.image) v\($0.version)" } ?? "-").padding(toLength: 34, withPad: " ", startingAt: 0))
                    """
                switch side {
                case .success(let f):
                    let errors = f.errorRate.map { String(format: "%.2f%%", $0 * 100) } ?? "-"
                    lines.append(
                        head + String(format: "%6.1f req/s", f.requestRate)
                            + "   errors \(errors)   p99 \(DashboardRenderer.ms(f.p99Ms))")
                case .failure(let why):
                    lines.append(head + "unavailable: \(why.reason)")
                }
            }
        }
        for (index, d) in s.decisions.enumerated() {
            let color: Console.Color = d.verdict == .allow ? .green : (d.verdict == .warn ? .yellow : .red)
            let head =
                (index == 0 ? "policy    " : "          ") + d.domain.padding(toLength: 15, withPad: " ", startingAt: 0)
                + console.colored(d.verdict.rawValue, color)
            lines.append(head)
            for reason in d.reasons { lines.append("            - \(reason)") }
            for warning in d.warnings { lines.append("            warning: \(warning)") }
        }
        if let slo = s.decisions.first(where: { $0.domain == "slo" }) {
            lines.append(contentsOf: DashboardRenderer.objectives(slo.input))
        }
        return lines.joined(separator: "\n")
    }

    /// `slo       availability  budget 81.2% left   burn 5m 0.2x  1h 0.4x  6h 0.3x  1d 0.2x  3d 0.2x`, one line per
    /// objective
    /// of the slo decision's input (`input.slo.objectives`).
    static func objectives(_ input: JSONValue) -> [String] {
        guard case .object(let objectives)? = input["slo"]?["objectives"] else { return [] }
        return objectives.keys.sorted().enumerated().map { index, name in
            let o = objectives[name]!
            let budget = o["error_budget_remaining"]?.doubleValue.map { String(format: "%.1f%% left", $0 * 100) } ?? "-"
            let burns = ["5m", "1h", "6h", "1d", "3d"].map { w in
                "\(w) " + (o["burn_rate"]?[w]?.doubleValue.map { String(format: "%.1fx", $0) } ?? "-")
            }.joined(separator: "  ")
            return (index == 0 ? "slo       " : "          ") + name.padding(toLength: 15, withPad: " ", startingAt: 0)
                + "budget \(budget)   burn \(burns)"
        }
    }

    static func ms(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value < 10 ? String(format: "%.1fms", value) : String(format: "%.0fms", value)
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let total = Int(seconds)
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(total % 60)s" }
        return "\(total / 3600)h\((total % 3600) / 60)m"
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
