/// A decoded string field of a history line, held without a heap allocation when its UTF-8 is at most 40 bytes
/// (the 24-byte time and the 40-digit commit of every line: as `String`s, two allocations a line, released on
/// another thread, for text most lines never print); longer text is a `String`. The representation depends on the
/// length alone (`init(_:)` and `init(utf8:)` choose alike), so the two decoders' answers compare equal: bytes
/// up to 40, `String`'s `==` above.
struct HistoryText: Equatable, Decodable, Sendable {
    static let inlineCapacity = 40

    private enum Storage: Equatable {
        /// The first `count` bytes of `bytes`; the rest zero.
        case inline(InlineBytes, count: UInt8)
        case string(String)
    }

    /// Forty bytes, compared as five words.
    struct InlineBytes: Equatable {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)

        static func == (a: InlineBytes, b: InlineBytes) -> Bool {
            a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
                && a.words.4 == b.words.4
        }
    }

    private var storage: Storage

    /// `utf8` (valid UTF-8, as the JSON reader has checked it).
    init(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= Self.inlineCapacity else {
            storage = .string(String(decoding: bytes, as: UTF8.self))
            return
        }
        var inline = InlineBytes()
        withUnsafeMutableBytes(of: &inline.words) { $0.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
        storage = .inline(inline, count: UInt8(bytes.count))
    }

    init(_ string: String) {
        var string = string
        self = string.withUTF8 { HistoryText(utf8: $0) }
    }

    init(from decoder: Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    /// The text's UTF-8, valid until `body` returns.
    func withUTF8<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        switch storage {
        case .inline(var inline, let count):
            return try withUnsafeBytes(of: &inline.words) {
                try body(
                    UnsafeBufferPointer(start: $0.assumingMemoryBound(to: UInt8.self).baseAddress, count: Int(count)))
            }
        case .string(var string):
            return try string.withUTF8(body)
        }
    }

    var string: String {
        switch storage {
        case .inline: return withUTF8 { String(decoding: $0, as: UTF8.self) }
        case .string(let string): return string
        }
    }
}
