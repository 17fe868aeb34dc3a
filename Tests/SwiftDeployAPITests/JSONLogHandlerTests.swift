import Foundation
import Logging
import Testing

@testable import SwiftDeployAPI

@Suite struct JSONLogHandlerTests {
    @Test func writesOneParsableLineWithTypedValues() throws {
        let capture = LogCapture()
        var logger = capture.logger()
        logger[metadataKey: "service"] = "api"
        logger.info(
            "request",
            metadata: [
                "status": .stringConvertible(503),
                "duration_ms": .stringConvertible(12.5),
                "path": .string("/a\"b\\c\n"),
                "tags": .array([.string("x"), .stringConvertible(1)]),
            ])
        let lines = capture.lines
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false, "one line per record")
        #expect(line.contains(#""status":503"#))
        #expect(line.contains(#""duration_ms":12.5"#))
        let record = try #require(capture.records.first)
        #expect(record["level"] as? String == "info")
        #expect(record["message"] as? String == "request")
        #expect(record["path"] as? String == "/a\"b\\c\n")
        #expect(record["service"] as? String == "api")
        #expect(record["status"] as? Int == 503)
        #expect((record["tags"] as? [Any])?.count == 2)
    }

    @Test func keysComeOutSortedAfterTimeLevelMessage() {
        let capture = LogCapture()
        capture.logger().warning("w", metadata: ["b": "2", "a": "1"])
        let line = capture.lines.first ?? ""
        let order = ["\"time\"", "\"level\"", "\"message\"", "\"a\"", "\"b\""].compactMap {
            line.range(of: $0)?.lowerBound
        }
        #expect(order.count == 5 && order == order.sorted())
    }

    @Test func timestampIsRFC3339UTCWithMilliseconds() {
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 1_795_000_000.0429)) == "2026-11-18T11:06:40.042Z")
    }

    @Test func controlCharactersAreEscaped() {
        #expect(JSONLogHandler.quote("a\u{01}b\tc") == "\"a\\u0001b\\tc\"")
    }
}
