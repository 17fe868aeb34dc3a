import Foundation

/// Debian's `prometheus` for a test, on a port it chose itself: `--web.listen-address=127.0.0.1:0`, and the port read
/// from its log line `msg="Listening on" address=127.0.0.1:<port>` (`BoundPort`), so no port is reserved here and
/// released for it. Its output is appended to `log`.
public final class PrometheusServer: @unchecked Sendable {
    public let port: Int
    public let log: URL
    private let process: TestServer

    /// Starts `binary` with `config` and its TSDB in `dataDirectory`; returns once it has named its port (it may
    /// still be loading: wait for `/-/ready` or for the first answers as the tests do). Throws naming the log when it
    /// exits or names no port within `timeout` seconds.
    public init(binary: String, config: URL, dataDirectory: URL, log: URL, timeout: Double = 60) async throws {
        self.log = log
        if !FileManager.default.fileExists(atPath: log.path) {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let process = try TestServer(
            [
                binary, "--config.file=\(config.path)", "--storage.tsdb.path=\(dataDirectory.path)",
                "--web.listen-address=127.0.0.1:0",
            ], log: log)
        do {
            port = try await BoundPort.read(
                from: log, marker: "msg=\"Listening on\"", server: "prometheus", isRunning: { process.isRunning },
                timeout: timeout)
        } catch {
            process.stop()
            throw error
        }
        self.process = process
    }

    public var isRunning: Bool { process.isRunning }
    /// `http://127.0.0.1:<port>`.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// Stops Prometheus and waits until it is gone (idempotent).
    public func stop() { process.stop() }
}
