import Foundation

/// The port a server in another process chose itself: started on `127.0.0.1:0`, it binds a port the kernel picks and
/// names it in its log. Nothing is reserved here and released for it, so there is no window between two binds in
/// which another test or process could take the port (Prometheus' `--web.listen-address=127.0.0.1:0`, `opa-ref serve
/// --addr 127.0.0.1:0`; a Docker port published as `127.0.0.1::PORT` is read back with `docker port`).
public enum BoundPort {
    /// The port on the first line of `log` that contains `marker` followed (on that line) by `127.0.0.1:<port>`.
    /// Waits up to `timeout` seconds; throws when the server exits first or the time runs out, naming `server` and
    /// the end of its log.
    public static func read(
        from log: URL, marker: String, server: String, isRunning: () -> Bool, timeout: Double = 60
    ) async throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let port = try look(log, marker, server, isRunning, deadline, timeout) { return port }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// `read` for a synchronous caller (a server started in a `static let`): blocks its thread between looks.
    public static func readBlocking(
        from log: URL, marker: String, server: String, isRunning: () -> Bool, timeout: Double = 60
    ) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let port = try look(log, marker, server, isRunning, deadline, timeout) { return port }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// One look at the log: the port, nil to look again later, or the error once the server has exited or the
    /// deadline has passed.
    private static func look(
        _ log: URL, _ marker: String, _ server: String, _ isRunning: () -> Bool, _ deadline: Date, _ timeout: Double
    ) throws -> Int? {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        if let port = port(in: text, after: marker) { return port }
        let running = isRunning()
        if running, Date() < deadline { return nil }
        // A last look: the line may have been written just before the exit or the deadline.
        let last = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        if let port = port(in: last, after: marker) { return port }
        throw BoundPortError(
            server: server, marker: marker, exited: !running, seconds: timeout, logTail: String(last.suffix(800)))
    }

    /// The port after `marker` on the first line holding both, as `127.0.0.1:<digits>`; nil when there is none yet.
    public static func port(in text: String, after marker: String) -> Int? {
        for line in text.split(separator: "\n") {
            guard let found = line.range(of: marker) else { continue }
            let rest = line[found.upperBound...]
            guard let address = rest.range(of: "127.0.0.1:") else { continue }
            let digits = rest[address.upperBound...].prefix(while: \.isNumber)
            if let port = Int(digits), (1...65535).contains(port) { return port }
        }
        return nil
    }
}

public struct BoundPortError: Error, CustomStringConvertible {
    public let server: String
    public let marker: String
    public let exited: Bool
    public let seconds: Double
    public let logTail: String

    public var description: String {
        let why = exited ? "exited" : "was still running after \(Int(seconds)) s"
        return """
            \(server) \(why) without naming the port it bound (no line with '\(marker)' and 127.0.0.1:<port> in its \
            log); check that it accepts port 0 and logs its address. Log: \(logTail)
            """
    }
}
