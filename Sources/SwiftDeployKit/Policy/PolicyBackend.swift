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
            return .unavailable(
                """
                \(engine): data.swiftdeploy.\(domain) is undefined: no policy declares package \
                swiftdeploy.\(domain) (add policies/\(domain).rego or check the domain name)
                """
            )
        }
        guard case .object(let fields) = document else {
            return .unavailable(
                "\(engine): data.swiftdeploy.\(domain) is \(kind(document)), not a package document with deny/warn sets"
            )
        }
        guard let denyValue = fields["deny"] else {
            return .unavailable(
                """
                \(engine): package swiftdeploy.\(domain) defines no deny rule; every domain must define deny (a \
                set of messages)
                """
            )
        }
        let rules: [(String, JSONValue?)] = [("deny", denyValue), ("warn", fields["warn"])]
        for (rule, value) in rules {
            guard let value else { continue }
            guard case .array(let items) = value else {
                return .unavailable(
                    """
                    \(engine): swiftdeploy.\(domain).\(rule) is \(kind(value)), not a set of messages; define it \
                    with `\(rule) contains msg if { … }`
                    """
                )
            }
            for item in items where message(item) == nil {
                return .unavailable(
                    """
                    \(engine): swiftdeploy.\(domain).\(rule) holds \(item.jsonString().prefix(160)), which is not \
                    a message: each must be a string or an object with a string msg; fix the rule that adds it
                    """
                )
            }
        }
        let deny = messages(denyValue), warn = fields["warn"].map(messages) ?? []
        return .decided(deny: deny.sorted(), warn: warn.sorted())
    }

    /// A message: a string, or an object with a `msg` string. Anything else is not a message (nil).
    static func message(_ item: JSONValue) -> String? {
        if let text = item.stringValue { return text }
        if case .object = item, let msg = item["msg"]?.stringValue { return msg }
        return nil
    }

    private static func messages(_ value: JSONValue) -> [String] {
        guard case .array(let items) = value else { return [] }
        return items.compactMap(message)
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
