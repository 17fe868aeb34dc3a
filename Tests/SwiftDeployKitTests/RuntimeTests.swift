import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// Replays canned command results and records the commands asked for.
final class ScriptedRunner: CommandRunning, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [(prefix: [String], result: Result<CommandResult, RuntimeError>)]
    private(set) var commands: [[String]] = []
    /// The timeout each command was run with, in order.
    private(set) var timeouts: [TimeInterval] = []

    init(_ answers: [([String], Result<CommandResult, RuntimeError>)]) {
        self.answers = answers.map { (prefix: $0.0, result: $0.1) }
    }

    static func ok(_ stdout: String = "", stderr: String = "", status: Int32 = 0) -> Result<CommandResult, RuntimeError>
    {
        .success(CommandResult(commandLine: "", status: status, stdout: stdout, stderr: stderr))
    }

    func run(_ arguments: [String], environment: [String: String]?, timeout: TimeInterval) throws -> CommandResult {
        lock.lock()
        defer { lock.unlock() }
        commands.append(arguments)
        timeouts.append(timeout)
        guard let answer = answers.first(where: { Array(arguments.prefix($0.prefix.count)) == $0.prefix }) else {
            return CommandResult(
                commandLine: arguments.joined(separator: " "), status: 127, stdout: "", stderr: "unexpected command")
        }
        var result = try answer.result.get()
        result.commandLine = arguments.joined(separator: " ")
        return result
    }
}

@Suite struct RuntimeTests {
    @Test func composeV2IsPreferredWhenItAnswers() async throws {
        let runner = ScriptedRunner([
            (["docker", "compose", "version"], ScriptedRunner.ok("v2.27.1\n")),
            (["docker-compose"], ScriptedRunner.ok("1.29.2\n")),
        ])
        #expect(
            try await ComposeDetector(runner: runner).detectCompose()
                == ComposeCommand(executable: "docker", prefix: ["compose"], version: "2.27.1"))
    }

    @Test func composeV1IsTheFallback() async throws {
        let runner = ScriptedRunner([
            (
                ["docker", "compose", "version"],
                ScriptedRunner.ok(stderr: "docker: unknown command: docker compose", status: 1)
            ),
            (["docker-compose", "version"], ScriptedRunner.ok("1.29.2\n")),
        ])
        #expect(
            try await ComposeDetector(runner: runner).detectCompose()
                == ComposeCommand(executable: "docker-compose", prefix: [], version: "1.29.2"))
    }

    /// A `docker` that is there but cannot start (no execute permission, another machine's build) does not stop the
    /// detection: `docker-compose` (v1) is still tried, and when neither works both reasons are named.
    @Test func aDockerThatCannotStartStillLeadsToComposeV1() async throws {
        let broken = RuntimeError.cannotStart(program: "/usr/bin/docker", detail: "no execute permission")
        let fallback = ScriptedRunner([
            (["docker", "compose"], .failure(broken)),
            (["docker-compose", "version"], ScriptedRunner.ok("1.29.2\n")),
        ])
        #expect(
            try await ComposeDetector(runner: fallback).detectCompose()
                == ComposeCommand(executable: "docker-compose", prefix: [], version: "1.29.2"))
        let neither = ScriptedRunner([
            (["docker", "compose"], .failure(broken)),
            (
                ["docker-compose"],
                .failure(.cannotStart(program: "/usr/bin/docker-compose", detail: "exec format error"))
            ),
        ])
        let error = await #expect(throws: RuntimeError.self) {
            try await ComposeDetector(runner: neither).detectCompose()
        }
        #expect(
            error
                == .composeMissing(
                    v2: "docker cannot start: no execute permission",
                    v1: "docker-compose cannot start: exec format error"))
    }

    @Test func neitherComposeNamesBothAttempts() async throws {
        let runner = ScriptedRunner([
            (["docker", "compose"], ScriptedRunner.ok(stderr: "docker: unknown command: docker compose", status: 1)),
            (["docker-compose"], .failure(.programNotFound(program: "docker-compose"))),
        ])
        let error = await #expect(throws: RuntimeError.self) {
            try await ComposeDetector(runner: runner).detectCompose()
        }
        #expect(
            error == .composeMissing(v2: "docker: unknown command: docker compose", v1: "docker-compose is not on PATH")
        )
        #expect(error?.errorDescription?.contains("'docker compose' (v2) failed") == true)
        #expect(error?.errorDescription?.contains("'docker-compose' (v1) failed") == true)
    }

    @Test func unreachableDaemonIsNotAMissingCompose() async throws {
        let runner = ScriptedRunner([
            (
                ["docker", "info"],
                ScriptedRunner.ok(
                    stderr:
                        "Cannot connect to the Docker daemon at unix:///tmp/none.sock. Is the docker daemon running?",
                    status: 1)
            )
        ])
        let error = await #expect(throws: RuntimeError.self) {
            try await ComposeDetector(runner: runner, environment: ["DOCKER_HOST": "unix:///tmp/none.sock"])
                .checkDaemon()
        }
        #expect(
            error
                == .daemonUnreachable(
                    host: "unix:///tmp/none.sock",
                    detail:
                        "Cannot connect to the Docker daemon at unix:///tmp/none.sock. Is the docker daemon running?"))
    }

    @Test(arguments: [
        (
            """
            ERROR: for nginx  Cannot start service nginx: driver failed programming external connectivity on \
            endpoint p_nginx_1: Bind for 0.0.0.0:18080 failed: port is already allocated
            """,
            18080
        ),
        ("Error starting userland proxy: listen tcp4 127.0.0.1:19180: bind: address already in use", 19180),
    ])
    func portConflictsAreRecognised(output: String, port: Int) {
        #expect(ComposeRuntime.takenPort(in: output) == port)
    }

    @Test func missingImageIsRecognised() {
        let output =
            """
            Pulling app (swiftdeploy/api:9.9.9)...\nERROR: pull access denied for swiftdeploy/api, repository \
            does not exist or may require 'docker login'
            """
        #expect(ComposeRuntime.missingImage(in: output) == "swiftdeploy/api")
    }

    @Test func upFailureBecomesTheMostSpecificError() async throws {
        let runner = ScriptedRunner([
            (["docker-compose", "version"], ScriptedRunner.ok("1.29.2")),
            (
                ["docker-compose", "-p", "shop"],
                ScriptedRunner.ok(stderr: "Bind for 0.0.0.0:8080 failed: port is already allocated", status: 1)
            ),
        ])
        let runtime = ComposeRuntime(
            project: "shop", composeFile: URL(fileURLWithPath: "/x/docker-compose.yml"), runner: runner)
        await #expect(
            throws: RuntimeError.portTaken(
                port: 8080, detail: "Bind for 0.0.0.0:8080 failed: port is already allocated")
        ) {
            try await runtime.up()
        }
        #expect(
            runner.commands.last == [
                "docker-compose", "-p", "shop", "-f", "/x/docker-compose.yml", "up", "-d", "--remove-orphans",
            ])
    }

    @Test func inspectionIsScopedByTheProjectLabel() async throws {
        let inspect = """
            [{"Id":"abc","Name":"/shop_app_1","RestartCount":2,
              "State":{"Status":"running","ExitCode":0,"StartedAt":"2026-11-21T18:00:00.123456789Z",
                       "Health":{"Status":"unhealthy","Log":[{"Output":"old"},{"Output":"curl: (7) refused\\n"}]}},
              "Config":{"Image":"swiftdeploy/api:0.1.0","Env":["MODE=canary","APP_VERSION=0.1.0","X=a=b"],
                        "Labels":{"com.docker.compose.project":"shop","com.docker.compose.service":"app"}}}]
            """
        let runner = ScriptedRunner([
            (["docker", "ps"], ScriptedRunner.ok("abc\n")), (["docker", "inspect"], ScriptedRunner.ok(inspect)),
        ])
        let runtime = ComposeRuntime(
            project: "shop", composeFile: URL(fileURLWithPath: "/x/docker-compose.yml"), runner: runner)
        let containers = try await runtime.containers()
        #expect(
            runner.commands.first == [
                "docker", "ps", "-a", "-q", "--no-trunc", "--filter", "label=com.docker.compose.project=shop",
            ])
        let app = try #require(containers.first)
        #expect(app.service == "app" && app.name == "shop_app_1")
        #expect(app.health == "unhealthy" && app.lastHealthOutput == "curl: (7) refused")
        #expect(app.environment == ["MODE": "canary", "APP_VERSION": "0.1.0", "X": "a=b"])
        #expect(app.restartCount == 2)
        #expect(app.startedAt == Date(timeIntervalSince1970: 1_795_284_000.123))
        #expect(!app.isReady)
    }

    @Test func processRunnerCapturesBothStreamsAndStatus() async throws {
        let result = try await SystemCommandRunner().run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout: 10)
        #expect(result.stdout == "out\n" && result.stderr == "err\n" && result.status == 3 && !result.timedOut)
        #expect(result.commandLine == "sh -c 'echo out; echo err >&2; exit 3'")
    }

    @Test func processRunnerStopsAProgramAtItsTimeout() async throws {
        let start = Date()
        let result = try await SystemCommandRunner().run(["sleep", "30"], timeout: 0.5)
        #expect(result.timedOut)
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func processRunnerDrainsLargeOutput() async throws {
        let result = try await SystemCommandRunner().run(
            ["sh", "-c", "head -c 1000000 /dev/zero | tr '\\000' x"], timeout: 20)
        #expect(result.stdout.count == 1_000_000)
    }

    @Test func missingProgramIsNamed() async {
        await #expect(throws: RuntimeError.programNotFound(program: "no-such-program-xyz")) {
            try await SystemCommandRunner().run(["no-such-program-xyz"], timeout: 5)
        }
    }

    /// A docker that is there but cannot start (no execute permission; not a program for this machine) is not
    /// "not installed or not on PATH": the message names the file, the reason and what to do about it.
    @Test func aProgramThatCannotStartIsNotCalledMissing() async throws {
        let dir = try TemporaryDirectory(prefix: "cannot-start")
        defer { dir.remove() }
        let notExecutable = try dir.write("#!/bin/sh\necho 27.0.0\n", to: "plain/docker")
        let notAProgram = try dir.write("this is text, not a program for this machine\n", to: "garbage/docker")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: notExecutable.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: notAProgram.path)
        let cases = [
            (notExecutable, "not executable", "chmod +x"),
            (notAProgram, "Exec format error", "a build of it for this machine"),
        ]
        for (file, reason, remedy) in cases {
            let runner = SystemCommandRunner(environment: ["PATH": file.deletingLastPathComponent().path])
            do {
                let result = try await runner.run(["docker", "info"], timeout: 10)
                Issue.record("\(file.path) ran: \(result)")
            } catch let error as RuntimeError {
                let message = error.errorDescription ?? ""
                #expect(!message.contains("not installed"), "\(message)")
                #expect(message.contains("'\(file.path)'"), "\(message)")
                #expect(message.contains(reason), "\(message)")
                #expect(message.contains(remedy), "\(message)")
                #expect(error.exitStatus == .operationFailed)
            }
        }
    }
}
