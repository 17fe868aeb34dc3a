import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// A deny rule that errors in one way, and what the decision must say about it.
struct PolicyErrorCase: Sendable, CustomTestStringConvertible {
    var name: String
    /// The rule bodies of `package swiftdeploy.hostile` after the header (line 8 onwards).
    var rules: String
    /// The engine's error code (or text) the reason must carry.
    var code: String
    /// The line of hostile.rego the reason must name, when the engine knows it.
    var line: Int?

    var testDescription: String { name }

    static let header = """
        # METADATA
        # custom:
        #   thresholds: {}
        package swiftdeploy.hostile

        import rego.v1


        """

    var module: String { Self.header + rules }

    static let all: [PolicyErrorCase] = [
        .init(
            name: "builtin error: to_number(\"abc\")",
            rules: "deny contains \"x\" if {\n\tto_number(\"abc\") > 0\n}\n", code: "eval_builtin_error", line: 9),
        .init(
            name: "builtin error: division by zero",
            rules: "deny contains \"x\" if {\n\tn := count(input.metrics.counter_resets)\n\t1 / n > 0\n}\n",
            code: "eval_builtin_error", line: 10),
        .init(
            name: "type error: string plus number",
            rules: "deny contains \"x\" if {\n\tinput.metrics.source + 1 > 0\n}\n", code: "eval_type_error", line: 9),
        .init(
            name: "conflict: a complete rule with two values",
            rules:
                """
                level := 1 if input.metrics.requests > 0\n\nlevel := 2 if input.metrics.requests > 1\n\ndeny \
                contains \"x\" if level > 5\n
                """,
            code: "eval_conflict_error", line: nil),
        .init(
            name: "unsupported builtin: http.send",
            rules:
                """
                deny contains \"x\" if {\n\thttp.send({\"method\": \"GET\", \"url\": \
                \"http://127.0.0.1:1/\"}).status_code != 200\n}\n
                """,
            code: "eval_builtin_error", line: 9),
        .init(
            name: "size budget: numbers.range too large",
            rules: "deny contains \"x\" if {\n\tcount(numbers.range(1, 100000000)) > 0\n}\n",
            code: "eval_builtin_error", line: 9),
        .init(
            name: "time budget: a runaway comprehension",
            rules:
                """
                deny contains \"x\" if {\n\tcount([1 | some i in numbers.range(1, 5000); some j in \
                numbers.range(1, 5000); i < j]) < 0\n}\n
                """,
            code: "eval_limit_error", line: nil),
        .init(
            name: "message is a number",
            rules: "deny contains 42 if input.metrics.requests > 0\n", code: "not a message", line: nil),
        .init(
            name: "message is an object without msg",
            rules: "deny contains {\"message\": \"x\"} if input.metrics.requests > 0\n", code: "not a message",
            line: nil),
        .init(
            name: "warn message is an object whose msg is not a string",
            rules: "deny := set()\n\nwarn contains {\"msg\": 3} if input.metrics.requests > 0\n", code: "not a message",
            line: nil),
    ]
}

/// Evaluation is strict: every way a policy can fail to evaluate makes the decision inconclusive with the engine's
/// error code and the policy's file:line, never a silent allow.
@Suite("Hostile input: policy errors")
struct HostilePolicyErrorTests {
    static let figures = WindowFigures(
        requests: 200, errors: 0, errorRate: 0, requestRate: 20, p50Ms: 10, p95Ms: 40,
        p99Ms: 80, observations: 200, windowSeconds: 10, source: "fixed")

    static func gate() -> PolicyEvaluator {
        PolicyEvaluator(
            hostFacts: { _ in HostileThresholdTests.roomy },
            metricsSourceFactory: { _ in FixedMetrics(result: .success(figures)) })
    }

    @Test(arguments: PolicyErrorCase.all)
    func embeddedEngine(_ errorCase: PolicyErrorCase) async throws {
        let project = try GateProject(
            policy: "  engine: embedded\n  timeout: 300ms", extraPolicies: ["hostile.rego": errorCase.module])
        defer { project.remove() }
        let started = Date()
        let decision = await Self.gate().evaluate(
            domain: "hostile", request: GateRequest(manifest: try project.manifest(), action: "gate"))
        #expect(decision.verdict == .inconclusive, "\(decision.reasons)")
        let reason = decision.reasons.joined(separator: "\n")
        #expect(reason.contains(errorCase.code), "\(reason)")
        if let line = errorCase.line { #expect(reason.contains("policies/hostile.rego:\(line)"), "\(reason)") }
        #expect(Date().timeIntervalSince(started) < 20)
    }

    /// OPA's error answers for an evaluation error under `strict-builtin-errors` (the shape of OPA's server:
    /// `{"code": "internal_error", "message", "errors": [{"code", "message", "location": {"file", "row", "col"}}]}`)
    /// and the other error shapes: each is inconclusive with the engine's code and the policy's file:row.
    @Test(arguments: [
        (
            500,
            #"{"code":"internal_error","message":"error(s) occurred while evaluating query","errors":[{"code":"eval_builtin_error","message":"to_number: strconv.ParseFloat: parsing \"abc\": invalid syntax","location":{"file":"policies/hostile.rego","row":9,"col":2}}]}"#,
            ["internal_error", "policies/hostile.rego:9: eval_builtin_error: to_number"]
        ),
        (
            500,
            #"{"code":"internal_error","message":"error(s) occurred while evaluating query","errors":[{"code":"eval_conflict_error","message":"complete rules must not produce multiple outputs","location":{"file":"policies/hostile.rego","row":8,"col":1}}]}"#,
            ["policies/hostile.rego:8: eval_conflict_error"]
        ),
        (
            500,
            #"{"code":"internal_error","message":"error(s) occurred while evaluating query","errors":[{"code":"eval_type_error","message":"plus: operand 1 must be number but got string","location":{"file":"policies/hostile.rego","row":9,"col":2}}]}"#,
            ["policies/hostile.rego:9: eval_type_error: plus"]
        ),
        (
            500, #"{"code":"internal_error","message":"eval_cancel_error: caller cancelled query execution"}"#,
            ["eval_cancel_error"]
        ),
        (
            400,
            #"{"code":"invalid_parameter","message":"1 error occurred: policies/hostile.rego:9: rego_type_error: undefined function http.sendx"}"#,
            ["invalid_parameter", "policies/hostile.rego:9: rego_type_error"]
        ),
        (200, #"{"result":{"deny":[42],"warn":[]}}"#, ["not a message"]),
        (200, #"{"result":{"deny":[{"message":"x"}]}}"#, ["not a message"]),
    ])
    func opaServerErrorShapes(_ status: Int, _ body: String, _ expected: [String]) async throws {
        let server = try LoopbackHTTPServer { _ in .json(body, status: status) }
        defer { server.stop() }
        let backend = OPAServerBackend(baseURL: URL(string: "http://127.0.0.1:\(server.port)")!)
        let decision = PolicyEvaluator.decision(
            domain: "hostile", result: await backend.evaluate(domain: "hostile", input: [:]),
            engine: backend.engineDescription, input: [:])
        #expect(decision.verdict == .inconclusive)
        for fragment in expected { #expect(decision.reasons.joined().contains(fragment), "\(decision.reasons)") }
        // Strict like the embedded engine: OPA is asked with strict-builtin-errors.
        #expect(server.requests.first?.path == "/v1/data/swiftdeploy/hostile?strict-builtin-errors=true")
    }

    /// OPA's own evaluator (opa-ref serve) over a conflicting policy, and a server slower than policy.timeout.
    @Test(.requires(.opaRef))
    func opaServerRealConflictAndBudget() async throws {
        let errorCase = PolicyErrorCase.all.first { $0.code == "eval_conflict_error" }!
        let project = try GateProject(extraPolicies: ["hostile.rego": errorCase.module])
        defer { project.remove() }
        let server = try OPARef.Server(data: [project.policiesPath, "thresholds:" + project.thresholdsPath])
        defer { server.stop() }
        let result = await OPAServerBackend(baseURL: server.url).evaluate(
            domain: "hostile", input: ["metrics": ["requests": 5]])
        guard case .unavailable(let reason) = result else {
            Issue.record("expected unavailable, got \(result)")
            return
        }
        #expect(reason.contains("eval_conflict_error"), "\(reason)")

        let slow = try OPARef.Server(
            data: [project.policiesPath, "thresholds:" + project.thresholdsPath], delayMs: 1500)
        defer { slow.stop() }
        let manifestText = try project.directory.read("manifest.yaml")
            .replacingOccurrences(
                of: "  engine: embedded",
                with: "  engine: opa\n  timeout: 500ms\n  opa:\n    url: \(slow.url.absoluteString)")
        try project.directory.write(manifestText, to: "manifest.yaml")
        let decision = await Self.gate().evaluate(
            domain: "canary", request: GateRequest(manifest: try project.manifest(), action: "gate"))
        #expect(decision.verdict == .inconclusive)
        #expect(decision.reasons.contains { $0.contains("did not decide within 500ms") }, "\(decision.reasons)")
    }
}
