import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy gate <domain|all>`: decide a policy domain on fresh evidence, record the decision in the history
/// and exit by the verdict.
struct GateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Decide a policy domain (infrastructure, canary, any swiftdeploy.<name> package, or all) on fresh evidence.",
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
                throw ValidationError("--window \(window.debugDescription) is not a duration; use e.g. 300ms, 30s or 1m")
            }
        }
        if let metricsURL {
            guard let url = URL(string: metricsURL), url.scheme?.lowercased() == "http", url.host != nil else {
                throw ValidationError("--metrics-url \(metricsURL.debugDescription) is not an http:// URL; use e.g. http://127.0.0.1:9180/metrics")
            }
        }
        if domain != "all" {
            // ArgumentParser wraps a non-ValidationError from validate() so that it exits 1: keep it a usage error (64).
            do { try PolicyBundle.validateDomainName(domain) } catch let error as PolicyError {
                throw ValidationError(error.errorDescription ?? "\(error)")
            }
        }
    }

    func run() async throws {
        let started = MonotonicClock.now()
        let manifest = try ManifestLoader().load(from: global.manifestURL, displayPath: global.manifest)
        let bundle = try PolicyBundle.load(manifest: manifest)
        var domains = try bundle.resolveDomains(domain)
        // `all` means every domain that applies to this manifest: `slo` judges the manifest's objectives, so without an
        // slo block it is left out (asked by name, `gate slo` answers inconclusive instead).
        if domain == "all", manifest.slo == nil, domains.contains("slo") {
            domains.removeAll { $0 == "slo" }
            global.console.detail("slo: left out of 'all': the manifest has no slo block")
        }
        let request = GateRequest(manifest: manifest, action: "gate", metricsURL: metricsURL.flatMap(URL.init(string:)),
                                  window: window.flatMap(ManifestDuration.parse))
        if domains.contains(where: { PolicyInput.evidence(for: $0).contains(.metrics) }) {
            global.console.detail("collecting a \(request.window ?? manifest.metrics.window) metrics window…")
        }
        let decisions = await PolicyEvaluator().evaluate(domains: domains, request: request)
        let totalMs = ((MonotonicClock.now() - started) * 1_000_000).rounded() / 1000
        let report = DecisionReport(decisions: decisions, failOnWarn: failOnWarn, totalMs: totalMs)

        let console = global.console
        await record(decisions, manifest: manifest, console: console)
        console.print(report.render(format, useColor: format == .text && console.useColor))
        if format == .github, let path = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !path.isEmpty {
            appendSummary(GitHubDecisionFormatter().summary(report), to: path, console: console)
        }
        let status = report.exitStatus
        if status != .success { throw CommandFailure(status) }
    }

    /// Every gate decision goes into the history; a history that cannot be written is a warning, the verdict stands.
    private func record(_ decisions: [PolicyDecision], manifest: Manifest, console: Console) async {
        let log = HistoryLog(manifest: manifest)
        for decision in decisions {
            do {
                try await log.append(decision.historyEntry(event: .gate, manifest: manifest))
            } catch {
                let reason = (error as? SwiftDeployFailure)?.errorDescription ?? "\(error)"
                console.warning("the \(decision.domain) decision was not recorded in \(manifest.historyURL.path): \(reason)")
                return
            }
        }
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
