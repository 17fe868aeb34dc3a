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

    /// A header a proxy sent twice: `headers` joins the values, `fields` keeps every line in order (the end-to-end
    /// tests count how often nginx passes X-Request-ID).
    @Test func repeatedHeadersAreJoinedAndEveryLineIsKept() async throws {
        let held = try LoopbackPort()
        let listener = try held.takeListener()
        let thread = Thread {
            defer { close(listener) }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            let answer =
                """
                HTTP/1.1 200 OK\r\nX-Request-ID: a\r\nContent-Length: 2\r\nX-Request-Id:  b \r\nConnection: \
                close\r\n\r\nok
                """
            _ = answer.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }
        thread.start()
        let response = try await SocketHTTPClient().send(
            method: "GET", url: URL(string: "http://127.0.0.1:\(held.port)/")!,
            limits: HTTPLimits(connectTimeout: 2, totalTimeout: 5))
        #expect(response.status == 200 && response.body == Data("ok".utf8))
        #expect(response.headers["x-request-id"] == "a, b")
        #expect(
            response.fields == [
                HTTPHeaderField(name: "x-request-id", value: "a"), HTTPHeaderField(name: "content-length", value: "2"),
                HTTPHeaderField(name: "x-request-id", value: "b"), HTTPHeaderField(name: "connection", value: "close"),
            ])
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
