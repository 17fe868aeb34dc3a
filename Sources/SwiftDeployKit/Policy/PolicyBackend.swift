import Foundation

/// What a policy engine answered for one domain.
public enum BackendResult: Sendable, Equatable {
    /// The domain's `deny` and `warn` messages (each sorted, as Rego sets are).
    case decided(deny: [String], warn: [String])
    /// The engine could not decide; the reason names the engine and what went wrong. The verdict is inconclusive.
    case unavailable(String)
}

/// A Rego evaluator the gate asks for `data.swiftdeploy.<domain>`: the embedded engine or an OPA server.
/// Implementations never throw and never hang: every failure is `.unavailable` with its own message.
public protocol PolicyBackend: Sendable {
    /// `embedded` or `opa <url>`: recorded in every decision.
    var engineDescription: String { get }
    func evaluate(domain: String, input: JSONValue) async -> BackendResult
}

/// A backend that cannot decide anything, with the reason: used when the configured engine is missing from the build
/// or could not be set up, so every verdict is inconclusive rather than allow.
public struct UnavailableBackend: PolicyBackend {
    public var engineDescription: String
    public var reason: String

    public init(engineDescription: String, reason: String) {
        self.engineDescription = engineDescription
        self.reason = reason
    }

    public func evaluate(domain: String, input: JSONValue) async -> BackendResult { .unavailable(reason) }
}

/// Reads a domain document (`{"deny": [...], "warn": [...]}`) as the engines return it.
enum DomainDocument {
    /// Interprets `document` for `domain`; `engine` names the engine in messages.
    static func interpret(_ document: JSONValue?, domain: String, engine: String) -> BackendResult {
        guard let document else {
            return .unavailable("\(engine): data.swiftdeploy.\(domain) is undefined: no policy declares package swiftdeploy.\(domain) (add policies/\(domain).rego or check the domain name)")
        }
        guard case .object(let fields) = document else {
            return .unavailable("\(engine): data.swiftdeploy.\(domain) is \(kind(document)), not a package document with deny/warn sets")
        }
        guard let denyValue = fields["deny"] else {
            return .unavailable("\(engine): package swiftdeploy.\(domain) defines no deny rule; every domain must define deny (a set of messages)")
        }
        switch (messages(denyValue), fields["warn"].map(messages) ?? .some([])) {
        case (.some(let deny), .some(let warn)):
            return .decided(deny: deny.sorted(), warn: warn.sorted())
        case (nil, _):
            return .unavailable("\(engine): swiftdeploy.\(domain).deny is \(kind(denyValue)), not a set of messages")
        case (_, nil):
            return .unavailable("\(engine): swiftdeploy.\(domain).warn is \(kind(fields["warn"]!)), not a set of messages")
        }
    }

    /// A set/array of messages: strings, or objects with a `msg` string; other values are shown as JSON.
    private static func messages(_ value: JSONValue) -> [String]? {
        guard case .array(let items) = value else { return nil }
        return items.map { item in
            if let text = item.stringValue { return text }
            if let msg = item["msg"]?.stringValue { return msg }
            return item.jsonString()
        }
    }

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
