import Foundation
import Rego
import TestSupport
import Testing

/// End-to-end: runs the built `swiftdeploy policy …` binary and checks stdout and exit codes.
@Suite struct PolicyCommandTests {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    func swiftdeploy(_ args: [String], stdin: String? = nil) async throws -> Run {
        // Both pipes drained concurrently (CLIRunner), so a chatty stderr cannot deadlock the test.
        let run = try await CLIRunner.run(args, in: FileManager.default.temporaryDirectory, input: stdin ?? "")
        return Run(status: run.status, stdout: run.stdout, stderr: run.stderr)
    }

    var fixtures: URL { RepositoryPaths.fixtures.appendingPathComponent("rego") }

    @Test func evalPrintsOPAShapedResult() async throws {
        let dir = fixtures.appendingPathComponent("policytest")
        let run = try await swiftdeploy(
            [
                "policy", "eval", "-d", dir.appendingPathComponent("gate.rego").path,
                "-d", dir.appendingPathComponent("limits.json").path, "-I", "data.gate",
            ],
            stdin: #"{"errors": 5}"#)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let doc = try RegoValue(jsonString: run.stdout)
        let value = try #require(
            RegoValue.lookup(doc, [.string("result"), .int(0), .string("expressions"), .int(0), .string("value")]))
        #expect(value == (try RegoValue(jsonString: #"{"allow": false, "deny": ["5 errors exceed 3"]}"#)))
        #expect(
            RegoValue.lookup(doc, [.string("result"), .int(0), .string("expressions"), .int(0), .string("text")])
                == .string("data.gate"))
    }

    @Test func evalBindsVariablesAndPrefixesData() async throws {
        let dir = fixtures.appendingPathComponent("policytest")
        let run = try await swiftdeploy([
            "policy", "eval", "-d", "lim:" + dir.appendingPathComponent("limits.json").path,
            "x := data.lim.limits.max_errors + 1",
        ])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let doc = try RegoValue(jsonString: run.stdout)
        #expect(RegoValue.lookup(doc, [.string("result"), .int(0), .string("bindings"), .string("x")]) == .int(4))
    }

    @Test func evalPrintsEmptyObjectWhenUndefined() async throws {
        let run = try await swiftdeploy(["policy", "eval", "data.nothing.here"])
        #expect(run.status == 0)
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "{}")
    }

    @Test func evalExitsTwoOnParseError() async throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("policy-eval-\(UUID().uuidString).rego")
        try "package p\nallow if {\n".write(to: tmp, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let run = try await swiftdeploy(["policy", "eval", "-d", tmp.path, "data.p"])
        #expect(run.status == 2)
        #expect(run.stdout.contains("rego_parse_error"))
        #expect(run.stdout.contains("\"row\": 3"))
    }

    @Test func testCommandPassesAndFails() async throws {
        let ok = try await swiftdeploy(["policy", "test", fixtures.appendingPathComponent("policytest").path])
        #expect(ok.status == 0, "stdout: \(ok.stdout) stderr: \(ok.stderr)")
        #expect(ok.stdout.contains("data.gate_test.test_allows_few_errors: PASS"))
        #expect(ok.stdout.contains("PASS: 2/2"))
        let bad = try await swiftdeploy(["policy", "test", fixtures.appendingPathComponent("policytest-failing").path])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("data.bad_test.test_fails: FAIL"))
        #expect(bad.stdout.contains("FAIL: 1/2"))
    }

    /// Writes a policy with a type error (`count(5)`) and returns its directory.
    func illTypedPolicy() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policy-type-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "package p\n\nx := count(5)\n\ntest_x if x == 1\n".write(
            to: dir.appendingPathComponent("p.rego"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func evalRejectsATypeErrorAtCompileTime() async throws {
        let dir = try illTypedPolicy()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try await swiftdeploy(["policy", "eval", "-d", dir.appendingPathComponent("p.rego").path, "data.p"])
        #expect(run.status == 2, "stdout: \(run.stdout)")
        #expect(run.stdout.contains("rego_type_error"), "\(run.stdout)")
        #expect(run.stdout.contains("count: invalid argument(s)"), "\(run.stdout)")
        #expect(run.stdout.contains("\"row\": 3"), "\(run.stdout)")
    }

    @Test func testRejectsATypeErrorAtCompileTime() async throws {
        let dir = try illTypedPolicy()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try await swiftdeploy(["policy", "test", dir.path])
        #expect(run.status == 2, "stdout: \(run.stdout) stderr: \(run.stderr)")
        #expect(run.stderr.contains("p.rego:3:"), "the error names the file and line: \(run.stderr)")
        #expect(run.stderr.contains("rego_type_error: count: invalid argument(s)"), "\(run.stderr)")
    }
}
