import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `audit` hashes and decodes lines on several threads (`forEachPreparedLine`) and walks the chain in order: the
/// lines it sees, and so every verdict and count, must be those of the one-thread pass (`forEachLine`).
@Suite("History lines prepared in parallel")
struct PreparedLineTests {
    struct Seen: Equatable {
        var bytes: [UInt8]
        var number: Int
        var terminated: Bool
        /// The line's SHA-256 in hex: swift-crypto's one line at a time in `serial`, the digest `prepare` was given
        /// (eight lines at once in AVX2 lanes, or one at a time) in `parallel`.
        var hash: String
    }

    func serial(_ url: URL) throws -> [Seen] {
        var seen: [Seen] = []
        try HistoryLineReader.forEachLine(in: url) { bytes, number, terminated in
            seen.append(
                Seen(bytes: Array(bytes), number: number, terminated: terminated, hash: Digest.sha256Hex(of: bytes))
            )
        }
        return seen
    }

    func parallel(_ url: URL, workers: Int, overlap: Bool = true, lanes: Bool = true) throws -> [Seen] {
        var seen: [Seen] = []
        try HistoryLineReader.forEachPreparedLine(
            in: url, workers: workers, overlap: overlap, lanes: lanes, makeContext: { () }
        ) {
            _, bytes, terminated, digest in
            (Array(bytes), terminated, digest.hex)
        } consume: { prepared, number, terminated in
            #expect(prepared.1 == terminated)
            seen.append(Seen(bytes: prepared.0, number: number, terminated: terminated, hash: prepared.2))
        }
        return seen
    }

    @Test(arguments: [
        "",  // empty file
        "\n",
        "\n\n\n",
        "{\"a\":1}",  // one line, no newline
        "{\"a\":1}\n",
        "a\r\nb\r\n\nc",  // CR kept, blank line, torn last line
        "é\u{301}ü\n\u{1F600}\n\"\\u00e9\\n\\\"\"\n",  // unicode and escapes are bytes like any other
    ])
    func smallFilesGiveTheSameLines(text: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = try dir.write(text, to: "h.jsonl")
        for workers in [1, 2, 3] {
            #expect(try parallel(url, workers: workers) == serial(url))
            #expect(try parallel(url, workers: workers, overlap: false) == serial(url))
            #expect(try parallel(url, workers: workers, lanes: false) == serial(url))
        }
    }

    @Test func manyLinesAcrossBlocksAndALineLongerThanABlock() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var text = ""
        let seed = FuzzSeed.resolve(
            test: "PreparedLineTests.manyLinesAcrossBlocksAndALineLongerThanABlock",
            filter: "PreparedLineTests/manyLinesAcrossBlocksAndALineLongerThanABlock")
        var rng = seed.generator
        for n in 0..<40_000 {
            text +=
                "{\"seq\":\(n),\"pad\":\"" + String(repeating: "x", count: Int.random(in: 0...300, using: &rng))
                + "\"}\n"
        }
        // Longer than a block (the buffer must grow), then more lines, and a torn last line.
        text += String(repeating: "y", count: HistoryLineReader.blockSize + 12_345) + "\n"
        text += "{\"seq\":1}\n{\"half"
        let url = try dir.write(text, to: "h.jsonl")
        let expected = try serial(url)
        #expect(expected.count == 40_003)
        for workers in [1, 2, 4] {
            #expect(try parallel(url, workers: workers) == expected, "\(workers) workers, \(seed)")
            #expect(try parallel(url, workers: workers, overlap: false) == expected, "\(workers) workers, \(seed)")
            #expect(try parallel(url, workers: workers, lanes: false) == expected, "\(workers) workers, \(seed)")
        }
    }

    /// With several workers a block's lines are consumed while the next block is prepared: a `consume` that throws
    /// at line N (in the middle of a block, at a block's first line, at the last one) stops the pass there, every
    /// line before N consumed once and in order, none after it.
    @Test func aConsumeErrorStopsThePassWhereItHappened() throws {
        struct Stop: Error, Equatable { var line: Int }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var text = ""
        for n in 0..<30_000 { text += "{\"seq\":\(n),\"pad\":\"" + String(repeating: "z", count: n % 400) + "\"}\n" }
        let url = try dir.write(text, to: "h.jsonl")
        let all = try serial(url)
        // The number of the first line that does not end inside the first block.
        var offset = 0
        var firstOfSecondBlock = 0
        for (index, line) in all.enumerated() {
            offset += line.bytes.count + 1
            if offset > HistoryLineReader.blockSize {
                firstOfSecondBlock = index + 1
                break
            }
        }
        #expect(firstOfSecondBlock > 1)
        for stop in [1, 2_345, firstOfSecondBlock, firstOfSecondBlock + 1, 29_999, 30_000] {
            for (workers, overlap) in [1, 2, 4].flatMap({ w in [(w, true), (w, false)] }) {
                var seen: [Int] = []
                #expect(throws: Stop(line: stop)) {
                    try HistoryLineReader.forEachPreparedLine(
                        in: url, workers: workers, overlap: overlap, makeContext: { () }
                    ) {
                        _, bytes, _, _ in
                        Array(bytes)
                    } consume: { bytes, number, _ in
                        #expect(bytes == all[number - 1].bytes)
                        if number == stop { throw Stop(line: stop) }
                        seen.append(number)
                    }
                }
                #expect(seen == Array(1..<stop), "stop \(stop), \(workers) workers, overlap \(overlap)")
            }
        }
    }

    @Test func aMissingFileIsTheSameError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("none.jsonl")
        #expect(throws: HistoryError.missing(path: url.path)) { try parallel(url, workers: 2) }
    }

    /// The verdict over a history with a broken chain at line N, an escaped and unicode line and a torn last
    /// line is the same with one thread as with several (and what the one-thread walk says).
    @Test func verifyAndReportAgreeWithTheOneThreadPass() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        let log = HistoryLog(url: url, environment: localEnvironment)
        for n in 0..<3_000 {
            let message = n % 7 == 0 ? "naïve \"quoted\" \\ back\tslash ✓ \u{1F680} #\(n)" : "line \(n)"
            try await log.append(HistoryEntry(event: n % 3 == 0 ? .gate : .status, outcome: "ok", message: message))
        }
        var lines = try historyLines(url)
        lines[1_234] = lines[1_234].replacingOccurrences(of: "\"outcome\":\"ok\"", with: "\"outcome\":\"failed\"")
        try Data((lines.joined(separator: "\n") + "\n{\"torn\":").utf8).write(to: url)

        var verifier = HistoryChainVerifier()
        let reader = HistoryJSONReader()
        try HistoryLineReader.forEachLine(in: url) { bytes, number, terminated in
            let fields = terminated ? HistoryChainFields.decode(bytes, reader: reader) : nil
            verifier.consume(
                line: number, hash: LineDigest(of: bytes), seq: fields?.seq, prev: fields.map { ChainPrev($0.prev) },
                sealed: fields?.sealed, terminated: terminated)
        }
        verifier.finish()

        let verified = try AuditReport.verify(history: url)
        #expect(verified.chain == verifier.status)
        #expect(verified.chain.firstBreak?.line == 1_235)
        #expect(verified.chain.tornCount == 1)

        let output = dir.url.appendingPathComponent("audit.json")
        let report = try await AuditReport.write(history: url, to: output, format: .json)
        #expect(report.chain == verifier.status)
        #expect(report.records == 3_000)
        #expect(report.events == ["gate": 1_000, "status": 2_000])
    }

    /// The chain walked the one-thread way (`forEachLine`): what `audit --verify` must say.
    func oneThreadStatus(_ url: URL) throws -> HistoryChainStatus {
        var verifier = HistoryChainVerifier()
        let reader = HistoryJSONReader()
        try HistoryLineReader.forEachLine(in: url) { bytes, number, terminated in
            let fields = terminated ? HistoryChainFields.decode(bytes, reader: reader) : nil
            verifier.consume(
                line: number, hash: LineDigest(of: bytes), seq: fields?.seq, prev: fields.map { ChainPrev($0.prev) },
                sealed: fields?.sealed, terminated: terminated)
        }
        verifier.finish()
        return verifier.status
    }

    /// `audit --verify` walks the chain between blocks (no overlap): an altered line that is the last of a block
    /// (its successor, which names its hash, is in the next block), the first of the next block, and a torn last
    /// line give the one-thread verdict, and an intact history over several blocks stays intact.
    @Test func verifyAtABlockBoundaryAgreesWithTheOneThreadPass() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        // Chained lines written here (appending 5000 records through HistoryLog takes minutes): each names the
        // SHA-256 of the line before it, as HistoryLog writes them.
        let pad = String(repeating: "p", count: 1_800)
        var chained: [String] = []
        var prev = HistoryRecord.genesisHash
        for n in 1...5_000 {
            let line =
                "{\"v\":1,\"seq\":\(n),\"prev\":\"\(prev)\",\"event\":\"status\",\"outcome\":\"ok\",\"message\":\"\(pad)\"}"
            chained.append(line)
            prev = Digest.sha256Hex(of: Data(line.utf8))
        }
        try Data((chained.joined(separator: "\n") + "\n").utf8).write(to: url)
        let lines = try historyLines(url)
        var offset = 0
        var lastOfFirstBlock = 0
        for (index, line) in lines.enumerated() {
            offset += line.utf8.count + 1
            if offset > HistoryLineReader.blockSize {
                lastOfFirstBlock = index  // 1-based number of the line before this one
                break
            }
        }
        #expect(lastOfFirstBlock > 1 && offset < (lines.joined(separator: "\n").utf8.count))

        let intact = try AuditReport.verify(history: url)
        #expect(intact.chain == (try oneThreadStatus(url)))
        #expect(intact.chain.isIntact && intact.chain.records == 5_000)

        for altered in [lastOfFirstBlock, lastOfFirstBlock + 1] {
            for torn in [false, true] {
                var edited = lines
                // Same length: the block boundary stays where it was.
                edited[altered - 1] = edited[altered - 1].replacingOccurrences(
                    of: "\"outcome\":\"ok\"", with: "\"outcome\":\"no\"")
                #expect(edited[altered - 1].utf8.count == lines[altered - 1].utf8.count)
                try Data((edited.joined(separator: "\n") + (torn ? "\n{\"torn\":" : "\n")).utf8).write(to: url)
                let verified = try AuditReport.verify(history: url)
                #expect(verified.chain == (try oneThreadStatus(url)), "line \(altered) altered, torn \(torn)")
                #expect(verified.chain.firstBreak?.line == altered)
                #expect(verified.chain.tornCount == (torn ? 1 : 0))
                #expect(verified.exitStatus == .failed)
            }
        }
    }
}

/// A gate loads the policy bundle several times; the second load of unchanged files reuses the first, and any
/// change to a file (even one String's `==` would not see) is read again.
@Suite("Policy bundle reuse")
struct PolicyBundleMemoTests {
    @Test func anEditedFileIsReadAgain() throws {
        let project = try GateProject()
        defer { project.remove() }
        let manifest = try project.manifest()
        let first = try PolicyBundle.load(manifest: manifest)
        let again = try PolicyBundle.load(manifest: manifest)
        #expect(again.modules == first.modules)
        #expect(again.thresholds == first.thresholds)

        // thresholds.json changed: the new value, and the contract problem it causes.
        guard case .object(var thresholds) = try JSONValue.parse(Data(contentsOf: manifest.thresholdsURL)) else {
            Issue.record("thresholds.json is not an object")
            return
        }
        thresholds["canary"] = .object([:])
        try Data(JSONValue.object(thresholds).jsonString().utf8).write(to: manifest.thresholdsURL)
        let edited = try PolicyBundle.load(manifest: manifest)
        #expect(edited.thresholds["canary"] == .object([:]))
        #expect(!edited.thresholdProblems(for: "canary").isEmpty)

        // A module normalised differently (é precomposed, then decomposed): equal as Strings, not as bytes.
        let module = manifest.policyDirectoryURL.appendingPathComponent("canary.rego")
        let source = try String(contentsOf: module, encoding: .utf8)
        try Data((source + "\n# caf\u{E9}\n").utf8).write(to: module)
        let composed = try PolicyBundle.load(manifest: manifest)
        try Data((source + "\n# cafe\u{301}\n").utf8).write(to: module)
        let decomposed = try PolicyBundle.load(manifest: manifest)
        let read = try #require(decomposed.modules.first { $0.name == "canary.rego" })
        #expect(read.source.utf8.elementsEqual((source + "\n# cafe\u{301}\n").utf8))
        #expect(
            !(try #require(composed.modules.first { $0.name == "canary.rego" })).source.utf8.elementsEqual(
                read.source.utf8))

        // A module removed: gone from the bundle.
        try FileManager.default.removeItem(at: manifest.policyDirectoryURL.appendingPathComponent("slo.rego"))
        #expect(!(try PolicyBundle.load(manifest: manifest)).domains.contains("slo"))
    }
}
