import Foundation
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import Testing

@testable import SwiftDeployAPI

@Suite struct ChaosRouteTests {
    @Test func stableRefusesChaosWith403() async throws {
        let service = TestService(mode: .stable)
        try await service.test { client in
            try await client.execute(
                uri: "/chaos", method: .post, body: ByteBuffer(json: #"{"mode":"slow","duration":1}"#)
            ) { response in
                #expect(response.status == .forbidden)
                #expect(
                    response.field("error") as? String
                        == """
                        chaos is accepted only in canary mode; this instance runs MODE=stable. Send chaos to the \
                        canary instance
                        """
                )
            }
        }
        #expect(service.services.chaos.current == .none)
    }

    @Test func slowModeDelaysAffectedRoutesOnly() async throws {
        let service = TestService(mode: .canary)
        try await service.test { client in
            try await client.execute(
                uri: "/chaos", method: .post, body: ByteBuffer(json: #"{"mode":"slow","duration":0.4}"#)
            ) { response in
                #expect(response.status == .ok)
                let body = try response.json()
                #expect(body["chaos"] as? String == "slow")
                #expect(body["duration"] as? Double == 0.4)
            }
            let clock = ContinuousClock()
            let slow = try await clock.measure {
                try await client.execute(uri: "/", method: .get) { #expect($0.status == .ok) }
            }
            #expect(slow >= .milliseconds(400), "GET / took \(slow) under slow chaos")
            for exempt in ["/healthz", "/metrics"] {
                let fast = try await clock.measure {
                    try await client.execute(uri: exempt, method: .get) { #expect($0.status == .ok) }
                }
                // Anything under the 400 ms delay proves the route was not delayed.
                #expect(fast < .milliseconds(400), "\(exempt) took \(fast): chaos must not touch it")
            }
            try await client.execute(uri: "/chaos", method: .post, body: ByteBuffer(json: #"{"mode":"recover"}"#)) {
                response in
                #expect(response.field("chaos") as? String == "none")
            }
            let recovered = try await clock.measure {
                try await client.execute(uri: "/", method: .get) { _ in }
            }
            #expect(recovered < .milliseconds(400), "GET / took \(recovered) after recover")
        }
    }

    @Test func slowModeDoesNotBlockConcurrentRequests() async throws {
        let service = TestService(mode: .canary)
        service.services.chaos.apply(.slow(seconds: 0.5))
        try await service.test { client in
            let clock = ContinuousClock()
            let elapsed = try await clock.measure {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<20 {
                        group.addTask { try await client.execute(uri: "/", method: .get) { #expect($0.status == .ok) } }
                    }
                    try await group.waitForAll()
                }
            }
            // 20 sequential delays would take 10 s; concurrent sleeps overlap.
            #expect(elapsed < .seconds(3), "20 concurrent slow requests took \(elapsed)")
        }
    }

    @Test func errorModeFailsTheRolledFraction() async throws {
        // Rolls cycle through 0.0, 0.1, ... 0.9: with rate 0.3, exactly 3 in 10 fail.
        let counter = Counter()
        let service = TestService(mode: .canary, roll: { Double(counter.next() % 10) / 10 })
        try await service.test { client in
            try await client.execute(
                uri: "/chaos", method: .post, body: ByteBuffer(json: #"{"mode":"error","rate":0.3}"#)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.field("rate") as? Double == 0.3)
            }
            var failures = 0
            for _ in 0..<20 {
                let response = try await client.execute(uri: "/", method: .get)
                if response.status == .internalServerError {
                    failures += 1
                    #expect(
                        response.field("error") as? String
                            == #"chaos: injected failure (error mode, rate 0.3); POST {"mode": "recover"} to /chaos to stop"#
                    )
                } else {
                    #expect(response.status == .ok)
                }
            }
            #expect(failures == 6)
        }
    }

    @Test func errorModeNeverTouchesHealthMetricsOrChaos() async throws {
        let service = TestService(mode: .canary, roll: { 0 })
        service.services.chaos.apply(.error(rate: 1))
        try await service.test { client in
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .internalServerError) }
            try await client.execute(uri: "/missing", method: .get) { #expect($0.status == .internalServerError) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/chaos", method: .post, body: ByteBuffer(json: #"{"mode":"recover"}"#)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test(arguments: [
        (
            "{",
            "invalid chaos request: body is not valid JSON (got '{'); send e.g. {\"mode\": \"slow\", \"duration\": 2}"
        ),
        ("[1]", "invalid chaos request: body must be a JSON object such as {\"mode\": \"recover\"}, got '[1]'"),
        ("{}", "invalid chaos request: missing key 'mode'; use one of slow, error, recover"),
        (#"{"mode":"melt"}"#, "invalid chaos request: unknown mode 'melt'; use one of slow, error, recover"),
        (#"{"mode":1}"#, "invalid chaos request: 'mode' must be a string (slow, error or recover), got 1"),
        (
            #"{"mode":"slow"}"#,
            "invalid chaos request: missing key 'duration'; send e.g. {\"mode\": \"slow\", \"duration\": 2}"
        ),
        (#"{"mode":"slow","duration":-1}"#, "invalid chaos request: 'duration' must not be negative, got -1"),
        (#"{"mode":"slow","duration":3600}"#, "invalid chaos request: 'duration' must be at most 60 seconds, got 3600"),
        (#"{"mode":"slow","duration":"2"}"#, "invalid chaos request: 'duration' must be a number, got the string '2'"),
        (#"{"mode":"slow","duration":true}"#, "invalid chaos request: 'duration' must be a number, got true"),
        (#"{"mode":"error","rate":1.5}"#, "invalid chaos request: 'rate' must be between 0 and 1, got 1.5"),
        (#"{"mode":"error","rate":-0.1}"#, "invalid chaos request: 'rate' must be between 0 and 1, got -0.1"),
        (#"{"mode":"error","rate":null}"#, "invalid chaos request: 'rate' must be a number, got null"),
        (
            #"{"mode":"error","rate":0.5,"duration":1}"#,
            "invalid chaos request: unknown key 'duration' for mode 'error'; allowed keys: 'mode', 'rate'"
        ),
        (
            #"{"mode":"recover","rate":0}"#,
            "invalid chaos request: unknown key 'rate' for mode 'recover'; allowed keys: 'mode'"
        ),
    ])
    func badBodiesGet400NamingTheProblem(body: String, message: String) async throws {
        let service = TestService(mode: .canary)
        try await service.test { client in
            try await client.execute(uri: "/chaos", method: .post, body: ByteBuffer(json: body)) { response in
                #expect(response.status == .badRequest)
                #expect(response.field("error") as? String == message)
            }
        }
        #expect(service.services.chaos.current == .none, "a refused body must not change chaos")
    }

    @Test func oversizedBodyIs413() async throws {
        let service = TestService(mode: .canary)
        let big = #"{"mode":"recover","pad":""# + String(repeating: "x", count: 10_000) + #""}"#
        try await service.test { client in
            try await client.execute(uri: "/chaos", method: .post, body: ByteBuffer(json: big)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(
                    response.field("error") as? String
                        == #"chaos request body is larger than 4096 bytes; send a small JSON object such as {"mode": "recover"}"#
                )
            }
        }
    }

    @Test func validCommandsParse() throws {
        #expect(try ChaosCommand.parse(Array(#"{"mode":"slow","duration":2}"#.utf8)) == .slow(seconds: 2))
        #expect(try ChaosCommand.parse(Array(#"{"mode":"slow","duration":0}"#.utf8)) == .slow(seconds: 0))
        #expect(try ChaosCommand.parse(Array(#"{"duration":60,"mode":"slow"}"#.utf8)) == .slow(seconds: 60))
        #expect(try ChaosCommand.parse(Array(#"{"mode":"error","rate":0}"#.utf8)) == .error(rate: 0))
        #expect(try ChaosCommand.parse(Array(#"{"mode":"error","rate":1}"#.utf8)) == .error(rate: 1))
        #expect(try ChaosCommand.parse(Array(#" {"mode" : "recover"} "#.utf8)) == .recover)
    }
}

/// A thread-safe counter for deterministic roll sequences.
final class Counter: Sendable {
    private let box = NIOLockedValueBox(0)
    func next() -> Int {
        box.withLockedValue { value in
            defer { value += 1 }
            return value
        }
    }
}
