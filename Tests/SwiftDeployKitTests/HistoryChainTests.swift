import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// Editing, deleting or reordering any line is detected, and named by its line number.
@Suite("History chain tampering")
struct HistoryChainTests {
    static let count = 10

    /// A fresh ten-line history; returns its directory, file and lines.
    func makeHistory() async throws -> (TemporaryDirectory, URL, [String]) {
        let dir = try TemporaryDirectory()
        let url = dir.url.appendingPathComponent("history.jsonl")
        let log = HistoryLog(url: url, environment: localEnvironment)
        for i in 1...Self.count {
            try await log.append(HistoryEntry(event: .status, outcome: "ok", message: "event \(i)"))
        }
        return (dir, url, try historyLines(url))
    }

    func write(_ lines: [String], to url: URL) throws {
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
    }

    @Test(arguments: 1...(count - 1))
    func editingALineIsDetectedAtThatLine(_ line: Int) async throws {
        let (dir, url, original) = try await makeHistory()
        defer { dir.remove() }
        var lines = original
        lines[line - 1] = lines[line - 1].replacingOccurrences(of: "event \(line)\"", with: "event X\"")
        #expect(lines != original)
        try write(lines, to: url)
        let status = try AuditReport.verify(history: url).chain
        #expect(status.firstBreak?.line == line)
        #expect(status.firstBreak?.message.contains("line \(line) was altered") == true)
    }

    @Test(arguments: 1...count)
    func editingALineIntoSomethingThatIsNotARecordIsDetectedAtThatLine(_ line: Int) async throws {
        let (dir, url, original) = try await makeHistory()
        defer { dir.remove() }
        var lines = original
        lines[line - 1] = "garbage"
        try write(lines, to: url)
        let status = try AuditReport.verify(history: url).chain
        #expect(status.firstBreak?.line == line)
        #expect(status.firstBreak?.message.contains("not a valid history record") == true)
    }

    @Test(arguments: 1...(count - 1))
    func deletingALineIsDetectedWhereItWas(_ line: Int) async throws {
        let (dir, url, original) = try await makeHistory()
        defer { dir.remove() }
        var lines = original
        lines.remove(at: line - 1)
        try write(lines, to: url)
        let status = try AuditReport.verify(history: url).chain
        #expect(status.firstBreak?.line == line)
        #expect(status.firstBreak?.message.contains("record #\(line) is missing") == true)
    }

    @Test(arguments: 1...(count - 1))
    func swappingTwoLinesIsDetectedAtTheFirst(_ line: Int) async throws {
        let (dir, url, original) = try await makeHistory()
        defer { dir.remove() }
        var lines = original
        lines.swapAt(line - 1, line)
        try write(lines, to: url)
        let status = try AuditReport.verify(history: url).chain
        #expect(status.firstBreak?.line == line)
    }

    @Test func movingALineLaterIsDetectedAtTheGap() async throws {
        let (dir, url, original) = try await makeHistory()
        defer { dir.remove() }
        var lines = original
        let moved = lines.remove(at: 2)
        lines.insert(moved, at: 7)
        try write(lines, to: url)
        #expect(try AuditReport.verify(history: url).chain.firstBreak?.line == 3)
    }

    @Test func duplicatingALineIsDetected() async throws {
        let (dir, url, original) = try await makeHistory()
        defer { dir.remove() }
        var lines = original
        lines.insert(lines[4], at: 5)
        try write(lines, to: url)
        let status = try AuditReport.verify(history: url).chain
        #expect(status.firstBreak?.line == 6)
        #expect(status.firstBreak?.message.contains("reordered or duplicated") == true)
    }

    @Test func anIntactHistoryVerifiesAndItsHeadIsTheLastLinesHash() async throws {
        let (dir, url, lines) = try await makeHistory()
        defer { dir.remove() }
        let summary = try AuditReport.verify(history: url, expectedHead: Digest.sha256Hex(of: Data(lines[9].utf8)))
        #expect(summary.chain.isIntact)
        #expect(summary.headMatches == true)
        #expect(summary.exitStatus == .success)
        #expect(summary.chain.records == Self.count)
    }

    /// The last line has no successor to vouch for it: the head kept elsewhere catches it.
    @Test func editingOrDeletingTheLastLineIsCaughtByTheExpectedHead() async throws {
        let (dir, url, original) = try await makeHistory()
        defer { dir.remove() }
        let head = Digest.sha256Hex(of: Data(original[9].utf8))
        var edited = original
        edited[9] = edited[9].replacingOccurrences(of: "event 10", with: "event X")
        try write(edited, to: url)
        let afterEdit = try AuditReport.verify(history: url, expectedHead: head)
        #expect(afterEdit.headMatches == false)
        #expect(afterEdit.exitStatus == .failed)

        try write(Array(original.dropLast()), to: url)
        let afterCut = try AuditReport.verify(history: url, expectedHead: head)
        #expect(afterCut.headMatches == false)
        #expect(afterCut.exitStatus == .failed)
        #expect(afterCut.chain.isIntact)
    }

    @Test func deletingASealedTornLineIsDetected() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        let log = HistoryLog(url: url, environment: localEnvironment)
        try await log.append(HistoryEntry(event: .deploy))
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"half":"#.utf8))
        try handle.close()
        try await log.append(HistoryEntry(event: .status))
        var lines = try historyLines(url)
        lines.remove(at: 1)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        let status = try AuditReport.verify(history: url).chain
        #expect(status.firstBreak?.line == 2)
        #expect(status.firstBreak?.message.contains("no longer in the file") == true)
    }
}
