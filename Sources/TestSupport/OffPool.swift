import Foundation

/// Runs CPU-heavy synchronous work (conformance suites, fuzzing, runaway-evaluation
/// checks) on a Dispatch thread instead of Swift's cooperative pool.
///
/// The pool has one thread per core (two on our CI machine); a synchronous test that
/// computes for seconds holds one of them, and two such tests stall every async test
/// in the run — their timeouts then fire for reasons that have nothing to do with
/// the code under test. Wrap heavy work: `let r = try await offPool { try heavy() }`.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}
