import Foundation

/// Byte-for-byte comparison of text (String's `==` also equates canonically equivalent text, e.g. "é" written as
/// one scalar or as "e" and a combining accent).
enum TextBytes {
    /// Whether `a` and `b` hold the same UTF-8 bytes. Compares memory where both strings are contiguous (native
    /// Swift strings are): `utf8.elementsEqual` walks the views byte by byte, about 0.4 ms per policy bundle.
    static func equal(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0
            }
        }
        return (fast ?? nil) ?? a.utf8.elementsEqual(b.utf8)
    }
}
