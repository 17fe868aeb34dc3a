import Foundation
import SwiftDeployKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `shared/tools/opa-ref`: OPA's own evaluator, for differential tests and as a real OPA Data API server.
/// Tests that use it skip (with a printed reason) when it is not there.
public enum OPARef {
    /// The opa-ref executable, or nil with why not.
    public static func executable() -> (URL?, String) {
        guard let shared = RepositoryPaths.shared else {
            return (nil, "shared/ not found beside the repository and SWIFTDEPLOY_SHARED_DIR not set")
        }
        let tool = shared.appendingPathComponent("tools/opa-ref/opa-ref")
        guard FileManager.default.isExecutableFile(atPath: tool.path) else { return (nil, "\(tool.path) is missing") }
        return (tool, "")
    }

    /// Runs `opa-ref eval` and returns its standard output and exit status (the caller's task suspended meanwhile).
    public static func eval(arguments: [String]) async throws -> (output: String, status: Int32) {
        guard let tool = executable().0 else { throw POSIXError(.ENOENT) }
        let result = try await ProcessRunner.run([tool.path, "eval"] + arguments, timeout: 120)
        return (result.stdout, result.status)
    }

    /// The synchronous `eval`, for callers that cannot await: blocks its thread on the runner's blocking wait.
    public static func evalBlocking(arguments: [String]) throws -> (output: String, status: Int32) {
        guard let tool = executable().0 else { throw POSIXError(.ENOENT) }
        // Through the runner (bounded, stopped after 120 s); its blocking wait, for the sync callers.
        let result = try ProcessRunner.start([tool.path, "eval"] + arguments, timeout: 120).waitBlocking()
        return (result.stdout, result.status)
    }

    /// A running `opa-ref serve` on a loopback port it chose itself (`--addr 127.0.0.1:0`; the port is read from
    /// its line `opa-ref: serving OPA Data API on http://127.0.0.1:<port>`), so no port is reserved and released.
    public final class Server: @unchecked Sendable {
        public let url: URL
        private let process: TestServer
        private let directory: TemporaryDirectory

        /// Starts the server with `-d` arguments (`policies`, `thresholds:thresholds.json`) and waits until /health
        /// answers.
        public init(data: [String], delayMs: Int? = nil) throws {
            guard let tool = OPARef.executable().0 else { throw POSIXError(.ENOENT) }
            var arguments = [tool.path, "serve", "--addr", "127.0.0.1:0"]
            for item in data { arguments += ["-d", item] }
            if let delayMs { arguments += ["--delay-ms", String(delayMs)] }
            directory = try TemporaryDirectory(prefix: "opa-ref-serve")
            let log = try directory.write("", to: "opa-ref.log")
            // No time limit: `stop()` ends it (SIGTERM, SIGKILL a second later).
            let process = try TestServer(arguments, log: log, stopGrace: 1)
            self.process = process
            let port: Int
            do {
                port = try BoundPort.readBlocking(
                    from: log, marker: "serving OPA Data API on", server: "opa-ref serve",
                    isRunning: { process.isRunning }, timeout: 30)
            } catch {
                process.stop()
                directory.remove()
                throw error
            }
            url = URL(string: "http://127.0.0.1:\(port)")!
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if Server.healthy(port: port) { return }
                if !process.isRunning { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            stop()
            throw POSIXError(.ETIMEDOUT)
        }

        deinit { stop() }

        /// Stops the server: SIGTERM, then SIGKILL after a second (the Go runtime inside opa-ref may swallow SIGTERM),
        /// and waits until it is gone.
        public func stop() {
            process.stop()
            directory.remove()
        }

        static func healthy(port: Int) -> Bool {
            guard let fd = try? LoopbackPort.connect(port: port) else { return false }
            defer { close(fd) }
            let request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return n > 12 && String(decoding: buffer[0..<n], as: UTF8.self).contains(" 200 ")
        }
    }
}
