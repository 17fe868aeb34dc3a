import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy gate <domain|all>`: ``GateWorkflow`` decides on fresh evidence and records each decision in the
/// history; this prints the report and exits by the verdict.
struct GateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract:
            """
            Decide a policy domain (infrastructure, canary, any swiftdeploy.<name> package, or all) on fresh \
            evidence.
            """,
        discussion: """
            infrastructure is judged on host facts (free disk, load per CPU, memory), canary on a metrics window \
            (two scrapes --window apart), slo on the manifest's objectives (error budgets and burn rates from \
            Prometheus) and the delivery figures of the history, any other domain on host facts and a metrics window. Exit codes: 0 allow or warn, 1 deny \
            (or warn with --fail-on-warn), 2 inconclusive (missing evidence or engine), 64 usage, 65 invalid \
            manifest, policy directory or thresholds.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The policy domain to decide, or 'all' for every swiftdeploy.<name> package in policy.dir.")
    var domain: String

    @Option(name: .long, help: "Scrape this Prometheus exposition URL instead of the manifest's metrics source.")
    var metricsURL: String?

    @Option(name: .long, help: "Time between the two scrapes (e.g. 300ms, 30s); default metrics.window.")
    var window: String?

    @Option(name: .long, help: "Output format: text, json, junit or github.")
    var format: DecisionOutputFormat = .text

    @Flag(name: .long, help: "Exit 1 on a warn verdict too.")
    var failOnWarn = false

    func validate() throws {
        if let window {
            guard let parsed = ManifestDuration.parse(window), parsed.milliseconds > 0 else {
                throw ValidationError(
                    "--window \(window.debugDescription) is not a duration; use e.g. 300ms, 30s or 1m")
            }
        }
        if let metricsURL {
            guard let url = URL(string: metricsURL), url.scheme?.lowercased() == "http", url.host != nil else {
                throw ValidationError(
                    """
                    --metrics-url \(metricsURL.debugDescription) is not an http:// URL; use e.g. \
                    http://127.0.0.1:9180/metrics
                    """
                )
            }
        }
        if domain != "all" {
            // ArgumentParser wraps a non-ValidationError from validate() so that it exits 1: keep it a usage error
            // (64).
            do { try PolicyBundle.validateDomainName(domain) } catch let error as PolicyError {
                throw ValidationError(error.errorDescription ?? "\(error)")
            }
        }
    }

    func run() async throws {
        let console = global.console
        let outcome = try await GateWorkflow(
            manifestURL: global.manifestURL, displayPath: global.manifest, domain: domain,
            metricsURL: metricsURL.flatMap(URL.init(string:)), window: window.flatMap(ManifestDuration.parse),
            failOnWarn: failOnWarn, gate: PolicyEvaluator()
        ).run(progress: { console.detail($0) })
        if let lost = outcome.unrecorded {
            console.warning(
                "the \(lost.domain) decision was not recorded in \(outcome.manifest.historyURL.path): \(lost.reason)")
        }
        let report = outcome.report
        console.print(report.render(format, useColor: format == .text && console.useColor))
        if format == .github, let path = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !path.isEmpty {
            appendSummary(GitHubDecisionFormatter().summary(report), to: path, console: console)
        }
        let status = report.exitStatus
        if status != .success { throw CommandFailure(status) }
    }

    private func appendSummary(_ text: String, to path: String, console: Console) {
        let data = Data((text + "\n").utf8)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            console.warning("cannot write the step summary to GITHUB_STEP_SUMMARY=\(path); the verdict above stands")
            return
        }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        handle.write(data)
    }
}
