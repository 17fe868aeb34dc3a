import Foundation

extension SwarmRuntime {
    /// Every node of the swarm (`docker node ls` then `docker node inspect`), managers first. Only a manager can
    /// answer; `deploy` has already checked this engine is one.
    public func clusterNodes() async throws -> [ClusterNode]? {
        let ids = try await lines(try docker(["node", "ls", "-q"]))
        if ids.isEmpty { return [] }
        let inspect = try await docker(["node", "inspect"] + ids)
        try check(inspect)
        return try ClusterNode.parse(inspect.stdout, command: inspect.commandLine)
    }
}
