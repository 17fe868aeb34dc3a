import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The `slo` policy domain end to end in the library: evidence from a Prometheus HTTP API (a loopback stand-in
/// answering the recorded series, and a real Prometheus loaded with the generated rules) and from the history,
/// judged by the repository's policies/slo.rego with the embedded engine.
@Suite struct SLOGateTests {
    /// A project directory with a manifest (slo block, the repository's policies and thresholds) and a history.
    struct Project {
        let dir: TemporaryDirectory
        let manifest: Manifest

        init(prometheusURL: String?, history: String? = nil, serviceName: String = "app", extra: String = "") throws {
            dir = try TemporaryDirectory(prefix: "swiftdeploy-slo")
            let root = RepositoryPaths.root
            let text = """
                project: slo-gate
                services:
                  name: \(serviceName)
                  image: swiftdeploy/api:0.1.0
                  port: 3000
                nginx:
                  image: swiftdeploy/nginx:bookworm
                  port: 18080
                network:
                  name: slo-net
                  driver_type: bridge
                policy:
                  dir: policies
                  thresholds: thresholds.json
                \(prometheusURL.map { "metrics:\n  prometheus_url: \($0)\n" } ?? "")slo:
                  window: 30d
                  change_window: 10
                  objectives:
                    - name: availability
                      target: 99.5
                \(extra)
                """
            let url = try dir.write(text, to: "manifest.yaml")
            // The repository's policies and thresholds, copied in: swiftdeploy reads nothing outside the project.
            try FileManager.default.copyItem(
                at: root.appendingPathComponent("policies"), to: dir.url.appendingPathComponent("policies"))
            try FileManager.default.copyItem(
                at: root.appendingPathComponent("thresholds.json"),
                to: dir.url.appendingPathComponent("thresholds.json"))
            if let history {
                let data = try Data(contentsOf: fixture("slo/\(history)"))
                try data.write(to: dir.url.appendingPathComponent("history.jsonl"))
            }
            manifest = try ManifestLoader().load(from: url)
        }

        func decide(commitTime: @escaping @Sendable (String) -> Double? = { _ in nil }) async -> PolicyDecision {
            var evaluator = PolicyEvaluator()
            evaluator.sloEvidence = { request in
                await SLOCollector(
                    limits: HTTPLimits(connectTimeout: 1, totalTimeout: 3),
                    delivery: { _ in DeliveryFiguresReader(commitTime: commitTime) }
                )
                .collect(manifest: request.manifest)
            }
            return await evaluator.evaluate(domain: "slo", request: GateRequest(manifest: manifest, action: "gate"))
        }
    }

    /// Answers `slo:sli_error:ratio_rate<window>` with `ratio(window)` for the availability objective, and no alerts.
    static func fakePrometheus(_ ratio: @escaping @Sendable (String) -> String?) throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { request in
            let query =
                URLComponents(string: "http://x" + request.path)?.queryItems?.first { $0.name == "query" }?.value ?? ""
            if query.hasPrefix("slo:sli_error:ratio_rate") {
                let window = String(query.dropFirst("slo:sli_error:ratio_rate".count))
                guard let value = ratio(window) else {
                    return .json(#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
                }
                return .json(
                    #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"\#(query)","objective":"availability"},"value":[1764000000,"\#(value)"]}]}}"#
                )
            }
            return .json(#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
        }
    }

    // MARK: delivery figures

    @Test func deliveryFiguresFromAFixtureHistory() async throws {
        let reader = DeliveryFiguresReader { commit in
            commit == String(repeating: "0", count: 39) + "1" ? 1_763_999_000 : nil
        }
        let now = HistoryTime.parse("2025-11-25T04:00:00.000Z")!
        let figures = try await reader.read(history: fixture("slo/history-failing.jsonl"), changeWindow: 10, now: now)
        #expect(figures.changes == 10)
        #expect(figures.failedChanges == 4)
        #expect(figures.changeFailureRate == 0.4)
        #expect(figures.deploymentsLast7Days == 10)
        #expect(figures.lastFailure?.event == "gate")
        #expect(figures.lastFailure?.time == "2025-11-25T01:10:00.000Z")
        #expect(figures.secondsSinceLastFailure == 10_200)
        // Only the first change's commit is known: lead time = 16:00:00 − its commit time.
        #expect(figures.leadTimes == [1000])
        #expect(figures.changesWithoutCommitTime == 9)
        // The window counts the last N changes only.
        let last3 = try await reader.read(history: fixture("slo/history-failing.jsonl"), changeWindow: 3, now: now)
        #expect(last3.changes == 3 && last3.failedChanges == 2)
        // No history yet: no changes, no rate (never a made-up zero).
        let none = try await reader.read(
            history: URL(fileURLWithPath: "/nonexistent/history.jsonl"), changeWindow: 10, now: now)
        #expect(none.changes == 0 && none.changeFailureRate == nil)
        #expect(none.json["change_failure_rate"] == .null)
    }

    @Test(.requires(.git)) func leadTimeComesFromGit() async throws {
        let git = try TestRequirement.git.value()
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-lead")
        defer { dir.remove() }
        _ = try dir.write("x\n", to: "file.txt")
        for args in [
            ["init", "-q"], ["add", "file.txt"],
            [
                "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "one", "--date",
                "2025-11-24T15:00:00Z",
            ],
        ] {
            var env = ProcessInfo.processInfo.environment
            env["GIT_COMMITTER_DATE"] = "2025-11-24T15:00:00Z"
            let result = try await ProcessRunner.run([git, "-C", dir.path] + args, environment: env, timeout: 60)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let sha = try await ExternalTool.run(git, ["-C", dir.path, "rev-parse", "HEAD"]).output.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let history = #"{"event":"deploy","outcome":"ok","commit":"\#(sha)","time":"2025-11-24T16:30:00.000Z"}"# + "\n"
        let url = try dir.write(history, to: "history.jsonl")
        let figures = try await DeliveryFiguresReader.git(in: dir.url).read(history: url, changeWindow: 10)
        #expect(figures.leadTimes == [5400])
        #expect(figures.json["lead_time_seconds"]?["median"] == .double(5400))
    }

    /// `audit` resolves thousands of changes' commits: one git process per 500 full hashes answers exactly what
    /// asking git once per commit answers (known commits, abbreviated ones, unknown and non-hex ones left out).
    /// A repository in `dir` with three commits (committed 2025-11-24T15:00, 11-25T09:30, 11-26T18:45 UTC), their
    /// hashes in order; `extra` git commands run after them.
    static func threeCommits(in dir: TemporaryDirectory, then extra: [[String]] = []) async throws -> [String] {
        let git = try TestRequirement.git.value()
        var shas: [String] = []
        for (n, date) in ["2025-11-24T15:00:00Z", "2025-11-25T09:30:00Z", "2025-11-26T18:45:00Z"].enumerated() {
            _ = try dir.write("\(n)\n", to: "file.txt")
            var commands = [
                ["add", "file.txt"],
                ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "c\(n)"],
            ]
            if n == 0 { commands.insert(["init", "-q"], at: 0) }
            if n == 2 { commands += extra }
            for args in commands {
                var env = ProcessInfo.processInfo.environment
                env["GIT_COMMITTER_DATE"] = date
                let result = try await ProcessRunner.run([git, "-C", dir.path] + args, environment: env, timeout: 60)
                #expect(result.status == 0, "\(result.stderr)")
            }
            await shas.append(
                try ExternalTool.run(git, ["-C", dir.path, "rev-parse", "HEAD"]).output.trimmingCharacters(
                    in: .whitespacesAndNewlines))
        }
        return shas
    }

    /// 40-digit hashes no repository holds, spread over the hex range.
    static func unknownHashes(_ count: Int) -> [String] {
        (0..<count).map { String(format: "%08x", UInt32(truncatingIfNeeded: ($0 + 1) &* 2_863_311)) + "0" }
            .map { $0 + String(repeating: "0", count: 40 - $0.count) }
    }

    @Test(.requires(.git)) func manyCommitTimesAtOnceAnswerAsOneByOne() async throws {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-lead")
        defer { dir.remove() }
        let shas = try await Self.threeCommits(in: dir)
        let reader = DeliveryFiguresReader.git(in: dir.url)
        let asked = shas + [String(shas[1].prefix(10)), String(repeating: "ab", count: 20), "not-a-commit", shas[0]]
        var oneByOne: [String: Double] = [:]
        for commit in asked { if let time = await reader.commitTime(commit) { oneByOne[commit] = time } }
        #expect(oneByOne.count == 4, "three full hashes and one abbreviated one are known")
        #expect(await reader.commitTimes(asked) == oneByOne)
        #expect(oneByOne[shas[2]] == 1_764_182_700)

        // More full hashes than one git process is given (500): the chunks are asked at once, a few git processes
        // at a time, and answer the same. 1,500 unknown hashes spread over the hex range put the known commits in
        // different chunks.
        let unknown = Self.unknownHashes(1_500)
        let known = Dictionary(uniqueKeysWithValues: shas.map { ($0, oneByOne[$0]!) })
        #expect(await reader.commitTimes(shas + unknown) == known)
    }

    /// Runs git for real and keeps every command line it was given.
    final class RecordingRunner: CommandRunning, @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [[String]] = []
        var commands: [[String]] { lock.withLock { lines } }

        func run(_ arguments: [String], environment: [String: String]?, timeout: TimeInterval) async throws
            -> CommandResult
        {
            lock.withLock { lines.append(arguments) }
            return try await SystemCommandRunner().run(arguments, environment: environment, timeout: timeout)
        }
    }

    /// The hashes the object store does not hold are left out of the `git log`s (one listing of the store instead
    /// of a rescan of git's packs for each): the answers are those of asking every hash, for commits, an annotated
    /// tag, a tree and a blob (a chunk with a tree is asked one by one), hashes of another length, abbreviations and
    /// thousands of unknown hashes; a store too large for what is asked is not listed.
    @Test(.requires(.git)) func hashesTheStoreDoesNotHoldAreNotAskedAndTheAnswersAreTheSame() async throws {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-lead")
        defer { dir.remove() }
        let shas = try await Self.threeCommits(
            in: dir, then: [["-c", "user.name=t", "-c", "user.email=t@example.com", "tag", "-a", "v1", "-m", "v1"]])
        let git = try TestRequirement.git.value()
        func object(_ name: String) async throws -> String {
            try await ExternalTool.run(git, ["-C", dir.path, "rev-parse", name]).output.trimmingCharacters(
                in: .whitespacesAndNewlines)
        }
        let tag = try await object("refs/tags/v1")
        let tree = try await object("HEAD^{tree}")
        let blob = try await object("HEAD:file.txt")
        #expect(!shas.contains(tag) && tag != shas[2], "an annotated tag is an object of its own")
        let unknown = Self.unknownHashes(2_000)
        let oddOnes = [String(shas[1].prefix(12)), String(repeating: "ab", count: 32), "not-a-commit"]
        let withoutTree = shas + [tag, blob] + oddOnes + unknown
        let withTree = withoutTree + [tree]
        for asked in [withoutTree, withTree, unknown, [shas[0]] + Array(unknown.prefix(600))] {
            let everyHash = await DeliveryFiguresReader.git(in: dir.url, listObjects: false).commitTimes(asked)
            let listing = RecordingRunner()
            let listed = await DeliveryFiguresReader.git(in: dir.url, runner: listing).commitTimes(asked)
            #expect(listed == everyHash, "\(asked.count) hashes asked")
            #expect(listing.commands.contains { $0.contains("--batch-all-objects") }, "the store was listed")
            let logged = listing.commands.filter { $0.contains("log") }.flatMap { $0 }
            #expect(!logged.contains { unknown.contains($0) }, "no unknown hash reached git log")
        }
        #expect(await DeliveryFiguresReader.git(in: dir.url).commitTimes(withoutTree).count == 4, "3 full, 1 short")
        #expect(await DeliveryFiguresReader.git(in: dir.url).commitTimes(unknown) == [:])
        // Three hashes against a dozen objects: asking git costs less than listing them.
        let few = RecordingRunner()
        let answer = await DeliveryFiguresReader.git(in: dir.url, runner: few).commitTimes(Array(shas.prefix(1)))
        #expect(answer.count == 1)
        #expect(!few.commands.contains { $0.contains("--batch-all-objects") }, "a large store is not listed")
    }

    /// A gate asks for a dozen commits: under `listingMinimum` full hashes the store is not listed (the listing's
    /// git processes would cost more than the misses), and the answers are those of asking every hash.
    @Test(.requires(.git)) func fewHashesAreAskedWithoutListingTheStore() async throws {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-lead")
        defer { dir.remove() }
        let shas = try await Self.threeCommits(in: dir, then: [])
        let asked = shas + Self.unknownHashes(DeliveryFiguresReader.listingMinimum - shas.count - 1)
        let runner = RecordingRunner()
        let answer = await DeliveryFiguresReader.git(in: dir.url, runner: runner).commitTimes(asked)
        #expect(answer == (await DeliveryFiguresReader.git(in: dir.url, listObjects: false).commitTimes(asked)))
        #expect(answer.count == 3)
        #expect(!runner.commands.contains { $0.contains("count-objects") || $0.contains("--batch-all-objects") })
    }

    // MARK: the slo domain with a Prometheus stand-in

    /// Done-when: the slo domain denies on a change failure rate above its limit, from a fixture history.
    @Test func deniesOnAChangeFailureRateAboveItsLimit() async throws {
        let prometheus = try Self.fakePrometheus { _ in "0.001" }  // burn 0.2 everywhere: calm
        defer { prometheus.stop() }
        let failing = try Project(
            prometheusURL: prometheus.url("").absoluteString.trimmingSuffix("/"), history: "history-failing.jsonl")
        defer { failing.dir.remove() }
        let decision = await failing.decide()
        #expect(decision.verdict == .deny)
        #expect(
            decision.reasons == [
                """
                change failure rate is 0.4 (4 of the last 10 changes failed), above the maximum ratio of 0.15 \
                (thresholds.json slo.max_change_failure_rate)
                """
            ])
        #expect(decision.input["delivery"]?["change_failure_rate"] == .double(0.4))

        let healthy = try Project(
            prometheusURL: prometheus.url("").absoluteString.trimmingSuffix("/"), history: "history-healthy.jsonl")
        defer { healthy.dir.remove() }
        let allowed = await healthy.decide()
        #expect(allowed.verdict == .allow, "\(allowed.reasons)")
        #expect(allowed.input["slo"]?["objectives"]?["availability"]?["burn_rate"]?["1h"] == .double(0.2))
        #expect(allowed.input["slo"]?["objectives"]?["availability"]?["error_budget_remaining"] == .double(0.8))
    }

    @Test func pageLevelBurnDeniesNamingObjectiveAndWindows() async throws {
        let prometheus = try Self.fakePrometheus { window in ["5m": "0.5", "1h": "0.1"][window] ?? "0.001" }
        defer { prometheus.stop() }
        let project = try Project(prometheusURL: prometheus.url("").absoluteString.trimmingSuffix("/"))
        defer { project.dir.remove() }
        let decision = await project.decide()
        #expect(decision.verdict == .deny)
        #expect(
            decision.reasons == [
                """
                objective availability burns its error budget at 20x over 1h and 100x over 5m, above the \
                page-level 14.4x (thresholds.json slo.page_burn_rates)
                """
            ])
    }

    @Test func ticketLevelBurnWarns() async throws {
        let prometheus = try Self.fakePrometheus { window in ["1d": "0.02", "2h": "0.02"][window] ?? "0.001" }
        defer { prometheus.stop() }
        let project = try Project(prometheusURL: prometheus.url("").absoluteString.trimmingSuffix("/"))
        defer { project.dir.remove() }
        let decision = await project.decide()
        #expect(decision.verdict == .warn)
        #expect(
            decision.reasons == [
                """
                objective availability burns its error budget at 4x over 1d and 4x over 2h, above the \
                ticket-level 3x (thresholds.json slo.ticket_burn_rates)
                """
            ])
    }

    @Test func exhaustedBudgetDenies() async throws {
        let prometheus = try Self.fakePrometheus { window in window == "30d" ? "0.006" : "0.001" }
        defer { prometheus.stop() }
        let project = try Project(prometheusURL: prometheus.url("").absoluteString.trimmingSuffix("/"))
        defer { project.dir.remove() }
        let decision = await project.decide()
        #expect(decision.verdict == .deny)
        #expect(decision.reasons.first?.hasPrefix("objective availability has -0.") == true, "\(decision.reasons)")
        #expect(
            decision.reasons.first?.hasSuffix(
                """
                of its 30d error budget left (as a fraction), at or below the minimum 0 (thresholds.json \
                slo.min_error_budget_remaining)
                """
            ) == true)
    }

    @Test func missingSeriesAreInconclusiveNeverAllow() async throws {
        // The rules are not loaded (no series at all).
        let empty = try Self.fakePrometheus { _ in nil }
        defer { empty.stop() }
        let project = try Project(prometheusURL: empty.url("").absoluteString.trimmingSuffix("/"))
        defer { project.dir.remove() }
        let decision = await project.decide()
        #expect(decision.verdict == .inconclusive)
        #expect(decision.reasons.count == 1)
        #expect(
            decision.reasons.first?.contains(
                "has no value for objective availability over 5m, 30m, 1h, 2h, 6h, 1d, 3d, 30d") == true,
            "\(decision.reasons)")

        // One window is NaN (no requests in the last 5 minutes).
        let nan = try Self.fakePrometheus { window in window == "5m" ? "NaN" : "0.001" }
        defer { nan.stop() }
        let quiet = try Project(prometheusURL: nan.url("").absoluteString.trimmingSuffix("/"))
        defer { quiet.dir.remove() }
        let quietDecision = await quiet.decide()
        #expect(quietDecision.verdict == .inconclusive)
        #expect(
            quietDecision.reasons.first?.contains("over 5m (slo:sli_error:ratio_rate5m{objective=\"availability\"})")
                == true, "\(quietDecision.reasons)")

        // Prometheus answers an error.
        let broken = try LoopbackHTTPServer { _ in
            .json(#"{"status":"error","errorType":"internal","error":"boom"}"#, status: 500)
        }
        defer { broken.stop() }
        let failing = try Project(prometheusURL: broken.url("").absoluteString.trimmingSuffix("/"))
        defer { failing.dir.remove() }
        let failed = await failing.decide()
        #expect(failed.verdict == .inconclusive)
        #expect(failed.reasons.first?.contains("internal: boom") == true, "\(failed.reasons)")
    }

    @Test func noPrometheusOrNoSLOBlockIsInconclusive() async throws {
        let port = LoopbackHTTPServer.unusedPort()
        let down = try Project(prometheusURL: "http://127.0.0.1:\(port)")
        defer { down.dir.remove() }
        let decision = await down.decide()
        #expect(decision.verdict == .inconclusive)
        // Names the Prometheus, the distinct reason, and what to do (not the canary's metrics.source advice).
        #expect(
            decision.reasons.first?.hasPrefix("slo: Prometheus at http://127.0.0.1:\(port) is not reachable: ") == true,
            "\(decision.reasons)")
        #expect(
            decision.reasons.first?.hasSuffix(
                """
                ; start it (`swiftdeploy deploy` runs it when observability.prometheus is true) or fix \
                metrics.prometheus_url
                """
            ) == true,
            "\(decision.reasons)")

        let none = try Project(prometheusURL: nil)
        defer { none.dir.remove() }
        let noURL = await none.decide()
        #expect(noURL.verdict == .inconclusive)
        #expect(
            noURL.reasons == [
                """
                slo: no Prometheus to read the SLO series from; set observability.prometheus: true (swiftdeploy \
                runs one) or metrics.prometheus_url
                """
            ])

        var withoutSLO = none.manifest
        withoutSLO.slo = nil
        let evidence = await SLOCollector().collect(manifest: withoutSLO)
        #expect(evidence.insufficient.first?.contains("the manifest has no slo block") == true)
    }

    // MARK: a real Prometheus with the generated rules

    /// Debian's Prometheus loaded with the rules `init` generates, scraping a loopback stand-in of the service
    /// every 500 ms: healthy traffic allows; a burst of errors denies with the page-level reason (all the data is
    /// minutes
    /// old, so every window from 5m to 30d is evaluated on the data present); Prometheus stopped is inconclusive.
    @Test(.requires(.prometheus)) func realPrometheusWithTheGeneratedRules() async throws {
        let binary = try TestRequirement.prometheus.value()
        let traffic = SwitchableTraffic()
        let target = try LoopbackHTTPServer { _ in .text(traffic.scrape()) }
        defer { target.stop() }
        // The job (the service name) is our own, so the series can only come from this Prometheus.
        let service = "slo\(UUID().uuidString.prefix(6).lowercased())"
        // Prometheus' files, with the rules `init` generates for the project (they do not depend on its URL, which
        // is known only once Prometheus has bound a port of its choice).
        let prom = try Project(prometheusURL: nil, serviceName: service)
        defer { prom.dir.remove() }
        let rules = try #require(
            ObservabilityRenderer(manifest: prom.manifest).files().first { $0.path == "rules/slo.yml" })
        _ = try prom.dir.write(rules.contents, to: "prom/rules/slo.yml")
        let config = """
            global:
              scrape_interval: 500ms
              evaluation_interval: 500ms
            rule_files:
              - rules/slo.yml
            scrape_configs:
              - job_name: \(service)
                static_configs:
                  - targets: ['127.0.0.1:\(target.port)']
            """
        let configURL = try prom.dir.write(config, to: "prom/prometheus.yml")
        let process = try await PrometheusServer(
            binary: binary, config: configURL, dataDirectory: prom.dir.url.appendingPathComponent("prom/data"),
            log: prom.dir.url.appendingPathComponent("prom/prometheus.log"))
        defer { process.stop() }
        let project = try Project(prometheusURL: process.url, serviceName: service)
        defer { project.dir.remove() }

        func waitFor(_ verdict: Verdict, seconds: Double) async -> PolicyDecision? {
            let deadline = MonotonicClock.now() + seconds
            var last: PolicyDecision? = nil
            while MonotonicClock.now() < deadline {
                try? await Task.sleep(nanoseconds: 700_000_000)
                let decision = await project.decide()
                last = decision
                if decision.verdict == verdict { return decision }
            }
            Issue.record(
                """
                no \(verdict) within \(seconds)s; last: \(last?.verdict.rawValue ?? "none") \
                \(last?.reasons ?? []); log: \((try? prom.dir.read("prom/prometheus.log").suffix(600)) ?? "")
                """
            )
            return nil
        }

        // Healthy traffic (and /healthz answering 500s, which the objective leaves out).
        // A loaded machine can take a minute before Prometheus has started and evaluated the rules twice.
        let allowed = await waitFor(.allow, seconds: 150)
        #expect(allowed?.input["slo"]?["objectives"]?["availability"]?["burn_rate"]?["5m"] == .double(0))

        // Chaos: ten errors for every good request, so the ratio over all the data there is (every window) climbs past
        // 14.4 × 0.005 within seconds however long the healthy phase lasted.
        traffic.errorsPerScrape = 1000
        let denied = await waitFor(.deny, seconds: 90)
        #expect(
            denied?.reasons.contains {
                $0.hasPrefix("objective availability burns its error budget at") && $0.contains("over 1h and")
                    && $0.contains("over 5m, above the page-level 14.4x")
            } == true,
            "\(denied?.reasons ?? [])")

        // Prometheus stopped: inconclusive, never allow.
        process.stop()
        let stopped = await project.decide()
        #expect(stopped.verdict == .inconclusive)
        #expect(stopped.reasons.first?.contains("127.0.0.1:\(process.port)") == true, "\(stopped.reasons)")
    }
}

/// The service's exposition moving on every scrape: 100 good requests, `errorsPerScrape` 500s and 50 /healthz 500s.
final class SwitchableTraffic: @unchecked Sendable {
    private let lock = NSLock()
    private var demo = DemoMetrics()
    private var _errors = 0

    var errorsPerScrape: Int {
        get {
            lock.lock()
            defer { lock.unlock() }
            return _errors
        }
        set {
            lock.lock()
            _errors = newValue
            lock.unlock()
        }
    }

    func scrape() -> String {
        lock.lock()
        defer { lock.unlock() }
        demo.record(path: "/", status: 200, seconds: 0.02, count: 100)
        demo.record(path: "/", status: 500, seconds: 0.02, count: _errors)
        demo.record(path: "/healthz", status: 500, seconds: 0.001, count: 50)
        return demo.exposition()
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
