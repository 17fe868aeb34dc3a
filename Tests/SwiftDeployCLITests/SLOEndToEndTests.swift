import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The release health gate on a real Docker engine with the generated Prometheus: `deploy` with
/// `observability.prometheus: true` (and `metrics.source: prometheus` with no URL), traffic through nginx,
/// chaos errors on the service.
///
/// The long windows need days of data; here every window (5m … 30d) is evaluated on the data present: Prometheus
/// scrapes every second, so within a minute every recording rule has a value, and 100% errors for some seconds
/// after a healthy minute push the 1h ratio (all the data there is) far above 14.4 × 0.005.
@Suite(
    // serialized: the host's CPU and load, which every deploy's infrastructure gate reads: two deploys of this suite
    // at once on two cores starve the tests' traffic and the gate denies for load (scripts/test-groups runs one
    // deploy per process)
    .serialized, .requires(.docker))
struct SLOEndToEndTests {
    @Test func gateSLOOnTheGeneratedPrometheus() async throws {
        let project = try EndToEndTests.Project(sparePorts: 2)
        defer { project.destroy() }
        let prometheusPort = project.sparePorts[0]
        let alertmanagerPort = project.sparePorts[1]
        // Canary mode: the demo service accepts chaos only there.
        var text = try String(contentsOf: project.manifestURL, encoding: .utf8)
        text = text.replacingOccurrences(of: "mode: stable ", with: "mode: canary ")
        // The canary window from the stack's Prometheus (no metrics.prometheus_url), over ten one-second scrapes.
        text = text.replacingOccurrences(
            of: "metrics:\n  window: 3s\n", with: "metrics:\n  source: prometheus\n  window: 10s\n")
        #expect(text.contains("source: prometheus"), "the e2e manifest template changed: \(text)")
        text += """

            slo:
              window: 30d
              objectives:
                - name: availability
                  target: 99.5
            observability:
              prometheus: true
              prometheus_port: \(prometheusPort)
              alertmanager: true
              alertmanager_port: \(alertmanagerPort)
              scrape_interval: 1s

            """
        try Data(text.utf8).write(to: project.manifestURL)
        // The machine running the suite may be busy (seven builds at once): the load limit of the infrastructure
        // policy is not what this test is about.
        let thresholdsURL = project.dir.url.appendingPathComponent("thresholds.json")
        if case .object(var all) = try JSONValue.parse(Data(contentsOf: thresholdsURL)),
            case .object(var infra)? = all["infrastructure"]
        {
            infra["max_load_per_cpu"] = .int(1000)
            all["infrastructure"] = .object(infra)
            try Data(JSONValue.object(all).jsonString(pretty: true).utf8).write(to: thresholdsURL)
        }

        let deploy = try await project.run(["deploy", "--timeout", "180s"])
        #expect(deploy.status == 0, "deploy: \(deploy.stdout)\n\(deploy.stderr)")
        guard deploy.status == 0 else { return }
        #expect(deploy.stdout.contains("slo policy: not asked") || deploy.stderr.contains("slo policy: not asked"))
        // The generated files are named by their path: two of them are called prometheus.yml.
        #expect(
            (deploy.stdout + deploy.stderr).contains("observability/rules/slo.yml"),
            "\(deploy.stdout)\n\(deploy.stderr)")
        #expect((deploy.stdout + deploy.stderr).contains("observability/prometheus.yml"), "\(deploy.stderr)")
        #expect(
            (deploy.stdout + deploy.stderr).contains("observability/grafana/provisioning/datasources/prometheus.yml"),
            "\(deploy.stderr)")
        await #expect(try project.containers().contains { $0.service == "prometheus" && $0.state == "running" })
        // Prometheus and Alertmanager run hardened like every service: nobody, no capabilities, read-only root, tmpfs
        // /tmp.
        try await EndToEndTests.expectHardened(project, services: ["app", "nginx", "prometheus", "alertmanager"])
        let ready = await EndToEndTests.request(URL(string: "http://127.0.0.1:\(prometheusPort)/-/ready")!)
        #expect(ready.0 == 200, "Prometheus on 127.0.0.1:\(prometheusPort): \(ready.0) \(ready.2)")
        let alertmanagerReady = await EndToEndTests.request(
            URL(string: "http://127.0.0.1:\(alertmanagerPort)/-/ready")!)
        #expect(
            alertmanagerReady.0 == 200,
            "Alertmanager on 127.0.0.1:\(alertmanagerPort): \(alertmanagerReady.0) \(alertmanagerReady.2)")
        // Prometheus finds Alertmanager inside the network, on its container port (not the host's alertmanager_port).
        var alertmanagers = ""
        for _ in 0..<30 {
            alertmanagers = await EndToEndTests.request(
                URL(string: "http://127.0.0.1:\(prometheusPort)/api/v1/alertmanagers")!
            ).2
            if alertmanagers.contains("alertmanager:9093") { break }
            try await Task.sleep(nanoseconds: 1_000_000_000)
        }
        #expect(
            alertmanagers.contains("\"activeAlertmanagers\":[{\"url\":\"http://alertmanager:9093/api/v2/alerts\"}]"),
            "\(alertmanagers)")

        let traffic = TrafficSwitch.background(URL(string: "http://127.0.0.1:\(project.publicPort)/")!, pause: 30_000)
        defer { traffic.turnOn() }

        /// Runs `gate slo --format json` until it exits with `status` (or the time is up); returns the last run.
        func gate(until status: Int32, seconds: Double) async throws -> (CommandResult, JSONValue?) {
            let deadline = Date().addingTimeInterval(seconds)
            var last: (CommandResult, JSONValue?)
            repeat {
                let run = try await project.run(["gate", "slo", "--format", "json"], timeout: 60)
                last = (run, try? JSONValue.parse(Data(run.stdout.utf8)))
                if run.status == status { return last }
                try await Task.sleep(nanoseconds: 2_000_000_000)
            } while Date() < deadline
            return last
        }
        func reasons(_ report: JSONValue?) -> [String] {
            guard case .array(let decisions)? = report?["decisions"],
                case .array(let reasons)? = decisions.first?["reasons"]
            else { return [] }
            return reasons.compactMap(\.stringValue)
        }

        // Healthy traffic: allow, with every window read from the generated recording rules.
        let (healthy, healthyReport) = try await gate(until: 0, seconds: 150)
        #expect(healthy.status == 0, "gate slo on healthy traffic: \(healthy.stdout)\n\(healthy.stderr)")
        guard case .array(let decisions)? = healthyReport?["decisions"] else {
            Issue.record("no JSON report")
            return
        }
        #expect(decisions.first?["verdict"] == "allow")
        #expect(decisions.first?["input"]?["slo"]?["objectives"]?["availability"]?["burn_rate"]?["1h"] != nil)

        // status shows each objective's budget remaining and burn rates.
        let status = try await project.run(["status", "--once"], timeout: 60)
        #expect(
            status.stdout.contains("slo       availability   budget "), "status: \(status.stdout)\n\(status.stderr)")
        #expect(status.stdout.contains("left   burn 5m "), "status: \(status.stdout)")

        // metrics.source: prometheus works against the stack's Prometheus with no URL set: the canary gate reads
        // its window from it (an allow or warn with figures, not an inconclusive "no URL").
        let canary = try await project.run(["gate", "canary", "--format", "json"], timeout: 90)
        let canaryDecision: JSONValue? = {
            guard case .array(let list)? = (try? JSONValue.parse(Data(canary.stdout.utf8)))?["decisions"] else {
                return nil
            }
            return list.first
        }()
        #expect(
            canaryDecision?["input"]?["metrics"]?["source"] == .string("prometheus http://127.0.0.1:\(prometheusPort)"),
            "gate canary: \(canary.stdout)\n\(canary.stderr)")
        #expect(
            (canaryDecision?["input"]?["metrics"]?["requests"]?.doubleValue ?? 0) > 0, "gate canary: \(canary.stdout)")
        #expect(
            canary.status == 0,
            "gate canary on healthy traffic through the stack's Prometheus: \(canary.stdout)\n\(canary.stderr)")

        // Chaos: every request to / fails.
        let chaos = await EndToEndTests.request(
            URL(string: "http://127.0.0.1:\(project.adminPort)/chaos")!, method: "POST",
            body: #"{"mode": "error", "rate": 1.0}"#)
        #expect(chaos.0 == 200, "POST /chaos answered \(chaos.0): \(chaos.2)")
        let (denied, deniedReport) = try await gate(until: 1, seconds: 120)
        #expect(denied.status == 1, "gate slo under chaos: \(denied.stdout)\n\(denied.stderr)")
        #expect(
            reasons(deniedReport).contains {
                $0.hasPrefix("objective availability burns its error budget at") && $0.contains("over 1h and")
                    && $0.contains("over 5m, above the page-level 14.4x")
            }, "\(reasons(deniedReport))")

        // Prometheus stopped: inconclusive, never allow.
        _ = await EndToEndTests.request(
            URL(string: "http://127.0.0.1:\(project.adminPort)/chaos")!, method: "POST", body: #"{"mode": "recover"}"#)
        let prometheus = try await #require(try project.containers().first { $0.service == "prometheus" })
        let stop = try DockerTestEnvironment.docker(["stop", "-t", "5", prometheus.id])
        #expect(stop.status == 0, "docker stop: \(stop.output)")
        let stopped = try await project.run(["gate", "slo", "--format", "json"], timeout: 60)
        #expect(stopped.status == 2, "gate slo with Prometheus stopped: \(stopped.stdout)\n\(stopped.stderr)")
        let stoppedReasons = reasons(try? JSONValue.parse(Data(stopped.stdout.utf8)))
        #expect(stoppedReasons.first?.contains("127.0.0.1:\(prometheusPort)") == true, "\(stoppedReasons)")

        // teardown --clean removes the stack (the data volumes too) and the generated files, observability/ included.
        traffic.turnOn()
        let teardown = try await project.run(["teardown", "--clean"], timeout: 120)
        #expect(teardown.status == 0, "teardown: \(teardown.stdout)\n\(teardown.stderr)")
        #expect(teardown.stdout.contains("2 volume(s)"), "prometheus-data and alertmanager-data: \(teardown.stdout)")
        #expect(
            !FileManager.default.fileExists(atPath: project.dir.url.appendingPathComponent("observability").path),
            "\(teardown.stdout)\n\(teardown.stderr)")
        await #expect(try project.leftovers().isEmpty)
    }
}
