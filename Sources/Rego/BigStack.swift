import Foundation

/// Runs work on threads with a large stack, so deep but legal policies evaluate,
/// and measures stack use so illegal depth becomes an error instead of a crash.
///
/// Worker threads are kept and reused (one per concurrent caller), so a
/// decision pays a hand-off, not a thread creation.
enum BigStack {
    /// Stack size of an evaluation thread.
    static let size = 512 << 20
    /// Stack use past which evaluation stops with `eval_limit_error`.
    static let limit = 400 << 20

    final class Worker: @unchecked Sendable {
        let wake = DispatchSemaphore(value: 0)
        var job: (() -> Void)?

        init() {
            let thread = Thread { [self] in
                Thread.current.threadDictionary["rego.bigstack"] = true
                while true {
                    self.wake.wait()
                    self.job?()
                    self.job = nil
                    BigStack.release(self)
                }
            }
            thread.stackSize = BigStack.size
            thread.start()
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var idle: [Worker] = []

    static func acquire() -> Worker {
        lock.lock()
        defer { lock.unlock() }
        return idle.popLast() ?? Worker()
    }

    static func release(_ w: Worker) {
        lock.lock()
        idle.append(w)
        lock.unlock()
    }

    static func run<T>(_ work: @escaping () throws -> T) throws -> T {
        if Thread.current.threadDictionary["rego.bigstack"] as? Bool == true { return try work() }
        var result: Result<T, Error>? = nil
        let done = DispatchSemaphore(value: 0)
        let worker = acquire()
        worker.job = {
            result = Result { try work() }
            done.signal()
        }
        worker.wake.signal()
        done.wait()
        return try result!.get()
    }

    /// The address of a local of the caller: compared against a base to measure stack use.
    @inline(never)
    static func currentAddress() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }
}
