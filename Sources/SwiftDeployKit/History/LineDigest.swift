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
        var invalid = false
        func word(_ offset: Int) -> UInt64 {
            // Eight bytes of the digest from sixteen digits; the first byte lowest (memory order on little endian,
            // put right below for big endian).
            var value: UInt64 = 0
            for k in 0..<8 {
                let high = text.load(fromByteOffset: offset + 2 * k, as: UInt8.self)
                let low = text.load(fromByteOffset: offset + 2 * k + 1, as: UInt8.self)
                let byte = Self.nibble(high, &invalid) << 4 | Self.nibble(low, &invalid)
                value |= UInt64(byte) << (8 * UInt64(k))
            }
            return UInt64(littleEndian: value)
        }
        let (w0, w1, w2, w3) = (word(0), word(16), word(32), word(48))
        guard !invalid else { return nil }
        self.init(w0: w0, w1: w1, w2: w2, w3: w3)
    }

    init?(hex: String) {
        var text = hex
        guard let digest = text.withUTF8({ LineDigest(hex: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = digest
    }

    /// The value of a lower-case hex digit; sets `invalid` for any other byte.
    @inline(__always) private static func nibble(_ c: UInt8, _ invalid: inout Bool) -> UInt8 {
        let digit = c &- UInt8(ascii: "0"), letter = c &- UInt8(ascii: "a")
        if digit < 10 { return digit }
        if letter < 6 { return letter &+ 10 }
        invalid = true
        return 0
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

/// Hashes many lines at once: eight at a time in AVX2 lanes where the processor has them (about twice as fast as
/// one line at a time with swift-crypto on a processor without SHA extensions), else one at a time with
/// swift-crypto. Both give the same digests (`SHA256LanesTests`).
enum LineHasher {
    /// Whether this processor runs the eight-lane code (checked once, at run time).
    static let lanesAvailable = csha256_lanes_available() != 0

    /// `digests[i]` = SHA-256 of `base[starts[i]..<ends[i]]`, for every i in `0..<digests.count`.
    static func hash(
        base: UnsafeRawPointer, starts: UnsafePointer<Int>, ends: UnsafePointer<Int>,
        into digests: UnsafeMutableBufferPointer<LineDigest>, lanes: Bool = lanesAvailable
    ) {
        guard let out = digests.baseAddress, digests.count > 0 else { return }
        if lanes && lanesAvailable {
            csha256_lanes_hash(
                base.assumingMemoryBound(to: UInt8.self), starts, ends, digests.count,
                UnsafeMutableRawPointer(out).assumingMemoryBound(to: UInt8.self))
        } else {
            for i in 0..<digests.count {
                digests[i] = LineDigest(of: UnsafeRawBufferPointer(start: base + starts[i], count: ends[i] - starts[i]))
            }
        }
    }
}
