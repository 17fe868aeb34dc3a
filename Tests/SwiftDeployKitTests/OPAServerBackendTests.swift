import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The OPA backend against OPA's own evaluator behind its Data API (`opa-ref serve`), and against a loopback
/// server for the failure modes a real OPA server produces (HTTP errors, malformed answers).
@Suite(.requires(.opaRef)) struct OPAServerBackendTests {
    static let input: JSONValue = [
        "metrics": [
            "requests": 200, "errors": 10, "error_rate": 0.05, "error_rate_percent": 5,
            "p50_ms": 10, "p95_ms": 40, "p99_ms": 80,
        ]
    ]

    func withOPA(delayMs: Int? = nil, _ body: (URL) async throws -> Void) async throws {
        try TestRequirement.opaRef.value()
        let root = RepositoryPaths.root
        // opa-ref is there: a server that does not start is a failure, never a skip.
        let server = try OPARef.Server(
            data: [
                root.appendingPathComponent("policies").path,
                "thresholds:" + root.appendingPathComponent("thresholds.json").path,
            ], delayMs: delayMs)
        defer { server.stop() }
        try await body(server.url)
    }

    @Test func realOPADecidesDenyAndAllow() async throws {
        try await withOPA { url in
            let backend = OPAServerBackend(baseURL: url)
            let deny = await backend.evaluate(domain: "canary", input: Self.input)
            #expect(
                deny
                    == .decided(
                        deny: [
                            """
                            error rate is 5% (10 of 200 requests answered 5xx), above the maximum ratio of 0.01 \
                            (thresholds.json canary.max_error_rate)
                            """
                        ], warn: []))
            var healthy = Self.input
            if case .object(var top) = healthy, case .object(var metrics)? = top["metrics"] {
                metrics["errors"] = 0
                metrics["error_rate"] = 0
                metrics["error_rate_percent"] = 0
                top["metrics"] = .object(metrics)
                healthy = .object(top)
            }
            #expect(await backend.evaluate(domain: "canary", input: healthy) == .decided(deny: [], warn: []))
            #expect(backend.engineDescription == "opa \(url.absoluteString)")
        }
    }

    @Test func undefinedDocumentIsItsOwnFailure() async throws {
        try await withOPA { url in
            let result = await OPAServerBackend(baseURL: url).evaluate(domain: "nosuchdomain", input: Self.input)
            guard case .unavailable(let reason) = result else {
                Issue.record("expected unavailable, got \(result)")
                return
            }
            #expect(reason.contains("data.swiftdeploy.nosuchdomain is undefined"))
        }
    }

    @Test func slowOPATimesOutWithoutHanging() async throws {
        try await withOPA(delayMs: 10_000) { url in
            let backend = OPAServerBackend(
                baseURL: url, limits: HTTPLimits(connectTimeout: 1, totalTimeout: 0.5, maxBodyBytes: 1 << 20))
            // OPA would answer after 10 s; a timeout proves the backend gave up at its own limit instead of hanging.
            let result = await backend.evaluate(domain: "canary", input: Self.input)
            guard case .unavailable(let reason) = result else {
                Issue.record("expected unavailable, got \(result)")
                return
            }
            #expect(reason.contains("did not decide within 500ms"))
        }
    }

    @Test func refusedConnectionIsNamed() async {
        let url = URL(string: "http://127.0.0.1:\(LoopbackHTTPServer.unusedPort())")!
        let result = await OPAServerBackend(baseURL: url).evaluate(domain: "canary", input: Self.input)
        guard case .unavailable(let reason) = result else {
            Issue.record("expected unavailable, got \(result)")
            return
        }
        #expect(reason.contains("refused the connection"))
        #expect(reason.contains(url.absoluteString))
    }

    @Test func httpErrorCarriesOPAsMessage() async throws {
        let server = try LoopbackHTTPServer { _ in
            .json(
                #"{"code":"internal_error","message":"1 error occurred: canary.rego:12: eval_conflict_error"}"#,
                status: 500)
        }
        defer { server.stop() }
        let result = await OPAServerBackend(baseURL: server.url("")).evaluate(domain: "canary", input: Self.input)
        guard case .unavailable(let reason) = result else {
            Issue.record("expected unavailable, got \(result)")
            return
        }
        #expect(
            reason.contains("answered HTTP 500 for POST /v1/data/swiftdeploy/canary: internal_error: 1 error occurred"))
        // The request is what OPA's Data API expects.
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/v1/data/swiftdeploy/canary?strict-builtin-errors=true")
        #expect(try JSONValue.parse(request.body)["input"] == Self.input)
    }

    @Test func malformedAnswersAreNamed() async throws {
        let bodies = ["<html>gateway</html>", #"{"result": "yes"}"#, #"{"result": {"deny": 3}}"#]
        let expected = [
            "not a JSON object", "is a string, not a package document", "deny is a number, not a set of messages",
        ]
        for (body, message) in zip(bodies, expected) {
            let server = try LoopbackHTTPServer { _ in .json(body) }
            defer { server.stop() }
            let result = await OPAServerBackend(baseURL: server.url("")).evaluate(domain: "canary", input: Self.input)
            guard case .unavailable(let reason) = result else {
                Issue.record("expected unavailable for \(body), got \(result)")
                continue
            }
            #expect(reason.contains(message), "\(reason)")
        }
    }

    @Test func hangUpIsNamed() async throws {
        let server = try LoopbackHTTPServer { _ in LoopbackHTTPServer.Response(hangUp: true) }
        defer { server.stop() }
        let result = await OPAServerBackend(baseURL: server.url("")).evaluate(domain: "canary", input: Self.input)
        guard case .unavailable(let reason) = result else {
            Issue.record("expected unavailable, got \(result)")
            return
        }
        #expect(reason.contains("closed without an answer"))
    }
}

/// The default policies' Rego unit tests (`policies/*_test.rego`), run through OPA's evaluator.
@Suite(.requires(.opaRef)) struct PolicyRegoUnitTests {
    @Test(arguments: ["canary_test.rego", "infrastructure_test.rego", "slo_test.rego"])
    func defaultPolicyTestsPass(_ file: String) async throws {
        try TestRequirement.opaRef.value()
        let root = RepositoryPaths.root
        let source = try String(contentsOf: root.appendingPathComponent("policies/\(file)"), encoding: .utf8)
        let package = try #require(PolicyBundle.packageName(in: source))
        let tests = source.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("test_"), let name = line.split(separator: " ").first else { return nil }
            return String(name)
        }
        #expect(tests.count >= 5)
        let (output, status) = try await OPARef.eval(arguments: [
            "-d", root.appendingPathComponent("policies").path,
            "-d", "thresholds:" + root.appendingPathComponent("thresholds.json").path,
            "data.\(package)",
        ])
        #expect(status == 0)
        let document = try JSONValue.parse(Data(output.utf8))
        guard case .array(let rows)? = document["result"],
            let value = rows.first?["expressions"].flatMap({ expressions -> JSONValue? in
                if case .array(let list) = expressions { return list.first?["value"] }
                return nil
            })
        else {
            Issue.record("opa-ref answered no value for data.\(package): \(output)")
            return
        }
        for test in tests {
            #expect(value[test] == .bool(true), "\(package).\(test) failed (undefined or false)")
        }
    }
}
