import TestSupport
import Testing

@testable import SwiftDeployAPI

@Suite struct HealthProbeTests {
    @Test(arguments: [
        ("http://127.0.0.1:3000/healthz", "127.0.0.1", 3000, "/healthz"),
        ("http://api:3000/healthz", "api", 3000, "/healthz"),
        ("http://api/healthz", "api", 80, "/healthz"),
        ("http://[::1]:8080/healthz", "::1", 8080, "/healthz"),
        ("http://localhost:1", "localhost", 1, "/"),
    ])
    func parsesURLs(url: String, host: String, port: Int, path: String) throws {
        let target = try HealthProbe.parse(url: url).get()
        #expect(target == HealthProbe.Target(host: host, port: port, path: path))
    }

    @Test(arguments: [
        (
            "https://api:3000/healthz",
            """
            healthcheck URL 'https://api:3000/healthz' must start with http:// (https is not supported by the \
            probe); use e.g. http://127.0.0.1:3000/healthz
            """
        ),
        (
            "http://:3000/healthz",
            "healthcheck URL 'http://:3000/healthz' has no host; use e.g. http://127.0.0.1:3000/healthz"
        ),
        (
            "http://api:99999/",
            """
            healthcheck URL 'http://api:99999/' has port '99999', which is not 1-65535; use e.g. \
            http://127.0.0.1:3000/healthz
            """
        ),
        (
            "http://[::1:80/",
            """
            healthcheck URL 'http://[::1:80/' has an unclosed '[' in its IPv6 host; use e.g. \
            http://127.0.0.1:3000/healthz
            """
        ),
    ])
    func rejectsBadURLs(url: String, message: String) {
        switch HealthProbe.parse(url: url) {
        case .success(let target): Issue.record("expected a failure, got \(target)")
        case .failure(let error): #expect(error.message == message)
        }
    }

    @Test func reportsAConnectionRefusal() throws {
        let port = LoopbackPort.refusing()
        let probe = HealthProbe(target: .init(host: "127.0.0.1", port: port, path: "/healthz"), timeout: 2)
        guard case .unhealthy(let reason) = probe.run() else {
            Issue.record("nothing listens on \(port), yet the probe was healthy")
            return
        }
        #expect(reason == "cannot connect to http://127.0.0.1:\(port)/healthz: Connection refused")
    }

    @Test func reportsAnUnresolvableHost() {
        let probe = HealthProbe(target: .init(host: "no-such-host.invalid", port: 80, path: "/healthz"), timeout: 2)
        guard case .unhealthy(let reason) = probe.run() else {
            Issue.record("expected unhealthy")
            return
        }
        #expect(reason.hasPrefix("cannot resolve 'no-such-host.invalid': "))
    }
}
