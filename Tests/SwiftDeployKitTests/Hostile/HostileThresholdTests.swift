import Foundation
import Testing
@testable import SwiftDeployKit
import TestSupport

/// One hostile edit of the shipped thresholds.json: a key removed, renamed or mistyped, in one domain.
struct ThresholdMutation: Sendable, CustomTestStringConvertible {
    enum Kind: String, Sendable, CaseIterable { case removed, renamed, string, null, object, negative }
    var domain: String
    var key: String
    var kind: Kind

    var testDescription: String { "\(domain).\(key) \(kind.rawValue)" }

    /// The shipped thresholds.json with this mutation applied.
    func apply() throws -> String {
        let shipped = try JSONValue.parse(Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
        guard case .object(var all) = shipped, case .object(var block)? = all[domain], let value = block[key] else {
            throw POSIXError(.EINVAL)
        }
        switch kind {
        case .removed: block[key] = nil
        case .renamed: block[key] = nil; block[String(key.dropLast()) + (key.hasSuffix("x") ? "y" : "x")] = value
        case .string: block[key] = .string(value.jsonString())
        case .null: block[key] = .null
        case .object: block[key] = ["value": value]
        case .negative: block[key] = .double(-1)
        }
        all[domain] = .object(block)
        return JSONValue.object(all).jsonString(pretty: true)
    }

    /// Every key of every domain of the shipped thresholds.json, each mutation.
    static let all: [ThresholdMutation] = {
        guard let shipped = try? JSONValue.parse(Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json"))),
              case .object(let domains) = shipped else { return [] }
        return domains.keys.sorted().flatMap { domain in
            (domains[domain]?.objectKeys ?? []).sorted().flatMap { key in
                Kind.allCases.map { ThresholdMutation(domain: domain, key: key, kind: $0) }
            }
        }
    }()
}

/// Limits are a contract: every hostile edit of thresholds.json is a validate FAIL naming the domain and key, and
/// makes every decision of that domain inconclusive naming it; the engine is never asked with an undefined limit.
@Suite("Hostile input: thresholds against the policies' contracts")
struct HostileThresholdTests {
    static let healthy = WindowFigures(requests: 200, errors: 100, errorRate: 0.5, requestRate: 20, p50Ms: 10, p95Ms: 40,
                                       p99Ms: 80, observations: 200, windowSeconds: 10, source: "fixed")
    static let roomy = HostFacts(diskFreeGB: 100, diskPath: "/var/lib/docker", diskSource: "statvfs", load1: 0.4,
                                 loadSource: "/proc/loadavg", cpuCount: 2, cpuSource: "sysconf", memoryUsedPercent: 30,
                                 memorySource: "/proc/meminfo")

    static func gate() -> PolicyEvaluator {
        PolicyEvaluator(hostFacts: { _ in roomy }, metricsSourceFactory: { _ in FixedMetrics(result: .success(healthy)) })
    }

    @Test func theShippedThresholdsAndPoliciesAgree() throws {
        #expect(ThresholdMutation.all.count == 14 * ThresholdMutation.Kind.allCases.count)
        let project = try GateProject()
        defer { project.remove() }
        let bundle = try PolicyBundle.load(manifest: try project.manifest())
        #expect(bundle.allThresholdProblems.isEmpty, "\(bundle.allThresholdProblems)")
        #expect(bundle.contractProblems.isEmpty, "\(bundle.contractProblems)")
        #expect(Set(bundle.contracts["canary"]?.keys.keys.map { $0 } ?? []) == [
            "max_error_rate", "max_p99_ms", "warn_p95_ms",
            // The relative rules of a rollout step (docs/rollout.md).
            "max_error_rate_increase", "max_p99_ratio", "relative_latency_floor_ms", "max_p_value", "max_latency_mean_ratio",
            "max_error_rate_effect_size",
        ])
        #expect(bundle.contracts["canary"]?.keys["max_error_rate"]?.declaredAt.hasPrefix("policies/canary.rego:") == true)
    }

    @Test(arguments: ThresholdMutation.all)
    func everyKeyRemovedRenamedOrMistyped(_ mutation: ThresholdMutation) async throws {
        let project = try GateProject(thresholds: try mutation.apply())
        defer { project.remove() }
        let manifest = try project.manifest()
        let named = "\(mutation.domain).\(mutation.key)"

        // validate: the thresholds check FAILs naming the domain and key.
        let checks = PolicyFilesCheck(manifest: manifest).run()
        let thresholds = try #require(checks.first { $0.name == "thresholds" })
        #expect(thresholds.status == .fail)
        #expect(thresholds.detail.contains(named), "\(thresholds.detail)")
        if mutation.kind == .renamed { #expect(thresholds.detail.contains("did you mean '\(named)'"), "\(thresholds.detail)") }

        // Every decision of that domain is inconclusive naming it; the other domain is unaffected.
        let decisions = await Self.gate().evaluate(domains: ["infrastructure", "canary"], request: GateRequest(manifest: manifest, action: "gate"))
        for decision in decisions {
            if decision.domain == mutation.domain {
                #expect(decision.verdict == .inconclusive, "\(decision.reasons)")
                #expect(decision.reasons.contains { $0.contains(named) }, "\(decision.reasons)")
            } else {
                #expect(decision.verdict != .inconclusive, "\(decision.domain): \(decision.reasons)")
            }
        }
    }

    @Test(arguments: ["canary", "infrastructure"])
    func aMissingDomainBlock(_ domain: String) async throws {
        let shipped = try JSONValue.parse(Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
        guard case .object(var all) = shipped else { throw POSIXError(.EINVAL) }
        all[domain] = nil
        all[String(domain.dropLast())] = shipped[domain]   // a typo'd block name
        let project = try GateProject(thresholds: JSONValue.object(all).jsonString())
        defer { project.remove() }
        let manifest = try project.manifest()
        let thresholds = try #require(PolicyFilesCheck(manifest: manifest).run().first { $0.name == "thresholds" })
        #expect(thresholds.status == .fail)
        #expect(thresholds.detail.contains("has no \(domain) block"), "\(thresholds.detail)")
        #expect(thresholds.detail.contains("did you mean '\(domain)'"), "\(thresholds.detail)")
        let decision = await Self.gate().evaluate(domain: domain, request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decision.verdict == .inconclusive)
        #expect(decision.reasons.contains { $0.contains("has no \(domain) block") }, "\(decision.reasons)")
    }

    /// Duplicate keys are refused (not "last wins" as OPA, nor "first wins" as JSONDecoder): two values for one
    /// limit are ambiguous, and the OPA sidecar and the embedded engine would otherwise read different limits.
    @Test func duplicateKeysAreRefusedNamingTheLine() async throws {
        let text = """
        {
          "canary": {"max_error_rate": 0.5, "max_p99_ms": 500, "warn_p95_ms": 300,
                     "max_error_rate_increase": 0.01, "max_p99_ratio": 1.5, "relative_latency_floor_ms": 100,
                     "max_p_value": 0.05, "max_latency_mean_ratio": 1.25, "max_error_rate_effect_size": 0.75,
                     "max_error_rate": 0.01},
          "infrastructure": {"max_load_per_cpu": 4, "max_memory_used_percent": 90, "min_disk_free_gb": 2,
                             "warn_disk_free_gb": 10, "warn_memory_used_percent": 80}
        }
        """
        let project = try GateProject(thresholds: text)
        defer { project.remove() }
        let manifest = try project.manifest()
        let thresholds = try #require(PolicyFilesCheck(manifest: manifest).run().first { $0.name == "thresholds" })
        #expect(thresholds.status == .fail)
        #expect(thresholds.detail.contains("thresholds.json:5: canary.max_error_rate appears more than once"), "\(thresholds.detail)")
        let decisions = await Self.gate().evaluate(domains: ["infrastructure", "canary"], request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decisions[1].verdict == .inconclusive)
        #expect(decisions[0].verdict != .inconclusive)
        #expect(JSONDuplicateKeys.find(in: Data(#"{"a": {"b": 1, "c": [{"d": 1, "d": 2}]}, "a": 2}"#.utf8)).map(\.path) == ["a.c[].d", "a"])
    }

    @Test func aDomainWithoutAContractIsNeverDecided() async throws {
        let project = try GateProject(extraPolicies: ["capacity.rego": "package swiftdeploy.capacity\n\ndeny := set()\n"])
        defer { project.remove() }
        let manifest = try project.manifest()
        let policies = try #require(PolicyFilesCheck(manifest: manifest).run().first { $0.name == "policies" })
        #expect(policies.status == .fail)
        #expect(policies.detail.contains("the capacity policy declares no thresholds contract"), "\(policies.detail)")
        let decision = await Self.gate().evaluate(domain: "capacity", request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decision.verdict == .inconclusive)
    }

    @Test func aNewDomainDeclaresItsOwnKeys() async throws {
        let slo = """
        # METADATA
        # custom:
        #   thresholds:
        #     min_availability: {type: number, minimum: 0, maximum: 1}
        #     objective_name: string
        package swiftdeploy.slo

        import rego.v1

        deny contains msg if {
        \tinput.metrics.error_rate > 1 - data.thresholds.slo.min_availability
        \tmsg := sprintf("%v breached", [data.thresholds.slo.objective_name])
        }
        """
        var thresholds = try JSONValue.parse(Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
        if case .object(var all) = thresholds { all["slo"] = ["min_availability": 0.99, "objective_name": "checkout"]; thresholds = .object(all) }
        let project = try GateProject(thresholds: thresholds.jsonString(), extraPolicies: ["slo.rego": slo])
        defer { project.remove() }
        let manifest = try project.manifest()
        #expect(PolicyFilesCheck(manifest: manifest).run().allSatisfy { $0.status == .pass })
        let decision = await Self.gate().evaluate(domain: "slo", request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decision.verdict == .deny)
        #expect(decision.reasons.first == "checkout breached")

        try project.directory.write(thresholds.jsonString().replacingOccurrences(of: "\"checkout\"", with: "7"), to: "thresholds.json")
        let mistyped = await Self.gate().evaluate(domain: "slo", request: GateRequest(manifest: manifest, action: "gate"))
        #expect(mistyped.verdict == .inconclusive)
        #expect(mistyped.reasons.contains { $0.contains("slo.objective_name must be string, got a number 7") }, "\(mistyped.reasons)")
    }

    @Test(arguments: [
        ("# METADATA\n# custom:\n#   thresholds:\n#     limit: numbr\npackage swiftdeploy.bad\n", "threshold limit must declare a type"),
        ("# METADATA\n# custom:\n#   thresholds: [a]\npackage swiftdeploy.bad\n", "custom.thresholds must be a mapping"),
        ("# METADATA\n# custom:\n#   thresholds:\n#     limit: {type: string, minimum: 1}\npackage swiftdeploy.bad\n", "minimum and maximum apply to numbers only"),
        ("# METADATA\n# custom: [\npackage swiftdeploy.bad\n", "is not valid YAML"),
    ])
    func aBrokenDeclarationIsAProblemOfItsDomain(_ source: String, _ expected: String) throws {
        let project = try GateProject(extraPolicies: ["bad.rego": source + "\nimport rego.v1\n\ndeny := set()\n"])
        defer { project.remove() }
        let bundle = try PolicyBundle.load(manifest: try project.manifest())
        let problems = bundle.thresholdProblems(for: "bad")
        #expect(problems.contains { $0.contains(expected) && $0.hasPrefix("policies/bad.rego:") }, "\(problems)")
    }
}
