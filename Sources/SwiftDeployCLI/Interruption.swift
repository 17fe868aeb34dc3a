import Dispatch
import Foundation
import SwiftDeployKit

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM while a command runs. The first one cancels the command's task: `ProcessRunner` stops the
/// process group of every program the command started, no new decision, intent or record is begun, and an action
/// already begun closes its intent with an `interrupted` record; the command then exits 130
/// (``ExitStatus/interrupted``).
/// A second signal ends the process at once: what it leaves open, the next acting command closes (as after a crash).
final class Interruption: @unchecked Sendable {
    /// The one instance of this process (a signal's disposition is per process).
    static let shared = Interruption()

    private let lock = NSLock()
    private var signalName: String?
    private var task: Task<Void, Error>?
    private var sources: [DispatchSourceSignal] = []

    /// The signal received (`SIGINT`, `SIGTERM`), or nil.
    var received: String? { lock.withLock { signalName } }

    /// Runs `body` as a task of its own that the first SIGINT or SIGTERM cancels. Throws ``InterruptedFailure``
    /// when a signal came and `body` did not finish; `body`'s own result or error otherwise.
    func run(_ body: @escaping @Sendable () async throws -> Void) async throws {
        install()
        let task = Task { try await body() }
        let early = lock.withLock { () -> Bool in
            self.task = task
            return signalName != nil
        }
        if early { task.cancel() }
        do {
            try await task.value
        } catch {
            if let name = received { throw InterruptedFailure(signal: name, cause: error) }
            throw error
        }
    }

    private func install() {
        lock.withLock {
            guard sources.isEmpty else { return }
            for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                // Ignored for the default action; the dispatch source still sees it.
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { [weak self] in self?.receive(name) }
                source.resume()
                sources.append(source)
            }
        }
    }

    private func receive(_ name: String) {
        let (first, task) = lock.withLock { () -> (Bool, Task<Void, Error>?) in
            if signalName != nil { return (false, nil) }
            signalName = name
            return (true, self.task)
        }
        guard first else {
            Console.standardError.error(
                """
                \(name) again: stopping at once; programs swiftdeploy started may still run, and an action it had \
                begun stays open until the next deploy, promote or teardown closes it as interrupted
                """
            )
            _exit(ExitStatus.interrupted.rawValue)
        }
        Console.standardError.warning(
            """
            \(name) received: stopping (the programs swiftdeploy started are stopped and an action it had begun \
            is recorded as interrupted); send it again to quit at once
            """
        )
        task?.cancel()
    }
}

/// The command was stopped by SIGINT or SIGTERM before it finished (exit 130).
struct InterruptedFailure: SwiftDeployFailure {
    let signal: String
    let cause: Error

    var exitStatus: ExitStatus { .interrupted }

    var errorDescription: String? {
        let detail: String
        if cause is CancellationError {
            detail = "it stopped where it was"
        } else {
            detail = "it stopped with: \((cause as? LocalizedError)?.errorDescription ?? "\(cause)")"
        }
        return
            """
            interrupted by \(signal): \(detail); the programs it had started were stopped, and an action it had \
            begun is recorded in the history as interrupted (see `swiftdeploy history`); run the command again \
            when ready
            """
    }
}
