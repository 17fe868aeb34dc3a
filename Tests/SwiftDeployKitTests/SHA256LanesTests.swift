import Crypto
import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// `audit` hashes a block's lines eight at a time in AVX2 lanes (`LineHasher`, C target CSHA256Lanes) where the
/// processor has them: every digest must be bit for bit swift-crypto's (BoringSSL's), whatever the lengths around
/// it, and the chain's verdict that of the one-line-at-a-time pass. Random inputs print their seed (replay with
/// SWIFTDEPLOY_FUZZ_SEED).
@Suite struct SHA256LanesTests {
    /// Lines of `lengths` random bytes (any byte but `\n`), one after the other in one buffer.
    static func lines(_ lengths: [Int], rng: inout SplitMix64) -> (bytes: [UInt8], starts: [Int], ends: [Int]) {
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var ends: [Int] = []
        for length in lengths {
            starts.append(bytes.count)
            for _ in 0..<length {
                var byte = UInt8.random(in: 0...255, using: &rng)
                if byte == 0x0A { byte = 0x0B }
                bytes.append(byte)
            }
            ends.append(bytes.count)
        }
        return (bytes, starts, ends)
    }

    /// `LineHasher.hash` over the lines, with and without lanes, against swift-crypto one line at a time.
    static func expectCryptoDigests(
        _ lengths: [Int], rng: inout SplitMix64, seed: FuzzSeed, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let (bytes, starts, ends) = lines(lengths, rng: &rng)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
            let expected = (0..<lengths.count).map { i in
                Data(SHA256.hash(data: Data(raw[starts[i]..<ends[i]]))).map { String(format: "%02x", $0) }.joined()
            }
            // The SHA extensions (where the processor has them), the AVX2 lanes, swift-crypto alone.
            for (lanes, shaExtensions) in [(true, true), (true, false), (false, false)] {
                var digests = [LineDigest](repeating: .zero, count: lengths.count)
                digests.withUnsafeMutableBufferPointer { out in
                    starts.withUnsafeBufferPointer { s in
                        ends.withUnsafeBufferPointer { e in
                            LineHasher.hash(
                                base: base, starts: s.baseAddress!, ends: e.baseAddress!, into: out, lanes: lanes,
                                shaExtensions: shaExtensions)
                        }
                    }
                }
                for i in 0..<lengths.count where digests[i].hex != expected[i] {
                    let message =
                        "line \(i) of \(lengths.count), \(lengths[i]) bytes, lanes \(lanes), SHA extensions "
                        + "\(shaExtensions): \(digests[i].hex), not swift-crypto's \(expected[i]); \(seed)"
                    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
                    return
                }
            }
        }
    }

    /// The lanes run exactly where the kernel lists AVX2 for this processor: a broken CPUID/XGETBV check would
    /// otherwise leave every "lanes" case below comparing swift-crypto with itself.
    @Test func lanesAreOnExactlyWhereTheKernelListsAVX2() throws {
        #if arch(x86_64) && os(Linux)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = try #require(
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }, "/proc/cpuinfo has no flags line")
        let avx2 = flags.split(whereSeparator: { $0 == " " || $0 == "\t" }).contains("avx2")
        #expect(
            LineHasher.lanesAvailable == avx2,
            "the kernel lists avx2: \(avx2); csha256_lanes_available() says \(LineHasher.lanesAvailable)")
        #else
        #expect(!LineHasher.lanesAvailable, "the eight-lane code is for x86-64 only")
        #endif
    }

    /// The SHA extensions are used exactly where the kernel lists `sha_ni` for this processor (else every "SHA
    /// extensions" case below would compare the lanes or swift-crypto with themselves).
    @Test func shaExtensionsAreOnExactlyWhereTheKernelListsThem() throws {
        #if arch(x86_64) && os(Linux)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = try #require(
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }, "/proc/cpuinfo has no flags line")
        let words = flags.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let sha = words.contains("sha_ni") && words.contains("sse4_1") && words.contains("ssse3")
        #expect(
            LineHasher.shaExtensionsAvailable == sha,
            """
            the kernel lists sha_ni, sse4_1, ssse3: \(sha); csha256_ni_available() says \
            \(LineHasher.shaExtensionsAvailable)
            """
        )
        #else
        #expect(!LineHasher.shaExtensionsAvailable, "the SHA-extensions code is for x86-64 only")
        #endif
    }

    @Test func knownVectors() {
        // FIPS 180-4 examples: "", "abc", and the 56-byte message (two padding blocks).
        let vectors = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
        print(
            "SHA256LanesTests: AVX2 lanes available here: \(LineHasher.lanesAvailable), SHA extensions: "
                + "\(LineHasher.shaExtensionsAvailable)")
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var ends: [Int] = []
        // Twenty copies: more messages than lanes, so lanes take new messages part-way.
        for n in 0..<20 {
            starts.append(bytes.count)
            bytes += Array(vectors[n % 3].0.utf8)
            ends.append(bytes.count)
        }
        var digests = [LineDigest](repeating: .zero, count: 20)
        bytes.withUnsafeBytes { raw in
            digests.withUnsafeMutableBufferPointer { out in
                LineHasher.hash(
                    base: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, starts: starts, ends: ends, into: out)
            }
        }
        for n in 0..<20 { #expect(digests[n].hex == vectors[n % 3].1, "copy \(n)") }
        #expect(LineDigest(hex: vectors[1].1)?.hex == vectors[1].1)
        #expect(LineDigest(hex: vectors[1].1.uppercased()) == nil)
        #expect(LineDigest(hex: String(vectors[1].1.dropLast())) == nil)
        #expect(LineDigest(hex: HistoryRecord.genesisHash) == .zero)
    }

    /// `prev` is read into a digest eight digits at a time: every byte value at every position of a hash is taken
    /// exactly when it is a lower-case hex digit, and the digest written back is the text read.
    @Test func hexDigestsReadEveryByteAtEveryPosition() {
        let seed = FuzzSeed.resolve(
            test: "SHA256LanesTests.hexDigestsReadEveryByteAtEveryPosition", filter: "SHA256LanesTests")
        var rng = seed.generator
        let digits = Array("0123456789abcdef".utf8)
        let hexDigits = Set(digits)
        for _ in 0..<4 {
            let valid = (0..<64).map { _ in digits[Int.random(in: 0..<16, using: &rng)] }
            #expect(valid.withUnsafeBytes { LineDigest(hex: $0)?.hex } == String(decoding: valid, as: UTF8.self))
            for position in 0..<64 {
                for byte in UInt8.min...UInt8.max {
                    var text = valid
                    text[position] = byte
                    let digest = text.withUnsafeBytes { LineDigest(hex: $0) }
                    if hexDigits.contains(byte) {
                        #expect(digest?.hex == String(decoding: text, as: UTF8.self), "\(seed)")
                    } else if digest != nil {
                        Issue.record("byte \(byte) at \(position) was read as a hex digit; \(seed)")
                        return
                    }
                }
            }
        }
    }

    /// Every length 0...300 (each padding case: 55 bytes fit one block with the length, 56 need two, 64 a whole
    /// block of padding), shuffled so that the eight lanes finish at different blocks; random bytes, non-ASCII
    /// included; batches of 1 to 17 messages (idle lanes); and long messages beside short ones.
    @Test func everyLengthMatchesSwiftCrypto() {
        let seed = FuzzSeed.resolve(
            test: "SHA256LanesTests.everyLengthMatchesSwiftCrypto", filter: "SHA256LanesTests")
        var rng = seed.generator
        Self.expectCryptoDigests(Array(0...300), rng: &rng, seed: seed)
        Self.expectCryptoDigests(Array(0...300).shuffled(using: &rng), rng: &rng, seed: seed)
        for count in 1...17 {
            Self.expectCryptoDigests(
                (0..<count).map { _ in Int.random(in: 0...300, using: &rng) }, rng: &rng, seed: seed)
        }
        Self.expectCryptoDigests(
            [5_000, 0, 55, 56, 64, 1, 100_000, 63, 119, 120, 128, 3, 4_096], rng: &rng, seed: seed)
        Self.expectCryptoDigests(
            (0..<500).map { _ in Int.random(in: 0...2_000, using: &rng) }, rng: &rng, seed: seed)
    }

    /// Chained lines of exactly 119, 120, 127, 128 bytes (55, 56, 63 and 64 past a whole block: one and two padding
    /// blocks) and others, with non-ASCII text: `audit --verify` finds the same break, at every line in turn across
    /// the first lanes (a break on the eighth and ninth lines sits at a lane boundary), with and without a torn last
    /// line, as the one-line-at-a-time pass.
    @Test func chainBreaksAtLaneBoundariesAgreeWithTheOneThreadPass() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        let targets = [119, 120, 127, 128, 183, 184, 191, 192, 247, 248]
        var chained: [String] = []
        var prev = HistoryRecord.genesisHash
        for n in 1...40 {
            let head = "{\"v\":1,\"seq\":\(n),\"prev\":\"\(prev)\",\"m\":\"é"
            let target = targets[n % targets.count]
            // "é" is two bytes: pad with ASCII up to the target length.
            let line = head + String(repeating: "x", count: target - head.utf8.count - 2) + "\"}"
            #expect(line.utf8.count == target)
            chained.append(line)
            prev = Digest.sha256Hex(of: Data(line.utf8))
        }
        try Data((chained.joined(separator: "\n") + "\n").utf8).write(to: url)
        let intact = try AuditReport.verify(history: url)
        #expect(intact.chain.isIntact && intact.chain.records == 40)
        #expect(intact.chain.head == prev)

        for altered in 1...18 {
            for torn in [false, true] {
                var edited = chained
                edited[altered - 1] = edited[altered - 1].replacingOccurrences(of: "\"m\":\"é", with: "\"m\":\"è")
                try Data((edited.joined(separator: "\n") + (torn ? "\n{\"torn\":\"ü" : "\n")).utf8).write(to: url)
                let verified = try AuditReport.verify(history: url)
                let expected = try PreparedLineTests().oneThreadStatus(url)
                #expect(verified.chain == expected, "line \(altered) altered, torn \(torn)")
                // The last record cannot be vouched for from inside the file: only the head changes.
                if altered < 40 { #expect(verified.chain.firstBreak?.line == altered) }
                #expect(verified.chain.tornCount == (torn ? 1 : 0))
            }
        }
    }
}
