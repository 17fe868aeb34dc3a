import Foundation
import TestSupport
import Testing

@testable import SwiftDeployCLI
@testable import SwiftDeployKit

/// Reviewer's finding: `--timeout` (60s by default) was applied per step, and a correct rolling update of N replicas
/// (Swarm watches each for `update_config.monitor`, 33s with the default health check) could not fit it. The default
/// now
/// follows from the manifest, and the deadline is one for the whole action.
@Suite struct WaitBudgetTests {
    static func manifest(runtime: String, replicas: Int, health: String = "") throws -> (
        TemporaryDirectory, GlobalOptions
    ) {
        let dir = try TemporaryDirectory(prefix: "budget")
        let url = try dir.write(
            """
            project: budget
            runtime: \(runtime)
            services:
              image: swiftdeploy/api:0.1.0
              port: 3000
              replicas: \(replicas)
            \(health)
            nginx:
              image: swiftdeploy/nginx:bookworm
              port: 18080
              admin_port: 19180
            network:
              name: budget-net
              driver_type: bridge

            """, to: "manifest.yaml")
        return (dir, try GlobalOptions.parse(["--manifest", url.path]))
    }

    @Test func withoutTimeoutASwarmDeployOfThreeReplicasGetsTheRollingUpdateItNeeds() throws {
        let (dir, global) = try Self.manifest(runtime: "swarm", replicas: 3)
        defer { dir.remove() }
        let (context, timeout) = try LifecycleCLI.context(global, timeoutOption: nil)
        // The default health check: 5s × (5 + 1) + 3s = 33s monitor per replica.
        #expect(timeout == 3 * 33 + 30, "default --timeout \(timeout)s")
        #expect(
            timeout >= WaitBudget(manifest: context.manifest).rollingUpdate!,
            "a correct rolling update fits the default")
        #expect(
            (context.runtime as? SwarmRuntime)?.commandTimeout == timeout, "the runtime waits within the same budget")
        #expect((context.runtime as? SwarmRuntime)?.budget == "3 replicas × 33s update monitor + 30s = 129s")
    }

    @Test(arguments: [1, 2, 3, 10, 100])
    func theSwarmDefaultCoversEveryReplicasMonitorAndNeverGoesBelowSixtySeconds(_ replicas: Int) throws {
        let (dir, global) = try Self.manifest(
            runtime: "swarm", replicas: replicas,
            health: "  healthcheck:\n    interval: 1s\n    timeout: 2s\n    retries: 3")
        defer { dir.remove() }
        let (context, timeout) = try LifecycleCLI.context(global, timeoutOption: nil)
        let budget = WaitBudget(manifest: context.manifest)
        #expect(budget.monitor == 6, "1s × 4 + 2s")
        #expect(timeout == max(60, Double(replicas) * 6 + 30))
        #expect(budget.explanation.contains("\(replicas) replica"), "\(budget.explanation)")
    }

    @Test func composeKeepsSixtySecondsAndAnExplicitTimeoutWins() throws {
        let (dir, global) = try Self.manifest(runtime: "compose", replicas: 1)
        defer { dir.remove() }
        #expect(try LifecycleCLI.context(global, timeoutOption: nil).1 == 60)
        let (swarmDir, swarmGlobal) = try Self.manifest(runtime: "swarm", replicas: 3)
        defer { swarmDir.remove() }
        let (context, timeout) = try LifecycleCLI.context(swarmGlobal, timeoutOption: "20s")
        #expect(timeout == 20)
        #expect((context.runtime as? SwarmRuntime)?.commandTimeout == 20)
        #expect(throws: (any Error).self) { try LifecycleCLI.context(swarmGlobal, timeoutOption: "0s") }
    }
}
