import Foundation

/// Paths inside this repository, found from this source file's location so
/// tests work from any working directory.
public enum RepositoryPaths {
    /// The repository root (the directory holding Package.swift).
    public static let root: URL = {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // TestSupport
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()  // root
    }()

    public static var fixtures: URL { root.appendingPathComponent("Tests/Fixtures") }

    /// The `shared/` directory beside the repository checkout, when present
    /// (OPA's conformance suite and opa-ref live there);
    /// `SWIFTDEPLOY_SHARED_DIR` overrides it (a git worktree has no `shared/` beside it).
    public static var shared: URL? {
        if let override = ProcessInfo.processInfo.environment["SWIFTDEPLOY_SHARED_DIR"], !override.isEmpty,
            FileManager.default.fileExists(atPath: override)
        {
            return URL(fileURLWithPath: override)
        }
        let candidate = root.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    /// A built product (`swiftdeploy`, `swiftdeploy-api`) in the build directory
    /// that holds the running test bundle.
    public static func builtProduct(_ name: String) -> URL {
        let bundle = Bundle.main.bundleURL
        var dir = bundle
        // Test bundles run from .build/<triple>/debug/; the products sit there too.
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return bundle.deletingLastPathComponent().appendingPathComponent(name)
    }
}
