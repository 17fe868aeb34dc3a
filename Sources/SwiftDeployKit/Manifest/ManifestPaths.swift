import Foundation
import Yams

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Paths are confined and distinct: every path the manifest configures (policy dir, thresholds, history, report,
/// templates) must resolve inside the manifest's directory, symlinks followed; and no two roles (the manifest,
/// thresholds, history, report, `nginx.conf`, `docker-compose.yml`, the lock `.swiftdeploy/lock`) may be the same
/// file, so an output can never overwrite an input.
enum ManifestPaths {
    /// The physical path `path` names relative to `directory` (absolute paths as they are): each existing component
    /// is resolved through its symlinks the way the kernel would, `..` applied to the resolved parent, and the part
    /// that does not exist yet appended as written.
    static func physical(_ path: String, relativeTo directory: URL) -> String {
        var current = path.hasPrefix("/") ? "/" : realPath(directory.path)
        var exists = true
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                current = (current as NSString).deletingLastPathComponent
                if current.isEmpty { current = "/" }
            default:
                let next = current == "/" ? "/\(component)" : "\(current)/\(component)"
                if exists, FileManager.default.fileExists(atPath: next) || isSymlink(next) {
                    current = realPath(next)
                } else {
                    exists = false
                    current = next
                }
            }
        }
        return current
    }

    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else {
            // A dangling symlink: follow it once by hand so its target is what is judged.
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                let base = URL(fileURLWithPath: (path as NSString).deletingLastPathComponent)
                return target.hasPrefix("/") ? target : physical(target, relativeTo: base)
            }
            return path
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func isSymlink(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeSymbolicLink
    }

    static func isInside(_ path: String, root: String) -> Bool {
        path == root || path.hasPrefix(root == "/" ? "/" : root + "/")
    }

    /// (device, inode) of an existing file, to catch hard links to one file under two names.
    static func identity(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(info.st_dev):\(info.st_ino)"
    }
}

extension ManifestBuilder {
    /// Reports every configured path that escapes the manifest's directory and every pair of roles that are the
    /// same file, at the key's position.
    func checkPaths(_ top: [String: Node], _ manifest: Manifest) {
        let root = ManifestPaths.realPath(directory.path)
        let policyNode = top["policy"], historyNode = top["history"]
        var configured: [(key: String, node: Node?, section: Node?, path: String)] = [
            ("policy.dir", policyNode?["dir"], policyNode, manifest.policy.dir),
            ("policy.thresholds", policyNode?["thresholds"], policyNode, manifest.policy.thresholds),
            ("history.path", historyNode?["path"], historyNode, manifest.history.path),
            ("history.report", historyNode?["report"], historyNode, manifest.history.report),
        ]
        if let templates = manifest.templatesDir { configured.append(("templates", top["templates"], nil, templates)) }
        var escaped = Set<String>()
        for entry in configured {
            let resolved = ManifestPaths.physical(entry.path, relativeTo: directory)
            guard !ManifestPaths.isInside(resolved, root: root) else { continue }
            escaped.insert(entry.key)
            reader.report(
                entry.node ?? entry.section, entry.key,
                """
                \(entry.key) \(Quoting.quote(entry.path)) resolves to \(resolved), outside the manifest's \
                directory \(root) (symlinks followed); keep every file swiftdeploy reads or writes inside the \
                project directory
                """
            )
        }

        // Roles that must be distinct files. The manifest's own path is judged physically too.
        let roles: [(key: String, node: Node?, section: Node?, path: String)] = [
            ("the manifest", nil, nil, manifest.fileURL.path),
            ("policy.thresholds", policyNode?["thresholds"], policyNode, manifest.policy.thresholds),
            ("history.path", historyNode?["path"], historyNode, manifest.history.path),
            ("history.report", historyNode?["report"], historyNode, manifest.history.report),
            ("nginx.conf (generated)", nil, nil, "nginx.conf"),
            ("docker-compose.yml (generated)", nil, nil, "docker-compose.yml"),
            ("the lock .swiftdeploy/lock", nil, nil, ".swiftdeploy/lock"),
        ]
        var seen: [(key: String, node: Node?, section: Node?, path: String, physical: String, identity: String?)] = []
        for role in roles where !escaped.contains(role.key) {
            let physical = ManifestPaths.physical(role.path, relativeTo: directory)
            let identity = ManifestPaths.identity(physical)
            if let other = seen.first(where: { $0.physical == physical || (identity != nil && $0.identity == identity) }
            ) {
                // Report at the key the user wrote (a generated file or a default has no position).
                let roleAt: Node? = role.node ?? role.section, otherAt: Node? = other.node ?? other.section
                let userWroteRole = roleAt != nil || otherAt == nil
                let key = userWroteRole ? role.key : other.key
                let written = userWroteRole ? role.path : other.path
                let against = userWroteRole ? other.key : role.key
                reader.report(
                    userWroteRole ? roleAt : otherAt, key,
                    """
                    \(key) \(Quoting.quote(written)) is the same file as \(against) (\(physical)); an output \
                    would overwrite an input: give each its own file
                    """
                )
            } else {
                seen.append((role.key, role.node, role.section, role.path, physical, identity))
            }
        }
        // The policy directory must not be one of those files either.
        let policyDir = ManifestPaths.physical(manifest.policy.dir, relativeTo: directory)
        if !escaped.contains("policy.dir"), let other = seen.first(where: { $0.physical == policyDir }) {
            reader.report(
                policyNode?["dir"] ?? policyNode, "policy.dir",
                """
                policy.dir \(Quoting.quote(manifest.policy.dir)) is the same path as \(other.key); give the \
                policies their own directory
                """
            )
        }
    }
}
