import CSHA256Lanes
import Crypto

/// The SHA-256 of one history line as its 32 bytes: what the chain check computes, keeps and compares for every
/// line, without a 64-character hex string per line. `hex` is the lower-case hex the history writes.
struct LineDigest: Hashable, Sendable {
    // The digest's bytes in order, eight to a word, as they lie in memory.
    private var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// All zero bytes: the genesis `prev` (64 zeros).
    static let zero = LineDigest(w0: 0, w1: 0, w2: 0, w3: 0)

    private init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    /// The 32 bytes at `bytes`.
    init(bytes: UnsafeRawPointer) {
        self.init(
            w0: bytes.loadUnaligned(as: UInt64.self), w1: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            w2: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            w3: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// The SHA-256 of `bytes` (swift-crypto, one message).
    init(of bytes: UnsafeRawBufferPointer) {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        self = hasher.finalize().withUnsafeBytes { LineDigest(bytes: $0.baseAddress!) }
    }

    /// The digest written as 64 lower-case hex digits, as the history writes hashes; nil for anything else (upper
    /// case included: such a `prev` never equals a hash the history wrote).
    init?(hex: UnsafeRawBufferPointer) {
        guard hex.count == 64, let text = hex.baseAddress else { return nil }
        // Sixteen digits (two eight-byte words) make eight bytes of the digest, without a branch per digit (the
        // digits of a hash are random: a branch per digit is mispredicted a third of the time).
        let w0 = Self.bytes(text, 0), w1 = Self.bytes(text, 16), w2 = Self.bytes(text, 32), w3 = Self.bytes(text, 48)
        guard let w0, let w1, let w2, let w3 else { return nil }
        self.init(w0: w0, w1: w1, w2: w2, w3: w3)
    }

    /// Eight digest bytes from the sixteen lower-case hex digits at `text + offset`, in memory order; nil when one
    /// of them is not a lower-case hex digit.
    @inline(__always) private static func bytes(_ text: UnsafeRawPointer, _ offset: Int) -> UInt64? {
        guard let low = fourBytes(UInt64(littleEndian: text.loadUnaligned(fromByteOffset: offset, as: UInt64.self))),
            let high = fourBytes(UInt64(littleEndian: text.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
        else { return nil }
        return UInt64(littleEndian: low | high << 32)
    }

    /// Eight hex digits, the first in the lowest byte of `x`, as four bytes, the first lowest; nil when a byte is
    /// not `0`-`9` or `a`-`f`. Bytes below 0x80 plus a constant below 0x80 carry into their own top bit only.
    @inline(__always) private static func fourBytes(_ x: UInt64) -> UInt64? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let top: UInt64 = 0x8080_8080_8080_8080
        guard x & top == 0 else { return nil }
        let atLeast0 = x &+ ones &* (0x80 - 0x30), above9 = x &+ ones &* (0x80 - 0x3A)
        let atLeastA = x &+ ones &* (0x80 - 0x61), aboveF = x &+ ones &* (0x80 - 0x67)
        let hex = (atLeast0 & ~above9) | (atLeastA & ~aboveF)
        guard hex & top == top else { return nil }
        // A digit's value: its low four bits, plus 9 for a letter (bit 6 set).
        let nibbles = (x & (ones &* 0x0F)) &+ ((x >> 6) & ones) &* 9
        // Pairs (first digit high): one byte in the low half of each 16-bit lane, then the four lanes packed.
        let pairs = ((nibbles & 0x00FF_00FF_00FF_00FF) << 4) | ((nibbles >> 8) & 0x00FF_00FF_00FF_00FF)
        let halves = (pairs | (pairs >> 8)) & 0x0000_FFFF_0000_FFFF
        return (halves | (halves >> 16)) & 0xFFFF_FFFF
    }

    init?(hex: String) {
        var text = hex
        guard let digest = text.withUTF8({ LineDigest(hex: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = digest
    }

    /// Lower-case hex, 64 digits.
    var hex: String {
        withUnsafeBytes(of: self) { digest in
            String(unsafeUninitializedCapacity: 64) { out in
                let digits: StaticString = "0123456789abcdef"
                for i in 0..<32 {
                    out[2 * i] = digits.utf8Start[Int(digest[i] >> 4)]
                    out[2 * i + 1] = digits.utf8Start[Int(digest[i] & 0x0F)]
                }
                return 64
            }
        }
    }
}

/// Hashes many lines at once: with the processor's SHA extensions (SHA-NI) where it has them, else eight at a time
/// in AVX2 lanes where it has those (about twice as fast as one line at a time with swift-crypto on a processor
/// without SHA extensions; the SHA extensions about twice as fast again), else one at a time with swift-crypto. All
/// give the same digests (`SHA256LanesTests`).
enum LineHasher {
    /// Whether this processor runs the eight-lane code (checked once, at run time).
    static let lanesAvailable = csha256_lanes_available() != 0
    /// Whether this processor has the SHA extensions (checked once, at run time).
    static let shaExtensionsAvailable = csha256_ni_available() != 0

    /// `digests[i]` = SHA-256 of `base[starts[i]..<ends[i]]`, for every i in `0..<digests.count`. `lanes` false
    /// hashes with swift-crypto alone; `shaExtensions` false leaves out the SHA extensions (for tests of the lanes).
    static func hash(
        base: UnsafeRawPointer, starts: UnsafePointer<Int>, ends: UnsafePointer<Int>,
        into digests: UnsafeMutableBufferPointer<LineDigest>, lanes: Bool = lanesAvailable,
        shaExtensions: Bool = shaExtensionsAvailable
    ) {
        guard let out = digests.baseAddress, digests.count > 0 else { return }
        // The C code writes 32 bytes a digest, one after the other.
        precondition(MemoryLayout<LineDigest>.stride == 32, "LineDigest must be 32 bytes a digest")
        let bytes = UnsafeMutableRawPointer(out).assumingMemoryBound(to: UInt8.self)
        if lanes && shaExtensions && shaExtensionsAvailable {
            csha256_ni_hash(base.assumingMemoryBound(to: UInt8.self), starts, ends, digests.count, bytes)
        } else if lanes && lanesAvailable {
            csha256_lanes_hash(base.assumingMemoryBound(to: UInt8.self), starts, ends, digests.count, bytes)
        } else {
            for i in 0..<digests.count {
                digests[i] = LineDigest(of: UnsafeRawBufferPointer(start: base + starts[i], count: ends[i] - starts[i]))
            }
        }
    }
}
