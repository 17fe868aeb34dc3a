import Foundation
import SwiftDeployKit
import TestSupport
import Testing

/// `scripts/demo`, the README's first command, run as a newcomer runs it: every step on the real engine with the
/// repository's images, then again (it must be harmless), then `--teardown`. The machine is already bootstrapped
/// (`SWIFTDEPLOY_SKIP_BOOTSTRAP=1`) and the binary is the one this build made (`SWIFTDEPLOY_BIN`): the release build
/// of step 2 is what `scripts/build-images` and CI already do.
@Suite(
    // serialized: the host's CPU and load, which every deploy's infrastructure gate reads: two deploys of this suite
    // at once on two cores starve the tests' traffic and the gate denies for load (scripts/test-groups runs one
    // deploy per process)
    .serialized, .requires(.docker), .requires(.swiftdeployBinary))
struct DemoScriptTests {
    private static let script = RepositoryPaths.root.appendingPathComponent("scripts/demo").path

    private struct Demo {
        let dir: TemporaryDirectory
        let project = "sddemo" + String(UUID().uuidString.lowercased().prefix(8))
        let port: Int
        let adminPort: Int

        init() throws {
            dir = try TemporaryDirectory(prefix: "swiftdeploy-demo")
            // Named in the demo's manifest: reserved together (distinct), released for Compose to bind.
            let ports = try LoopbackPort.forServers(2)
            port = ports[0]
            adminPort = ports[1]
        }

        var projectDir: URL { dir.url.appendingPathComponent("project") }

        func run(_ arguments: [String] = [], extra: [String: String] = [:]) async throws -> CommandResult {
            var environment = ProcessInfo.processInfo.environment
            environment.merge(
                [
                    "SWIFTDEPLOY_SKIP_BOOTSTRAP": "1",
                    "SWIFTDEPLOY_BIN": RepositoryPaths.builtProduct("swiftdeploy").path,
                    "SWIFTDEPLOY_DEMO_DIR": projectDir.path,
                    "SWIFTDEPLOY_DEMO_PROJECT": project,
                    "SWIFTDEPLOY_DEMO_PORT": String(port),
                    "SWIFTDEPLOY_DEMO_ADMIN_PORT": String(adminPort),
                    // The infrastructure policy judges this host's load, which a test run on two cores makes
                    // high; the override is recorded. The canary gate of the promote is never overridden.
                    "SWIFTDEPLOY_DEMO_OVERRIDE": "DemoScriptTests: the test run loads this host",
                    "TMPDIR": dir.url.path,
                    "NO_COLOR": "1",
                ].merging(extra) { _, new in new }
            ) { _, new in new }
            return try await ProcessRunner.run(
                ["/bin/bash", DemoScriptTests.script] + arguments, environment: environment,
                currentDirectory: RepositoryPaths.root, timeout: 600)
        }

        func containers() throws -> String {
            try DockerTestEnvironment.docker([
                "ps", "-a", "--filter", "label=com.docker.compose.project=\(project)", "--format", "{{.Names}}",
            ]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    @Test func theDemoRunsEveryStepThenAgainHarmlesslyThenTearsDown() async throws {
        let demo = try Demo()
        defer {
            // Whatever the test saw, the project goes (swiftdeploy's own teardown, by the project's label).
            _ = try? ExternalTool.runBlocking(
                RepositoryPaths.builtProduct("swiftdeploy").path, ["teardown"], currentDirectory: demo.projectDir)
            demo.dir.remove()
        }
        let first = try await demo.run()
        #expect(first.status == 0, "\(first.stderr.suffix(3000))")
        for step in 1...10 { #expect(first.stderr.contains("[\(step)/10]"), "step \(step)/10 has no progress line") }
        #expect(first.stderr.contains("skipped: SWIFTDEPLOY_BIN is set"))
        #expect(first.stderr.contains("promoted to canary through the canary policy gate"), "\(first.stderr)")
        let report = demo.projectDir.appendingPathComponent("audit_report.md")
        #expect(first.stderr.contains("the audit report:  \(report.path)"), "\(first.stderr)")
        #expect(FileManager.default.fileExists(atPath: report.path))
        #expect(first.stderr.contains("tear it down:      scripts/demo --teardown"))
        #expect(!(try demo.containers()).isEmpty, "the demo leaves its stack running for the user to look at")
        // The repository's own manifest is never rewritten by the promote: the demo works on its copy.
        let copy = try String(contentsOf: demo.projectDir.appendingPathComponent("manifest.yaml"), encoding: .utf8)
        #expect(copy.contains("mode: canary") && copy.contains("project: \(demo.project)"))

        let again = try await demo.run()
        #expect(again.status == 0, "\(again.stderr.suffix(3000))")
        #expect(again.stderr.contains("kept (a previous run made it; its history continues)"))
        #expect(again.stderr.contains("already canary, a no-op"), "\(again.stderr)")

        let verify = try await ProcessRunner.run(
            [RepositoryPaths.builtProduct("swiftdeploy").path, "audit", "--verify"],
            currentDirectory: demo.projectDir, timeout: 60)
        #expect(verify.status == 0, "both runs are one intact history: \(verify.stderr)")

        let down = try await demo.run(["--teardown"])
        #expect(down.status == 0, "\(down.stderr)")
        #expect(try demo.containers().isEmpty, "teardown leaves no container of the demo's project")
        #expect(FileManager.default.fileExists(atPath: demo.projectDir.appendingPathComponent("history.jsonl").path))
    }

    /// A deploy the infrastructure policy refuses stops the demo with the policy's exit status and the way on
    /// (`SWIFTDEPLOY_DEMO_OVERRIDE`), and starts nothing. The demo project is made first, as a second run finds
    /// it, with a disk limit no host meets.
    @Test func aRefusedDeployStopsTheDemoWithTheWayOn() async throws {
        let demo = try Demo()
        defer { demo.dir.remove() }
        let root = RepositoryPaths.root
        try FileManager.default.createDirectory(at: demo.projectDir, withIntermediateDirectories: true)
        for item in ["policies", "templates"] {
            try FileManager.default.copyItem(
                at: root.appendingPathComponent(item), to: demo.projectDir.appendingPathComponent(item))
        }
        let manifest = try String(contentsOf: root.appendingPathComponent("manifest.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "project: swiftdeploy-demo\n", with: "project: \(demo.project)\n")
            .replacingOccurrences(of: "  port: 8080\n", with: "  port: \(demo.port)\n")
            .replacingOccurrences(of: "  admin_port: 9180\n", with: "  admin_port: \(demo.adminPort)\n")
        try manifest.write(
            to: demo.projectDir.appendingPathComponent("manifest.yaml"), atomically: true, encoding: .utf8)
        let thresholds = try String(contentsOf: root.appendingPathComponent("thresholds.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"min_disk_free_gb\": 2,", with: "\"min_disk_free_gb\": 1000000000,")
            .replacingOccurrences(of: "\"warn_disk_free_gb\": 10,", with: "\"warn_disk_free_gb\": 2000000000,")
        try thresholds.write(
            to: demo.projectDir.appendingPathComponent("thresholds.json"), atomically: true, encoding: .utf8)

        let refused = try await demo.run(extra: ["SWIFTDEPLOY_DEMO_OVERRIDE": ""])
        #expect(refused.status == 1, "\(refused.stderr.suffix(3000))")
        #expect(refused.stderr.contains("the infrastructure policy refused the deploy"), "\(refused.stderr)")
        #expect(refused.stderr.contains("SWIFTDEPLOY_DEMO_OVERRIDE='why' scripts/demo"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("failed with exit 0"))
        #expect(try demo.containers().isEmpty, "a refused deploy starts nothing")
    }

    /// What a newcomer gets wrong is named before anything starts, with what to do.
    @Test func aBadSettingStopsTheDemoBeforeItStartsAnything() async throws {
        let demo = try Demo()
        defer { demo.dir.remove() }
        let project = try await demo.run(extra: ["SWIFTDEPLOY_DEMO_PROJECT": "Not A Name"])
        #expect(project.status == 1)
        #expect(project.stderr.contains("must be a Compose project name"), "\(project.stderr)")
        let binary = try await demo.run(extra: ["SWIFTDEPLOY_BIN": demo.dir.url.appendingPathComponent("none").path])
        #expect(binary.status == 1)
        #expect(binary.stderr.contains("is not an executable; unset it to build one"), "\(binary.stderr)")
        let argument = try await demo.run(["--fast"])
        #expect(argument.status == 1)
        #expect(argument.stderr.contains("unknown argument '--fast'"), "\(argument.stderr)")
        #expect(!FileManager.default.fileExists(atPath: demo.projectDir.path), "nothing was created")
    }
}
