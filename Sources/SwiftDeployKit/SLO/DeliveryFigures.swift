import Foundation

/// Delivery figures from the history, for the `slo` policy (`input.delivery`).
///
/// - A *change* is a `deploy` or `promote` that succeeded or failed (a refused or skipped one changed nothing).
/// - A change *failed* when its own outcome failed, or when a `rollback` or a failed gate (verdict `deny`, or a
///   failed outcome) follows it before the next change.
/// - *Change failure rate*: failed changes over the last `changeWindow` changes; null with no change.
/// - *Deployments in the last 7 days*: successful changes whose time is within 7 days of `now`.
/// - *Time since the last rollback or failed gate*: null when the history has none.
/// - *Lead time for changes*: from the commit's time (git, in the project's repository) to the successful change
///   recorded with that commit; only for changes whose commit git knows.
public struct DeliveryFigures: Sendable, Equatable {
    public var changeWindow: Int
    public var changes = 0
    public var failedChanges = 0
    public var deploymentsLast7Days = 0
    public var lastFailure: (event: String, time: String)? = nil
    public var secondsSinceLastFailure: Double? = nil
    public var leadTimes: [Double] = []
    /// Changes whose commit could not be resolved to a time (absent, or unknown to git).
    public var changesWithoutCommitTime = 0

    public static func == (a: DeliveryFigures, b: DeliveryFigures) -> Bool {
        a.json == b.json
    }

    public var changeFailureRate: Double? { changes > 0 ? Double(failedChanges) / Double(changes) : nil }

    public var leadTimeMedian: Double? {
        guard !leadTimes.isEmpty else { return nil }
        let s = leadTimes.sorted(), mid = s.count / 2
        return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
    }

    public var json: JSONValue {
        func opt(_ v: Double?) -> JSONValue { v.map { .double($0) } ?? .null }
        return [
            "change_window": .int(Int64(changeWindow)),
            "changes": .int(Int64(changes)),
            "failed_changes": .int(Int64(failedChanges)),
            "change_failure_rate": opt(changeFailureRate),
            "deployments_last_7d": .int(Int64(deploymentsLast7Days)),
            "last_failure": lastFailure.map { failure -> JSONValue in
                ["event": .string(failure.event), "time": .string(failure.time)]
            } ?? JSONValue.null,
            "seconds_since_last_failure": opt(secondsSinceLastFailure),
            "lead_time_seconds": leadTimes.isEmpty
                ? .null
                : [
                    "median": opt(leadTimeMedian), "max": opt(leadTimes.max()), "samples": .int(Int64(leadTimes.count)),
                ],
            "changes_without_commit_time": .int(Int64(changesWithoutCommitTime)),
        ]
    }
}

/// Reads the history and git for ``DeliveryFigures``.
public struct DeliveryFiguresReader: Sendable {
    /// Resolves a commit to its committer time (Unix seconds); nil when unknown.
    public var commitTime: @Sendable (String) async -> Double?

    /// Resolves many commits at once (what `commitTime` answers for each, the unknown ones absent).
    public var commitTimes: @Sendable ([String]) async -> [String: Double]

    public init(
        commitTime: @escaping @Sendable (String) async -> Double?,
        commitTimes: (@Sendable ([String]) async -> [String: Double])? = nil
    ) {
        self.commitTime = commitTime
        self.commitTimes =
            commitTimes ?? { commits in
                var times: [String: Double] = [:]
                for commit in Set(commits) { if let time = await commitTime(commit) { times[commit] = time } }
                return times
            }
    }

    /// Commit times from `git log -1 --format=%ct <commit>` in `directory`; many at once with one
    /// `git log --no-walk --ignore-missing` per 500 full (40 or 64 digit) hashes, abbreviated ones one by one.
    public static func git(in directory: URL, runner: CommandRunning = SystemCommandRunner()) -> DeliveryFiguresReader {
        // Outside any repository every git asked fails: say so without starting thousands of them (only for the
        // real runner: another one answers what it likes).
        let realGit = runner is SystemCommandRunner
        let noRepository: @Sendable () -> Bool = {
            realGit && GitHead.read(in: directory, environment: ProcessInfo.processInfo.environment) == .none
        }
        let one: @Sendable (String) async -> Double? = { commit in
            guard isHexCommit(commit, lengths: 7...64), !noRepository(),
                let result = try? await runner.run(
                    ["git", "-C", directory.path, "log", "-1", "--format=%ct", commit, "--"], timeout: 10),
                result.succeeded
            else { return nil }
            return Double(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return DeliveryFiguresReader(commitTime: one) { commits in
            var times: [String: Double] = [:]
            if noRepository() { return times }
            let unique = Array(Set(commits)).sorted()
            let full = unique.filter { isHexCommit($0, lengths: 40...40) || isHexCommit($0, lengths: 64...64) }
            var oneByOne = unique.filter { !isHexCommit($0, lengths: 40...40) && !isHexCommit($0, lengths: 64...64) }
            let chunks = stride(from: 0, to: full.count, by: 500).map { Array(full[$0..<min($0 + 500, full.count)]) }
            // The chunks' git processes run a few at a time (a commit git does not have costs it a rescan of its
            // packs: thousands of them take a second of one core); their answers are taken in the chunks' order.
            let answers = await inParallel(chunks, at: min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))) {
                chunk -> [(String, Double)]? in
                guard
                    let result = try? await runner.run(
                        [
                            "git", "-C", directory.path, "log", "--no-walk=unsorted", "--ignore-missing",
                            "--format=%H %ct",
                        ] + chunk + ["--"], timeout: 30),
                    result.succeeded
                else { return nil }
                return result.stdout.split(separator: "\n").compactMap { line in
                    let parts = line.split(separator: " ")
                    guard parts.count == 2, let time = Double(parts[1]) else { return nil }
                    return (String(parts[0]), time)
                }
            }
            for (chunk, answer) in zip(chunks, answers) {
                guard let answer else {
                    oneByOne += chunk  // e.g. a hash naming a tree: each asked as before
                    continue
                }
                for (commit, time) in answer { times[commit] = time }
            }
            for commit in oneByOne { if let time = await one(commit) { times[commit] = time } }
            return times
        }
    }

    /// `body` of each of `items`, at most `width` at once; the results in the items' order.
    static func inParallel<Item: Sendable, Result: Sendable>(
        _ items: [Item], at width: Int, _ body: @escaping @Sendable (Item) async -> Result
    ) async -> [Result] {
        await withTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: items.count)
            var next = 0
            while next < min(width, items.count) {
                let index = next
                group.addTask { (index, await body(items[index])) }
                next += 1
            }
            while let (index, result) = await group.next() {
                results[index] = result
                if next < items.count {
                    let index = next
                    group.addTask { (index, await body(items[index])) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }

    static func isHexCommit(_ text: String, lengths: ClosedRange<Int>) -> Bool {
        lengths.contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    private struct Line: Decodable {
        var time: String?
        var event: String?
        var outcome: String?
        var commit: String?
        var decision: Decision?
        struct Decision: Decodable { var verdict: String? }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            time = try? c.decodeIfPresent(String.self, forKey: AnyKey("time"))
            event = try? c.decodeIfPresent(String.self, forKey: AnyKey("event"))
            outcome = try? c.decodeIfPresent(String.self, forKey: AnyKey("outcome"))
            commit = try? c.decodeIfPresent(String.self, forKey: AnyKey("commit"))
            decision = try? c.decodeIfPresent(Decision.self, forKey: AnyKey("decision"))
        }
    }

    private struct Change {
        var time: Date
        var succeeded: Bool
        var failed: Bool
        var commit: String?
    }

    /// The figures over the history at `url` as of `now`. A missing history is no change at all; an unreadable one
    /// throws (`HistoryError`).
    public func read(history url: URL, changeWindow: Int, now: Date = Date()) async throws -> DeliveryFigures {
        var figures = DeliveryFigures(changeWindow: changeWindow)
        var changes: [Change] = []
        var lastFailure: (event: String, time: Date, text: String)?
        let decoder = JSONDecoder()
        do {
            try HistoryLineReader.forEachLine(in: url) { bytes, _, terminated in
                guard terminated, let line = try? decoder.decode(Line.self, from: Data(bytes)),
                    let timeText = line.time, let time = HistoryTime.parse(timeText), let event = line.event
                else { return }
                let outcome = line.outcome?.lowercased()
                let failed = outcome.map { AuditAccumulator.failureOutcomes.contains($0) } ?? false
                let succeeded = !failed && (outcome.map { AuditAccumulator.successOutcomes.contains($0) } ?? true)
                switch event {
                case "deploy", "promote":
                    if failed || succeeded {
                        changes.append(Change(time: time, succeeded: succeeded, failed: failed, commit: line.commit))
                    }
                case "rollback":
                    if let last = changes.indices.last, changes[last].succeeded { changes[last].failed = true }
                    lastFailure = (event, time, timeText)
                case "gate":
                    let verdict = line.decision?.verdict?.lowercased()
                    if verdict == "deny" || failed {
                        if let last = changes.indices.last, changes[last].succeeded { changes[last].failed = true }
                        lastFailure = (event, time, timeText)
                    }
                default: break
                }
            }
        } catch HistoryError.missing {
            return figures
        }
        let recent = changes.suffix(changeWindow)
        figures.changes = recent.count
        figures.failedChanges = recent.filter(\.failed).count
        figures.deploymentsLast7Days =
            changes.filter { $0.succeeded && now.timeIntervalSince($0.time) <= 7 * 86_400 }.count
        if let lastFailure {
            figures.lastFailure = (lastFailure.event, lastFailure.text)
            figures.secondsSinceLastFailure = max(0, now.timeIntervalSince(lastFailure.time))
        }
        var commitTimes: [String: Double?] = [:]
        for change in recent where change.succeeded {
            var committed: Double?
            if let commit = change.commit {
                if let known = commitTimes[commit] {
                    committed = known
                } else {
                    committed = await commitTime(commit)
                    commitTimes[commit] = committed
                }
            }
            if let committed {
                figures.leadTimes.append(max(0, change.time.timeIntervalSince1970 - committed))
            } else {
                figures.changesWithoutCommitTime += 1
            }
        }
        return figures
    }
}
