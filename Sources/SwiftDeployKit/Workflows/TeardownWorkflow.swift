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
    public var context: LifecycleContext
    public var clean: Bool

    public init(context: LifecycleContext, clean: Bool = false) {
        self.context = context
        self.clean = clean
    }

    public func run(progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> TeardownReport {
        let manifest = context.manifest
        let session = try await context.beginAction("teardown")
        defer { session.release() }
        try await context.runtime.preflight()
        let before = try await context.runtime.leftovers()
        let containers = try await context.runtime.containers()
        let running = LifecycleContext.appMode(containers, service: manifest.services.name)
        // A rollout running or paused must be ended first (`rollout abort`): removing its candidate here would leave
        // the history saying paused, and a later abort would bring the stack back.
        try await context.refuseDuringRollout(action: "teardown", containers: containers, mode: running)
        let summary =
            """
            \(before.containers.count) container(s), \(before.networks.count) network(s), \(before.volumes.count) \
            volume(s)
            """
        let intent = try await session.intend(
            action: "teardown",
            message:
                "about to remove project \(manifest.project): \(summary)\(clean ? " and the generated files" : "")",
            modeBefore: running,
            details: ["clean": .bool(clean), "containers_before": .array(before.containers.map(JSONValue.string))])
        await context.phases.reach("teardown.intent")
        var deleted: [URL] = []
        do {
            progress(
                before.isEmpty
                    ? "nothing of project \(manifest.project) is running"
                    : "removing \(summary) of project \(manifest.project)")
            await context.phases.reach("teardown.down")
            try await context.runtime.down()
            let rest = try await context.runtime.leftovers()
            guard rest.isEmpty else { throw LifecycleError.leftovers(project: manifest.project, resources: rest) }
            if clean {
                for file in context.renderer.generatedFiles(for: manifest)
                where FileManager.default.fileExists(atPath: file.path) {
                    try FileManager.default.removeItem(at: file)
                    deleted.append(file)
                }
                Self.removeEmptyDirectories(left: deleted, below: manifest.directory)
            }
        } catch {
            await session.completeQuietly(
                intent,
                LifecycleRecord(
                    event: .teardown, outcome: "failed",
                    message: "teardown failed: \(error.localizedDescription)",
                    modeBefore: running))
            throw error
        }
        try await session.complete(
            intent,
            LifecycleRecord(
                event: .teardown, outcome: "ok",
                message: "removed project \(manifest.project): \(summary)"
                    + (clean ? "; deleted \(deleted.map { manifest.shownPath($0) }.joined(separator: ", "))" : ""),
                modeBefore: running,
                details: ["clean": .bool(clean), "deleted": .array(deleted.map { .string(manifest.shownPath($0)) })]),
            done: "removed project \(manifest.project)")
        return TeardownReport(removed: before, deletedFiles: deleted)
    }

    /// The directories the deleted files leave empty (`observability/rules`, then `observability`), deepest first;
    /// never `root` itself, and never a directory that still holds anything (a file of the user's own stays).
    static func removeEmptyDirectories(left deleted: [URL], below root: URL) {
        let top = root.standardizedFileURL.path
        var directories = Set<String>()
        for file in deleted {
            var directory = file.deletingLastPathComponent().standardizedFileURL
            while directory.path.hasPrefix(top + "/") {
                directories.insert(directory.path)
                directory = directory.deletingLastPathComponent()
            }
        }
        for path in directories.sorted(by: { $0.count > $1.count }) {
            if (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }
}
