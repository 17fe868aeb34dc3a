import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The time limits of the outside programs the library only asks for a fact (finding 1): `git rev-parse HEAD` for the
/// history's commit (5 s) and `docker info` for Docker's data root (3 s). A program that hangs there must cost about
/// the limit and leave the fact unknown, never hold the command up. Fakes on a `PATH` of the test's own stand in
/// for a hung git and a hung Docker (a real one cannot be made to hang on demand). Wall-time bounds: the `timed`
/// group.
@Suite("Time limits of the tools the library asks")
struct ToolTimeLimitTests {
    /// A program named `name` in a directory of its own that appends a line to `marker` when it starts, then
    /// sleeps `seconds` and prints `answer`. Returns the directory (to put first on `PATH`).
    static func fake(_ name: String, in dir: TemporaryDirectory, marker: URL, seconds: Double, answer: String)
        throws -> URL
    {
        let program = try dir.write(
            "#!/bin/sh\necho started >> '\(marker.path)'\nsleep \(seconds)\necho '\(answer)'\n",
            to: "bin-\(name)/\(name)")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
        return program.deletingLastPathComponent()
    }

    /// A git that hangs: the commit is left out (unknown) after about 5 s, git is stopped, and the line is still
    /// appended. The repository's HEAD is a symbolic ref to a symbolic ref, which `GitHead` leaves to git, so git is
    /// really asked.
    @Test(.requires(.git))
    func aGitThatHangsIsStoppedAfterFiveSecondsAndTheHistoryStillRecords() async throws {
        let dir = try TemporaryDirectory(prefix: "slow-git")
        defer { dir.remove() }
        let heads = GitHeadTests()
        let repo = try await heads.repository(dir)
        try await heads.git(repo, ["symbolic-ref", "refs/heads/alias", "refs/heads/main"])
        try await heads.git(repo, ["symbolic-ref", "HEAD", "refs/heads/alias"])
        let marker = dir.url.appendingPathComponent("git-started")
        let bin = try Self.fake(
            "git", in: dir, marker: marker, seconds: 60, answer: "0000000000000000000000000000000000000000")
        var environment = localEnvironment
        environment["PATH"] = bin.path + ":" + (localEnvironment["PATH"] ?? "/usr/bin:/bin")
        #expect(GitHead.read(in: repo, environment: environment) == .unsure)

        let log = HistoryLog(
            url: dir.url.appendingPathComponent("history.jsonl"), environment: environment, repositoryDirectory: repo)
        let start = Date()
        let record = try await log.append(HistoryEntry(event: .validate, outcome: "passed"))
        let elapsed = Date().timeIntervalSince(start)
        #expect(FileManager.default.fileExists(atPath: marker.path), "the fake git was never started")
        #expect(record.commit == nil, "a hung git gave the commit \(record.commit ?? "")")
        #expect(elapsed >= 4.5, "the append took \(elapsed) s: git was not given its 5 s")
        #expect(elapsed < 10, "the append took \(elapsed) s with a git that hangs (limit 5 s, then SIGTERM)")
        let lines = try historyLines(log.url)
        #expect(lines.count == 1 && !lines[0].contains("\"commit\""), "\(lines)")
    }

    /// A Docker whose `docker info` hangs: no data root after about 3 s (the host facts then measure the default
    /// data root or the manifest's directory); one that answers within the limit is read.
    @Test func aDockerInfoThatHangsIsGivenUpAfterThreeSeconds() async throws {
        let dir = try TemporaryDirectory(prefix: "slow-docker")
        defer { dir.remove() }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let hungMarker = dir.url.appendingPathComponent("hung-started")
        let hung = try Self.fake("docker", in: dir, marker: hungMarker, seconds: 60, answer: "/srv/hung")
        let start = Date()
        let answer = await HostFactsCollector.askDocker(environment: ["PATH": hung.path + ":" + path])
        let elapsed = Date().timeIntervalSince(start)
        #expect(FileManager.default.fileExists(atPath: hungMarker.path), "the fake docker was never started")
        #expect(answer == nil, "a hung docker info gave \(answer ?? "")")
        #expect(elapsed >= 2.5, "docker info was given up after \(elapsed) s, before its 3 s")
        #expect(elapsed < 8, "a hung docker info held the host facts for \(elapsed) s (limit 3 s, then SIGTERM)")

        let slowDir = try TemporaryDirectory(prefix: "slow-docker-answers")
        defer { slowDir.remove() }
        let slow = try Self.fake(
            "docker", in: slowDir, marker: slowDir.url.appendingPathComponent("started"), seconds: 0.5,
            answer: "/srv/docker-root")
        #expect(await HostFactsCollector.askDocker(environment: ["PATH": slow.path + ":" + path]) == "/srv/docker-root")
    }
}
