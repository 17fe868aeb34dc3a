import Foundation

/// `--steps` of `swiftdeploy rollout`, under the rule every list of rollout steps follows
/// (``ManifestGrammar/rolloutSteps(_:)``).
public enum RolloutSteps {
    /// Parses `--steps 10,50,100`.
    public static func parse(_ text: String) -> Result<[Int], RolloutError> {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        var steps: [Int] = []
        for part in parts {
            guard let value = Int(part) else {
                return .failure(
                    .invalidArgument("--steps must be comma-separated percents such as 10,50,100, got '\(text)'"))
            }
            steps.append(value)
        }
        if let problem = ManifestGrammar.rolloutSteps(steps) { return .failure(.invalidArgument("--steps \(problem)")) }
        return .success(steps)
    }
}
