import ArgumentParser
import Foundation
import SwiftDeployKit

/// `swiftdeploy deploy`: render, gate on the infrastructure policy, `up -d`, wait until healthy.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Render, check the infrastructure policy, start the stack and wait until it is healthy.",
        discussion: """
            Deploying a running project again is harmless. Exit status: 0 deployed and healthy; 1 the policy \
            denied; 2 the policy could not decide (no engine, no evidence); 3 Docker failed or a service did not \
            become healthy in time (the error names it and shows its last log lines); 65 invalid manifest.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(
        help: ArgumentHelp(
            """
            How long the whole deploy may take, health wait included (default 60s; on Swarm replicas × the update \
            monitor + 30s, at least 60s).
            """,
            valueName: "duration"))
    var timeout: String?

    @Option(
        help: ArgumentHelp(
            "Proceed past a deny or inconclusive policy decision; the reason and your user name are recorded.",
            valueName: "reason"))
    var override: String?

    func run() async throws {
        let console = global.console
        let (context, timeout) = try LifecycleCLI.context(global, timeoutOption: timeout)
        let report = try await DeployWorkflow(
            context: context, timeout: timeout,
            override: override.map { OverrideRequest(reason: $0) }
        )
        .run(progress: LifecycleCLI.progress(console))
        if report.overridden {
            console.warning(
                """
                deployed on --override past the \(report.decision.domain) policy's \
                \(report.decision.verdict.rawValue) decision; recorded in the history
                """
            )
        }
        console.print(
            console.colored("deployed", .green)
                + """
                 \(context.manifest.project) (\(context.manifest.services.mode.rawValue) mode) in \
                \(Int(report.elapsed))s:\u{20}
                """
                + report.containers.map { "\($0.node == nil ? $0.service : "\($0.name) on \($0.node!)") \($0.summary)" }
                .joined(separator: ", "))
        console.info("  public:  \(context.manifest.publicURL.absoluteString)")
        if context.manifest.runtime == .swarm {
            console.info("  admin:   inside the nginx task only (docker exec; published nowhere, docs/swarm.md)")
        } else {
            console.info("  admin:   http://127.0.0.1:\(context.manifest.nginx.adminPort)/ (loopback only)")
        }
    }
}

/// What deploy, promote, teardown and status share on the command line.
enum LifecycleCLI {
    /// Parses a `--timeout`/`--interval` value (`60s`, `500ms`, `2m`, or whole seconds).
    static func duration(_ text: String, option: String) throws -> ManifestDuration {
        if let seconds = Int(text), seconds > 0 { return ManifestDuration(milliseconds: seconds * 1000) }
        guard let duration = ManifestDuration.parse(text), duration.milliseconds > 0 else {
            throw ValidationError("\(option) must be a duration such as 60s, 500ms or 2m, got '\(text)'")
        }
        return duration
    }

    /// `context(_:commandTimeout:)` for deploy and promote, with the action's one deadline: `--timeout` when given,
    /// otherwise the manifest's `WaitBudget` default (60s; on Swarm replicas × update monitor + 30s).
    static func context(_ global: GlobalOptions, timeoutOption: String?) throws -> (LifecycleContext, TimeInterval) {
        let given = try timeoutOption.map { try duration($0, option: "--timeout").seconds }
        var context = try self.context(global, commandTimeout: given ?? WaitBudget.minimum)
        guard let given else {
            let derived = WaitBudget(manifest: context.manifest).defaultTimeout
            if derived != WaitBudget.minimum { context = try self.context(global, commandTimeout: derived) }
            return (context, derived)
        }
        return (context, given)
    }

    /// Loads the manifest and assembles the real runtime, renderer, gate, recorder and lock.
    /// `commandTimeout` bounds each Compose/Docker call (deploy and promote pass their `--timeout`).
    static func context(_ global: GlobalOptions, commandTimeout: TimeInterval = 300) throws -> LifecycleContext {
        let console = global.console
        let url = global.manifestURL
        let manifest = try ManifestLoader().load(from: url, displayPath: global.manifest)
        var recorder = HistoryRecorder(manifest: manifest, manifestURL: url)
        if manifest.runtime == .swarm {
            // Swarm: docker stack deploy on this manager; the admin listener is reached with docker exec.
            var runtime = SwarmRuntime(manifest: manifest)
            runtime.commandTimeout = max(commandTimeout, 10)
            let swarm = runtime
            recorder.nodes = { (try? await swarm.nodesInvolved()) ?? [] }
            return interruptible(
                LifecycleContext(
                    manifestURL: url, manifest: manifest, runtime: runtime,
                    renderer: GeneratorRenderer(manifestName: url.lastPathComponent), gate: policyGate(),
                    recorder: recorder, probe: SwarmAdminTransport(runtime: runtime, manifest: manifest),
                    phases: .fromEnvironment(), warn: { console.warning($0) }))
        }
        var runtime = ComposeRuntime(manifest: manifest)
        runtime.commandTimeout = max(commandTimeout, 10)
        return interruptible(
            LifecycleContext(
                manifestURL: url, manifest: manifest, runtime: runtime,
                renderer: GeneratorRenderer(manifestName: url.lastPathComponent), gate: policyGate(),
                recorder: recorder,
                phases: .fromEnvironment(), warn: { console.warning($0) }))
    }

    /// The context with the signal that stops the command named in the record that closes its open intent.
    private static func interruptible(_ context: LifecycleContext) -> LifecycleContext {
        var context = context
        context.cancellationReason = {
            Interruption.shared.received.map { "\($0) received" } ?? "its task was cancelled"
        }
        return context
    }

    /// Prints progress lines on standard error (unless --quiet); on a terminal the health
    /// wait's repeated `waiting …` lines redraw in place instead of scrolling.
    static func progress(_ console: Console) -> @Sendable (String) -> Void {
        let interactive = isatty(STDERR_FILENO) == 1 && console.verbosity != .quiet
        let state = ProgressLine()
        return { line in
            guard console.verbosity != .quiet else { return }
            if line.hasPrefix("waiting ") {
                if interactive {
                    state.draw("\r\u{1B}[2K" + line)
                    return
                }
                // In a log, a waiting line only when something changed or every 5 seconds.
                let key = line.split(separator: ":", maxSplits: 1).dropFirst().joined()
                guard state.shouldLog(key) else { return }
                state.draw(line + "\n", open: false)
            } else {
                state.draw((state.open ? "\n" : "") + line + "\n", open: false)
            }
        }
    }
}

/// Whether the last progress line was drawn in place (and needs a newline before the next ordinary line).
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var open = false

    private var lastKey = ""
    private var lastLogged = Date.distantPast

    /// Whether a non-interactive waiting line with this content is worth a new log line.
    func shouldLog(_ key: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard key != lastKey || Date().timeIntervalSince(lastLogged) >= 5 else { return false }
        lastKey = key
        lastLogged = Date()
        return true
    }

    func draw(_ text: String, open: Bool = true) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data(text.utf8))
        self.open = open
    }
}

// MARK: - Wiring: the policy gate and the metrics reader.
// These functions are the only place the lifecycle commands pick their collaborators.

extension LifecycleCLI {
    /// The policy gate: the embedded engine (or OPA, per `policy.engine`) over the manifest's policies and thresholds.
    static func policyGate() -> (any PolicyGate)? { PolicyEvaluator() }

    /// The traffic figures of `status`.
    static func statusMetrics() -> (any StatusMetricsReading)? { WindowStatusMetrics() }
}
