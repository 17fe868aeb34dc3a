import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The phases a rollout's history records carry in `details.phase`.
public enum RolloutPhase: String, Sendable, CaseIterable {
    /// The rollout began: the candidate's image and version, the plan.
    case start
    /// The candidate was started with no traffic (the outcome of the `rollout start` intent).
    case candidate
    /// A step's weight was set and its interval began.
    case step
    /// A step was judged: the evidence, the verdict and what follows.
    case decision
    /// The rollout stopped and waits for `rollout resume`.
    case paused
    /// `rollout resume` took it up again.
    case resumed
    /// `rollout pause|abort|promote` asked the running rollout to act.
    case request
    /// Finished: the candidate is the new stable.
    case promoted
    /// Ended without promotion: traffic back on stable, candidate removed.
    case aborted
}

/// What a rollout is, as its history and the running stack tell it. `rollout status` shows it; `resume`,
/// `pause`, `abort` and `promote` act on it.
public struct RolloutStatus: Sendable, Equatable {
    public enum State: String, Sendable { case none, running, paused, promoted, aborted }

    public struct Side: Sendable, Equatable {
        public var image: String
        public var version: String
        /// Its replicas the engine wants running (Swarm's tasks, Compose's containers) and how many of them run.
        public var replicas: Int? = nil
        public var running: Int? = nil
        /// Each replica that does not run, named with its state and node (`app-canary.2 starting on vm (k3j2f…)`).
        public var notRunning: [String] = []
        public init(image: String, version: String) {
            self.image = image
            self.version = version
        }
    }

    public var state: State
    /// The rollout's id (its start record's), when there is one.
    public var id: String?
    /// 0-based index of the current (or last) step.
    public var step: Int
    public var steps: [Int]
    /// The canary's current share of traffic in percent.
    public var weight: Int
    public var interval: ManifestDuration
    public var sticky: Bool
    public var onInconclusive: RolloutInconclusiveAction
    public var stable: Side?
    public var canary: Side?
    public var lastVerdict: String?
    public var lastReasons: [String]
    /// The rollout's CLI was killed: the history says a step was running but no process runs it.
    public var interrupted: Bool
    /// When the last step decision was allow: resume goes on with the next step.
    public var lastStepJudged: Bool
    /// Start time and the time of the last record.
    public var startedAt: Date?
    /// Remarks on what the stack shows (a missing candidate container, …).
    public var notes: [String]
    /// On Swarm: nginx's weight label (`swiftdeploy.canary.weight`) as read, the weight a new nginx task starts on and
    /// the one set with each step; nil on Compose or when it could not be read (a note says why).
    public var nginxWeightLabel: String? = nil

    public var json: JSONValue {
        func side(_ s: Side?) -> JSONValue {
            guard let s else { return .null }
            return .object([
                "image": .string(s.image), "version": .string(s.version),
                "replicas": s.replicas.map { .int(Int64($0)) } ?? .null,
                "replicas_running": s.running.map { .int(Int64($0)) } ?? .null,
                "not_running": .array(s.notRunning.map(JSONValue.string)),
            ])
        }
        return .object([
            "state": .string(state.rawValue),
            "id": id.map(JSONValue.string) ?? .null,
            "step": .int(Int64(step)),
            "steps": .array(steps.map { .int(Int64($0)) }),
            "weight": .int(Int64(weight)),
            "interval_seconds": .double(interval.seconds),
            "sticky": .bool(sticky),
            "on_inconclusive": .string(onInconclusive.rawValue),
            "stable": side(stable),
            "canary": side(canary),
            "last_decision": lastVerdict.map {
                JSONValue.object(["verdict": .string($0), "reasons": .array(lastReasons.map(JSONValue.string))])
            } ?? .null,
            "interrupted": .bool(interrupted),
            "notes": .array(notes.map(JSONValue.string)),
            "nginx_weight_label": nginxWeightLabel.map(JSONValue.string) ?? .null,
        ])
    }
}

/// One rollout record read back from the history.
struct RolloutRecord {
    var time: Date?
    var outcome: String
    var details: [String: JSONValue]
    var decision: JSONValue?
    var phase: RolloutPhase? { details["phase"]?.stringValue.flatMap(RolloutPhase.init(rawValue:)) }
    var rolloutID: String? { details["rollout_id"]?.stringValue }
    func int(_ key: String) -> Int? { details[key].flatMap(jsonInt) }
}

func jsonInt(_ value: JSONValue) -> Int? {
    switch value {
    case .int(let v): return Int(v)
    case .double(let v) where v.isFinite && v == v.rounded(): return Int(v)
    default: return nil
    }
}

/// Reads the rollout records of a history file and folds them, with the running containers, into a status.
public struct RolloutStateReader: Sendable {
    public var manifest: Manifest
    /// The project lock: a rollout is `running` only while the process that wrote its last record holds it.
    public var lock: DeployLock

    public init(manifest: Manifest, lock: DeployLock? = nil) {
        self.manifest = manifest
        self.lock = lock ?? DeployLock(project: manifest.project)
    }

    /// The records of the most recent rollout, oldest first (empty when there is none).
    func lastRollout() throws -> [RolloutRecord] {
        var records: [RolloutRecord] = []
        do {
            try HistoryLineReader.forEachLine(in: manifest.historyURL) { bytes, _, _ in
                guard let data = Optional(Data(bytes)), let line = try? JSONValue.parse(data),
                    line["event"]?.stringValue == HistoryEvent.rollout.rawValue,
                    case .object(let details)? = line["details"]
                else { return }
                let time = line["time"]?.stringValue.flatMap { HistoryTime.parse($0) }
                let record = RolloutRecord(
                    time: time, outcome: line["outcome"]?.stringValue ?? "", details: details,
                    decision: line["decision"])
                if record.phase == .start { records = [] }
                records.append(record)
            }
        } catch HistoryError.missing {
            return []
        }
        return records
    }

    /// The status: history first, then what the engine shows (`containers`, nil when it could not be asked) and, on
    /// Swarm, nginx's weight label (`nginxWeightLabel`: its value, or the failure to read it), compared with the
    /// history's weight.
    public func status(containers: [ContainerStatus]?, nginxWeightLabel: Result<String, any Error>? = nil) throws
        -> RolloutStatus
    {
        var status = try historyStatus(containers: containers)
        for (service, keyPath) in [
            (manifest.services.name, \RolloutStatus.stable),
            (CanaryRender.serviceName(for: manifest.services.name), \RolloutStatus.canary),
        ] {
            guard let containers, status[keyPath: keyPath] != nil else { continue }
            let replicas = containers.filter { $0.service == service }
            status[keyPath: keyPath]?.replicas = replicas.count
            status[keyPath: keyPath]?.running = replicas.filter { $0.state == "running" }.count
            status[keyPath: keyPath]?.notRunning = replicas.filter { $0.state != "running" }
                .map { "\($0.name) \($0.state)\($0.node.map { " on \($0)" } ?? "")" }
        }
        switch nginxWeightLabel {
        case .success(let label)?:
            status.nginxWeightLabel = label
            let expected = [.running, .paused].contains(status.state) ? status.weight : 0
            if label != String(expected), !(expected == 0 && label.isEmpty) {
                status.notes.append(
                    """
                    nginx's weight label says \(label.isEmpty ? "nothing" : "'\(label)'") where the history says \
                    \(expected)%: a new nginx task would start on the label's split; `swiftdeploy rollout resume` \
                    sets the step's weight again, `rollout abort` puts all traffic back on stable
                    """
                )
            }
        case .failure(let error)?:
            status.notes.append("nginx's weight label could not be read: \(error.localizedDescription)")
        case nil:
            break
        }
        return status
    }

    func historyStatus(containers: [ContainerStatus]?) throws -> RolloutStatus {
        let records = try lastRollout()
        let defaults = manifest.rollout
        var status = RolloutStatus(
            state: .none, id: nil, step: 0, steps: defaults.steps, weight: 0, interval: defaults.interval,
            sticky: defaults.sticky, onInconclusive: defaults.onInconclusive, stable: nil, canary: nil,
            lastVerdict: nil, lastReasons: [], interrupted: false, lastStepJudged: false,
            startedAt: nil, notes: [])
        let app = manifest.services.name
        let canaryService = CanaryRender.serviceName(for: app)
        let running = containers?.filter { $0.state == "running" } ?? []
        if let stable = running.first(where: { $0.service == app }) {
            status.stable = .init(image: stable.image, version: stable.environment["APP_VERSION"] ?? "unknown")
        }
        let canaryContainer = running.first(where: { $0.service == canaryService })
        if let canary = canaryContainer {
            status.canary = .init(image: canary.image, version: canary.environment["APP_VERSION"] ?? "unknown")
        }
        guard let start = records.first, start.phase == .start else {
            if canaryContainer != nil {
                status.notes.append("a \(canaryService) container runs but the history records no rollout")
            }
            return status
        }
        status.id = start.rolloutID
        status.startedAt = start.time
        if case .array(let steps)? = start.details["steps"] { status.steps = steps.compactMap(jsonInt) }
        if let ms = start.int("interval_ms") { status.interval = ManifestDuration(milliseconds: ms) }
        if case .bool(let sticky)? = start.details["sticky"] { status.sticky = sticky }
        if let action = start.details["on_inconclusive"]?.stringValue.flatMap(RolloutInconclusiveAction.init(rawValue:))
        {
            status.onInconclusive = action
        }
        if status.canary == nil, let image = start.details["image"]?.stringValue {
            status.canary = .init(image: image, version: start.details["version"]?.stringValue ?? "unknown")
        }
        var last: RolloutPhase = .start
        var pid: Int32?
        for record in records {
            guard let phase = record.phase else { continue }
            // A request is written by another process (`rollout pause|abort|promote`) and changes nothing by itself.
            if phase == .request { continue }
            if let p = record.int("pid") { pid = Int32(p) }
            switch phase {
            case .step where record.outcome == "ok":
                status.step = record.int("step") ?? status.step
                status.weight = record.int("weight") ?? status.weight
                status.lastStepJudged = false
            case .decision:
                status.lastVerdict = record.decision?["verdict"]?.stringValue ?? record.outcome
                if case .array(let reasons)? = record.decision?["reasons"] {
                    status.lastReasons = reasons.compactMap(\.stringValue)
                }
                status.lastStepJudged =
                    record.decision?["verdict"]?.stringValue.map { $0 == "allow" || $0 == "warn" } ?? false
            case .promoted, .aborted:
                status.weight = record.int("weight") ?? 0
            default: break
            }
            last = phase
        }
        switch last {
        case .promoted: status.state = .promoted
        case .aborted: status.state = .aborted
        case .paused: status.state = .paused
        default:
            if let pid, holdsLock(pid) {
                status.state = .running
            } else {
                status.state = .paused
                status.interrupted = true
                status.notes.append(
                    """
                    the CLI running this rollout is gone (killed?); `swiftdeploy rollout resume` continues from \
                    step \(status.step)
                    """
                )
            }
        }
        if [.running, .paused].contains(status.state), containers != nil, canaryContainer == nil {
            status.notes.append(
                """
                the history says the rollout is \(status.state.rawValue) but no \(canaryService) container runs; \
                `swiftdeploy rollout abort` ends it
                """
            )
        }
        return status
    }

    /// Whether process `pid` of this host holds the project lock for a rollout command now: the lock file names it
    /// (a holder writes its description on taking the lock and empties it on release; a killed holder's stays
    /// behind) and that process still exists. A killed CLI is therefore never taken for a running one.
    func holdsLock(_ pid: Int32) -> Bool {
        guard pid > 0, let holder = lock.read(), holder.action.hasPrefix("rollout"), holder.pid == pid,
            holder.host == ProcessInfo.processInfo.hostName
        else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Control requests (`pause`, `abort`, `promote`) recorded for rollout `id` since it was last started or
    /// resumed: a request already acted on (a pause, then a resume) is not acted on again.
    func requests(id: String) throws -> [String] {
        var pending: [String] = []
        for record in try lastRollout() where record.rolloutID == id {
            if record.phase == .resumed { pending = [] }
            if record.phase == .request, let action = record.details["action"]?.stringValue { pending.append(action) }
        }
        return pending
    }
}
