import Foundation

/// A validated body of `POST /chaos`.
///
/// Accepted bodies (JSON objects, no other keys):
/// - `{"mode": "slow", "duration": N}`: delay every affected response by N seconds, 0 ≤ N ≤ 60;
/// - `{"mode": "error", "rate": R}`: answer a fraction R (0 ≤ R ≤ 1) of affected requests with 500;
/// - `{"mode": "recover"}`: end chaos.
enum ChaosCommand: Equatable, Sendable {
    case slow(seconds: Double)
    case error(rate: Double)
    case recover

    /// The longest delay slow mode accepts, in seconds. Longer delays would outlast
    /// every proxy timeout and the service's own shutdown bound.
    static let maximumDelaySeconds: Double = 60
    /// The largest body `POST /chaos` reads; bigger bodies are refused with 413.
    static let maximumBodyBytes = 4096

    /// Parses and validates a request body.
    ///
    /// - Throws: `ChaosError.invalidBody` whose message names the offending key and value.
    static func parse(_ body: [UInt8]) throws -> ChaosCommand {
        let fields: [String: JSONField]
        do {
            fields = try JSONDecoder().decode([String: JSONField].self, from: Data(body))
        } catch {
            let text = String(decoding: body.prefix(80), as: UTF8.self)
            if (try? JSONDecoder().decode(JSONField.self, from: Data(body))) != nil {
                throw ChaosError.invalidBody(
                    "body must be a JSON object such as {\"mode\": \"recover\"}, got '\(text)'")
            }
            throw ChaosError.invalidBody(
                "body is not valid JSON (got '\(text)'); send e.g. {\"mode\": \"slow\", \"duration\": 2}"
            )
        }
        guard let rawMode = fields["mode"] else {
            throw ChaosError.invalidBody("missing key 'mode'; use one of slow, error, recover")
        }
        guard case .string(let mode) = rawMode else {
            throw ChaosError.invalidBody("'mode' must be a string (slow, error or recover), got \(rawMode.description)")
        }

        let command: ChaosCommand
        let allowedKeys: Set<String>
        switch mode {
        case "slow":
            let seconds = try number(fields, key: "duration", example: "{\"mode\": \"slow\", \"duration\": 2}")
            guard seconds >= 0 else {
                throw ChaosError.invalidBody("'duration' must not be negative, got \(format(seconds))")
            }
            guard seconds <= maximumDelaySeconds else {
                throw ChaosError.invalidBody(
                    "'duration' must be at most \(format(maximumDelaySeconds)) seconds, got \(format(seconds))"
                )
            }
            command = .slow(seconds: seconds)
            allowedKeys = ["mode", "duration"]
        case "error":
            let rate = try number(fields, key: "rate", example: "{\"mode\": \"error\", \"rate\": 0.5}")
            guard (0...1).contains(rate) else {
                throw ChaosError.invalidBody("'rate' must be between 0 and 1, got \(format(rate))")
            }
            command = .error(rate: rate)
            allowedKeys = ["mode", "rate"]
        case "recover":
            command = .recover
            allowedKeys = ["mode"]
        default:
            throw ChaosError.invalidBody("unknown mode '\(mode)'; use one of slow, error, recover")
        }

        let unexpected = Set(fields.keys).subtracting(allowedKeys).sorted()
        if let first = unexpected.first {
            let allowed = allowedKeys.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw ChaosError.invalidBody("unknown key '\(first)' for mode '\(mode)'; allowed keys: \(allowed)")
        }
        return command
    }

    private static func number(_ fields: [String: JSONField], key: String, example: String) throws -> Double {
        guard let raw = fields[key] else {
            throw ChaosError.invalidBody("missing key '\(key)'; send e.g. \(example)")
        }
        guard case .number(let value) = raw else {
            throw ChaosError.invalidBody("'\(key)' must be a number, got \(raw.description)")
        }
        return value
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

}

/// One JSON value of a chaos body, decoded just far enough to name its type in errors.
enum JSONField: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array
    case object

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if (try? container.decode([JSONField].self)) != nil {
            self = .array
        } else if (try? container.decode([String: JSONField].self)) != nil {
            self = .object
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    /// How an error message names this value: `null`, `true`, `2.5`, `the string 'x'`, `an array`.
    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .number(let value): ChaosCommand.format(value)
        case .string(let value): "the string '\(value)'"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
