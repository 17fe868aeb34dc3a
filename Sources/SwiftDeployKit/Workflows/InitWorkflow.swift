import Foundation

/// What `init` wrote, and whether the history could record it.
public struct InitReport: Sendable {
    /// Every generated file with what happened to it (`created`, `updated`, `unchanged`).
    public var files: [(file: GeneratedFile, outcome: GeneratedFile.Status)]
    /// Why the history could not record the run, when it could not (the files were written all the same).
    public var recordingProblem: String?
}

/// `swiftdeploy init`: render every generated file, write those that changed (each atomically, all rendered before
/// any is written), then record what was written in the history. `drift()` is `init --check`: it writes and records
/// nothing.
public struct InitWorkflow: Sendable {
    public var manifest: Manifest
    public var generator: ConfigGenerator
    public var recorder: any LifecycleRecording

    public init(manifest: Manifest, manifestName: String, recorder: any LifecycleRecording) throws {
        self.manifest = manifest
        self.generator = try ConfigGenerator(manifest: manifest, manifestName: manifestName)
        self.recorder = recorder
    }

    /// The generated files that are missing or differ on disk.
    public func drift() throws -> [GeneratedFile] { try generator.drift() }

    /// Writes the files, then records them (`init`, outcome `ok`, `details.files`: each file by its path relative to
    /// the manifest, since observability/ holds two files named prometheus.yml). A history that cannot be written is
    /// reported, not thrown: the files are written.
    public func run() async throws -> InitReport {
        let results = try generator.write()
        let written = results.filter { $0.outcome != .unchanged }.map { relative($0.file.url) }
        let files = Dictionary(
            results.map { (relative($0.file.url), JSONValue.string($0.outcome.rawValue)) },
            uniquingKeysWith: { a, _ in a })
        let record = LifecycleRecord(
            event: .`init`, outcome: "ok",
            message: written.isEmpty
                ? "generated files already up to date" : "wrote \(written.joined(separator: ", "))",
            modeBefore: manifest.services.mode, modeAfter: manifest.services.mode, details: ["files": .object(files)])
        return InitReport(
            files: results, recordingProblem: await recorder.recordReportingProblem(record, manifest: manifest))
    }

    private func relative(_ url: URL) -> String {
        let base = manifest.directory.path + "/"
        return url.path.hasPrefix(base) ? String(url.path.dropFirst(base.count)) : url.path
    }
}

extension LifecycleRecording {
    /// Records `record`, returning why it could not instead of throwing: for commands whose own work is done (files
    /// written, checks run, a decision made) and must not be reported as failed because the record was not written.
    func recordReportingProblem(_ record: LifecycleRecord, manifest: Manifest) async -> String? {
        do {
            try await self.record(record, manifest: manifest)
            return nil
        } catch {
            return ActionSession.describe(error)
        }
    }
}
