import Foundation
import Rego

/// `policy.engine: embedded`: the in-process Rego engine over the policy bundle (modules of `policy.dir`, test
/// modules left out; `thresholds.json` as `data.thresholds`). No OPA binary or server is involved.
///
/// Evaluation is strict: builtin errors stop evaluation (OPA's `strict-builtin-errors`) instead of leaving a rule
/// undefined, and one evaluation has a wall-clock budget (`policy.timeout`). A module that does not compile makes
/// every decision inconclusive with the engine's error (file, line, column); an evaluation error
/// (`eval_builtin_error`, `eval_type_error`, `eval_conflict_error`, `eval_limit_error`, …) makes that domain's
/// decision inconclusive with its code and the policy's file:line.
public final class EmbeddedRegoBackend: PolicyBackend, @unchecked Sendable {
    private let engine: RegoEngine?
    private let setupError: String?
    private let lock = NSLock()

    public var engineDescription: String { "embedded" }

    /// `directoryName` prefixes module names in errors (`policies/canary.rego:12`); `budget` bounds one evaluation.
    public init(
        bundle: PolicyBundle, directoryName: String? = nil,
        budget: TimeInterval = Manifest.Defaults.policyTimeout.seconds
    ) {
        let prefix = directoryName.map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? ""
        let modules = bundle.policyModules.map { RegoModule(name: prefix + $0.name, source: $0.source) }
        do {
            let data = try RegoValue(
                jsonData: Data(JSONValue.object(["thresholds": bundle.thresholds]).jsonString().utf8))
            engine = try RegoEngine(
                modules: modules, data: data,
                options: RegoEngine.Options(strictBuiltinErrors: true, timeout: budget))
            setupError = nil
        } catch let error as RegoError {
            engine = nil
            setupError =
                """
                embedded Rego engine: the policies in \(bundle.directory.path) do not compile: \
                \(error.description); fix the module (try `swiftdeploy policy eval`)
                """
        } catch {
            engine = nil
            setupError = "embedded Rego engine: cannot load the policies in \(bundle.directory.path): \(error)"
        }
    }

    public func evaluate(domain: String, input: JSONValue) async -> BackendResult {
        guard let engine else { return .unavailable(setupError ?? "embedded Rego engine unavailable") }
        do {
            let regoInput = try RegoValue(jsonData: Data(input.jsonString().utf8))
            let result = try lock.withLock { try engine.evaluate(path: "data.swiftdeploy.\(domain)", input: regoInput) }
            let document = try result.map { try JSONValue.parse($0.jsonData()) }
            return DomainDocument.interpret(document, domain: domain, engine: "embedded Rego engine")
        } catch let error as RegoError {
            let hint =
                error.code == "eval_limit_error"
                ? """
                ; the policy.timeout budget was exceeded or the evaluation ran away: simplify the rule or raise \
                policy.timeout
                """
                : "; fix the policy (`swiftdeploy policy eval` reproduces it)"
            return .unavailable(
                "embedded Rego engine: evaluating data.swiftdeploy.\(domain) failed: \(error.description)\(hint)")
        } catch {
            return .unavailable("embedded Rego engine: evaluating data.swiftdeploy.\(domain) failed: \(error)")
        }
    }
}
