/// Why `POST /chaos` was refused. Each case maps to one HTTP status and a JSON body
/// `{"error": message}`.
enum ChaosError: Error, Equatable {
    /// The instance runs in stable mode: 403.
    case notCanary(mode: ServiceMode)
    /// The body is not a valid chaos command: 400, the message names the problem.
    case invalidBody(String)
    /// The body exceeds `ChaosCommand.maximumBodyBytes`: 413.
    case bodyTooLarge(limit: Int)

    var status: Int {
        switch self {
        case .notCanary: 403
        case .invalidBody: 400
        case .bodyTooLarge: 413
        }
    }

    var message: String {
        switch self {
        case .notCanary(let mode):
            """
            chaos is accepted only in canary mode; this instance runs MODE=\(mode.rawValue). Send chaos to the \
            canary instance
            """
        case .invalidBody(let message):
            "invalid chaos request: \(message)"
        case .bodyTooLarge(let limit):
            "chaos request body is larger than \(limit) bytes; send a small JSON object such as {\"mode\": \"recover\"}"
        }
    }
}
