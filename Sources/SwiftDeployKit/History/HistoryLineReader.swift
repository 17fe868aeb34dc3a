import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a history file line by line in fixed-size chunks, so memory stays
/// flat however long the file is: one 1 MiB buffer plus the longest line.
struct HistoryLineReader {
    static let chunkSize = 1 << 20

    /// Calls `body` with each line's exact bytes (without `\n`), its 1-based
    /// number and whether it was terminated by `\n` (only the last line can be not).
    static func forEachLine(
        in url: URL,
        _ body: (_ line: UnsafeRawBufferPointer, _ number: Int, _ terminated: Bool) throws -> Void
    ) throws {
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw HistoryError.missing(path: path) }
            throw HistoryError.readFailed(path: path, reason: HistoryLog.errnoText())
        }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var carry: [UInt8] = []
        var number = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HistoryError.readFailed(path: path, reason: HistoryLog.errnoText())
            }
            if n == 0 { break }
            try chunk.withUnsafeBytes { raw in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                var start = 0
                while start < n {
                    guard let offset = memchr(bytes.baseAddress! + start, 0x0A, n - start) else {
                        carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<n]))
                        return
                    }
                    let end = UnsafeRawPointer(offset) - UnsafeRawPointer(bytes.baseAddress!)
                    number += 1
                    if carry.isEmpty {
                        try body(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), number, true)
                    } else {
                        carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                        try carry.withUnsafeBytes { try body($0, number, true) }
                        carry.removeAll(keepingCapacity: carry.capacity <= (chunkSize << 2))
                    }
                    start = end + 1
                }
            }
        }
        if !carry.isEmpty {
            number += 1
            try carry.withUnsafeBytes { try body($0, number, false) }
        }
    }
}
