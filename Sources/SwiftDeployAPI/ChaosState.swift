import NIOConcurrencyHelpers

/// The per-process chaos setting, shared by every request. Thread-safe.
///
/// The random source is injectable so tests can make error mode deterministic.
final class ChaosState: Sendable {
    /// What chaos is active now.
    enum Setting: Equatable, Sendable {
        case none
        case slow(seconds: Double)
        case error(rate: Double)

        /// The value of the `chaos_active` gauge: 0 none, 1 slow, 2 error.
        var gaugeValue: Double {
            switch self {
            case .none: 0
            case .slow: 1
            case .error: 2
            }
        }

        var name: String {
            switch self {
            case .none: "none"
            case .slow: "slow"
            case .error: "error"
            }
        }
    }

    /// What chaos does to one request.
    enum Effect: Equatable, Sendable {
        case none
        case delay(seconds: Double)
        case fail
    }

    private let setting = NIOLockedValueBox(Setting.none)
    private let roll: @Sendable () -> Double

    /// - Parameter roll: returns a number in `0..<1`; a request fails in error mode
    ///   when the roll is below the rate. Defaults to the system random generator.
    init(roll: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.roll = roll
    }

    var current: Setting { setting.withLockedValue { $0 } }

    /// Applies a validated command and returns the new setting.
    @discardableResult
    func apply(_ command: ChaosCommand) -> Setting {
        let new: Setting
        switch command {
        case .slow(let seconds): new = .slow(seconds: seconds)
        case .error(let rate): new = .error(rate: rate)
        case .recover: new = .none
        }
        setting.withLockedValue { $0 = new }
        return new
    }

    /// Decides what happens to one request that chaos may touch.
    func effect() -> Effect {
        switch current {
        case .none:
            return .none
        case .slow(let seconds):
            return seconds > 0 ? .delay(seconds: seconds) : .none
        case .error(let rate):
            return roll() < rate ? .fail : .none
        }
    }
}
