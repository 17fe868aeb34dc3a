import Foundation
import Rego

/// `policy.engine: embedded`: the in-process Rego engine over the policy bundle (modules of `policy.dir`, test
/// modules left out; `thresholds.json` as `data.thresholds`). No OPA binary or server is involved.
///
/// A module that does not compile makes every decision inconclusive with the engine's error (file, line, column);
/// an evaluation error (`eval_conflict_error`, …) makes that domain's decision inconclusive with its code.
public final class EmbeddedRegoBackend: PolicyBackend, @unchecked Sendable {
    private let engine: RegoEngine?
    private let setupError: String?
    private let lock = NSLock()

    public var engineDescription: String { "embedded" }

    public init(bundle: PolicyBundle) {
        let modules = bundle.policyModules.map { RegoModule(name: $0.name, source: $0.source) }
        do {
            let data = try RegoValue(jsonData: Data(JSONValue.object(["thresholds": bundle.thresholds]).jsonString().utf8))
            engine = try RegoEngine(modules: modules, data: data)
            setupError = nil
        } catch let error as RegoError {
            engine = nil
            setupError = "embedded Rego engine: the policies in \(bundle.directory.path) do not compile: \(error.description); fix the module (try `swiftdeploy policy eval`)"
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
            return .unavailable("embedded Rego engine: evaluating data.swiftdeploy.\(domain) failed: \(error.description)")
        } catch {
            return .unavailable("embedded Rego engine: evaluating data.swiftdeploy.\(domain) failed: \(error)")
        }
    }
}
