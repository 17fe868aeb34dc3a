import Foundation

/// The audit's Rollouts section: each `swiftdeploy rollout` in the period (start, every step with its weight and
/// verdict, outcome, duration), folded from the `rollout` event's records by their `details.rollout_id`.
/// An aborted (rolled-back) rollout counts as a prevented failure; a promoted one as a deployment.
struct AuditRollout: Sendable, Equatable {
    struct Step: Sendable, Equatable {
        var step: Int
        var weight: Int
        var verdict: String?
    }

    var id: String
    var started: String
    var image: String
    var version: String
    var steps: [Step] = []
    /// `running` until a `promoted` or `aborted` record (then that, or the aborted record's outcome).
    var outcome: String = "running"
    var ended: String?
    var seconds: Double?
    var startDate: Date

    var stepsText: String {
        steps.isEmpty ? "none" : steps.map { "\($0.weight)% \($0.verdict ?? "…")" }.joined(separator: ", ")
    }

    var json: JSONValue {
        .object([
            "id": .string(id), "started": .string(started), "image": .string(image), "version": .string(version),
            "steps": .array(
                steps.map {
                    .object([
                        "step": .int(Int64($0.step)), "weight": .int(Int64($0.weight)),
                        "verdict": $0.verdict.map(JSONValue.string) ?? .null,
                    ])
                }),
            "outcome": .string(outcome), "ended": ended.map(JSONValue.string) ?? .null,
            "duration_seconds": seconds.map(JSONValue.double) ?? .null,
        ])
    }
}

/// Folds rollout records; keeps at most `limit` rollouts (the most recent), counting all.
struct AuditRolloutFolder {
    static let limit = 1000
    private(set) var rollouts: [AuditRollout] = []
    private var index: [String: Int] = [:]
    private(set) var total = 0
    private(set) var promoted = 0
    private(set) var prevented = 0

    /// Returns true when the record ended a rollout by promoting it (a deployment).
    @discardableResult
    mutating func consume(
        _ fields: AuditLine.RolloutFields, verdict: String?, outcome: String?, time: Date, timeText: String
    ) -> Bool {
        guard let id = fields.rolloutID, let phase = fields.phase else { return false }
        if phase == "start" {
            total += 1
            if rollouts.count >= Self.limit {
                let dropped = rollouts.removeFirst()
                index[dropped.id] = nil
                index = index.mapValues { $0 - 1 }
            }
            rollouts.append(
                AuditRollout(
                    id: id, started: timeText, image: fields.image ?? "?", version: fields.version ?? "?",
                    startDate: time))
            index[id] = rollouts.count - 1
            return false
        }
        guard let i = index[id] else { return false }
        switch phase {
        case "step":
            if let step = fields.step, let weight = fields.weight {
                rollouts[i].steps.append(.init(step: step, weight: weight, verdict: nil))
            }
        case "decision":
            if let last = rollouts[i].steps.indices.last { rollouts[i].steps[last].verdict = verdict ?? outcome }
        case "paused":
            rollouts[i].outcome = "paused"
        case "resumed", "step-resumed":
            rollouts[i].outcome = "running"
        case "promoted", "aborted":
            rollouts[i].outcome = phase == "promoted" ? "promoted" : (outcome == "failed" ? "failed" : "aborted")
            rollouts[i].ended = timeText
            rollouts[i].seconds = time.timeIntervalSince(rollouts[i].startDate)
            if phase == "promoted" {
                promoted += 1
                return true
            }
            prevented += 1
        default:
            break
        }
        return false
    }
}

extension AuditLine {
    /// The `details` fields of a `rollout` record.
    struct RolloutFields: Decodable {
        var phase: String?
        var rolloutID: String?
        var step: Int?
        var weight: Int?
        var image: String?
        var version: String?

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            phase = try? c.decodeIfPresent(String.self, forKey: AnyKey("phase"))
            rolloutID = try? c.decodeIfPresent(String.self, forKey: AnyKey("rollout_id"))
            step = try? c.decodeIfPresent(Int.self, forKey: AnyKey("step"))
            weight = try? c.decodeIfPresent(Int.self, forKey: AnyKey("weight"))
            image = try? c.decodeIfPresent(String.self, forKey: AnyKey("image"))
            version = try? c.decodeIfPresent(String.self, forKey: AnyKey("version"))
        }
    }
}

extension AuditLine.RolloutFields: Equatable {}
