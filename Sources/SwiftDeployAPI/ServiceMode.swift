/// Which role this instance plays in a deployment: `stable` serves real traffic,
/// `canary` is the candidate under evaluation and is the only mode that accepts chaos.
enum ServiceMode: String, Sendable, CaseIterable, Codable {
    case stable
    case canary

    /// The value of the `app_mode` gauge: 0 stable, 1 canary.
    var gaugeValue: Double {
        switch self {
        case .stable: 0
        case .canary: 1
        }
    }
}
