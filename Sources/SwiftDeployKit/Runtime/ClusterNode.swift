import Foundation

/// One node of the cluster the project runs on, as its manager reports it (`docker node inspect`).
/// `status` shows them on Swarm, so a node that went down is seen beside where its replicas went.
public struct ClusterNode: Sendable, Equatable {
    /// The full node id.
    public var id: String
    /// `hostname (id prefix)`, the same name the tasks carry (`ContainerStatus.node`): two nodes may share a hostname.
    public var name: String
    /// `manager` or `worker`.
    public var role: String
    /// `ready`, `down`, `disconnected` or `unknown`.
    public var state: String
    /// `active`, `pause` or `drain`.
    public var availability: String

    public init(id: String, name: String, role: String, state: String, availability: String) {
        self.id = id
        self.name = name
        self.role = role
        self.state = state
        self.availability = availability
    }

    /// Ready and accepting tasks.
    public var isUp: Bool { state == "ready" && availability == "active" }

    /// `docker node inspect`'s JSON array, sorted by role (managers first) then name.
    /// Throws `RuntimeError.unreadableAnswer` when it is not an array of nodes.
    public static func parse(_ json: String, command: String) throws -> [ClusterNode] {
        guard let array = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] else {
            throw RuntimeError.unreadableAnswer(command: command, detail: "expected a JSON array of nodes")
        }
        return try array.map { object in
            guard let id = object["ID"] as? String, !id.isEmpty else {
                throw RuntimeError.unreadableAnswer(command: command, detail: "a node without an ID")
            }
            let spec = object["Spec"] as? [String: Any] ?? [:]
            let status = object["Status"] as? [String: Any] ?? [:]
            let hostname = (object["Description"] as? [String: Any])?["Hostname"] as? String ?? "?"
            return ClusterNode(
                id: id, name: "\(hostname) (\(id.prefix(12)))", role: spec["Role"] as? String ?? "unknown",
                state: status["State"] as? String ?? "unknown",
                availability: spec["Availability"] as? String ?? "unknown")
        }.sorted { ($0.role == "manager" ? 0 : 1, $0.name) < ($1.role == "manager" ? 0 : 1, $1.name) }
    }

    /// The node as it appears in `status --format json`.
    public var json: JSONValue {
        .object([
            "id": .string(id), "name": .string(name), "role": .string(role), "state": .string(state),
            "availability": .string(availability),
        ])
    }
}
