import Foundation
import SwiftDeployKit
import TestSupport
import Testing

@testable import SwiftDeployCLI

/// One row of the exit contract: a command of a family, the project it runs in, the code it must end with.
struct ExitRow: Sendable, CustomTestStringConvertible {
    var family: String
    var name: String
    var code: Int32
    /// Arguments after `swiftdeploy`; `{metrics}` is replaced by a loopback metrics URL, `{dir}` by the project.
    var arguments: [String]
    /// Prepares the project (a GateProject with the default policies and thresholds).
    var setup: @Sendable (GateProject) throws -> Void = { _ in }
    /// Metrics the loopback endpoint serves: the error share of the window.
    var errorShare: Int = 0
    /// A fragment stderr or stdout must hold.
    var says: String? = nil

    var testDescription: String { "\(family) \(code): \(name)" }

    static func editManifest(_ project: GateProject, _ edit: (String) -> String) throws {
        try project.directory.write(edit(try project.directory.read("manifest.yaml")), to: "manifest.yaml")
    }

    static let rows: [ExitRow] = [
        // init
        .init(family: "init", name: "renders", code: 0, arguments: ["init"]),
        .init(family: "init", name: "--check finds drift", code: 1, arguments: ["init", "--check"]),
        .init(family: "init", name: "unknown option", code: 64, arguments: ["init", "--bogus"]),
        .init(
            family: "init", name: "min_requests 0", code: 65, arguments: ["init"],
            setup: {
                try editManifest($0) { $0.replacingOccurrences(of: "min_requests: 20", with: "min_requests: 0") }
            }, says: "metrics.min_requests must be 1-"),
        .init(
            family: "init", name: "report overwrites the manifest", code: 65, arguments: ["init"],
            setup: { try editManifest($0) { $0 + "history:\n  report: manifest.yaml\n" } },
            says: "is the same file as the manifest"),
        .init(
            family: "init", name: "history escapes the directory", code: 65, arguments: ["init"],
            setup: { try editManifest($0) { $0 + "history:\n  path: /tmp/elsewhere.jsonl\n" } },
            says: "outside the manifest's directory"),
        // validate
        .init(
            family: "validate", name: "a threshold missing", code: 1, arguments: ["validate"],
            setup: {
                try $0.directory.write(
                    try $0.directory.read("thresholds.json").replacingOccurrences(of: "\"max_p99_ms\": 500,", with: ""),
                    to: "thresholds.json")
            },
            says: "canary.max_p99_ms is missing"),
        .init(family: "validate", name: "unknown format", code: 64, arguments: ["validate", "--format", "xml"]),
        // validate reports an invalid manifest as a FAIL among its checks (README: exits 1 when any check fails).
        .init(
            family: "validate", name: "invalid manifest is a failed check", code: 1, arguments: ["validate"],
            setup: { try editManifest($0) { $0.replacingOccurrences(of: "port: 8088", with: "port: 70000") } },
            says: "nginx.port must be 1-65535"),
        // gate
        .init(
            family: "gate", name: "allow", code: 0,
            arguments: ["gate", "canary", "--metrics-url", "{metrics}", "--window", "200ms"]),
        .init(
            family: "gate", name: "deny", code: 1,
            arguments: ["gate", "canary", "--metrics-url", "{metrics}", "--window", "200ms"], errorShare: 50),
        .init(
            family: "gate", name: "a mistyped threshold", code: 2,
            arguments: ["gate", "canary", "--metrics-url", "{metrics}", "--window", "200ms"],
            setup: {
                try $0.directory.write(
                    try $0.directory.read("thresholds.json").replacingOccurrences(
                        of: "\"max_error_rate\": 0.01", with: "\"max_error_rate\": \"0.01\""), to: "thresholds.json")
            },
            errorShare: 50, says: "canary.max_error_rate must be number"),
        .init(
            family: "gate", name: "invalid domain name", code: 64, arguments: ["gate", "Canary!"],
            says: "is not a policy domain name"),
        .init(
            family: "gate", name: "unknown domain", code: 64, arguments: ["gate", "canry"],
            says: "no policy declares package swiftdeploy.canry"),
        .init(
            family: "gate", name: "thresholds not JSON", code: 65, arguments: ["gate", "canary"],
            setup: { _ = try $0.directory.write("{\"canary\": [1]", to: "thresholds.json") }, says: "not valid JSON"),
        // policy
        .init(
            family: "policy", name: "eval", code: 0,
            arguments: ["policy", "eval", "-d", "{dir}/policies", "data.swiftdeploy.canary.limits"]),
        .init(
            family: "policy", name: "a failing test", code: 1, arguments: ["policy", "test", "{dir}/policies"],
            setup: {
                _ = try $0.directory.write(
                    "package swiftdeploy.canary_test\n\nimport rego.v1\n\ntest_fails if { 1 == 2 }\n",
                    to: "policies/failing_test.rego")
            }),
        .init(family: "policy", name: "eval error", code: 2, arguments: ["policy", "eval", "1 / 0 == x +"]),
        .init(family: "policy", name: "no query", code: 64, arguments: ["policy", "eval"]),
        // audit
        .init(
            family: "audit", name: "intact", code: 0, arguments: ["audit"],
            setup: {
                _ = try CLIRunner.runBlocking(
                    ["history", "append", "--event", "deploy", "--outcome", "ok", "--message", "m"],
                    in: $0.directory.url)
            }),
        .init(
            family: "audit", name: "chain broken", code: 1, arguments: ["audit", "--verify"],
            setup: { project in
                for n in 1...2 {
                    _ = try CLIRunner.runBlocking(
                        ["history", "append", "--event", "deploy", "--outcome", "ok", "--message", "m\(n)"],
                        in: project.directory.url)
                }
                try project.directory.write(
                    try project.directory.read("history.jsonl").replacingOccurrences(of: "\"m1\"", with: "\"mX\""),
                    to: "history.jsonl")
            }),
        .init(
            family: "audit", name: "report cannot be written", code: 3,
            arguments: ["audit", "--output", "{dir}/missing/dir/report.md"],
            setup: {
                _ = try CLIRunner.runBlocking(
                    ["history", "append", "--event", "deploy", "--outcome", "ok", "--message", "m"],
                    in: $0.directory.url)
            }),
        .init(family: "audit", name: "bad --expect-head", code: 64, arguments: ["audit", "--expect-head", "nope"]),
        .init(family: "audit", name: "no history", code: 65, arguments: ["audit"]),
        // history
        .init(
            family: "history", name: "append", code: 0,
            arguments: ["history", "append", "--event", "deploy", "--outcome", "ok", "--message", "m"]),
        .init(
            family: "history", name: "history is a directory", code: 3,
            arguments: ["history", "append", "--event", "deploy", "--outcome", "ok", "--message", "m"],
            setup: {
                try FileManager.default.createDirectory(
                    at: $0.directory.url.appendingPathComponent("history.jsonl"), withIntermediateDirectories: true)
            }),
        .init(
            family: "history", name: "missing --event", code: 64, arguments: ["history", "append", "--outcome", "ok"]),
        // lifecycle
        .init(family: "deploy", name: "unknown option", code: 64, arguments: ["deploy", "--bogus"]),
        .init(
            family: "deploy", name: "invalid manifest", code: 65, arguments: ["deploy"],
            setup: { try editManifest($0) { $0 + "history:\n  path: nginx.conf\n" } },
            says: "is the same file as nginx.conf"),
        .init(family: "promote", name: "unknown mode", code: 64, arguments: ["promote", "beta"]),
        .init(
            family: "promote", name: "invalid manifest", code: 65, arguments: ["promote", "canary"],
            setup: {
                try editManifest($0) { $0.replacingOccurrences(of: "min_requests: 20", with: "min_requests: -1") }
            }),
        .init(family: "teardown", name: "unknown option", code: 64, arguments: ["teardown", "--bogus"]),
        .init(
            family: "teardown", name: "invalid manifest", code: 65, arguments: ["teardown"],
            setup: { try editManifest($0) { $0 + "templates: ../elsewhere\n" } }),
        .init(family: "status", name: "bad interval", code: 64, arguments: ["status", "--interval", "soon"]),
        .init(
            family: "status", name: "invalid manifest", code: 65, arguments: ["status", "--once"],
            setup: { try editManifest($0) { $0 + "policy:\n  timeout: forever\n" } }),
    ]
}

/// The exit contract is total (README's table): each code from each command family, on the built binary.
@Suite("Hostile input: the exit contract", .requires(.swiftdeployBinary))
struct HostileExitContractTests {
    @Test(arguments: ExitRow.rows)
    func exitCode(_ row: ExitRow) async throws {
        let project = try GateProject(metrics: "  window: 200ms\n  min_requests: 20")
        defer { project.remove() }
        try row.setup(project)
        var server: LoopbackHTTPServer? = nil
        defer { server?.stop() }
        if row.arguments.contains("{metrics}") {
            let share = row.errorShare
            server = try movingEndpoint { demo in
                demo.record(path: "/", status: 200, seconds: 0.02, count: 100 - share)
                demo.record(path: "/", status: 500, seconds: 0.02, count: share)
            }
        }
        let arguments = row.arguments.map {
            $0.replacingOccurrences(of: "{metrics}", with: server?.url().absoluteString ?? "")
                .replacingOccurrences(of: "{dir}", with: project.directory.path)
        }
        let result = try await CLIRunner.run(arguments, in: project.directory.url, timeout: 120)
        #expect(result.status == row.code, "\(arguments): \(result.stdout.suffix(600)) \(result.stderr.suffix(600))")
        if let says = row.says {
            #expect((result.stdout + result.stderr).contains(says), "\(result.stdout) \(result.stderr)")
        }
        #expect(ExitStatus(rawValue: result.status) != nil, "exit \(result.status) is not in the contract")
    }

    /// Each code of the table is covered by at least one row of every family that can produce it here.
    @Test func everyCodeIsCovered() async {
        let codes = Set(ExitRow.rows.map(\.code))
        // 130 (interrupted) needs a signal sent mid-command: `InterruptTests` covers it with a real SIGINT and SIGTERM.
        #expect(codes == Set(ExitStatus.allCases.filter { $0 != .interrupted }.map(\.rawValue)))
        for family in [
            "init", "validate", "gate", "policy", "audit", "history", "deploy", "promote", "teardown", "status",
        ] {
            let mine = Set(ExitRow.rows.filter { $0.family == family }.map(\.code))
            #expect(mine.contains(64), "\(family) has no usage row")
        }
    }

    /// Errors that are not SwiftDeployFailure never exit 1 by accident.
    @Test func foreignErrorsMapOntoTheContract() async {
        struct Foreign: Error {}
        #expect(SwiftDeployCommand.exitStatus(for: Foreign()) == .operationFailed)
        #expect(SwiftDeployCommand.exitStatus(for: CocoaError(.fileWriteNoPermission)) == .operationFailed)
        #expect(SwiftDeployCommand.exitStatus(for: POSIXError(.EIO)) == .operationFailed)
        #expect(SwiftDeployCommand.exitStatus(for: PolicyError.invalidDomainName("X")) == .usage)
        #expect(SwiftDeployCommand.exitStatus(for: CommandFailure(.inconclusive)) == .inconclusive)
        do {
            _ = try SwiftDeployCommand.parseAsRoot(["gate", "Bad!"])
            Issue.record("parsed")
        } catch {
            #expect(SwiftDeployCommand.exitStatus(for: error) == .usage)
        }
        do {
            _ = try SwiftDeployCommand.parseAsRoot(["--help"])
        } catch {
            #expect(SwiftDeployCommand.exitStatus(for: error) == .success)
        }
    }
}

/// Every threshold key of the shipped thresholds.json removed, renamed and mistyped: `gate <domain>` on the built
/// binary answers inconclusive (exit 2) naming it, whatever the evidence says.
@Suite("Hostile input: thresholds through swiftdeploy gate", .requires(.swiftdeployBinary))
struct HostileThresholdGateTests {
    static let cases: [(domain: String, key: String, kind: String)] = {
        guard
            let shipped = try? JSONValue.parse(
                Data(contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json"))),
            case .object(let domains) = shipped
        else { return [] }
        return domains.keys.sorted().flatMap { domain in
            (domains[domain]?.objectKeys ?? []).sorted().flatMap { key in
                ["removed", "renamed", "mistyped"].map { (domain, key, $0) }
            }
        }
    }()

    @Test(arguments: HostileThresholdGateTests.cases.map { "\($0.domain).\($0.key) \($0.kind)" })
    func gateIsInconclusive(_ label: String) async throws {
        let parts = label.split(separator: " ")
        let named = String(parts[0]), kind = String(parts[1])
        let domain = String(named.split(separator: ".")[0]), key = String(named.split(separator: ".")[1])
        let project = try GateProject(metrics: "  window: 200ms\n  min_requests: 20")
        defer { project.remove() }
        var thresholds = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: project.thresholdsPath)))
        if case .object(var all) = thresholds, case .object(var block)? = all[domain], let value = block[key] {
            block[key] = nil
            if kind == "renamed" { block[key + "s"] = value }
            if kind == "mistyped" { block[key] = .string(value.jsonString()) }
            all[domain] = .object(block)
            thresholds = .object(all)
        }
        try project.directory.write(thresholds.jsonString(pretty: true), to: "thresholds.json")
        let server = try movingEndpoint { demo in
            demo.record(path: "/", status: 200, seconds: 0.02, count: 50)
            demo.record(path: "/", status: 500, seconds: 0.02, count: 50)
        }
        defer { server.stop() }
        let result = try await CLIRunner.run(
            ["gate", domain, "--metrics-url", server.url().absoluteString, "--window", "200ms", "--format", "json"],
            in: project.directory.url, timeout: 120)
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        let document = try JSONValue.parse(Data(result.stdout.utf8))
        #expect(document["verdict"] == "inconclusive")
        guard case .array(let decisions)? = document["decisions"] else {
            Issue.record("no decisions: \(result.stdout)")
            return
        }
        let reasons = decisions.first?["reasons"]?.jsonString() ?? ""
        #expect(reasons.contains(named), "\(reasons)")
    }
}
