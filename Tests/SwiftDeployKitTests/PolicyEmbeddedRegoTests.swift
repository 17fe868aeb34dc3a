import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The embedded engine and OPA's own evaluator (opa-ref serve) decide the default policies identically.
@Suite struct PolicyEmbeddedRegoTests {
    static func metricsInput(
        errors: Double, requests: Double = 200, p95: Double = 40, p99: Double = 80, chaos: Double? = nil
    ) -> JSONValue {
        var metrics: [String: JSONValue] = [
            "requests": .double(requests), "errors": .double(errors), "error_rate": .double(errors / requests),
            "error_rate_percent": .double((errors / requests * 10_000).rounded() / 100),
            "p50_ms": 10, "p95_ms": .double(p95), "p99_ms": .double(p99),
        ]
        if let chaos {
            metrics["chaos_active"] = .double(chaos)
            metrics["chaos"] = .bool(chaos > 0)
        }
        return ["metrics": .object(metrics)]
    }

    static func hostInput(disk: Double, load: Double, memory: Double) -> JSONValue {
        [
            "host": [
                "disk_free_gb": .double(disk), "disk_path": "/var/lib/docker", "load1": .double(load * 2),
                "cpu_count": 2,
                "load_per_cpu": .double(load), "memory_used_percent": .double(memory),
            ]
        ]
    }

    static func sloInput(burn: [String: Double], remaining: Double, changeFailureRate: JSONValue) -> JSONValue {
        var rates: [String: JSONValue] = [:]
        for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"] {
            rates[window] = .double(burn[window] ?? 0.2)
        }
        return [
            "slo": [
                "objectives": [
                    "availability": [
                        "target": 99.5, "window": "30d", "burn_rate": .object(rates),
                        "error_budget_remaining": .double(remaining), "alerts_firing": [],
                    ]
                ],
                "alerts_firing": [],
            ],
            "delivery": ["changes": 10, "failed_changes": 3, "change_failure_rate": changeFailureRate],
        ]
    }

    static let cases: [(String, JSONValue)] = [
        ("canary", metricsInput(errors: 0)),
        ("canary", metricsInput(errors: 2)),
        ("canary", metricsInput(errors: 3)),
        ("canary", metricsInput(errors: 10, p99: 742.4)),
        ("canary", metricsInput(errors: 0, p95: 350, p99: 480)),
        ("canary", metricsInput(errors: 0, chaos: 2)),
        ("canary", ["metrics": ["requests": 0, "errors": 0, "error_rate": nil, "p99_ms": nil, "p95_ms": nil]]),
        ("infrastructure", hostInput(disk: 100, load: 0.5, memory: 40)),
        ("infrastructure", hostInput(disk: 1.5, load: 0.5, memory: 40)),
        ("infrastructure", hostInput(disk: 5, load: 5, memory: 85)),
        ("infrastructure", hostInput(disk: 50, load: 1, memory: 95.5)),
        ("slo", sloInput(burn: [:], remaining: 0.8, changeFailureRate: 0.1)),
        ("slo", sloInput(burn: ["1h": 20.25, "5m": 100], remaining: 0.8, changeFailureRate: 0.1)),
        ("slo", sloInput(burn: ["1d": 3.5, "2h": 4, "3d": 1.2, "6h": 1.5], remaining: 0.4, changeFailureRate: nil)),
        ("slo", sloInput(burn: [:], remaining: -0.21, changeFailureRate: 0.3)),
    ]

    @Test func embeddedAgreesWithOPA() async throws {
        let root = RepositoryPaths.root
        let bundle = try PolicyBundle.load(
            directory: root.appendingPathComponent("policies"),
            thresholds: root.appendingPathComponent("thresholds.json"))
        let embedded = EmbeddedRegoBackend(bundle: bundle)
        // The embedded answers are checked on their own first, so this test means something without opa-ref.
        #expect(await embedded.evaluate(domain: "canary", input: Self.cases[0].1) == .decided(deny: [], warn: []))
        guard case .decided(let deny, _) = await embedded.evaluate(domain: "canary", input: Self.cases[3].1) else {
            Issue.record("embedded engine did not decide")
            return
        }
        #expect(deny.count == 2)

        guard try TestRequirement.opaRef.isAvailable(for: "the comparison with OPA") else { return }
        let opa = try OPARef.Server(data: [
            root.appendingPathComponent("policies").path,
            "thresholds:" + root.appendingPathComponent("thresholds.json").path,
        ])
        defer { opa.stop() }
        let server = OPAServerBackend(baseURL: opa.url)
        for (domain, input) in Self.cases {
            let ours = await embedded.evaluate(domain: domain, input: input)
            let theirs = await server.evaluate(domain: domain, input: input)
            #expect(ours == theirs, "\(domain) on \(input.jsonString())")
        }
    }

    @Test func aTypeErrorMakesEveryDecisionInconclusiveWithItsLocation() async throws {
        let dir = try TemporaryDirectory(prefix: "embedded-type-error")
        defer { dir.remove() }
        try dir.write(
            "package swiftdeploy.canary\n\ndeny contains \"too many\" if count(input.metrics.errors + 1) > 3\n",
            to: "policies/canary.rego")
        try dir.write(#"{"canary": {}}"#, to: "thresholds.json")
        let bundle = try PolicyBundle.load(
            directory: dir.url.appendingPathComponent("policies"),
            thresholds: dir.url.appendingPathComponent("thresholds.json"))
        let result = await EmbeddedRegoBackend(bundle: bundle).evaluate(
            domain: "canary", input: Self.metricsInput(errors: 0))
        guard case .unavailable(let why) = result else {
            Issue.record("a policy with a type error decided: \(result)")
            return
        }
        #expect(why.contains("rego_type_error: count: invalid argument(s)"), "\(why)")
        #expect(why.contains("canary.rego:3:"), "\(why)")
    }
    @Test func aHugeComprehensionEndsInconclusiveWithinAFewBudgets() async throws {
        // A generator-only comprehension once ran seconds past a 300 ms budget: the clock was read
        // only between expressions. It must end inconclusive close to a 100 ms budget.
        let dir = try TemporaryDirectory(prefix: "embedded-budget")
        defer { dir.remove() }
        try dir.write(
            """
            package swiftdeploy.canary

            all_numbers := [x | some x in numbers.range(1, 9999999)]

            deny contains "never" if count(all_numbers) < 0
            """, to: "policies/canary.rego")
        try dir.write(#"{"canary": {}}"#, to: "thresholds.json")
        let bundle = try PolicyBundle.load(
            directory: dir.url.appendingPathComponent("policies"),
            thresholds: dir.url.appendingPathComponent("thresholds.json"))
        let backend = EmbeddedRegoBackend(bundle: bundle, budget: 0.1)
        let start = Date()
        let result = await backend.evaluate(domain: "canary", input: Self.metricsInput(errors: 0))
        let elapsed = Date().timeIntervalSince(start)
        guard case .unavailable(let why) = result else {
            Issue.record("a runaway policy decided: \(result)")
            return
        }
        #expect(why.contains("eval_limit_error"), "\(why)")
        #expect(elapsed < 0.6, "ended \(elapsed) s after it started, with a budget of 0.1 s")
    }
}
