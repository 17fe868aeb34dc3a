import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `GitHead` answers `git rev-parse HEAD` without starting git: wherever it answers, the answer must be git's,
/// and wherever git's answer is not plain it must say `.unsure` so that git is asked.
@Suite("Git head without git")
struct GitHeadTests {
    static let gitPath = ProcessRunner.locate("git", path: ProcessInfo.processInfo.environment["PATH"] ?? "")

    /// Runs git in `directory` with a fixed identity; returns its status and trimmed stdout.
    @discardableResult
    func git(_ directory: URL, _ args: [String], environment: [String: String]? = nil) async throws -> (
        status: Int32, out: String
    ) {
        let git = try #require(Self.gitPath)
        let result = try await ExternalTool.capture(
            [
                git.path, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                "-c", "init.defaultBranch=main",
            ] + args, environment: environment, currentDirectory: directory, timeout: 60)
        return (result.status, result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// git's own answer: the commit, or nil where it fails.
    func gitsAnswer(_ directory: URL, environment: [String: String] = localEnvironment) async throws -> String? {
        let result = try await git(directory, ["rev-parse", "HEAD"], environment: environment)
        return result.status == 0 && GitCommit.isCommitHash(result.out) ? result.out : nil
    }

    func repository(_ dir: TemporaryDirectory, commits: Int = 1) async throws -> URL {
        let repo = dir.url.appendingPathComponent("repo")
        try FileManager.default.createDirectory(
            at: repo.appendingPathComponent("sub/deeper"), withIntermediateDirectories: true)
        try await git(repo, ["init", "-q"])
        for n in 0..<commits {
            try Data("\(n)".utf8).write(to: repo.appendingPathComponent("file"))
            try await git(repo, ["add", "file"])
            try await git(repo, ["commit", "-q", "-m", "c\(n)"])
        }
        return repo
    }

    @Test(.requires(.git))
    func answersAsGitDoesForLooseAndPackedRefsDetachedHeadsSubdirectoriesAndWorktrees() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let repo = try await repository(dir, commits: 2)
        let sub = repo.appendingPathComponent("sub/deeper")

        // A branch as a loose ref file, from the top and from a subdirectory.
        let head = try await #require(try gitsAnswer(repo))
        #expect(GitHead.read(in: repo, environment: localEnvironment) == .commit(head))
        #expect(GitHead.read(in: sub, environment: localEnvironment) == .commit(head))

        // The same branch once packed (no loose file left).
        try await git(repo, ["pack-refs", "--all", "--prune"])
        #expect(!FileManager.default.fileExists(atPath: repo.appendingPathComponent(".git/refs/heads/main").path))
        await #expect(
            GitHead.read(in: sub, environment: localEnvironment) == .commit(try #require(try gitsAnswer(sub))))

        // A loose ref newer than its packed entry wins, as in git.
        try Data("2".utf8).write(to: repo.appendingPathComponent("file"))
        try await git(repo, ["commit", "-q", "-am", "c2"])
        let newer = try await #require(try gitsAnswer(repo))
        #expect(newer != head)
        #expect(GitHead.read(in: repo, environment: localEnvironment) == .commit(newer))

        // A detached head.
        try await git(repo, ["checkout", "-q", "--detach", "HEAD~1"])
        let detached = try await #require(try gitsAnswer(repo))
        #expect(detached != newer)
        #expect(GitHead.read(in: repo, environment: localEnvironment) == .commit(detached))
        try await git(repo, ["checkout", "-q", "main"])

        // A linked worktree on its own branch (`.git` is a `gitdir:` file; the refs live in the main repository).
        let worktree = dir.url.appendingPathComponent("linked")
        try await git(repo, ["worktree", "add", "-q", "-b", "side", worktree.path, "HEAD~2"])
        let linked = try await #require(try gitsAnswer(worktree))
        #expect(linked != newer)
        #expect(GitHead.read(in: worktree, environment: localEnvironment) == .commit(linked))

        // And through GitCommit, as the history records it.
        #expect(await GitCommit.resolve(in: worktree, environment: localEnvironment) == linked)
        #expect(await GitCommit.resolve(in: sub, environment: localEnvironment) == newer)
    }

    @Test(.requires(.git))
    func leavesToGitWhatIsNotPlain() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }

        // An unborn branch: git fails, so the commit is unknown; GitHead does not decide it.
        let empty = dir.url.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try await git(empty, ["init", "-q"])
        #expect(GitHead.read(in: empty, environment: localEnvironment) == .unsure)
        await #expect(try gitsAnswer(empty) == nil)
        #expect(await GitCommit.resolve(in: empty, environment: localEnvironment) == nil)

        let repo = try await repository(dir)
        let head = try await #require(try gitsAnswer(repo))

        // Any GIT_* variable may redirect git: ask git.
        var redirected = localEnvironment
        redirected["GIT_DIR"] = empty.appendingPathComponent(".git").path
        #expect(GitHead.read(in: repo, environment: redirected) == .unsure)
        #expect(await GitCommit.resolve(in: repo, environment: redirected) == nil)  // git reads the unborn repository
        for name in [
            "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES", "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_COUNT", "GIT_TRACE", "GIT_SSL", "GIT_SSL_", "GIT_NAMESPACE", "GIT_OBJECT_DIRECTORY",
        ] {
            var other = localEnvironment
            other[name] = "/nonexistent"
            #expect(GitHead.read(in: repo, environment: other) == .unsure, "\(name)")
        }
        // Variables that only concern remotes, authorship, the editor or the pager: git's answer is the same, so
        // GitHead still answers (a CI image setting GIT_SSL_CAINFO no longer starts git for every record).
        var transport = localEnvironment
        for name in [
            "GIT_SSL_CAINFO", "GIT_SSL_NO_VERIFY", "GIT_HTTP_USER_AGENT", "GIT_AUTHOR_NAME",
            "GIT_COMMITTER_EMAIL", "GIT_ASKPASS", "GIT_TERMINAL_PROMPT", "GIT_EDITOR", "GIT_PAGER", "GIT_SSH_COMMAND",
        ] {
            transport[name] = "/etc/ssl/certs/ca-certificates.crt"
        }
        #expect(GitHead.read(in: repo, environment: transport) == .commit(head))
        await #expect(try gitsAnswer(repo, environment: transport) == head)
        #expect(GitHead.read(in: empty, environment: transport) == .unsure)

        // A directory that does not exist: git cannot start there.
        #expect(GitHead.read(in: repo.appendingPathComponent("missing"), environment: localEnvironment) == .unsure)

        // A repository extension git may refuse, or a symbolic ref to another ref: ask git.
        let config = repo.appendingPathComponent(".git/config")
        let original = try Data(contentsOf: config)
        try (original + Data("[extensions]\n\tnoop = true\n".utf8)).write(to: config)
        #expect(GitHead.read(in: repo, environment: localEnvironment) == .unsure)
        try original.write(to: config)
        #expect(GitHead.read(in: repo, environment: localEnvironment) == .commit(head))
        try await git(repo, ["symbolic-ref", "refs/heads/alias", "refs/heads/main"])
        try await git(repo, ["symbolic-ref", "HEAD", "refs/heads/alias"])
        #expect(GitHead.read(in: repo, environment: localEnvironment) == .unsure)
        #expect(await GitCommit.resolve(in: repo, environment: localEnvironment) == head)

        // A corrupt loose ref: git decides (and fails).
        try await git(repo, ["symbolic-ref", "HEAD", "refs/heads/main"])
        try Data("not a hash\n".utf8).write(to: repo.appendingPathComponent(".git/refs/heads/main"))
        #expect(GitHead.read(in: repo, environment: localEnvironment) == .unsure)
        #expect(await GitCommit.resolve(in: repo, environment: localEnvironment) == (try gitsAnswer(repo)))
    }

    /// git is found by the one lookup of programs (`ProcessRunner.locate`, as every program swiftdeploy starts): a
    /// directory, or a file without execute permission, named `git` ahead of git on `PATH` is passed over as a shell
    /// does, so a commit only git can answer is still git's (a second lookup took the directory, failed to start it
    /// and recorded no commit).
    @Test(.requires(.git))
    func aDirectoryOrAFileNotExecutableNamedGitAheadOnThePathIsPassedOver() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let repo = try await repository(dir)
        let head = try #require(try await gitsAnswer(repo))
        // A symbolic ref to another ref: GitHead leaves it to git, so git is started.
        try await git(repo, ["symbolic-ref", "refs/heads/alias", "refs/heads/main"])
        try await git(repo, ["symbolic-ref", "HEAD", "refs/heads/alias"])
        #expect(GitHead.read(in: repo, environment: localEnvironment) == .unsure)
        let directory = dir.url.appendingPathComponent("shadow-directory")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("git"), withIntermediateDirectories: true)
        let plain = dir.url.appendingPathComponent("shadow-plain")
        try FileManager.default.createDirectory(at: plain, withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho 0000000000000000000000000000000000000000\n".utf8).write(
            to: plain.appendingPathComponent("git"))
        var environment = localEnvironment
        environment["PATH"] = "\(directory.path):\(plain.path):\(localEnvironment["PATH"] ?? "/usr/bin:/bin")"
        #expect(ProcessRunner.locate("git", path: environment["PATH"]) == Self.gitPath)
        #expect(await GitCommit.resolve(in: repo, environment: environment) == head)
    }

    @Test(.requires(.git))
    func noRepositoryAboveIsNoneWithoutGit() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let plain = dir.url.appendingPathComponent("a/b")
        try FileManager.default.createDirectory(at: plain, withIntermediateDirectories: true)
        let answer = GitHead.read(in: plain, environment: localEnvironment)
        // Whatever holds the temporary directory, GitHead agrees with git: none where git finds no repository.
        if try await gitsAnswer(plain) == nil {
            #expect(answer == .none || answer == .unsure)
            var ancestors: [String] = []
            var url = URL(fileURLWithPath: plain.path).resolvingSymlinksInPath()
            while url.path != "/" {
                ancestors.append(url.path)
                url.deleteLastPathComponent()
            }
            let anyGit = (ancestors + ["/"]).contains {
                FileManager.default.fileExists(atPath: $0 + "/.git")
                    || FileManager.default.fileExists(atPath: $0 + "/HEAD")
            }
            if !anyGit { #expect(answer == .none) }
        } else {
            #expect(answer != .none)
        }
        #expect(await GitCommit.resolve(in: plain, environment: localEnvironment) == (try gitsAnswer(plain)))
    }
}
