import Foundation

/// What a teardown did.
public struct TeardownReport: Sendable, Equatable {
    /// What the project had on the engine before.
    public var removed: ProjectResources
    /// Generated files deleted (`--clean`).
    public var deletedFiles: [URL]
}

/// `swiftdeploy teardown [--clean]`: `down -v --remove-orphans` for this project,
/// then a sweep of anything still labelled `com.docker.compose.project=<project>`,
/// then a check that nothing is left. Only this project's label is ever used, so
/// another project on the same host is never touched. `clean` also deletes the
/// generated files (the manifest, policies and history stay).
public struct TeardownWorkflow: Sendable {
    public var context: DeployContext
    public var clean: Bool

    public init(context: DeployContext, clean: Bool = false) {
        self.context = context
        self.clean = clean
    }

    public func run(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> TeardownReport {
        let manifest = context.manifest
        let grant = try context.acquireLock(action: "teardown")
        defer { grant.release() }
        do {
            try context.runtime.preflight()
            let before = try context.runtime.leftovers()
            progress(before.isEmpty ? "nothing of project \(manifest.project) is running"
                     : "removing \(before.containers.count) container(s), \(before.networks.count) network(s), \(before.volumes.count) volume(s) of project \(manifest.project)")
            try context.runtime.down()
            let rest = try context.runtime.leftovers()
            guard rest.isEmpty else { throw DeployWorkflowError.leftovers(project: manifest.project, resources: rest) }
            var deleted: [URL] = []
            if clean {
                for file in context.renderer.generatedFiles(for: manifest) where FileManager.default.fileExists(atPath: file.path) {
                    try FileManager.default.removeItem(at: file)
                    deleted.append(file)
                }
            }
            try context.record(LifecycleRecord(
                event: .teardown, outcome: "ok",
                message: "removed project \(manifest.project): \(before.containers.count) container(s), \(before.networks.count) network(s), \(before.volumes.count) volume(s)"
                    + (clean ? "; deleted \(deleted.map(\.lastPathComponent).joined(separator: ", "))" : ""),
                modeBefore: manifest.services.mode,
                details: ["clean": .bool(clean), "deleted": .array(deleted.map { .string($0.lastPathComponent) })]))
            if clean {
                // The lock directory goes too once the lock is released, when nothing else is in it.
                grant.release()
                let lockDirectory = context.lock.url.deletingLastPathComponent()
                if (try? FileManager.default.contentsOfDirectory(atPath: lockDirectory.path))?.isEmpty == true {
                    try? FileManager.default.removeItem(at: lockDirectory)
                }
            }
            return TeardownReport(removed: before, deletedFiles: deleted)
        } catch {
            try? context.record(LifecycleRecord(event: .teardown, outcome: "failed",
                                                message: "teardown failed: \(error.localizedDescription)"))
            throw error
        }
    }
}
