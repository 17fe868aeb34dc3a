import Foundation
import Testing

@testable import SwiftDeployKit

private let base = """
    project: slo-test
    services:
      image: swiftdeploy/api:0.1.0
      port: 3000
    nginx:
      image: nginx:1.27
      port: 8080
    network:
      name: app-net
      driver_type: bridge

    """

private func load(_ text: String) throws -> Manifest {
    try ManifestLoader().parse(text, file: "manifest.yaml", directory: URL(fileURLWithPath: "/srv/slo"))
}

private func problems(_ text: String) -> [String] {
    do {
        _ = try load(text)
        return []
    } catch let error as ManifestError {
        return error.problems.map(\.description)
    } catch {
        return ["unexpected: \(error)"]
    }
}

@Suite("Manifest slo and observability blocks")
struct SLOManifestTests {
    @Test func theIssueExampleIsRead() throws {
        let m = try load(
            base + """
                slo:
                  window: 30d
                  objectives:
                    - name: availability
                      target: 99.5
                    - name: latency
                      target: 99
                      threshold: 300ms
                observability:
                  prometheus: true
                  alertmanager: false
                """)
        let slo = try #require(m.slo)
        #expect(slo.windowDays == 30)
        #expect(slo.changeWindow == 20)
        #expect(slo.objectives.map(\.name) == ["availability", "latency"])
        #expect(slo.objectives[0].indicator == .availability)
        #expect(slo.objectives[0].errorBudget == Decimal(string: "0.005"))
        #expect(slo.objectives[1].indicator == .latency)
        #expect(slo.objectives[1].threshold == ManifestDuration(milliseconds: 300))
        #expect(m.observability.prometheus)
        #expect(!m.observability.alertmanager)
        #expect(m.observability.prometheusPort == 9090)
    }

    @Test func withoutTheBlocksNothingChanges() throws {
        let m = try load(base)
        #expect(m.slo == nil)
        #expect(m.observability == Manifest.Defaults.observability)
        #expect(!Manifest.Observability.wanted(slo: m.slo, observability: m.observability))
    }

    @Test func aThresholdThatIsNoBucketBoundSaysWhichExist() {
        let found = problems(
            base + """
                slo:
                  objectives:
                    - name: latency
                      target: 99
                      threshold: 320ms
                """)
        #expect(
            found == [
                """
                manifest.yaml:15:18: error: slo.objectives[0].threshold must be one of the service's histogram \
                bucket bounds (observability.histogram_buckets): 5ms, 10ms, 25ms, 50ms, 100ms, 250ms, 300ms, \
                350ms, 400ms, 450ms, 500ms, 550ms, 600ms, 700ms, 800ms, 900ms, 1s, 1500ms, 2s, 2500ms, 5s; got \
                320ms. Pick one of them, or list the service's real buckets in observability.histogram_buckets
                """
            ])
    }

    @Test func theServicesOwnBucketsCanBeListed() throws {
        let m = try load(
            base + """
                slo:
                  objectives:
                    - name: latency
                      target: 99
                      threshold: 320ms
                observability:
                  histogram_buckets: [100ms, 320ms, 1s]
                """)
        #expect(m.slo?.objectives[0].thresholdSeconds == 0.32)
        #expect(m.observability.histogramBuckets == [0.1, 0.32, 1])
        #expect(
            problems(base + "observability:\n  histogram_buckets: [1s, 100ms]\n")
                == [
                    """
                    manifest.yaml:12:27: error: observability.histogram_buckets must be strictly increasing, got \
                    100ms after 1s
                    """
                ])
    }

    @Test(arguments: [
        (
            "100",
            """
            slo.objectives[0].target must be more than 0 and less than 100 (100 leaves no error budget, so every \
            error would be an infinite burn rate), got 100
            """
        ),
        (
            "0",
            """
            slo.objectives[0].target must be more than 0 and less than 100 (100 leaves no error budget, so every \
            error would be an infinite burn rate), got 0
            """
        ),
        (
            "\"99.5\"",
            """
            slo.objectives[0].target must be a percentage written as a number such as 99.5 (more than 0, less \
            than 100), got string \"99.5\"
            """
        ),
        (
            ".nan",
            """
            slo.objectives[0].target must be a percentage written as a number such as 99.5 (more than 0, less \
            than 100), got string \".nan\"
            """
        ),
        (
            "-5",
            """
            slo.objectives[0].target must be a percentage written as a number such as 99.5 (more than 0, less \
            than 100), got integer -5
            """
        ),
        ("0.995", ""),
    ])
    func targetsAreStrict(_ value: String, _ expected: String) {
        let found = problems(
            base + """
                slo:
                  objectives:
                    - name: availability
                      target: \(value)
                """)
        if expected.isEmpty {
            #expect(found.isEmpty)
        } else {
            #expect(found.count == 1)
            #expect(found.first?.hasSuffix(expected) == true, "\(found)")
        }
    }

    @Test func badBlocksReportEveryProblemAtOnce() {
        let found = problems(
            base + """
                slo:
                  window: 30 days
                  objectives:
                    - name: Availability
                      target: 99.5
                    - name: lat
                      target: 99
                      treshold: 300ms
                    - name: lat
                      target: 99.9
                observability:
                  prometheus: yes
                  alertmanager: true
                  prometheus_port: 8080
                """)
        #expect(
            found.contains {
                $0.contains("slo.window must be whole days from 1d to 365d such as 30d or 28d, got \"30 days\"")
            })
        #expect(found.contains { $0.contains("slo.objectives[0].name must be an objective name") })
        #expect(
            found.contains { $0.contains("unknown key 'treshold' at slo.objectives[1]; did you mean 'threshold'?") })
        #expect(found.contains { $0.contains("duplicate objective name 'lat' in slo.objectives") })
        #expect(found.contains { $0.contains("observability.prometheus must be true or false, got string \"yes\"") })
        #expect(found.contains { $0.contains("observability.alertmanager needs observability.prometheus: true") })
        #expect(found.count >= 6, "\(found)")
    }

    @Test func portsMayNotCollide() {
        let found = problems(base + "observability:\n  prometheus: true\n  prometheus_port: 8080\n")
        #expect(found.count == 1)
        #expect(
            found.first?.contains("observability.prometheus_port must differ from nginx.port, both are 8080") == true)
    }

    @Test func missingObjectivesAreAnError() {
        #expect(problems(base + "slo:\n  window: 30d\n").first?.contains("slo.objectives is required") == true)
        #expect(
            problems(base + "slo:\n  objectives: []\n").first?.contains("slo.objectives must be a non-empty list")
                == true)
    }

    @Test func prometheusSourceNeedsNoURLWhenTheStackRunsPrometheus() throws {
        let m = try load(
            base + "metrics:\n  source: prometheus\nobservability:\n  prometheus: true\n  prometheus_port: 19090\n")
        #expect(m.metrics.prometheusURL == "http://127.0.0.1:19090")
        #expect(m.sloPrometheusURL == "http://127.0.0.1:19090")
        #expect(
            problems(base + "metrics:\n  source: prometheus\n").first?.contains("metrics.prometheus_url is required")
                == true)
    }
}
