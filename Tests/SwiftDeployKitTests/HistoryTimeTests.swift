import Foundation
import Testing

@testable import SwiftDeployKit

@Suite("History time")
struct HistoryTimeTests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(HistoryTime.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(HistoryTime.format(Date(timeIntervalSince1970: 1_777_629_600.123)) == "2026-05-01T10:00:00.123Z")
        #expect(HistoryTime.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
    }

    @Test func parsesWhatItFormatsAndOtherRFC3339Forms() throws {
        let date = Date(timeIntervalSince1970: 1_777_629_600.123)
        let parsed = try #require(HistoryTime.parse(HistoryTime.format(date)))
        #expect(abs(parsed.timeIntervalSince(date)) < 0.0005)
        #expect(HistoryTime.parse("2026-05-01T10:00:00Z") == Date(timeIntervalSince1970: 1_777_629_600))
        #expect(HistoryTime.parse("2026-05-01T12:00:00+02:00") == Date(timeIntervalSince1970: 1_777_629_600))
        #expect(HistoryTime.parse("yesterday") == nil)
        #expect(HistoryTime.parse("2026-13-01T10:00:00Z") == nil)
    }

    @Test func parsesBounds() throws {
        let now = Date(timeIntervalSince1970: 1_777_629_600)
        #expect(try HistoryTime.parseBound("2026-05-01", now: now) == Date(timeIntervalSince1970: 1_777_593_600))
        #expect(try HistoryTime.parseBound("12h", now: now) == now.addingTimeInterval(-43_200))
        #expect(try HistoryTime.parseBound("7d", now: now) == now.addingTimeInterval(-7 * 86_400))
        #expect(throws: HistoryError.invalidTime(value: "soon")) { try HistoryTime.parseBound("soon", now: now) }
    }
}
