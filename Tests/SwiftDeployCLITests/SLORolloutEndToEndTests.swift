import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// Issue 14 with issue 11 on a real Docker engine: during a `swiftdeploy rollout` the stack's Prometheus scrapes both
/// sides, each with its `variant` label (found through Docker's DNS, no reload), and `rollout start` asks the slo
/// policy as well as the infrastructure one.
@Suite(
    // serialized: the host's CPU and load, which every deploy's infrastructure gate reads: two deploys of this suite
    // at once on two cores starve the tests' traffic and the gate denies for load (scripts/test-groups runs one
    // deploy per process)
    .serialized, .requires(.docker))
struct SLORolloutEndToEndTests {
    @Test func bothSidesAreScrapedWithTheirVariantAndRolloutStartAsksSLO() async throws {
        let tag = try await SystemCommandRunner().run(
            ["docker", "tag", "swiftdeploy/api:0.1.0", RolloutEndToEndTests.candidate], timeout: 60)
        try #require(tag.status == 0, "docker tag: \(tag.stderr)")
        let project = try EndToEndTests.Project(sparePorts: 1)
        defer { project.destroy() }
        let prometheusPort = project.sparePorts[0]
        var text = try String(contentsOf: project.manifestURL, encoding: .utf8)
        text += """

            slo:
              window: 30d
              objectives:
                - name: availability
                  target: 99.5
            observability:
              prometheus: true
              prometheus_port: \(prometheusPort)
              scrape_interval: 1s
            rollout:
              steps: [50, 100]
              interval: 300s
              on_inconclusive: pause

            """
        try Data(text.utf8).write(to: project.manifestURL)
        let thresholdsURL = project.dir.url.appendingPathComponent("thresholds.json")
        if case .object(var all) = try JSONValue.parse(Data(contentsOf: thresholdsURL)),
            case .object(var infra)? = all["infrastructure"]
        {
            infra["max_load_per_cpu"] = .int(1000)  // the shared machine's load is not what this test is about
            all["infrastructure"] = .object(infra)
            try Data(JSONValue.object(all).jsonString(pretty: true).utf8).write(to: thresholdsURL)
        }
        let deploy = try await project.run(["deploy", "--timeout", "180s"])
        try #require(deploy.status == 0, "deploy: \(deploy.stdout)\n\(deploy.stderr)")
        let traffic = TrafficRecorder(url: URL(string: "http://127.0.0.1:\(project.publicPort)/")!)
        defer { _ = traffic.stop() }

        // The slo policy allows once Prometheus has every window of healthy traffic.
        var allowed = false
        for _ in 0..<75 where !allowed {
            allowed = try await project.run(["gate", "slo"], timeout: 60).status == 0
            if !allowed { try await Task.sleep(nanoseconds: 2_000_000_000) }
        }
        try #require(allowed, "gate slo never allowed on healthy traffic")

        let cli = try BackgroundCLI(
            ["rollout", "start", "--image", RolloutEndToEndTests.candidate, "--version", "0.2.0"], project: project)
        let atStep = await RolloutEndToEndTests.waitFor(240) {
            (try? await RolloutEndToEndTests.status(project))?["weight"] == .int(50)
        }
        try #require(atStep, "the rollout did not reach its 50% step: \(cli.output)")
        #expect(cli.output.contains("slo policy: allow"), "rollout start does not say it asked slo: \(cli.output)")

        // Prometheus finds the candidate through Docker's DNS and labels each side.
        func query(_ promql: String) async -> JSONValue? {
            var components = URLComponents(string: "http://127.0.0.1:\(prometheusPort)/api/v1/query")!
            components.queryItems = [URLQueryItem(name: "query", value: promql)]
            let body = await EndToEndTests.request(components.url!).2
            return try? JSONValue.parse(Data(body.utf8))
        }
        func variants(_ promql: String) async -> Set<String> {
            guard case .array(let result)? = await query(promql)?["data"]?["result"] else { return [] }
            return Set(result.compactMap { $0["metric"]?["variant"]?.stringValue })
        }
        var up: Set<String> = [], serving: Set<String> = []
        for _ in 0..<60 where up != ["stable", "canary"] || serving != ["stable", "canary"] {
            up = await variants("up{job=\"app\"} == 1")
            serving = await variants("sum by (variant) (rate(http_requests_total{job=\"app\",path=\"/\"}[10s])) > 0")
            try await Task.sleep(nanoseconds: 1_000_000_000)
        }
        #expect(up == ["stable", "canary"], "targets up by variant: \(up)")
        #expect(serving == ["stable", "canary"], "sides serving traffic by variant: \(serving)")

        let abort = try await project.run(["rollout", "abort"])
        #expect(abort.status == 0, "rollout abort: \(abort.stdout)\n\(abort.stderr)")
        let exit = try await offPool { cli.wait(timeout: 180) }
        #expect(exit == 1, "rollout start after abort: \(cli.output)")
        // The candidate gone, Prometheus drops its target: only stable stays up.
        var after: Set<String> = []
        for _ in 0..<60 {
            after = await variants("up{job=\"app\"} == 1")
            if after == ["stable"] { break }
            try await Task.sleep(nanoseconds: 1_000_000_000)
        }
        #expect(after == ["stable"], "after the abort: \(after)")
    }
}
