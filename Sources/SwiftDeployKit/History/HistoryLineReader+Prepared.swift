import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension HistoryLineReader {
    /// The block `forEachPreparedLine` reads at once; a longer line grows it to that line's length.
    static let blockSize = 4 << 20
    /// Threads preparing lines at once: the processors, at most 4.
    static var defaultWorkers: Int { min(4, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    /// The same lines as ``forEachLine(in:_:)`` (exact bytes without `\n`, 1-based numbers, `terminated` false only
    /// for an unterminated last line), in two steps: `prepare` (the per-line work that depends on nothing but the
    /// line: hashing, decoding) runs for the lines of each block on `workers` threads at once, each thread with
    /// its own context from `makeContext`; `consume` then takes the prepared lines one at a time, in file order,
    /// on the calling thread. Memory stays flat: one block, the prepared values of one block, the longest line.
    static func forEachPreparedLine<Context, Prepared>(
        in url: URL, workers: Int = defaultWorkers, makeContext: () -> Context,
        prepare: (inout Context, UnsafeRawBufferPointer, Bool) -> Prepared,
        consume: (Prepared, _ number: Int, _ terminated: Bool) throws -> Void
    ) throws {
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw HistoryError.missing(path: path) }
            throw HistoryError.readFailed(path: path, reason: HistoryLog.errnoText())
        }
        defer { close(fd) }
        let workerCount = max(1, workers)
        var contexts = (0..<workerCount).map { _ in makeContext() }
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        var filled = 0
        var number = 0
        var starts: [Int] = []
        var ends: [Int] = []
        var prepared: [Prepared?] = []
        while true {
            if filled == buffer.count {
                // No newline in a whole block: one line longer than the block; grow to hold it.
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
                larger.copyMemory(from: UnsafeRawBufferPointer(buffer))
                buffer.deallocate()
                buffer = larger
            }
            let n = read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw HistoryError.readFailed(path: path, reason: HistoryLog.errnoText())
            }
            if n == 0 { break }
            let scanFrom = filled
            filled += n
            // Complete lines: up to the last newline of what is in the buffer.
            guard let lastNewline = lastIndex(of: 0x0A, in: UnsafeRawBufferPointer(buffer), from: scanFrom, to: filled)
            else {
                continue
            }
            starts.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true)
            var start = 0
            let base = UnsafeRawPointer(buffer.baseAddress!)
            while start <= lastNewline {
                let found = memchr(base + start, 0x0A, lastNewline + 1 - start)!
                let end = UnsafeRawPointer(found) - base
                starts.append(start)
                ends.append(end)
                start = end + 1
            }
            let count = starts.count
            prepared.removeAll(keepingCapacity: true)
            prepared.append(contentsOf: repeatElement(nil, count: count))
            let block = UnsafeRawBufferPointer(buffer)
            starts.withUnsafeBufferPointer { starts in
                ends.withUnsafeBufferPointer { ends in
                    prepared.withUnsafeMutableBufferPointer { results in
                        contexts.withUnsafeMutableBufferPointer { contexts in
                            let share = (count + workerCount - 1) / workerCount
                            func run(_ worker: Int) {
                                let first = worker * share, last = min(count, first + share)
                                guard first < last else { return }
                                for i in first..<last {
                                    let line = UnsafeRawBufferPointer(rebasing: block[starts[i]..<ends[i]])
                                    results[i] = prepare(&contexts[worker], line, true)
                                }
                            }
                            if workerCount == 1 || count < 64 {
                                for worker in 0..<workerCount { run(worker) }
                            } else {
                                DispatchQueue.concurrentPerform(iterations: workerCount) { run($0) }
                            }
                        }
                    }
                }
            }
            for i in 0..<count {
                number += 1
                try consume(prepared[i]!, number, true)
            }
            // Keep the start of the next line.
            let rest = filled - (lastNewline + 1)
            if rest > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + lastNewline + 1, rest) }
            filled = rest
        }
        if filled > 0 {
            number += 1
            let line = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<filled])
            try consume(prepare(&contexts[0], line, false), number, false)
        }
    }

    private static func lastIndex(of byte: UInt8, in buffer: UnsafeRawBufferPointer, from: Int, to end: Int) -> Int? {
        var i = end - 1
        while i >= from {
            if buffer[i] == byte { return i }
            i -= 1
        }
        return nil
    }
}
