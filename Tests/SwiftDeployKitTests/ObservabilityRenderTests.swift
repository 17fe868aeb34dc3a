import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `observability/` as `init` writes it: golden files, determinism, `init --check` drift, and the real consumers:
/// promtool (config, rules, the committed burn-rate unit tests, every dashboard expression) and Grafana's
/// dashboard model.
@Suite("Generated observability files")
struct ObservabilityRenderTests {
    static func manifest() throws -> Manifest {
        try ManifestLoader().load(from: fixture("slo/manifest.yaml"))
    }

    static func files() throws -> [(path: String, contents: String)] {
        ObservabilityRenderer(manifest: try manifest()).files()
    }

    /// The rendered files written under a fresh directory's `observability/`.
    static func written() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-obs")
        for file in try files() { _ = try dir.write(file.contents, to: "observability/" + file.path) }
        return dir
    }

    static func promtool() throws -> String { try TestRequirement.promtool.value() }

    @Test func goldenFilesMatch() async throws {
        let files = try Self.files()
        #expect(
            files.map(\.path) == [
                "alertmanager.yml",
                "grafana/dashboards/swiftdeploy-slo.json",
                "grafana/provisioning/dashboards/swiftdeploy.yml",
                "grafana/provisioning/datasources/prometheus.yml",
                "prometheus.yml",
                "rules/slo.yml",
                "runbooks/AvailabilityBurnRate1d.md", "runbooks/AvailabilityBurnRate1h.md",
                "runbooks/AvailabilityBurnRate3d.md", "runbooks/AvailabilityBurnRate6h.md",
                "runbooks/LatencyBurnRate1d.md", "runbooks/LatencyBurnRate1h.md",
                "runbooks/LatencyBurnRate3d.md", "runbooks/LatencyBurnRate6h.md",
            ])
        for file in files {
            let url = fixture("slo/observability/" + file.path)
            if Golden.recording {
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            }
            if let diff = Golden.compare(file.contents, to: url) { Issue.record(Comment(rawValue: diff)) }
        }
    }

    @Test func renderingIsDeterministic() async throws {
        let m = try Self.manifest()
        let first = ObservabilityRenderer(manifest: m).files()
        for _ in 0..<3 {
            let again = ObservabilityRenderer(manifest: m).files()
            #expect(again.map(\.path) == first.map(\.path))
            #expect(again.map(\.contents) == first.map(\.contents))
        }
    }

    @Test func rulesCoverEveryWindowAndTheWorkbookAlerts() async throws {
        let rules = try #require(try Self.files().first { $0.path == "rules/slo.yml" }).contents
        for objective in ["availability", "latency"] {
            for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"] {
                #expect(
                    rules.contains("- record: slo:sli_error:ratio_rate\(window)\n        expr: '(sum(rate(http"),
                    "\(window)")
            }
            _ = objective
        }
        for (alert, threshold) in [
            ("AvailabilityBurnRate1h", "0.072"), ("AvailabilityBurnRate6h", "0.03"),
            ("AvailabilityBurnRate1d", "0.015"), ("AvailabilityBurnRate3d", "0.005"),
            ("LatencyBurnRate1h", "0.144"), ("LatencyBurnRate3d", "0.01"),
        ] {
            #expect(rules.contains("- alert: \(alert)\n"), "\(alert)")
            #expect(rules.contains("> \(threshold) and"), "\(alert) threshold \(threshold)")
            #expect(rules.contains("runbook: 'runbooks/\(alert).md'"))
        }
        #expect(rules.contains("severity: page") && rules.contains("severity: ticket"))
        // The latency objective counts requests slower than 300ms through the 0.3 bucket, however the client writes
        // `le`.
        #expect(rules.contains(#"le=~"0\\.3""#))
        // Health and metrics paths are left out of every objective.
        #expect(rules.contains(#"path!~"/healthz|/metrics""#))
    }

    @Test func prometheusScrapesEveryReplicaAndLabelsBothSidesOfARollout() async throws {
        let config = try #require(try Self.files().first { $0.path == "prometheus.yml" }).contents
        #expect(config.contains("- names: ['app']\n        type: A\n        port: 3000"))
        #expect(config.contains("- names: ['app-canary']\n        type: A\n        port: 3000"))
        #expect(config.contains("regex: 'app-canary'\n        target_label: variant\n        replacement: canary"))
        #expect(config.contains("regex: 'app'\n        target_label: variant\n        replacement: stable"))
        #expect(config.contains("- targets: [\"alertmanager:9093\"]"))
    }

    /// Hostile: the host ports are not the ports inside the network. Prometheus reaches Alertmanager on the
    /// container's port whatever `alertmanager_port` says, and scrapes itself on its own.
    @Test func hostPortsDoNotLeakIntoTheNetwork() async throws {
        var text = try String(contentsOf: fixture("slo/manifest.yaml"), encoding: .utf8)
        text += "  prometheus_port: 19090\n  alertmanager_port: 19093\n"
        let manifest = try ManifestLoader().parse(text, file: "manifest.yaml", directory: URL(fileURLWithPath: "/tmp"))
        #expect(manifest.observability.alertmanagerPort == 19093)
        let config = try #require(
            ObservabilityRenderer(manifest: manifest).files().first { $0.path == "prometheus.yml" }
        ).contents
        #expect(config.contains("- targets: [\"alertmanager:9093\"]"), "\(config)")
        #expect(config.contains("- targets: [\"localhost:9090\"]"), "\(config)")
        #expect(!config.contains("19093") && !config.contains("19090"), "\(config)")
        let compose = try ConfigRenderer().render(manifest).compose
        #expect(compose.contains("- \"127.0.0.1:19093:9093\""), "\(compose)")
        #expect(compose.contains("- \"127.0.0.1:19090:9090\""), "\(compose)")
    }

    @Test(.requires(.promtool)) func promtoolAcceptsTheConfigAndTheRules() async throws {
        let promtool = try Self.promtool()
        let dir = try Self.written()
        defer { dir.remove() }
        let config = try await ExternalTool.run(
            promtool, ["check", "config", dir.path + "/observability/prometheus.yml"])
        #expect(config.status == 0, "promtool check config: \(config.output)")
        #expect(config.output.contains("SUCCESS"))
        let rules = try await ExternalTool.run(promtool, ["check", "rules", dir.path + "/observability/rules/slo.yml"])
        #expect(rules.status == 0, "promtool check rules: \(rules.output)")
        #expect(rules.output.contains("SUCCESS: 30 rules found"), "\(rules.output)")
    }

    /// The committed `promtool test rules` unit tests, run on the golden rules (which `goldenFilesMatch` proves are
    /// what init generates): 50% errors fires the fast page within the expected time, 0.2% against 99.5% fires
    /// nothing, 1.5% fires a ticket and no page.
    @Test(.requires(.promtool)) func burnRateAlertUnitTestsPass() async throws {
        let promtool = try Self.promtool()
        let result = try await ExternalTool.run(
            promtool, ["test", "rules", "slo_rules_test.yml", "slo_rules_long_test.yml"],
            currentDirectory: fixture("slo"))
        #expect(result.status == 0, "promtool test rules: \(result.output)")
        #expect(result.output.components(separatedBy: "SUCCESS").count == 3, "\(result.output)")
    }

    /// The unit tests can fail: with the health path no longer excluded, the 0.2% case (which carries a /healthz
    /// series answering only 500s) must fire alerts.
    @Test(.requires(.promtool)) func burnRateUnitTestsCatchARuleThatCountsHealthChecks() async throws {
        let promtool = try Self.promtool()
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-obs-broken")
        defer { dir.remove() }
        let rules = try String(contentsOf: fixture("slo/observability/rules/slo.yml"), encoding: .utf8)
        let broken = rules.replacingOccurrences(of: #",path!~"/healthz|/metrics""#, with: "")
        #expect(broken != rules)
        _ = try dir.write(broken, to: "observability/rules/slo.yml")
        let tests = try String(contentsOf: fixture("slo/slo_rules_long_test.yml"), encoding: .utf8)
        _ = try dir.write(tests, to: "slo_rules_long_test.yml")
        let result = try await ExternalTool.run(
            promtool, ["test", "rules", "slo_rules_long_test.yml"], currentDirectory: dir.url)
        #expect(result.status != 0)
        #expect(result.output.contains("AvailabilityBurnRate"), "\(result.output)")
    }

    @Test(.requires(.promtool)) func everyDashboardExpressionPassesPromtool() async throws {
        let promtool = try Self.promtool()
        let queries = ObservabilityRenderer(manifest: try Self.manifest()).dashboardQueries()
        #expect(queries.count >= 8)
        // The dashboard JSON holds exactly these expressions.
        let json = try #require(try Self.files().first { $0.path == ObservabilityRenderer.dashboardFile }).contents
        let document = try JSONValue.parse(Data(json.utf8))
        guard case .array(let panels)? = document["panels"] else {
            Issue.record("no panels")
            return
        }
        let inJSON = panels.flatMap { panel -> [String] in
            guard case .array(let targets)? = panel["targets"] else { return [] }
            return targets.compactMap { $0["expr"]?.stringValue }
        }
        #expect(inJSON == queries.map(\.expr))
        var rules = "groups:\n  - name: dashboard\n    rules:\n"
        for (index, query) in queries.enumerated() {
            rules +=
                """
                      - record: dashboard:query\(index)\n        expr: \
                '\(query.expr.replacingOccurrences(of: "'", with: "''"))'\n
                """
        }
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-dash")
        defer { dir.remove() }
        let url = try dir.write(rules, to: "dashboard.yml")
        let result = try await ExternalTool.run(promtool, ["check", "rules", url.path])
        #expect(result.status == 0, "promtool check rules on the dashboard's expressions: \(result.output)")
        #expect(result.output.contains("SUCCESS: \(queries.count) rules found"), "\(result.output)")
        // And promtool does reject a broken expression this way (the check can fail).
        let bad = try dir.write(
            "groups:\n  - name: d\n    rules:\n      - record: d:q\n        expr: 'sum(rate(x[5m])'\n", to: "bad.yml")
        await #expect(try ExternalTool.run(promtool, ["check", "rules", bad.path]).status != 0)
    }

    /// Grafana's dashboard model (the JSON it provisions): schemaVersion, uid and title; each panel's id, type,
    /// title, gridPos on the 24-column grid, a Prometheus datasource by the provisioned uid, and targets with a
    /// unique refId and an expression.
    @Test func dashboardFollowsGrafanasModel() async throws {
        let files = try Self.files()
        let json = try #require(files.first { $0.path == ObservabilityRenderer.dashboardFile }).contents
        let problems = DashboardModelCheck.problems(json, datasourceUID: ObservabilityRenderer.datasourceUID)
        #expect(problems.isEmpty, "\(problems)")
        let provisioning = try #require(files.first { $0.path == "grafana/provisioning/datasources/prometheus.yml" })
            .contents
        #expect(provisioning.contains("uid: \(ObservabilityRenderer.datasourceUID)\n    type: prometheus"))
        let titles = ObservabilityRenderer(manifest: try Self.manifest()).dashboardPanels().map(\.title)
        #expect(
            titles == [
                "Request rate", "Error rate and objective", "Latency p50 / p95 / p99", "Error budget remaining",
                "Burn rates", "Rollout weight (canary share of requests)",
            ])
        // The check is not vacuous.
        #expect(
            !DashboardModelCheck.problems(#"{"schemaVersion": "39", "panels": [{"id": 1}]}"#, datasourceUID: "x")
                .isEmpty)
        let wrongUID = json.replacingOccurrences(of: ObservabilityRenderer.datasourceUID, with: "other")
        #expect(
            DashboardModelCheck.problems(wrongUID, datasourceUID: ObservabilityRenderer.datasourceUID).contains {
                $0.contains("datasource")
            })
    }

    @Test func runbooksNameTheCommandsAndExistForEveryAlert() async throws {
        let files = try Self.files()
        let rules = try #require(files.first { $0.path == "rules/slo.yml" }).contents
        let runbookPaths = rules.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "runbook: '") else { return nil }
            return String(line[range.upperBound...].dropLast())
        }
        #expect(runbookPaths.count == 8)
        for path in runbookPaths {
            let book = try #require(files.first { $0.path == path }, "no \(path)").contents
            for section in [
                "## What fired", "## Impact", "## How to verify", "## How to mitigate", "## When to escalate",
            ] {
                #expect(book.contains(section), "\(path) lacks \(section)")
            }
            for command in [
                "swiftdeploy rollout abort", "swiftdeploy promote stable", "swiftdeploy teardown",
                "swiftdeploy gate slo",
            ] {
                #expect(book.contains(command), "\(path) lacks \(command)")
            }
        }
    }

    @Test func initWritesAndChecksObservability() async throws {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-obs-init")
        defer { dir.remove() }
        let text = try String(contentsOf: fixture("slo/manifest.yaml"), encoding: .utf8)
        let url = try dir.write(text, to: "manifest.yaml")
        let generator = try ConfigGenerator(manifest: try ManifestLoader().load(from: url))
        let results = try generator.write()
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0.outcome == .created })
        #expect(try generator.drift().isEmpty)
        // A hand edit of a generated runbook is drift.
        let runbook = dir.url.appendingPathComponent("observability/runbooks/AvailabilityBurnRate1h.md")
        try Data("edited\n".utf8).write(to: runbook)
        #expect(try generator.drift().map(\.url.lastPathComponent) == ["AvailabilityBurnRate1h.md"])
        #expect(try generator.write().filter { $0.outcome != .unchanged }.count == 1)
        #expect(try generator.drift().isEmpty)
    }

    @Test func withoutSLOOrObservabilityNothingIsWritten() async throws {
        let m = try ManifestLoader().load(from: fixture("render/base/manifest.yaml"))
        #expect(ObservabilityRenderer(manifest: m).files().isEmpty)
        #expect(try ConfigGenerator(manifest: m).render().count == 2)
    }
}

/// Checks a dashboard against the parts of Grafana's dashboard model that provisioning relies on.
enum DashboardModelCheck {
    static let panelTypes: Set<String> = ["timeseries", "stat", "gauge", "bargauge", "table", "text", "heatmap"]

    static func problems(_ json: String, datasourceUID: String) -> [String] {
        guard let document = try? JSONValue.parse(Data(json.utf8)) else { return ["not JSON"] }
        var found: [String] = []
        guard case .int(let schema)? = document["schemaVersion"], schema >= 36 else {
            return ["schemaVersion must be an integer >= 36"]
        }
        if document["uid"]?.stringValue?.isEmpty != false { found.append("uid missing") }
        if let uid = document["uid"]?.stringValue, uid.count > 40 { found.append("uid longer than 40 characters") }
        if document["title"]?.stringValue?.isEmpty != false { found.append("title missing") }
        guard case .array(let panels)? = document["panels"], !panels.isEmpty else { return found + ["panels missing"] }
        var ids = Set<Int64>()
        for (index, panel) in panels.enumerated() {
            let at = "panels[\(index)]"
            guard case .int(let id)? = panel["id"], ids.insert(id).inserted else {
                found.append("\(at).id missing or repeated")
                continue
            }
            if !panelTypes.contains(panel["type"]?.stringValue ?? "") { found.append("\(at).type unknown") }
            if panel["title"]?.stringValue?.isEmpty != false { found.append("\(at).title missing") }
            if case .int(let x)? = panel["gridPos"]?["x"], case .int(let y)? = panel["gridPos"]?["y"],
                case .int(let w)? = panel["gridPos"]?["w"], case .int(let h)? = panel["gridPos"]?["h"]
            {
                if !(w > 0 && x >= 0 && x + w <= 24 && h > 0 && y >= 0) {
                    found.append("\(at).gridPos off the 24-column grid")
                }
            } else {
                found.append("\(at).gridPos needs integer x, y, w, h")
            }
            func checkDatasource(_ value: JSONValue?, _ path: String) {
                if value?["type"]?.stringValue != "prometheus" || value?["uid"]?.stringValue != datasourceUID {
                    found.append("\(path).datasource must be {type: prometheus, uid: \(datasourceUID)}")
                }
            }
            checkDatasource(panel["datasource"], at)
            guard case .array(let targets)? = panel["targets"], !targets.isEmpty else {
                found.append("\(at).targets missing")
                continue
            }
            var refIds = Set<String>()
            for (t, target) in targets.enumerated() {
                guard let ref = target["refId"]?.stringValue, refIds.insert(ref).inserted else {
                    found.append("\(at).targets[\(t)].refId missing or repeated")
                    continue
                }
                if target["expr"]?.stringValue?.isEmpty != false { found.append("\(at).targets[\(t)].expr missing") }
                checkDatasource(target["datasource"], "\(at).targets[\(t)]")
            }
        }
        return found
    }
}
