import Foundation
import Testing

/// Something outside the package a test needs: the shared directory (OPA's conformance suite, opa-ref), a Docker
/// engine, a program such as nginx or Prometheus, the built `swiftdeploy` binary.
///
/// The one rule for all of them (the house rule "fail under CI, skip locally"):
/// - met: the test runs;
/// - missing, `CI=true`: the test FAILS with the reason (CI installs everything, so a missing part is a broken
///   pipeline, never a pass);
/// - missing, locally: the test is skipped with the reason, and shows as skipped.
///
/// Gate a test or suite with the `.requires(...)` trait. A test that only uses the part for an extra comparison
/// (it checks the engine either way, and OPA's answer when opa-ref is there) asks `try requirement.isAvailable()`.
public struct TestRequirement: Sendable, CustomStringConvertible {
    /// What is needed, for messages ("opa-ref", "a Docker engine").
    public let name: String
    private let probe: @Sendable () -> Probe

    /// What a probe found: the path or value when met, otherwise why not and what to do.
    public enum Probe: Sendable {
        case met(String)
        case missing(String)
    }

    public init(_ name: String, probe: @escaping @Sendable () -> Probe) {
        self.name = name
        self.probe = probe
    }

    /// True when the test process runs under CI (`CI=true`), where every requirement is mandatory.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    public var description: String { name }

    /// Why the requirement is not met (with what to do), or nil when it is.
    public var missingReason: String? {
        if case .missing(let reason) = probe() { return reason }
        return nil
    }

    public var isMet: Bool { missingReason == nil }

    /// The path (or value) the probe found; throws `TestRequirementError` when the requirement is not met.
    @discardableResult
    public func value() throws -> String {
        switch probe() {
        case .met(let value): return value
        case .missing(let reason): throw TestRequirementError(requirement: name, reason: reason, ci: Self.isCI)
        }
    }

    /// For an optional part of a test: true when met; false when missing locally (printing that the part is
    /// skipped); under `CI=true` a missing requirement throws, so the test fails instead of passing untested.
    public func isAvailable(for part: String, ci: Bool = isCI) throws -> Bool {
        guard let reason = missingReason else { return true }
        if ci { throw TestRequirementError(requirement: name, reason: reason, ci: true) }
        print("skipping \(part): \(reason)")
        return false
    }

    /// `value()` when available, nil when missing locally (printed), and a thrown error under `CI=true`.
    public func valueIfAvailable(for part: String) throws -> String? {
        try isAvailable(for: part) ? try value() : nil
    }

    /// The condition behind `.requires(...)`: true when every requirement is met, false (skip) when one is missing
    /// locally, and a thrown `TestRequirementError` (a failure) when one is missing under `CI=true`.
    public static func evaluate(_ requirements: [TestRequirement], ci: Bool = isCI) throws -> Bool {
        for requirement in requirements {
            guard let reason = requirement.missingReason else { continue }
            if ci { throw TestRequirementError(requirement: requirement.name, reason: reason, ci: true) }
            print("skipping: needs \(requirement.name): \(reason)")
            return false
        }
        return true
    }
}

/// A requirement that is not met; under CI it fails the test.
public struct TestRequirementError: Error, CustomStringConvertible {
    public let requirement: String
    public let reason: String
    public let ci: Bool

    public var description: String {
        ci ? "CI=true requires \(requirement), and it is missing: \(reason)" : "needs \(requirement): \(reason)"
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test (or suite) when every requirement is met; skips it with the reason when one is missing locally;
    /// fails it when one is missing under `CI=true`. See `TestRequirement`.
    public static func requires(_ requirements: TestRequirement..., sourceLocation: SourceLocation = #_sourceLocation)
        -> Self
    {
        let names = requirements.map(\.name).joined(separator: ", ")
        return .enabled(
            Comment(rawValue: "needs \(names) (under CI=true a missing one fails the test)"),
            sourceLocation: sourceLocation
        ) { try TestRequirement.evaluate(requirements) }
    }
}

// MARK: - The requirements

extension TestRequirement {
    /// `shared/` beside the repository, or `SWIFTDEPLOY_SHARED_DIR`.
    public static let sharedDirectory = TestRequirement("the shared directory") {
        guard let shared = RepositoryPaths.shared else {
            return .missing(
                "no shared/ beside the repository and SWIFTDEPLOY_SHARED_DIR is not set (or names no directory)")
        }
        return .met(shared.path)
    }

    /// A file inside the shared directory.
    public static func sharedFile(_ relativePath: String) -> TestRequirement {
        TestRequirement("shared/\(relativePath)") {
            guard let shared = RepositoryPaths.shared else {
                return .missing(
                    "no shared/ beside the repository and SWIFTDEPLOY_SHARED_DIR is not set (or names no directory)")
            }
            let file = shared.appendingPathComponent(relativePath)
            guard FileManager.default.fileExists(atPath: file.path) else {
                return .missing(
                    """
                    \(relativePath) is not in the shared directory \(shared.path): set SWIFTDEPLOY_SHARED_DIR to \
                    the one holding it
                    """
                )
            }
            return .met(file.path)
        }
    }

    /// OPA's conformance cases (`opa-conformance/cases-v1.jsonl` in the shared directory).
    public static let conformanceSuite = sharedFile("opa-conformance/cases-v1.jsonl")

    /// OPA's own evaluator (`tools/opa-ref/opa-ref` in the shared directory).
    public static let opaRef = TestRequirement("opa-ref") {
        let (tool, why) = OPARef.executable()
        guard let tool else {
            return .missing("\(why); set SWIFTDEPLOY_SHARED_DIR to the shared directory holding tools/opa-ref")
        }
        return .met(tool.path)
    }

    /// A program on PATH (or in /usr/sbin, /sbin), as scripts/bootstrap installs it.
    public static func tool(_ name: String) -> TestRequirement {
        TestRequirement(name) {
            guard let path = ExternalTool.find(name) else {
                return .missing("\(name) is not installed; run scripts/bootstrap to install the test dependencies")
            }
            return .met(path)
        }
    }

    public static let nginx = tool("nginx")
    public static let promtool = tool("promtool")
    public static let prometheus = tool("prometheus")
    public static let dockerCompose = tool("docker-compose")
    public static let git = tool("git")

    /// The Docker engine and the locally built images. Locally the Docker tests are opt-in
    /// (`SWIFTDEPLOY_DOCKER_TESTS=1`, which scripts/test sets); under `CI=true` they always run, and an engine that
    /// does not answer fails them.
    public static let docker = TestRequirement("a Docker engine") {
        let optedIn = ProcessInfo.processInfo.environment["SWIFTDEPLOY_DOCKER_TESTS"] == "1"
        guard optedIn || isCI else {
            return .missing(
                """
                the Docker tests are off: set SWIFTDEPLOY_DOCKER_TESTS=1 (scripts/test sets it after starting the \
                engine)
                """
            )
        }
        return DockerEngineProbe.result
    }

    /// A built product (`swiftdeploy`, `swiftdeploy-api`) next to the test bundle (`swift build` builds them).
    public static func builtProduct(_ name: String) -> TestRequirement {
        TestRequirement("the built \(name) binary") {
            let binary = RepositoryPaths.builtProduct(name)
            guard FileManager.default.isExecutableFile(atPath: binary.path) else {
                return .missing("\(binary.path) is not built; run 'swift build' first")
            }
            return .met(binary.path)
        }
    }

    public static let swiftdeployBinary = builtProduct("swiftdeploy")
    public static let demoServiceBinary = builtProduct("swiftdeploy-api")
}

/// `docker version` once per test process: the engine answers or it does not.
private enum DockerEngineProbe {
    static let result: TestRequirement.Probe = {
        guard let docker = ExternalTool.find("docker") else {
            return .missing("the docker CLI is not installed; run scripts/bootstrap")
        }
        guard let answer = try? ExternalTool.runBlocking(docker, ["version", "--format", "{{.Server.Version}}"]) else {
            return .missing("\(docker) version could not be started")
        }
        guard answer.status == 0 else {
            return .missing(
                "the Docker engine does not answer (docker version exited \(answer.status): "
                    + "\(answer.output.trimmingCharacters(in: .whitespacesAndNewlines).prefix(300))); start dockerd")
        }
        return .met(answer.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }()
}
