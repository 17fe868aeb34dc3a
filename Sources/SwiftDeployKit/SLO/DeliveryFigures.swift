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
    /// `listObjects` (the default) leaves out of those `git log`s the full hashes the object store does not hold,
    /// where listing the store is exact and cheap (`storedObjects`): the answers are the same.
    public static func git(
        in directory: URL, runner: CommandRunning = SystemCommandRunner(), listObjects: Bool = true
    ) -> DeliveryFiguresReader {
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
            var chunks = stride(from: 0, to: full.count, by: 500).map { Array(full[$0..<min($0 + 500, full.count)]) }
            // A hash git does not have costs each `git log` two rescans of its pack directory (some 35 µs: 10,000
            // made-up or shallow-clone commits take a third of a second of CPU); one listing of a small store
            // costs about a microsecond an object. The chunks are cut as before and only thinned, so that each
            // chunk's `git log` succeeds or fails as it did (a tree in a chunk sends it one by one, where a hash
            // the store does not hold answers nothing either).
            // The listing starts one to four git processes of its own: under `listingMinimum` hashes (a gate's
            // delivery figures ask a dozen) the misses it could save cost less than starting them.
            if listObjects, full.count >= listingMinimum,
                let stored = await storedObjects(of: full, in: directory, runner: runner)
            {
                chunks = chunks.map { chunk in
                    chunk.filter { $0.utf8.count != stored.hashLength || stored.hashes.contains($0) }
                }
            }
            // The chunks' git processes run a few at a time; their answers are taken in the chunks' order.
            let answers = await inParallel(chunks, at: min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))) {
                chunk -> [(String, Double)]? in
                if chunk.isEmpty { return [] }  // what `git log --ignore-missing` answers for hashes it does not have
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

    /// The fewest full hashes for which `storedObjects` is worth its git processes (100 misses: about 3.5 ms).
    static let listingMinimum = 100

    /// Which of `hashes` the object store of the repository at `directory` holds (any type), from one
    /// `git cat-file --batch-all-objects` listing, and the length of the store's hashes (a hash of another length
    /// is not an object name there: `git log` reads it as a ref name, so it is to be asked as before). nil, and
    /// every hash is asked, where the listing would cost more than the misses it saves or could differ from what
    /// `git log` finds: more than 8 objects a hash asked (or a count git does not give, alternates included),
    /// replace refs (`git log` follows them to objects the store may not hold), a promisor remote (a partial clone:
    /// `git log` may fetch what is missing), or any git that fails or answers output cut at the runner's limit.
    static func storedObjects(
        of hashes: [String], in directory: URL, runner: CommandRunning
    ) async -> (hashes: Set<String>, hashLength: Int)? {
        guard !hashes.isEmpty, ProcessInfo.processInfo.environment["GIT_REPLACE_REF_BASE"] == nil else { return nil }
        func git(_ arguments: [String]) async -> CommandResult? {
            try? await runner.run(["git", "-C", directory.path] + arguments, timeout: 30)
        }
        guard let counted = await git(["count-objects", "-v"]), counted.succeeded else { return nil }
        var objects = 0, fields = 0
        for line in counted.stdout.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { return nil }
            switch parts[0] {
            case "count", "in-pack":
                guard let n = Int(parts[1]) else { return nil }
                objects += n
                fields += 1
            case "alternate": return nil  // objects the count leaves out
            default: break
            }
        }
        guard fields == 2, objects <= 8 * hashes.count else { return nil }
        guard let replace = await git(["for-each-ref", "--count=1", "--format=%(refname)", "refs/replace/"]),
            replace.succeeded, replace.stdout.isEmpty
        else { return nil }
        // Exit status 1: no such key (any other answer: not known to be a plain clone).
        guard
            let promisor = await git(["config", "--get-regexp", #"^(extensions\.partialclone|remote\..*\.promisor)$"#]),
            !promisor.timedOut, promisor.status == 1
        else { return nil }
        guard
            let listed = await git(["cat-file", "--batch-all-objects", "--batch-check=%(objectname)", "--unordered"]),
            listed.succeeded, listed.stdoutOmittedBytes == 0, !listed.outputIncomplete
        else { return nil }
        let asked = Set(hashes)
        var held = Set<String>()
        var length: Int?
        for name in listed.stdout.split(separator: "\n") {
            guard length == nil || name.utf8.count == length else { return nil }
            length = name.utf8.count
            let name = String(name)
            if asked.contains(name) { held.insert(name) }
        }
        guard let length, length == 40 || length == 64 else { return nil }
        return (held, length)
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
