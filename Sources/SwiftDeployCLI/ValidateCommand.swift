import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy validate`: every pre-flight check, each PASS, FAIL or SKIP with its reason.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the manifest, images, ports, generated files and policies before a deploy.",
        discussion: """
            Checks: the manifest parses and is valid; the templates render; the images exist locally; \
            nginx.port and nginx.admin_port are free (or held by this project's running stack); the generated \
            nginx.conf passes `nginx -t` (a local nginx, else inside the manifest's nginx image); Compose accepts \
            the generated docker-compose.yml; policies/ and thresholds.json load. A check that cannot run here \
            (no Docker, no nginx) is SKIP with the reason. Exits 1 when any check fails.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Output format: text or json.")
    var format: Format = .text

    func run() async throws {
        let console = global.console
        let report = await ValidationWorkflow(manifestURL: global.manifestURL, displayPath: global.manifest).run()
        let checks = report.checks, failed = report.failed
        if let problem = report.recordingProblem {
            console.warning("the history could not record this validation: \(problem)")
        }
        switch format {
        case .json:
            let document: JSONValue = [
                "ok": .bool(!failed),
                "manifest": .string(global.manifest),
                "checks": .array(
                    checks.map {
                        ["name": .string($0.name), "status": .string($0.status.rawValue), "detail": .string($0.detail)]
                    }),
            ]
            console.print(document.jsonString(pretty: true))
        case .text:
            let width = checks.map(\.name.count).max() ?? 0
            for check in checks {
                let label: String
                switch check.status {
                case .pass: label = console.colored("PASS", .green)
                case .fail: label = console.colored("FAIL", .red)
                case .skip: label = console.colored("SKIP", .yellow)
                }
                let lines = check.detail.split(separator: "\n", omittingEmptySubsequences: false)
                let pad = String(repeating: " ", count: width - check.name.count)
                console.print("\(label)  \(check.name)\(pad)  \(lines.first.map(String.init) ?? "")")
                for line in lines.dropFirst() { console.print(String(repeating: " ", count: width + 8) + line) }
            }
            let counts = Dictionary(grouping: checks, by: \.status).mapValues(\.count)
            console.info("\(counts[.pass] ?? 0) passed, \(counts[.fail] ?? 0) failed, \(counts[.skip] ?? 0) skipped")
        }
        if failed { throw CommandFailure(.failed) }
    }
}
