import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import Testing

@testable import SwiftDeployAPI

/// Collects the lines a `JSONLogHandler` writes, for assertions on the access log.
final class LogCapture: Sendable {
    private let box = NIOLockedValueBox<[String]>([])

    var lines: [String] { box.withLockedValue { $0 } }

    /// The captured lines decoded as JSON objects.
    var records: [[String: Any]] {
        lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    func logger() -> Logger {
        Logger(label: "test") { label in
            JSONLogHandler(label: label) { line in self.box.withLockedValue { $0.append(line) } }
        }
    }
}

/// A service wired for in-process tests: its state is reachable for assertions.
struct TestService {
    let services: APIServices
    let logs: LogCapture

    init(mode: ServiceMode = .stable, version: String = "9.9.9", roll: @escaping @Sendable () -> Double = { 0.5 }) {
        let logs = LogCapture()
        self.logs = logs
        self.services = APIServices(
            configuration: ServiceConfiguration(mode: mode, version: version, port: 0, host: "127.0.0.1"),
            chaos: ChaosState(roll: roll),
            logger: logs.logger()
        )
    }

    func test<Value>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let app = Application(router: buildRouter(services), logger: services.logger)
        return try await app.test(.router, body)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object; fails the test when it is not one.
    func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(
            object as? [String: Any], "body is not a JSON object: \(text)", sourceLocation: sourceLocation)
    }
}

extension TestResponse {
    /// One top-level field of a JSON object body, or nil when absent or not JSON.
    func field(_ key: String) -> Any? {
        ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any])?[key]
    }
}

extension ByteBuffer {
    init(json: String) { self.init(string: json) }
}

/// Samples parsed from a Prometheus text exposition, looked up by name and labels
/// regardless of label order.
struct Exposition {
    struct Series: Hashable {
        var name: String
        var labels: [String: String]
    }

    private(set) var samples: [Series: Double] = [:]
    private(set) var types: [String: String] = [:]

    init(_ text: String) throws {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("#") || line.isEmpty { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw ExpositionError(line: String(line))
            }
            let series = line[..<space]
            var labels: [String: String] = [:]
            let name: Substring
            if let brace = series.firstIndex(of: "{") {
                name = series[..<brace]
                let inner = series[series.index(after: brace)..<series.index(before: series.endIndex)]
                for pair in inner.split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2 else { throw ExpositionError(line: String(line)) }
                    labels[String(kv[0])] = String(kv[1].dropFirst().dropLast())
                }
            } else {
                name = series
            }
            samples[Series(name: String(name), labels: labels)] = value
        }
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples[Series(name: name, labels: labels)]
    }

    /// Every sample of a metric family, e.g. all `http_requests_total` series.
    func series(named name: String) -> [Series: Double] {
        samples.filter { $0.key.name == name }
    }

    struct ExpositionError: Error, CustomStringConvertible {
        var line: String
        var description: String { "cannot parse exposition line: \(line)" }
    }
}
