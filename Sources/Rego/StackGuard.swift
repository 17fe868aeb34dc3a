import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if os(Linux)
/// glibc's `pthread_getattr_np` (a GNU extension the Glibc module does not export).
@_silgen_name("pthread_getattr_np")
private func gnuPthreadGetattrNP(_ thread: pthread_t, _ attr: UnsafeMutablePointer<pthread_attr_t>) -> Int32
#endif

/// Measures the native stack left to the current thread, so that depth the evaluator or
/// parser did not foresee becomes an `eval_limit_error` / parse error instead of a crash,
/// on whatever thread (and stack size) the caller evaluates.
///
/// The evaluator's native recursion follows only the program's structure (see
/// `Evaluator`), so on an ordinary stack this check never fires for a legal policy;
/// it is the backstop, a single address comparison.
struct StackGuard {
    /// Stack kept free below the guard, for the frames between two checks and for builtins.
    static let reserve: UInt = 256 << 10

    /// The lowest address the current thread may reach before the check fires.
    let floor: UInt

    init() { floor = StackGuard.floorOfCurrentThread() }

    /// True when the stack of the current thread is nearly used up.
    @inline(__always)
    func exhausted() -> Bool { StackGuard.currentAddress() < floor }

    /// The address of a local of the caller.
    @inline(never)
    static func currentAddress() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }

    /// Thread-specific slot caching each thread's floor (read with one `pthread_getspecific`).
    private static let cacheKey: pthread_key_t = {
        var key = pthread_key_t()
        _ = pthread_key_create(&key, nil)
        return key
    }()

    /// The thread's stack bottom plus `reserve`, looked up once per thread.
    static func floorOfCurrentThread() -> UInt {
        if let cached = pthread_getspecific(cacheKey) { return UInt(bitPattern: cached) }
        let here = currentAddress()
        var floor: UInt
        if let (low, size) = threadStack(), size > 2 * reserve, low < here {
            floor = low + reserve
        } else {
            // Unknown bounds: allow 512 KiB below here (the smallest common thread stack).
            floor = here > (512 << 10) ? here - (512 << 10) + reserve : 0
        }
        if floor >= here { floor = here > (64 << 10) ? here - (64 << 10) : 0 }
        if floor == 0 { floor = 1 }
        _ = pthread_setspecific(cacheKey, UnsafeRawPointer(bitPattern: floor))
        return floor
    }

    /// The current thread's stack as (lowest address, size), when the system says.
    static func threadStack() -> (UInt, UInt)? {
        #if os(Linux)
        var attr = pthread_attr_t()
        guard gnuPthreadGetattrNP(pthread_self(), &attr) == 0 else { return nil }
        defer { pthread_attr_destroy(&attr) }
        var addr: UnsafeMutableRawPointer? = nil
        var size = 0
        guard pthread_attr_getstack(&attr, &addr, &size) == 0, let addr else { return nil }
        return (UInt(bitPattern: addr), UInt(size))
        #elseif canImport(Darwin)
        let top = UInt(bitPattern: pthread_get_stackaddr_np(pthread_self()))
        let size = UInt(pthread_get_stacksize_np(pthread_self()))
        return (top - size, size)
        #else
        return nil
        #endif
    }
}
