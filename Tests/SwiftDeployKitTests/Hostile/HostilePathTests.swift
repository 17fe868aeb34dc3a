import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// A manifest whose configured paths escape its directory or make two roles one file.
struct PathCase: Sendable, CustomTestStringConvertible {
    var name: String
    /// Extra manifest sections (appended at the end).
    var sections: String
    /// Prepares the project directory (symlinks, hard links) before loading.
    var setup: @Sendable (TemporaryDirectory) throws -> Void = { _ in }
    /// The key the problem is reported at, and a fragment of its message.
    var key: String
    var message: String
    var testDescription: String { name }

    static let base =
        """
        services:\n  image: a:1\n  port: 3000\nnginx:\n  image: nginx:1\n  port: 8080\nnetwork:\n  name: n\n  \
        driver_type: bridge\n
        """

    static let escapes: [PathCase] = [
        .init(
            name: "policy.dir ../", sections: "policy:\n  dir: ../policies\n", key: "policy.dir",
            message: "without '..' segments"),
        .init(
            name: "policy.dir absolute", sections: "policy:\n  dir: /etc\n", key: "policy.dir",
            message: "resolves to /etc, outside"),
        .init(
            name: "policy.thresholds ../", sections: "policy:\n  thresholds: ../thresholds.json\n",
            key: "policy.thresholds", message: "without '..' segments"),
        .init(
            name: "history.path absolute", sections: "history:\n  path: /tmp/history.jsonl\n", key: "history.path",
            message: "outside"),
        .init(
            name: "history.report through ..", sections: "history:\n  report: reports/../../report.md\n",
            key: "history.report", message: "without '..' segments"),
        .init(
            name: "templates ../", sections: "templates: ../templates\n", key: "templates",
            message: "without '..' segments"),
        .init(
            name: "history.path through a symlinked directory", sections: "history:\n  path: out/history.jsonl\n",
            setup: { dir in
                try FileManager.default.createSymbolicLink(
                    atPath: dir.path + "/out", withDestinationPath: NSTemporaryDirectory())
            },
            key: "history.path", message: "symlinks followed"),
        .init(
            name: "history.report a dangling symlink out", sections: "history:\n  report: report.md\n",
            setup: { dir in
                try FileManager.default.createSymbolicLink(
                    atPath: dir.path + "/report.md", withDestinationPath: "/tmp/swiftdeploy-nowhere/report.md")
            },
            key: "history.report", message: "outside"),
        .init(
            name: "policy.dir through a relative symlink climbing out", sections: "policy:\n  dir: link/policies\n",
            setup: { dir in
                try FileManager.default.createSymbolicLink(atPath: dir.path + "/link", withDestinationPath: "../..")
            },
            key: "policy.dir", message: "outside"),
        .init(
            name: "policy.thresholds a symlink to a file outside", sections: "policy:\n  thresholds: limits.json\n",
            setup: { dir in
                try FileManager.default.createSymbolicLink(
                    atPath: dir.path + "/limits.json", withDestinationPath: "/etc/hostname")
            },
            key: "policy.thresholds", message: "resolves to /etc/hostname, outside"),
    ]

    static let collisions: [PathCase] = [
        .init(
            name: "report is the history", sections: "history:\n  report: history.jsonl\n", key: "history.report",
            message: "same file as history.path"),
        .init(
            name: "report is the manifest", sections: "history:\n  report: manifest.yaml\n", key: "history.report",
            message: "same file as the manifest"),
        .init(
            name: "history is nginx.conf", sections: "history:\n  path: nginx.conf\n", key: "history.path",
            message: "same file as nginx.conf (generated)"),
        .init(
            name: "history is docker-compose.yml", sections: "history:\n  path: ./docker-compose.yml\n",
            key: "history.path", message: "same file as docker-compose.yml (generated)"),
        .init(
            name: "thresholds is the history", sections: "policy:\n  thresholds: history.jsonl\n",
            key: "policy.thresholds", message: "same file as history.path"),
        .init(
            name: "report is the lock", sections: "history:\n  report: .swiftdeploy/lock\n", key: "history.report",
            message: "same file as the lock .swiftdeploy/lock"),
        .init(
            name: "thresholds is the manifest", sections: "policy:\n  thresholds: manifest.yaml\n",
            key: "policy.thresholds", message: "same file as the manifest"),
        .init(
            name: "history is a symlink to the manifest", sections: "history:\n  path: log.jsonl\n",
            setup: { dir in
                try FileManager.default.createSymbolicLink(
                    atPath: dir.path + "/log.jsonl", withDestinationPath: "manifest.yaml")
            },
            key: "history.path", message: "same file as the manifest"),
        .init(
            name: "report is a hard link to the history", sections: "history:\n  report: audit.md\n",
            setup: { dir in
                _ = try dir.write("", to: "history.jsonl")
                try FileManager.default.linkItem(atPath: dir.path + "/history.jsonl", toPath: dir.path + "/audit.md")
            },
            key: "history.report", message: "same file as history.path"),
        .init(
            name: "policy.dir is the report", sections: "policy:\n  dir: audit_report.md\n", key: "policy.dir",
            message: "same path as history.report"),
    ]
}

/// Paths are confined and distinct: each escape and each collision makes the manifest invalid (65) with the
/// key's position.
@Suite("Hostile input: paths")
struct HostilePathTests {
    static func load(_ pathCase: PathCase) throws -> (ManifestError?, TemporaryDirectory) {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-paths")
        try pathCase.setup(dir)
        let url = try dir.write(PathCase.base + pathCase.sections, to: "manifest.yaml")
        do {
            _ = try ManifestLoader().load(from: url)
            return (nil, dir)
        } catch let error as ManifestError {
            return (error, dir)
        }
    }

    @Test(arguments: PathCase.escapes + PathCase.collisions)
    func isAnInvalidManifestAtItsKey(_ pathCase: PathCase) throws {
        let (error, dir) = try Self.load(pathCase)
        defer { dir.remove() }
        let failure = try #require(error, "the manifest loaded")
        #expect(failure.exitStatus == .invalidInput)
        guard case .invalid(let problems) = failure else {
            Issue.record("\(failure)")
            return
        }
        let problem = try #require(problems.first { $0.path == pathCase.key }, "\(problems.map(\.description))")
        #expect(problem.message.contains(pathCase.message), "\(problem.message)")
        // Reported at the key the user wrote, with its position.
        #expect(problem.line != nil, "\(problem.description)")
    }

    @Test func pathsInsideTheDirectoryAreFine() throws {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-paths")
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/inside", withDestinationPath: "real")
        let url = try dir.write(
            PathCase.base
                + "history:\n  path: inside/history.jsonl\n  report: reports/audit.md\npolicy:\n  dir: ./policies\n",
            to: "manifest.yaml")
        let manifest = try ManifestLoader().load(from: url)
        #expect(manifest.history.path == "inside/history.jsonl")
    }
}
