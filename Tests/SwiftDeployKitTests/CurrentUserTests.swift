import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// One current-user function for history lines, lock holders and overrides.
@Suite("Current user")
struct CurrentUserTests {
    /// `id -un`: the system's own answer for the real uid.
    static func systemUserName() async throws -> String {
        let result = try await ExternalTool.run("/usr/bin/id", ["-un"])
        #expect(result.status == 0)
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func environmentNamesTheUserFirst() async {
        #expect(CurrentUser.name(environment: ["USER": "alice", "LOGNAME": "bob"]) == "alice")
        #expect(CurrentUser.name(environment: ["LOGNAME": "bob"]) == "bob")
        #expect(CurrentUser.name(environment: ["USER": "  ", "LOGNAME": "bob"]) == "bob")
    }

    @Test func withoutUSERItIsTheUidsPasswdEntryNotUnknown() async throws {
        let name = CurrentUser.name(environment: [:])
        await #expect(name == (try Self.systemUserName()))
        #expect(name != "unknown")
    }

    @Test func aUidWithoutAPasswdEntryIsNamedByNumber() async {
        #expect(CurrentUser.passwdName(uid: 3_999_999_999) == nil)
        #expect(CurrentUser.name(environment: [:], uid: 3_999_999_999) == "uid 3999999999")
    }

    @Test func historyLockAndOverrideAgree() async throws {
        let expected = CurrentUser.name()
        #expect(
            HistoryActor.resolve(
                environment: ProcessInfo.processInfo.environment.filter {
                    !$0.key.hasPrefix("GITHUB") && !$0.key.hasPrefix("GITLAB") && $0.key != "CI"
                }, hostName: "h"
            ).user == expected)
        #expect(LockHolder.current(action: "deploy").who == expected)
        #expect(OverrideRequest(reason: "r").who == expected)
        // The line a history shows when USER is unset (a container, cron): the passwd name, never unknown@host.
        let systemName = try await Self.systemUserName()
        #expect(HistoryActor.resolve(environment: [:], hostName: "vm").displayName == "\(systemName)@vm")
    }
}

/// The one HTTP client also serves the health waits and mode confirmation (`HTTPProbing`), on real loopback HTTP.
@Suite("HTTP probe")
struct HTTPProbeTests {
    @Test func probeReadsStatusHeadersAndBody() async throws {
        let server = try LoopbackHTTPServer { _ in
            .init(status: 200, headers: ["X-Mode": "canary"], body: Data(#"{"status":"ok"}"#.utf8))
        }
        defer { server.stop() }
        let answer = await SocketHTTPClient().get(server.url("/healthz"), timeout: 5)
        #expect(answer.status == 200)
        #expect(answer.headers["x-mode"] == "canary")
        #expect(answer.body == #"{"status":"ok"}"#)
    }

    @Test func probeNamesARefusedConnection() async throws {
        let server = try LoopbackHTTPServer { _ in .text("") }
        let url = server.url("/healthz")
        server.stop()
        let answer = await SocketHTTPClient().get(url, timeout: 2)
        #expect(answer.status == nil)
        #expect(
            answer.failure
                == "connection refused by \(url.absoluteString): nothing listens there (is the service running?)")
    }

    @Test func probeTimesOutOnASlowAnswerAndCapsTheBody() async throws {
        let slow = try LoopbackHTTPServer { _ in .init(status: 200, body: Data("late".utf8), delay: 3) }
        defer { slow.stop() }
        let started = Date()
        let late = await SocketHTTPClient().get(slow.url("/"), timeout: 0.5)
        #expect(late.status == nil)
        #expect(late.failure?.contains("did not answer within 500ms") == true, "\(late.failure ?? "nil")")
        #expect(Date().timeIntervalSince(started) < 2.5)

        let big = try LoopbackHTTPServer { _ in
            .init(status: 200, body: Data(count: SocketHTTPClient.probeBodyLimit + 1))
        }
        defer { big.stop() }
        let capped = await SocketHTTPClient().get(big.url("/"), timeout: 5)
        #expect(capped.status == nil)
        #expect(capped.failure?.contains("body size cap") == true, "\(capped.failure ?? "nil")")
    }
}
