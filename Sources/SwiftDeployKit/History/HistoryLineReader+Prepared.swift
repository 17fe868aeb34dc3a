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
    /// line: hashing, decoding) runs for the lines of each block on `workers` threads at once, each share of a block
    /// with its own context from `makeContext`; `consume` then takes the prepared lines one at a time, in file order.
    /// With more than one worker, `consume` takes a block's lines (on one thread at a time, not necessarily the
    /// calling one) while the next block is prepared: `prepare` must not touch what `consume` does, and a prepared
    /// value must not point into the line's bytes. Memory stays flat: one block, the prepared values of two blocks,
    /// the longest line. An error thrown by `consume` stops the pass: no later line is consumed.
    /// `overlap` false consumes a block's lines on the calling thread before the next block is prepared (still on
    /// `workers` threads): for a `consume` too cheap to be worth a thread of its own (`audit --verify`), where the
    /// overlap only costs the hand-over between threads.
    /// `prepare` is given each line's SHA-256, computed for the whole share of a block at once (`LineHasher`: eight
    /// lines at a time in AVX2 lanes when `lanes` is true and the processor has them, else one at a time).
    static func forEachPreparedLine<Context, Prepared>(
        in url: URL, workers: Int = defaultWorkers, overlap: Bool = true, lanes: Bool = LineHasher.lanesAvailable,
        makeContext: () -> Context,
        prepare: (inout Context, UnsafeRawBufferPointer, Bool, LineDigest) -> Prepared,
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
        // Shares of a block: more than the workers, so that the thread that consumes takes some when it is done.
        let shareCount = workerCount == 1 ? 1 : workerCount * 4
        var contexts = (0..<shareCount).map { _ in makeContext() }
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        var filled = 0
        var number = 0
        var starts: [Int] = []
        var ends: [Int] = []
        let ready = PreparedSlots<Prepared>()  // the previous block's lines, prepared, to be consumed
        let next = PreparedSlots<Prepared>()  // this block's
        var digests: [LineDigest] = []  // this block's lines' SHA-256
        var failure: Error?

        /// Consumes `ready` in order (on the calling thread or a worker: one at a time either way), moving each
        /// prepared value out of its slot (no copy, no second release).
        func consumeReady(_ ready: PreparedSlots<Prepared>, first: Int) -> Error? {
            ready.takeEach { value, index in try consume(value, first + index, true) }
        }

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
            let results = next.reserve(count)
            if digests.count < count { digests.append(contentsOf: repeatElement(.zero, count: count - digests.count)) }
            let block = UnsafeRawBufferPointer(buffer)
            let firstReady = number + 1
            starts.withUnsafeBufferPointer { starts in
                ends.withUnsafeBufferPointer { ends in
                    contexts.withUnsafeMutableBufferPointer { contexts in
                        digests.withUnsafeMutableBufferPointer { digests in
                            let share = (count + shareCount - 1) / shareCount
                            func run(_ index: Int) {
                                let first = index * share, last = min(count, first + share)
                                guard first < last else { return }
                                LineHasher.hash(
                                    base: base, starts: starts.baseAddress! + first, ends: ends.baseAddress! + first,
                                    into: UnsafeMutableBufferPointer(rebasing: digests[first..<last]), lanes: lanes)
                                for i in first..<last {
                                    let line = UnsafeRawBufferPointer(rebasing: block[starts[i]..<ends[i]])
                                    (results + i).initialize(to: prepare(&contexts[index], line, true, digests[i]))
                                }
                            }
                            if workerCount == 1 || count < 64 {
                                failure = consumeReady(ready, first: firstReady)
                                if failure == nil { for index in 0..<shareCount { run(index) } }
                            } else if !overlap {
                                failure = consumeReady(ready, first: firstReady)
                                if failure == nil {
                                    DispatchQueue.concurrentPerform(iterations: shareCount) { run($0) }
                                }
                            } else {
                                // Iteration 0 consumes the previous block while the others prepare this one.
                                var consumed: Error?
                                withUnsafeMutablePointer(to: &consumed) { consumed in
                                    DispatchQueue.concurrentPerform(iterations: shareCount + 1) { iteration in
                                        if iteration == 0 {
                                            consumed.pointee = consumeReady(ready, first: firstReady)
                                        } else {
                                            run(iteration - 1)
                                        }
                                    }
                                }
                                // All of this block was prepared, whatever `consume` did.
                                next.prepared(count)
                                failure = consumed
                            }
                        }
                    }
                }
            }
            if let failure { throw failure }
            next.prepared(count)
            number += ready.count
            ready.swapContents(with: next)
            // Keep the start of the next line.
            let rest = filled - (lastNewline + 1)
            if rest > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + lastNewline + 1, rest) }
            filled = rest
        }
        let leftover = consumeReady(ready, first: number + 1)
        if let leftover { throw leftover }
        number += ready.count
        if filled > 0 {
            number += 1
            let line = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<filled])
            try consume(prepare(&contexts[0], line, false, LineDigest(of: line)), number, false)
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

/// The prepared values of one block's lines, in order: `prepare` initialises each slot of `reserve(_:)` once (on
/// any thread), `takeNext()` moves them out in order. A value is never copied between the two (a prepared line is
/// some 600 bytes with a dozen references: a copy retains each, and the array slot released them again).
/// Slots neither taken nor released are released when the storage is reset or freed (a `consume` that threw).
final class PreparedSlots<Value> {
    private var base: UnsafeMutablePointer<Value>?
    private var capacity = 0
    /// Slots `taken..<count` hold values.
    private(set) var count = 0
    private var taken = 0

    init() {}

    /// Room for `count` values (the previous ones released), to be initialised by the caller, then declared with
    /// `prepared(_:)`.
    func reserve(_ count: Int) -> UnsafeMutablePointer<Value> {
        release()
        if count > capacity || base == nil {
            base?.deallocate()
            capacity = max(count, 1)
            base = UnsafeMutablePointer<Value>.allocate(capacity: capacity)
        }
        return base!
    }

    /// The first `count` slots of `reserve(_:)` are initialised.
    func prepared(_ count: Int) {
        self.count = count
        taken = 0
    }

    /// Moves the values out of their slots in order, to `body` with their index; stops at the first error
    /// (the values not taken yet are released with the storage).
    func takeEach(_ body: (Value, Int) throws -> Void) -> Error? {
        guard let base else { return nil }
        var index = taken
        let end = count
        defer { taken = index }
        while index < end {
            let value = (base + index).move()
            index += 1
            do { try body(value, index - 1) } catch { return error }
        }
        return nil
    }

    func swapContents(with other: PreparedSlots<Value>) {
        swap(&base, &other.base)
        swap(&capacity, &other.capacity)
        swap(&count, &other.count)
        swap(&taken, &other.taken)
    }

    private func release() {
        if let base, taken < count { (base + taken).deinitialize(count: count - taken) }
        count = 0
        taken = 0
    }

    deinit {
        release()
        base?.deallocate()
    }
}
