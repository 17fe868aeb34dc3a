import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// A backend that answers what it was told and records what it was asked.
final class RecordingBackend: PolicyBackend, @unchecked Sendable {
    let answer: @Sendable (String, JSONValue) -> BackendResult
    private let lock = NSLock()
    private var asked: [(String, JSONValue)] = []
    var engineDescription: String { "fake" }

    init(_ answer: @escaping @Sendable (String, JSONValue) -> BackendResult) { self.answer = answer }

    func evaluate(domain: String, input: JSONValue) async -> BackendResult {
        lock.withLock { asked.append((domain, input)) }
        return answer(domain, input)
    }

    var calls: [(String, JSONValue)] {
        lock.lock()
        defer { lock.unlock() }
        return asked
    }
}

struct FixedMetrics: MetricsSource {
    var result: Result<WindowFigures, MetricsError>
    var description: String { "fixed" }
    func window(settings: MetricsWindowSettings) async throws -> WindowFigures { try result.get() }
}

@Suite struct PolicyEvaluatorTests {
    static let healthy = WindowFigures(
        requests: 200, errors: 0, errorRate: 0, requestRate: 20, p50Ms: 10, p95Ms: 40,
        p99Ms: 80, observations: 200, windowSeconds: 10, source: "fixed")
    static let roomy = HostFacts(
        diskFreeGB: 100, diskPath: "/var/lib/docker", diskSource: "statvfs", load1: 0.4,
        loadSource: "/proc/loadavg", cpuCount: 2, cpuSource: "sysconf", memoryUsedPercent: 30,
        memorySource: "/proc/meminfo")

    func evaluator(
        _ backend: RecordingBackend, metrics: Result<WindowFigures, MetricsError> = .success(healthy),
        host: HostFacts = roomy
    ) -> PolicyEvaluator {
        PolicyEvaluator(
            backendFactory: { _ in backend }, hostFacts: { _ in host },
            metricsSourceFactory: { _ in FixedMetrics(result: metrics) })
    }

    func request() throws -> (GateRequest, GateProject) {
        let project = try GateProject()
        return (GateRequest(manifest: try project.manifest(), action: "promote", targetMode: .stable), project)
    }

    @Test func theWorstVerdictLivesBesideVerdict() {
        #expect(Verdict.worst(of: []) == .inconclusive)
        #expect(Verdict.worst(of: [.allow]) == .allow)
        #expect(Verdict.worst(of: [.allow, .warn]) == .warn)
        #expect(Verdict.worst(of: [.warn, .inconclusive, .allow]) == .inconclusive)
        #expect(Verdict.worst(of: [.inconclusive, .deny, .allow]) == .deny)
    }

    @Test func verdictRuleDenyWarnAllow() {
        let input: JSONValue = [:]
        let deny = PolicyEvaluator.decision(
            domain: "canary", result: .decided(deny: ["d"], warn: ["w"]), engine: "e", input: input)
        #expect(deny.verdict == .deny)
        #expect(deny.reasons == ["d"])
        #expect(deny.warnings == ["w"])
        let warn = PolicyEvaluator.decision(
            domain: "canary", result: .decided(deny: [], warn: ["w"]), engine: "e", input: input)
        #expect(warn.verdict == .warn)
        #expect(warn.reasons == ["w"])
        let allow = PolicyEvaluator.decision(
            domain: "canary", result: .decided(deny: [], warn: []), engine: "e", input: input)
        #expect(allow.verdict == .allow)
        let broken = PolicyEvaluator.decision(
            domain: "canary", result: .unavailable("engine down"), engine: "e", input: input)
        #expect(broken.verdict == .inconclusive)
        #expect(broken.reasons == ["engine down"])
    }

    @Test func canaryIsJudgedOnMetricsWithTheDocumentedInput() async throws {
        let (request, project) = try request()
        defer { project.remove() }
        let backend = RecordingBackend { _, _ in .decided(deny: [], warn: []) }
        let decision = await evaluator(backend).evaluate(domain: "canary", request: request)
        #expect(decision.verdict == .allow)
        #expect(decision.engine == "fake")
        let input = try #require(backend.calls.first?.1)
        #expect(input["action"] == "promote")
        #expect(input["domain"] == "canary")
        #expect(input["mode"]?["current"] == "stable")
        #expect(input["mode"]?["target"] == "stable")
        #expect(input["metrics"]?["requests"] == .double(200))
        #expect(input["metrics"]?["p99_ms"] == .double(80))
        #expect(input["host"] == nil)
        #expect(input["manifest"]?["project"] == "gatetest")
        #expect(input["manifest"]?["service"]?["image"] == "demo-app:1.0.0")
        #expect(decision.input == input)
        #expect(decision.timingsMs["collect_metrics"] != nil)
        #expect(decision.timingsMs["evaluate"] != nil)
    }

    @Test func infrastructureIsJudgedOnHostFacts() async throws {
        let (request, project) = try request()
        defer { project.remove() }
        let backend = RecordingBackend { _, input in
            input["host"]?["disk_free_gb"] == .double(100)
                ? .decided(deny: [], warn: ["tight"]) : .decided(deny: ["no host"], warn: [])
        }
        let decision = await evaluator(backend, metrics: .failure(.unreachable(.refused(url: "x")))).evaluate(
            domain: "infrastructure", request: request)
        #expect(decision.verdict == .warn)
        #expect(decision.reasons == ["tight"])
        #expect(decision.input["metrics"] == nil)
        #expect(decision.input["host"]?["sources"]?["load"] == "/proc/loadavg")
    }

    @Test func thinEvidenceIsInconclusiveAndTheEngineIsNotAsked() async throws {
        let (request, project) = try request()
        defer { project.remove() }
        let backend = RecordingBackend { _, _ in .decided(deny: [], warn: []) }
        var thin = Self.healthy
        thin.requests = 3
        thin.insufficient = ["only 3 requests in the 10.0s window, fewer than metrics.min_requests (20)"]
        let decision = await evaluator(backend, metrics: .success(thin)).evaluate(domain: "canary", request: request)
        #expect(decision.verdict == .inconclusive)
        #expect(decision.reasons == thin.insufficient)
        #expect(backend.calls.isEmpty)
    }

    @Test func unreachableMetricsAreInconclusiveWithTheReason() async throws {
        let (request, project) = try request()
        defer { project.remove() }
        let backend = RecordingBackend { _, _ in .decided(deny: [], warn: []) }
        let decision = await evaluator(
            backend, metrics: .failure(.unreachable(.refused(url: "http://127.0.0.1:9/metrics")))
        )
        .evaluate(domain: "canary", request: request)
        #expect(decision.verdict == .inconclusive)
        #expect(decision.reasons.count == 1)
        #expect(decision.reasons[0].contains("connection refused by http://127.0.0.1:9/metrics"))
    }

    @Test func unreadableHostFactsAreInconclusive() async throws {
        let (request, project) = try request()
        defer { project.remove() }
        var host = Self.roomy
        host.load1 = nil
        host.problems = ["cannot read /proc/loadavg (not Linux?): load average unknown"]
        let backend = RecordingBackend { _, _ in .decided(deny: [], warn: []) }
        let decision = await evaluator(backend, host: host).evaluate(domain: "infrastructure", request: request)
        #expect(decision.verdict == .inconclusive)
        #expect(decision.reasons == host.problems)
    }

    @Test func counterResetNoteTravelsWithTheVerdict() async throws {
        let (request, project) = try request()
        defer { project.remove() }
        var figures = Self.healthy
        figures.notes = ["counter reset between the scrapes (the service restarted?): 1 series went down"]
        let backend = RecordingBackend { _, _ in .decided(deny: ["too slow"], warn: []) }
        let decision = await evaluator(backend, metrics: .success(figures)).evaluate(domain: "canary", request: request)
        #expect(decision.verdict == .deny)
        #expect(decision.reasons == ["too slow"] + figures.notes)
    }

    @Test func customDomainsGetBothAndOneWindowServesAll() async throws {
        let (request, project) = try request()
        defer { project.remove() }
        let backend = RecordingBackend { domain, _ in
            domain == "canary" ? .decided(deny: ["bad"], warn: []) : .decided(deny: [], warn: [])
        }
        let decisions = await evaluator(backend).evaluate(
            domains: ["infrastructure", "canary", "capacity"], request: request)
        #expect(decisions.map(\.verdict) == [.allow, .deny, .allow])
        let capacity = backend.calls[2].1
        #expect(capacity["host"] != nil)
        #expect(capacity["metrics"] != nil)
        #expect(capacity["evidence"] == ["host", "metrics"])
    }

    @Test func embeddedEngineDecidesWithTheDefaultPolicies() async throws {
        let (request, project) = try request()
        defer { project.remove() }
        let healthyGate = PolicyEvaluator(
            hostFacts: { _ in Self.roomy }, metricsSourceFactory: { _ in FixedMetrics(result: .success(Self.healthy)) })
        let allow = await healthyGate.evaluate(domain: "canary", request: request)
        #expect(allow.engine == "embedded")
        #expect(allow.verdict == .allow, "\(allow.reasons)")
        var failing = Self.healthy
        failing.errors = 20
        failing.errorRate = 0.1
        failing.p99Ms = 900
        let failingFigures = failing
        let denyGate = PolicyEvaluator(
            hostFacts: { _ in Self.roomy },
            metricsSourceFactory: { _ in FixedMetrics(result: .success(failingFigures)) })
        let deny = await denyGate.evaluate(domain: "canary", request: request)
        #expect(deny.verdict == .deny)
        #expect(
            deny.reasons == [
                """
                error rate is 10% (20 of 200 requests answered 5xx), above the maximum ratio of 0.01 \
                (thresholds.json canary.max_error_rate)
                """,
                "p99 latency is 900 ms, above the maximum of 500 ms (thresholds.json canary.max_p99_ms)",
            ])
        let infrastructure = await healthyGate.evaluate(domain: "infrastructure", request: request)
        #expect(infrastructure.verdict == .allow, "\(infrastructure.reasons)")
    }

    @Test func embeddedEngineReportsBrokenPoliciesAsInconclusive() async throws {
        let project = try GateProject(extraPolicies: [
            "broken.rego": "package swiftdeploy.broken\n\ndeny contains msg if {\n  msg := \"unterminated\n}\n"
        ])
        defer { project.remove() }
        let request = GateRequest(manifest: try project.manifest(), action: "gate")
        let gate = PolicyEvaluator(
            hostFacts: { _ in Self.roomy }, metricsSourceFactory: { _ in FixedMetrics(result: .success(Self.healthy)) })
        let decision = await gate.evaluate(domain: "canary", request: request)
        #expect(decision.verdict == .inconclusive)
        #expect(
            decision.reasons.first?.contains("do not compile: policies/broken.rego:") == true, "\(decision.reasons)")
        // Fail closed for every domain, whichever module is broken: `gate infrastructure` (host facts only) too.
        let infrastructure = await gate.evaluate(domain: "infrastructure", request: request)
        #expect(infrastructure.verdict == .inconclusive)
        #expect(
            infrastructure.reasons.first?.contains("do not compile: policies/broken.rego:") == true,
            "\(infrastructure.reasons)")
    }

    @Test func domainDocumentShapes() {
        #expect(
            DomainDocument.interpret(["deny": ["b", "a"], "warn": []], domain: "canary", engine: "e")
                == .decided(deny: ["a", "b"], warn: []))
        #expect(
            DomainDocument.interpret(["deny": [["msg": "structured"]]], domain: "canary", engine: "e")
                == .decided(deny: ["structured"], warn: []))
        guard case .unavailable(let undefined) = DomainDocument.interpret(nil, domain: "capacity", engine: "e") else {
            Issue.record("expected unavailable")
            return
        }
        #expect(undefined.contains("data.swiftdeploy.capacity is undefined"))
        guard case .unavailable(let noDeny) = DomainDocument.interpret(["warn": []], domain: "canary", engine: "e")
        else {
            Issue.record("expected unavailable")
            return
        }
        #expect(noDeny.contains("defines no deny rule"))
        guard case .unavailable(let notSet) = DomainDocument.interpret(["deny": true], domain: "canary", engine: "e")
        else {
            Issue.record("expected unavailable")
            return
        }
        #expect(notSet.contains("swiftdeploy.canary.deny is a boolean, not a set of messages"))
        guard case .unavailable(let notObject) = DomainDocument.interpret(3, domain: "canary", engine: "e") else {
            Issue.record("expected unavailable")
            return
        }
        #expect(notObject.contains("is a number, not a package document"))
    }
}

@Suite struct PolicyBundleTests {
    @Test func loadsModulesDomainsAndThresholds() throws {
        let project = try GateProject(extraPolicies: [
            "capacity.rego": "package swiftdeploy.capacity\n\ndeny := set()\n"
        ])
        defer { project.remove() }
        let bundle = try PolicyBundle.load(manifest: try project.manifest())
        #expect(bundle.domains == ["infrastructure", "canary", "capacity", "slo"])
        #expect(bundle.testModules.map(\.name) == ["canary_test.rego", "infrastructure_test.rego", "slo_test.rego"])
        #expect(bundle.thresholds["canary"]?["max_error_rate"] == .double(0.01))
        #expect(try bundle.resolveDomains("all") == ["infrastructure", "canary", "capacity", "slo"])
        #expect(try bundle.resolveDomains("canary") == ["canary"])
        let unknown = try #require(throws: PolicyError.self) { try bundle.resolveDomains("canry") }
        #expect(unknown == .unknownDomain("canry", available: ["infrastructure", "canary", "capacity", "slo"]))
        #expect(unknown.exitStatus == .usage)
        #expect(throws: PolicyError.invalidDomainName("../x")) { try bundle.resolveDomains("../x") }
    }

    @Test(arguments: [
        ("[1, 2]", "the top level is an array"),
        ("{\"canary\": ", "not valid JSON"),
    ])
    func invalidThresholdsAreInvalidInput(_ text: String, _ message: String) throws {
        let project = try GateProject(thresholds: text)
        defer { project.remove() }
        let error = try #require(throws: PolicyError.self) { try PolicyBundle.load(manifest: try project.manifest()) }
        #expect(error.exitStatus == .invalidInput)
        #expect(error.errorDescription?.contains(message) == true)
        #expect(error.errorDescription?.contains("thresholds.json") == true)
    }

    /// Per-key problems are not exit 65 but the domain's contract problems (inconclusive, validate FAIL).
    @Test(arguments: [
        ("{\"canary\": 3}", "thresholds.json: canary is a number, not an object of thresholds"),
        ("{\"canary\": {\"max_p99_ms\": null}}", "threshold canary.max_p99_ms must be number ≥ 0, got null"),
    ])
    func malformedBlocksBreakTheDomainsContract(_ text: String, _ message: String) throws {
        let project = try GateProject(thresholds: text)
        defer { project.remove() }
        let bundle = try PolicyBundle.load(manifest: try project.manifest())
        #expect(
            bundle.thresholdProblems(for: "canary").contains { $0.contains(message) },
            "\(bundle.thresholdProblems(for: "canary"))")
    }

    @Test func missingFilesAreNamed() throws {
        let project = try GateProject()
        defer { project.remove() }
        try FileManager.default.removeItem(atPath: project.thresholdsPath)
        let missing = try #require(throws: PolicyError.self) { try PolicyBundle.load(manifest: try project.manifest()) }
        #expect(missing == .thresholdsMissing(path: project.thresholdsPath))
        try FileManager.default.removeItem(atPath: project.policiesPath)
        let noDir = try #require(throws: PolicyError.self) { try PolicyBundle.load(manifest: try project.manifest()) }
        #expect(noDir == .directoryMissing(path: project.policiesPath))
    }

    @Test func defaultPoliciesHoldNoNumbers() throws {
        let dir = RepositoryPaths.root.appendingPathComponent("policies")
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path)
        where name.hasSuffix(".rego") && !name.hasSuffix("_test.rego") {
            let source = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            for (index, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                // Every limit must come from data.thresholds: no number outside string literals and comments.
                let noStrings = String(line).replacingOccurrences(
                    of: #""([^"\\]|\\.)*""#, with: "\"\"", options: .regularExpression)
                let stripped =
                    noStrings.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                #expect(
                    stripped.range(of: #"(?<![A-Za-z0-9_%.])[0-9]+(\.[0-9]+)?"#, options: .regularExpression) == nil,
                    "\(name):\(index + 1) has a number: \(line)")
            }
        }
    }
}
