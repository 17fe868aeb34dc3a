import Foundation
import TestSupport
import Testing

/// The built binary, run as a subprocess: stdout, stderr and exit codes.
@Suite("init and validate, as a user runs them")
struct InitValidateCLITests {
    private func project(_ manifest: String? = nil) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-cli")
        let text =
            try manifest
            ?? String(
                contentsOf: RepositoryPaths.fixtures.appendingPathComponent("render/base/manifest.yaml"),
                encoding: .utf8)
        try dir.write(text, to: "manifest.yaml")
        return dir
    }

    @Test func initWritesBothFilesThenReportsThemUnchanged() async throws {
        let dir = try project()
        defer { dir.remove() }
        let first = try await CLIRunner.run(["init"], in: dir.url)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.stdout == "wrote nginx.conf (new)\nwrote docker-compose.yml (new)\n")
        #expect(first.stderr.isEmpty)
        let nginx = try dir.read("nginx.conf")

        let second = try await CLIRunner.run(["init"], in: dir.url)
        #expect(second.stdout == "unchanged nginx.conf\nunchanged docker-compose.yml\n")

        try FileManager.default.removeItem(at: dir.url.appendingPathComponent("nginx.conf"))
        try FileManager.default.removeItem(at: dir.url.appendingPathComponent("docker-compose.yml"))
        let third = try await CLIRunner.run(["init", "--quiet"], in: dir.url)
        #expect(third.status == 0)
        #expect(third.stdout.isEmpty)
        #expect(try dir.read("nginx.conf") == nginx)
    }

    @Test func initAndValidateAreRecordedInTheHistory() async throws {
        let dir = try project()
        defer { dir.remove() }
        _ = try await CLIRunner.run(["init"], in: dir.url)
        _ = try await CLIRunner.run(["init"], in: dir.url)
        _ = try await CLIRunner.run(["validate"], in: dir.url)
        let lines = try dir.read("history.jsonl").split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        #expect(lines.map { $0["event"] as? String } == ["init", "init", "validate"])
        #expect(lines[0]["message"] as? String == "wrote nginx.conf, docker-compose.yml")
        #expect(lines[1]["message"] as? String == "generated files already up to date")
        #expect(lines[2]["outcome"] as? String == "failed", "the fixture project has no policies")
        let manifestHash = lines[0]["manifest_hash"] as? String
        #expect(manifestHash?.count == 64)
        #expect(lines.allSatisfy { $0["manifest_hash"] as? String == manifestHash })
        let verify = try await CLIRunner.run(["audit", "--verify"], in: dir.url)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test func historyAndReportPathsComeFromTheManifest() async throws {
        let base = try String(
            contentsOf: RepositoryPaths.fixtures.appendingPathComponent("render/base/manifest.yaml"), encoding: .utf8)
        let dir = try project(base + "history:\n  path: var/log/deploys.jsonl\n  report: reports/audit.md\n")
        defer { dir.remove() }
        try FileManager.default.createDirectory(
            at: dir.url.appendingPathComponent("var/log"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: dir.url.appendingPathComponent("reports"), withIntermediateDirectories: true)
        await #expect(try CLIRunner.run(["init"], in: dir.url).status == 0)
        #expect(try dir.read("var/log/deploys.jsonl").contains(#""event":"init""#))
        let audit = try await CLIRunner.run(["audit"], in: dir.url)
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
        #expect(try dir.read("reports/audit.md").contains("init"))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("history.jsonl").path))
    }

    @Test func initCheckDetectsDriftAndWritesNothing() async throws {
        let dir = try project()
        defer { dir.remove() }
        let missing = try await CLIRunner.run(["init", "--check"], in: dir.url)
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("nginx.conf: missing; run `swiftdeploy init` to regenerate it"))
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("nginx.conf").path))

        _ = try await CLIRunner.run(["init"], in: dir.url)
        await #expect(try CLIRunner.run(["init", "--check"], in: dir.url).status == 0)

        try dir.write(try dir.read("docker-compose.yml") + "# hand edit\n", to: "docker-compose.yml")
        let drifted = try await CLIRunner.run(["init", "--check"], in: dir.url)
        #expect(drifted.status == 1)
        #expect(drifted.stdout == "docker-compose.yml: out of date; run `swiftdeploy init` to regenerate it\n")
    }

    @Test func invalidManifestExits65WithEveryProblem() async throws {
        let dir = try project("services:\n  image: x\n  prot: 1\nnginx:\n  image: nginx\n  port: 0\n")
        defer { dir.remove() }
        let result = try await CLIRunner.run(["init"], in: dir.url)
        #expect(result.status == 65)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr == """
                manifest.yaml:2:3: error: services.port is required
                manifest.yaml:3:3: error: unknown key 'prot' at services; did you mean 'port'?
                manifest.yaml:6:9: error: nginx.port must be 1-65535, got 0
                manifest.yaml: error: network is required (with network.name and network.driver_type)
                error: the manifest has 4 problems; fix them and run again

                """)
    }

    @Test func missingManifestNamesThePath() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try await CLIRunner.run(["init", "--manifest", "deploy/app.yaml"], in: dir.url)
        #expect(result.status == 65)
        #expect(
            result.stderr
                == """
                error: manifest not found at deploy/app.yaml; create one (see README.md, 'Manifest') or pass \
                --manifest PATH\n
                """
        )
    }

    @Test func usageErrorsExit64() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        await #expect(try CLIRunner.run(["init", "--bogus"], in: dir.url).status == 64)
        await #expect(try CLIRunner.run(["validate", "--format", "xml"], in: dir.url).status == 64)
    }

    @Test func validateReportsEachCheckAsJSON() async throws {
        let dir = try project()
        defer { dir.remove() }
        let result = try await CLIRunner.run(["validate", "--format", "json"], in: dir.url)
        let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let checks = document?["checks"] as? [[String: String]] ?? []
        let byName = Dictionary(checks.map { ($0["name"] ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["manifest"]?["status"] == "PASS")
        #expect(byName["templates"]?["status"] == "PASS")
        // The fixture project has no policies/ or thresholds.json: validate must fail, naming them.
        #expect(byName["policies"]?["status"] == "FAIL")
        let thresholdsDetail = byName["thresholds"]?["detail"] ?? ""
        #expect(
            thresholdsDetail.hasPrefix(
                "thresholds file \(dir.url.resolvingSymlinksInPath().path)/thresholds.json does not exist")
                || thresholdsDetail.hasPrefix("thresholds file \(dir.path)/thresholds.json does not exist"),
            "\(thresholdsDetail)")
        #expect(thresholdsDetail.hasSuffix("create it or set policy.thresholds"))
        #expect(document?["ok"] as? Bool == false)
        #expect(result.status == 1)
        for check in checks where check["status"] == "SKIP" {
            #expect(!(check["detail"] ?? "").isEmpty, "a SKIP must say why")
        }
    }

    @Test func validateNamesAPolicySyntaxErrorWithItsPosition() async throws {
        let dir = try project()
        defer { dir.remove() }
        try dir.write(#"{"canary": {"max_error_rate": 0.01}}"#, to: "thresholds.json")
        try dir.write(
            "package swiftdeploy.canary\n\ndeny contains msg if {\n    msg := \"unterminated\n}\n",
            to: "policies/canary.rego")
        let result = try await CLIRunner.run(["validate"], in: dir.url)
        #expect(result.status == 1)
        #expect(result.stdout.contains("PASS  thresholds"), "\(result.stdout)")
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("FAIL  policies") }.map(String.init) ?? ""
        #expect(line.contains("policies/canary.rego:4:"), "the error names the file and line: \(result.stdout)")
    }

    @Test func validateNamesAPolicyTypeErrorWithItsPosition() async throws {
        let dir = try project()
        defer { dir.remove() }
        try dir.write(#"{"canary": {"max_error_rate": 0.01}}"#, to: "thresholds.json")
        try dir.write(
            "package swiftdeploy.canary\n\ndeny contains msg if {\n    msg := sprintf(\"%d\", count(1))\n}\n",
            to: "policies/canary.rego")
        let result = try await CLIRunner.run(["validate"], in: dir.url)
        #expect(result.status == 1)
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("FAIL  policies") }.map(String.init) ?? ""
        #expect(line.contains("policies/canary.rego:4:"), "the error names the file and line: \(result.stdout)")
        #expect(result.stdout.contains("rego_type_error: count: invalid argument(s)"), "\(result.stdout)")
    }

    @Test func validatePassesOnTheRepositorySample() async throws {
        // The sample at the repository root must validate wherever its images are built. It runs on a copy,
        // so the repository's own history.jsonl is not written by tests.
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-sample")
        defer { dir.remove() }
        for item in ["manifest.yaml", "thresholds.json", "policies", "templates"] {
            try FileManager.default.copyItem(
                at: RepositoryPaths.root.appendingPathComponent(item), to: dir.url.appendingPathComponent(item))
        }
        let result = try await CLIRunner.run(["validate", "--no-color"], in: dir.url)
        #expect(result.stdout.contains("PASS  policies"), "\(result.stdout)")
        #expect(result.stdout.contains("PASS  thresholds"), "\(result.stdout)")
        #expect(!result.stdout.contains("FAIL  manifest"), "\(result.stdout)")
        #expect(!result.stdout.contains("FAIL  templates"), "\(result.stdout)")
        #expect(!result.stdout.contains("FAIL  nginx -t"), "\(result.stdout)")
        #expect(!result.stdout.contains("FAIL  compose config"), "\(result.stdout)")
    }
}
