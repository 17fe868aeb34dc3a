import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Answers `git rev-parse HEAD` for a directory by reading the repository's files, without starting git (which
/// costs more than the rest of a `gate`). It only answers where git's answer is plain, and says `.unsure`
/// everywhere else, so that the caller asks git and the recorded commit never differs from git's:
///
/// - `.none`: no directory from `directory` (symbolic links resolved, as git's working directory is) up to `/`
///   holds a `.git` entry or looks like a bare repository (a `HEAD` file): git finds no repository either.
/// - `.commit`: the nearest `.git` (a directory, or a `gitdir:` file of a linked worktree) is a plain repository
///   owned by this user (git's `safe.directory` check), with no `[extensions]`/`include` in its config, no
///   reftable, whose `HEAD` is a commit id or `ref: refs/heads/<name>` resolved by a loose ref file or
///   `packed-refs`.
/// - `.unsure`: anything else, among them any `GIT_*` variable in the environment, a missing `directory` (git
///   could not start there), an unborn branch, a symbolic ref to another ref, a repository owned by someone else.
enum GitHead {
    enum Answer: Equatable {
        case commit(String)
        case none
        case unsure
    }

    static func read(in directory: URL, environment: [String: String]) -> Answer {
        if environment.keys.contains(where: { $0.hasPrefix("GIT_") && !isTransportOnly($0) }) { return .unsure }
        if geteuid() == 0, environment["SUDO_UID"] != nil { return .unsure }  // git then checks ownership against it
        guard let start = realPath(directory.path), isDirectory(start) else { return .unsure }
        var current = start
        while true {
            let dotGit = current == "/" ? "/.git" : current + "/.git"
            var info = stat()
            if lstat(dotGit, &info) == 0 {
                return resolve(worktree: current, dotGit: dotGit, info: info)
            }
            guard errno == ENOENT else { return .unsure }
            // A bare repository is found where the directory itself holds HEAD; leave that to git.
            if access(current == "/" ? "/HEAD" : current + "/HEAD", F_OK) == 0 || errno != ENOENT { return .unsure }
            if current == "/" { return .none }
            current = parent(of: current)
        }
    }

    /// `GIT_*` variables that only concern talking to remotes, authoring commits or the editor and pager (a CI image
    /// often sets `GIT_SSL_CAINFO`): they cannot change which repository git finds or what its HEAD is. Any other
    /// `GIT_*` variable (`GIT_DIR`, `GIT_CONFIG_*`, `GIT_CEILING_DIRECTORIES`, `GIT_TRACE`…) leaves the answer to git.
    static func isTransportOnly(_ name: String) -> Bool {
        for prefix in ["GIT_SSL_", "GIT_HTTP_", "GIT_AUTHOR_", "GIT_COMMITTER_"] where name.hasPrefix(prefix) {
            return name.count > prefix.count
        }
        return [
            "GIT_ASKPASS", "GIT_TERMINAL_PROMPT", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER", "GIT_SSH",
            "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_PROXY_COMMAND",
        ].contains(name)
    }

    private static func resolve(worktree: String, dotGit: String, info: stat) -> Answer {
        let uid = geteuid()
        guard owner(of: worktree) == uid, info.st_uid == uid else { return .unsure }
        let gitDirectory: String
        var commonDirectory: String
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            gitDirectory = dotGit
            commonDirectory = dotGit
        case S_IFREG:
            // A linked worktree: `gitdir: <path>`, and the shared refs in that directory's `commondir`.
            guard let text = readSmallFile(dotGit), text.hasPrefix("gitdir: ") else { return .unsure }
            var path = trimmedLine(text.dropFirst("gitdir: ".count))
            if !path.hasPrefix("/") { path = worktree + "/" + path }
            guard let resolved = realPath(path) else { return .unsure }
            gitDirectory = resolved
            guard let common = readSmallFile(gitDirectory + "/commondir") else { return .unsure }
            var commonPath = trimmedLine(Substring(common))
            if !commonPath.hasPrefix("/") { commonPath = gitDirectory + "/" + commonPath }
            guard let resolvedCommon = realPath(commonPath) else { return .unsure }
            commonDirectory = resolvedCommon
        default:
            return .unsure
        }
        // A linked worktree's own directory holds HEAD only; objects and refs are in the common one.
        guard owner(of: gitDirectory) == uid, owner(of: commonDirectory) == uid,
            isDirectory(commonDirectory + "/objects"),
            isDirectory(commonDirectory + "/refs"), access(commonDirectory + "/reftable", F_OK) != 0,
            access(gitDirectory + "/reftable", F_OK) != 0
        else { return .unsure }
        guard let config = readSmallFile(commonDirectory + "/config"), plainConfig(config) else { return .unsure }
        if gitDirectory != commonDirectory, access(gitDirectory + "/config.worktree", F_OK) == 0 { return .unsure }

        var headInfo = stat()
        guard lstat(gitDirectory + "/HEAD", &headInfo) == 0, headInfo.st_mode & S_IFMT == S_IFREG,
            let head = readSmallFile(gitDirectory + "/HEAD")
        else { return .unsure }
        let headLine = trimmedLine(Substring(head))
        if isObjectID(headLine) { return .commit(headLine.lowercased()) }
        guard headLine.hasPrefix("ref: refs/heads/") else { return .unsure }
        let name = String(headLine.dropFirst("ref: ".count))
        guard validBranchRef(name) else { return .unsure }
        var refInfo = stat()
        if lstat(commonDirectory + "/" + name, &refInfo) == 0 {
            guard refInfo.st_mode & S_IFMT == S_IFREG, let loose = readSmallFile(commonDirectory + "/" + name) else {
                return .unsure
            }
            let id = trimmedLine(Substring(loose))
            return isObjectID(id) ? .commit(id.lowercased()) : .unsure
        }
        guard errno == ENOENT else { return .unsure }
        guard let packed = readFile(commonDirectory + "/packed-refs", limit: 64 << 20) else { return .unsure }
        for line in packed.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("^") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[1] == name[...] {
                let id = String(parts[0])
                return isObjectID(id) ? .commit(id.lowercased()) : .unsure
            }
        }
        return .unsure  // unborn branch: git answers, whatever it says
    }

    /// `refs/heads/<name>` with only the characters a plain branch name uses (no `..`, no `.lock`).
    private static func validBranchRef(_ name: String) -> Bool {
        let branch = name.dropFirst("refs/heads/".count)
        guard !branch.isEmpty, !name.contains(".."), !name.contains("//"), !name.hasSuffix("/"),
            !name.hasSuffix(".lock"),
            !branch.hasPrefix("."), !name.contains("/.")
        else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || "/-_.+".unicodeScalars.contains(scalar)
        }
    }

    /// No `[extensions]` (git refuses versions and extensions it does not know), no `include`, version 0 or 1.
    private static func plainConfig(_ text: String) -> Bool {
        let lower = text.lowercased()
        if lower.contains("extensions") || lower.contains("include") { return false }
        for line in lower.split(separator: "\n") {
            let compact = line.filter { $0 != " " && $0 != "\t" }
            if compact.hasPrefix("repositoryformatversion="),
                !(compact == "repositoryformatversion=0" || compact == "repositoryformatversion=1")
            {
                return false
            }
        }
        return true
    }

    static func isObjectID(_ s: String) -> Bool {
        (s.utf8.count == 40 || s.utf8.count == 64)
            && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func trimmedLine(_ text: Substring) -> String {
        var line = text
        if let newline = line.firstIndex(of: "\n") { line = line[..<newline] }
        return String(line)
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    private static func owner(of path: String) -> uid_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_uid : nil
    }

    private static func readSmallFile(_ path: String) -> String? { readFile(path, limit: 64 << 10) }

    /// The file as UTF-8 text, nil when it cannot be read, is larger than `limit` or is not UTF-8.
    private static func readFile(_ path: String, limit: Int) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { readBytes(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > limit { return nil }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// `read(2)` (inside `GitHead` the name is its own method).
private func readBytes(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
