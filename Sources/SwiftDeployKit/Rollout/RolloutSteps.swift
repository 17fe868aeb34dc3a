import Foundation

/// The rule every list of rollout steps follows, from the manifest or `--steps`.
public enum RolloutSteps {
    /// Why `steps` is not a valid list of steps, or nil when it is: at least one step, each 1-100,
    /// strictly increasing, the last one 100.
    public static func problem(_ steps: [Int]) -> String? {
        let shown = "[" + steps.map(String.init).joined(separator: ", ") + "]"
        if steps.isEmpty { return "must list at least one step, e.g. [10, 50, 100]" }
        if let bad = steps.first(where: { !(1...100).contains($0) }) {
            return "must be percents 1-100, got \(bad) in \(shown)"
        }
        if zip(steps, steps.dropFirst()).contains(where: { $0 >= $1 }) {
            return "must increase strictly, got \(shown)"
        }
        if steps.last != 100 { return "must end at 100 (the candidate takes all traffic before it is promoted), got \(shown)" }
        return nil
    }

    /// Parses `--steps 10,50,100`.
    public static func parse(_ text: String) -> Result<[Int], RolloutError> {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var steps: [Int] = []
        for part in parts {
            guard let value = Int(part) else {
                return .failure(.invalidArgument("--steps must be comma-separated percents such as 10,50,100, got '\(text)'"))
            }
            steps.append(value)
        }
        if let problem = problem(steps) { return .failure(.invalidArgument("--steps \(problem)")) }
        return .success(steps)
    }
}
