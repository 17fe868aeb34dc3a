import Foundation
import SwiftDeployKit

/// A throw-away project directory for policy and gate tests: a manifest, the repository's default
/// `policies/` and `thresholds.json` (or given ones).
public struct GateProject: Sendable {
    public let directory: TemporaryDirectory

    /// Creates the project. `policy` and `metrics` are YAML bodies of those manifest sections (indented two spaces).
    public init(
        policy: String = "  engine: embedded", metrics: String = "  window: 300ms\n  min_requests: 20",
        thresholds: String? = nil, extraPolicies: [String: String] = [:]
    ) throws {
        directory = try TemporaryDirectory(prefix: "swiftdeploy-gate")
        let manifest = """
            version: 1
            project: gatetest
            services:
              image: demo-app:1.0.0
              port: 8080
            nginx:
              image: nginx:1.25
              port: 8088
            network:
              name: gatetest-net
              driver_type: bridge
            policy:
            \(policy)
            metrics:
            \(metrics)

            """
        try directory.write(manifest, to: "manifest.yaml")
        let policies = RepositoryPaths.root.appendingPathComponent("policies")
        for name in try FileManager.default.contentsOfDirectory(atPath: policies.path) where name.hasSuffix(".rego") {
            try directory.write(
                try String(contentsOf: policies.appendingPathComponent(name), encoding: .utf8), to: "policies/\(name)")
        }
        for (name, source) in extraPolicies { try directory.write(source, to: "policies/\(name)") }
        let defaultThresholds = try String(
            contentsOf: RepositoryPaths.root.appendingPathComponent("thresholds.json"), encoding: .utf8)
        try directory.write(thresholds ?? defaultThresholds, to: "thresholds.json")
    }

    public var manifestURL: URL { directory.url.appendingPathComponent("manifest.yaml") }
    public var policiesPath: String { directory.path + "/policies" }
    public var thresholdsPath: String { directory.path + "/thresholds.json" }

    public func manifest() throws -> Manifest { try ManifestLoader().load(from: manifestURL) }

    public func remove() { directory.remove() }
}
