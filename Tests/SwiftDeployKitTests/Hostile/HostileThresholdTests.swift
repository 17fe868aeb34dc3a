import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// One hostile edit of the shipped thresholds.json: a key removed, renamed or mistyped, in one domain.
struct ThresholdMutation: Sendable, CustomTestStringConvertible {
    enum Kind: String, Sendable, CaseIterable { case removed, renamed, string, null, object, negative }
    var domain: String
    var key: String
    var kind: Kind

    var testDescription: String { "\(domain).\(key) \(kind.rawValue)" }

    /// The shipped thresholds.json with this mutation applied.
    func apply() throws -> String {
        let shipped = try JSONValue.parse(
            Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
        guard case .object(var all) = shipped, case .object(var block)? = all[domain], let value = block[key] else {
            throw POSIXError(.EINVAL)
        }
        switch kind {
        case .removed: block[key] = nil
        case .renamed:
            block[key] = nil
            block[String(key.dropLast()) + (key.hasSuffix("x") ? "y" : "x")] = value
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
        guard
            let shipped = try? JSONValue.parse(
                Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json"))),
            case .object(let domains) = shipped
        else { return [] }
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
    static let healthy = WindowFigures(
        requests: 200, errors: 100, errorRate: 0.5, requestRate: 20, p50Ms: 10, p95Ms: 40,
        p99Ms: 80, observations: 200, windowSeconds: 10, source: "fixed")
    static let roomy = HostFacts(
        diskFreeGB: 100, diskPath: "/var/lib/docker", diskSource: "statvfs", load1: 0.4,
        loadSource: "/proc/loadavg", cpuCount: 2, cpuSource: "sysconf", memoryUsedPercent: 30,
        memorySource: "/proc/meminfo")

    static func gate() -> PolicyEvaluator {
        PolicyEvaluator(
            hostFacts: { _ in roomy }, metricsSourceFactory: { _ in FixedMetrics(result: .success(healthy)) })
    }

    @Test func theShippedThresholdsAndPoliciesAgree() throws {
        #expect(ThresholdMutation.all.count == 18 * ThresholdMutation.Kind.allCases.count)
        let project = try GateProject()
        defer { project.remove() }
        let bundle = try PolicyBundle.load(manifest: try project.manifest())
        #expect(bundle.allThresholdProblems.isEmpty, "\(bundle.allThresholdProblems)")
        #expect(bundle.contractProblems.isEmpty, "\(bundle.contractProblems)")
        #expect(
            Set(bundle.contracts["canary"]?.keys.keys.map { $0 } ?? []) == [
                "max_error_rate", "max_p99_ms", "warn_p95_ms",
                // The relative rules of a rollout step (docs/rollout.md).
                "max_error_rate_increase", "max_p99_ratio", "relative_latency_floor_ms", "max_p_value",
                "max_latency_mean_ratio",
                "max_error_rate_effect_size",
            ])
        #expect(
            bundle.contracts["canary"]?.keys["max_error_rate"]?.declaredAt.hasPrefix("policies/canary.rego:") == true)
        #expect(
            Set(bundle.contracts["slo"]?.keys.keys.map { $0 } ?? [])
                == ["max_change_failure_rate", "min_error_budget_remaining", "page_burn_rates", "ticket_burn_rates"])
        #expect(bundle.contracts["slo"]?.keys["page_burn_rates"]?.items?.map(\.name) == ["factor", "long", "short"])
        #expect(
            bundle.contracts["slo"]?.keys["page_burn_rates"]?.typeDescription
                == """
                array of at least 1 {factor: number ≥ 0, long: string, one of 5m, 30m, 1h, 2h, 6h, 1d, 3d, short: \
                string, one of 5m, 30m, 1h, 2h, 6h, 1d, 3d}
                """
        )
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
        if mutation.kind == .renamed {
            #expect(thresholds.detail.contains("did you mean '\(named)'"), "\(thresholds.detail)")
        }

        // Every decision of that domain is inconclusive naming it; the other domain is unaffected.
        // (The slo domain is judged only when mutated: without a Prometheus it is inconclusive anyway.)
        let domains = ["infrastructure", "canary"] + (mutation.domain == "slo" ? ["slo"] : [])
        let decisions = await Self.gate().evaluate(
            domains: domains, request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decisions.map(\.domain) == domains)
        for decision in decisions {
            if decision.domain == mutation.domain {
                #expect(decision.verdict == .inconclusive, "\(decision.reasons)")
                #expect(decision.reasons.contains { $0.contains(named) }, "\(decision.reasons)")
            } else {
                #expect(decision.verdict != .inconclusive, "\(decision.domain): \(decision.reasons)")
            }
        }
    }

    /// One hostile edit inside a list of objects (`slo.page_burn_rates`, `slo.ticket_burn_rates`): a field removed,
    /// mistyped, NaN, out of range, an unknown window, a typo'd field, an element that is no object, an empty
    /// page list. Unchecked, each would make the burn-rate rule compare against nothing and never deny.
    struct ElementMutation: Sendable, CustomTestStringConvertible {
        var key: String
        var index: Int
        var edit: @Sendable (inout [String: JSONValue]) -> Void
        /// What the validate FAIL and the inconclusive reason must say.
        var says: String
        var label: String
        var testDescription: String { "\(key)[\(index)] \(label)" }

        func apply() throws -> String {
            let shipped = try JSONValue.parse(
                Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
            guard case .object(var all) = shipped, case .object(var slo)? = all["slo"],
                case .array(var list)? = slo[key],
                case .object(var element) = list[index]
            else { throw POSIXError(.EINVAL) }
            edit(&element)
            list[index] = .object(element)
            slo[key] = .array(list)
            all["slo"] = .object(slo)
            return JSONValue.object(all).jsonString(pretty: true)
        }
    }

    static let elementMutations: [ElementMutation] = [
        ElementMutation(
            key: "page_burn_rates", index: 0, edit: { $0["factor"] = nil },
            says: "threshold slo.page_burn_rates[0].factor is missing; the slo policy reads it (number ≥ 0",
            label: "factor removed"),
        ElementMutation(
            key: "page_burn_rates", index: 0, edit: { $0["factor"] = "14.4" },
            says: "threshold slo.page_burn_rates[0].factor must be number ≥ 0, got the string \"14.4\"",
            label: "factor a string"),
        ElementMutation(
            key: "page_burn_rates", index: 1, edit: { $0["factor"] = "NaN" },
            says: "threshold slo.page_burn_rates[1].factor must be number ≥ 0, got the string \"NaN\"",
            label: "factor NaN"),
        ElementMutation(
            key: "page_burn_rates", index: 0, edit: { $0["factor"] = .null },
            says: "threshold slo.page_burn_rates[0].factor must be number ≥ 0, got null", label: "factor null"),
        ElementMutation(
            key: "ticket_burn_rates", index: 1, edit: { $0["factor"] = -1 },
            says: "threshold slo.ticket_burn_rates[1].factor must be number ≥ 0, got -1, below the minimum",
            label: "factor negative"),
        ElementMutation(
            key: "page_burn_rates", index: 0, edit: { $0["long"] = "12h" },
            says:
                """
                threshold slo.page_burn_rates[0].long must be string, one of 5m, 30m, 1h, 2h, 6h, 1d, 3d, got the \
                string \"12h\", not one of the allowed words
                """,
            label: "a window with no recorded series"),
        ElementMutation(
            key: "ticket_burn_rates", index: 0, edit: { $0["short"] = 2 },
            says: "threshold slo.ticket_burn_rates[0].short must be string, one of", label: "short a number"),
        ElementMutation(
            key: "page_burn_rates", index: 1,
            edit: {
                $0["factr"] = $0["factor"]
                $0["factor"] = nil
            },
            says: "(thresholds.json has 'slo.page_burn_rates[1].factr': misspelt?)", label: "factor misspelt"),
        ElementMutation(
            key: "ticket_burn_rates", index: 0, edit: { $0["severity"] = "ticket" },
            says: "unknown field slo.ticket_burn_rates[0].severity: the slo policy does not read it",
            label: "an extra field"),
    ]

    @Test(arguments: elementMutations)
    func everyFieldOfAListOfObjectsIsChecked(_ mutation: ElementMutation) async throws {
        let project = try GateProject(thresholds: try mutation.apply())
        defer { project.remove() }
        let manifest = try project.manifest()
        let thresholds = try #require(PolicyFilesCheck(manifest: manifest).run().first { $0.name == "thresholds" })
        #expect(thresholds.status == .fail)
        #expect(thresholds.detail.contains(mutation.says), "\(thresholds.detail)")
        let decisions = await Self.gate().evaluate(
            domains: ["canary", "slo"], request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decisions[0].verdict != .inconclusive, "\(decisions[0].reasons)")
        #expect(decisions[1].verdict == .inconclusive)
        #expect(decisions[1].reasons.contains { $0.contains(mutation.says) }, "\(decisions[1].reasons)")
    }

    /// An element that is no object, and an empty page list (which would mean "never page").
    @Test(arguments: [
        (
            "page_burn_rates", JSONValue.array([14.4]),
            "threshold slo.page_burn_rates[0] must be an object with factor, long, short, got a number 14.4"
        ),
        (
            "page_burn_rates", JSONValue.array([]),
            "threshold slo.page_burn_rates must be array of at least 1 {factor: number ≥ 0"
        ),
        (
            "ticket_burn_rates", JSONValue.array([.null]),
            "threshold slo.ticket_burn_rates[0] must be an object with factor, long, short, got null"
        ),
    ])
    func aListThatIsNotOfObjectsOrTooShort(_ key: String, _ value: JSONValue, _ says: String) async throws {
        var thresholds = try JSONValue.parse(
            Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
        if case .object(var all) = thresholds, case .object(var slo)? = all["slo"] {
            slo[key] = value
            all["slo"] = .object(slo)
            thresholds = .object(all)
        }
        let project = try GateProject(thresholds: thresholds.jsonString())
        defer { project.remove() }
        let manifest = try project.manifest()
        let check = try #require(PolicyFilesCheck(manifest: manifest).run().first { $0.name == "thresholds" })
        #expect(check.status == .fail)
        #expect(check.detail.contains(says), "\(check.detail)")
        let decision = await Self.gate().evaluate(
            domain: "slo", request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decision.verdict == .inconclusive)
        #expect(decision.reasons.contains { $0.contains(says) }, "\(decision.reasons)")
    }

    /// A NaN or infinite value (which JSON text cannot carry, but a document built in memory can) is refused too.
    @Test func aNonFiniteFieldInMemoryIsRefused() throws {
        let factor = ThresholdContract.Key(name: "factor", kind: .number, minimum: 0, declaredAt: "policies/slo.rego:1")
        let pairs = ThresholdContract.Key(
            name: "page_burn_rates", kind: .array, items: [factor], declaredAt: "policies/slo.rego:1")
        let contract = ThresholdContract(domain: "slo", keys: ["page_burn_rates": pairs])
        for bad in [Double.nan, .infinity, -.infinity] {
            let problems = contract.problems(
                block: ["page_burn_rates": [["factor": .double(bad)]]], file: "thresholds.json")
            #expect(problems.count == 1)
            #expect(
                problems.first?.hasPrefix(
                    "thresholds.json: threshold slo.page_burn_rates[0].factor must be number ≥ 0, got") == true,
                "\(problems)")
        }
        #expect(contract.problems(block: ["page_burn_rates": [["factor": 14.4]]], file: "thresholds.json").isEmpty)
    }

    @Test(arguments: ["canary", "infrastructure"])
    func aMissingDomainBlock(_ domain: String) async throws {
        let shipped = try JSONValue.parse(
            Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
        guard case .object(var all) = shipped else { throw POSIXError(.EINVAL) }
        all[domain] = nil
        all[String(domain.dropLast())] = shipped[domain]  // a typo'd block name
        let project = try GateProject(thresholds: JSONValue.object(all).jsonString())
        defer { project.remove() }
        let manifest = try project.manifest()
        let thresholds = try #require(PolicyFilesCheck(manifest: manifest).run().first { $0.name == "thresholds" })
        #expect(thresholds.status == .fail)
        #expect(thresholds.detail.contains("has no \(domain) block"), "\(thresholds.detail)")
        #expect(thresholds.detail.contains("did you mean '\(domain)'"), "\(thresholds.detail)")
        let decision = await Self.gate().evaluate(
            domain: domain, request: GateRequest(manifest: manifest, action: "gate"))
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
                                 "warn_disk_free_gb": 10, "warn_memory_used_percent": 80},
              "slo": {"max_change_failure_rate": 0.15, "min_error_budget_remaining": 0,
                      "page_burn_rates": [{"factor": 14.4, "long": "1h", "short": "5m"}],
                      "ticket_burn_rates": [{"factor": 3, "long": "1d", "short": "2h"}]}
            }
            """
        let project = try GateProject(thresholds: text)
        defer { project.remove() }
        let manifest = try project.manifest()
        let thresholds = try #require(PolicyFilesCheck(manifest: manifest).run().first { $0.name == "thresholds" })
        #expect(thresholds.status == .fail)
        #expect(
            thresholds.detail.contains("thresholds.json:5: canary.max_error_rate appears more than once"),
            "\(thresholds.detail)")
        let decisions = await Self.gate().evaluate(
            domains: ["infrastructure", "canary"], request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decisions[1].verdict == .inconclusive)
        #expect(decisions[0].verdict != .inconclusive)
        #expect(
            JSONDuplicateKeys.find(in: Data(#"{"a": {"b": 1, "c": [{"d": 1, "d": 2}]}, "a": 2}"#.utf8)).map(\.path) == [
                "a.c[].d", "a",
            ])
    }

    @Test func aDomainWithoutAContractIsNeverDecided() async throws {
        let project = try GateProject(extraPolicies: [
            "capacity.rego": "package swiftdeploy.capacity\n\ndeny := set()\n"
        ])
        defer { project.remove() }
        let manifest = try project.manifest()
        let policies = try #require(PolicyFilesCheck(manifest: manifest).run().first { $0.name == "policies" })
        #expect(policies.status == .fail)
        #expect(policies.detail.contains("the capacity policy declares no thresholds contract"), "\(policies.detail)")
        let decision = await Self.gate().evaluate(
            domain: "capacity", request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decision.verdict == .inconclusive)
    }

    @Test func aNewDomainDeclaresItsOwnKeys() async throws {
        let reliability = """
            # METADATA
            # custom:
            #   thresholds:
            #     min_availability: {type: number, minimum: 0, maximum: 1}
            #     objective_name: string
            package swiftdeploy.reliability

            import rego.v1

            deny contains msg if {
            \tinput.metrics.error_rate > 1 - data.thresholds.reliability.min_availability
            \tmsg := sprintf("%v breached", [data.thresholds.reliability.objective_name])
            }
            """
        var thresholds = try JSONValue.parse(
            Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json")))
        if case .object(var all) = thresholds {
            all["reliability"] = ["min_availability": 0.99, "objective_name": "checkout"]
            thresholds = .object(all)
        }
        let project = try GateProject(
            thresholds: thresholds.jsonString(), extraPolicies: ["reliability.rego": reliability])
        defer { project.remove() }
        let manifest = try project.manifest()
        #expect(PolicyFilesCheck(manifest: manifest).run().allSatisfy { $0.status == .pass })
        let decision = await Self.gate().evaluate(
            domain: "reliability", request: GateRequest(manifest: manifest, action: "gate"))
        #expect(decision.verdict == .deny)
        #expect(decision.reasons.first == "checkout breached")

        try project.directory.write(
            thresholds.jsonString().replacingOccurrences(of: "\"checkout\"", with: "7"), to: "thresholds.json")
        let mistyped = await Self.gate().evaluate(
            domain: "reliability", request: GateRequest(manifest: manifest, action: "gate"))
        #expect(mistyped.verdict == .inconclusive)
        #expect(
            mistyped.reasons.contains { $0.contains("reliability.objective_name must be string, got a number 7") },
            "\(mistyped.reasons)")
    }

    @Test(arguments: [
        (
            "# METADATA\n# custom:\n#   thresholds:\n#     limit: numbr\npackage swiftdeploy.bad\n",
            "threshold limit must declare a type"
        ),
        (
            "# METADATA\n# custom:\n#   thresholds: [a]\npackage swiftdeploy.bad\n",
            "custom.thresholds must be a mapping"
        ),
        (
            """
            # METADATA\n# custom:\n#   thresholds:\n#     limit: {type: string, minimum: 1}\npackage \
            swiftdeploy.bad\n
            """,
            "minimum and maximum apply to numbers only"
        ),
        ("# METADATA\n# custom: [\npackage swiftdeploy.bad\n", "is not valid YAML"),
        (
            """
            # METADATA\n# custom:\n#   thresholds:\n#     limit: {type: number, items: {a: number}}\npackage \
            swiftdeploy.bad\n
            """,
            "items and minItems apply to arrays only"
        ),
        (
            "# METADATA\n# custom:\n#   thresholds:\n#     limit: {type: number, enum: [a]}\npackage swiftdeploy.bad\n",
            "enum applies to strings only"
        ),
        (
            "# METADATA\n# custom:\n#   thresholds:\n#     limit: {type: array, items: [a]}\npackage swiftdeploy.bad\n",
            "items of threshold limit must be a mapping"
        ),
        (
            """
            # METADATA\n# custom:\n#   thresholds:\n#     limit: {type: array, items: {a: numbr}}\npackage \
            swiftdeploy.bad\n
            """,
            "threshold a must declare a type"
        ),
        (
            """
            # METADATA\n# custom:\n#   thresholds:\n#     limit: {type: array, items: {a: {type: array, items: \
            {b: number}}}}\npackage swiftdeploy.bad\n
            """,
            "unknown key 'items' in the declaration of threshold a"
        ),
        (
            """
            # METADATA\n# custom:\n#   thresholds:\n#     limit: {type: array, minItems: -1}\npackage \
            swiftdeploy.bad\n
            """,
            "minItems of threshold limit must be a whole number"
        ),
        (
            "# METADATA\n# custom:\n#   thresholds:\n#     limit: {type: string, enum: []}\npackage swiftdeploy.bad\n",
            "enum of threshold limit must be a non-empty list"
        ),
    ])
    func aBrokenDeclarationIsAProblemOfItsDomain(_ source: String, _ expected: String) throws {
        let project = try GateProject(extraPolicies: ["bad.rego": source + "\nimport rego.v1\n\ndeny := set()\n"])
        defer { project.remove() }
        let bundle = try PolicyBundle.load(manifest: try project.manifest())
        let problems = bundle.thresholdProblems(for: "bad")
        #expect(problems.contains { $0.contains(expected) && $0.hasPrefix("policies/bad.rego:") }, "\(problems)")
    }
}
