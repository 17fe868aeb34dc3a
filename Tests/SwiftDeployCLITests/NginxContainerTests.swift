import Foundation
import TestSupport
import Testing

/// The generated nginx.conf, served by real nginx in the sample's nginx image on
/// a real Docker network with no app behind it.
@Suite("Generated nginx.conf in a real nginx container")
struct NginxContainerTests {
    private static let image = "swiftdeploy/nginx:bookworm"

    private func withNginx(user: String?, _ body: (Int) throws -> Void) throws {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-nginx")
        defer { dir.remove() }
        // nginx.port only names the port Compose would publish (nginx listens on 8080 inside its container whatever it
        // is): here Docker publishes 8080 on a loopback port of its own choice, read back with `docker port`.
        let manifest = """
            project: nginx-probe
            services: {image: "swiftdeploy/api:0.1.0", port: 3000}
            nginx: {image: "\(Self.image)", port: 18080, contact: ops@example.com}
            network: {name: probe-net, driver_type: bridge}
            """
        try dir.write(manifest, to: "manifest.yaml")
        let initResult = try CLIRunner.runBlocking(["init"], in: dir.url)
        try #require(initResult.status == 0, "init failed: \(initResult.stderr)")
        chmod(dir.path, 0o755)
        chmod(dir.url.appendingPathComponent("nginx.conf").path, 0o644)
        let name = "swiftdeploy-nginx-probe-\(UUID().uuidString.prefix(8).lowercased())"
        try DockerTestEnvironment.docker(["network", "create", name])
        defer {
            _ = try? DockerTestEnvironment.docker(["rm", "-f", name])
            _ = try? DockerTestEnvironment.docker(["network", "rm", name])
        }
        var run = [
            "run", "-d", "--name", name, "--network", name, "-p", "127.0.0.1::8080",
            "-v", "\(dir.path)/nginx.conf:/etc/nginx/nginx.conf:ro",
        ]
        if let user {
            // As the generated docker-compose.yml runs it: no capabilities, no privilege gain, read-only root.
            run += [
                "--user", user, "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", "--read-only",
                "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=64m",
            ]
        }
        run.append(Self.image)
        let started = try DockerTestEnvironment.docker(run)
        try #require(started.status == 0, "docker run failed: \(started.output)")
        let port = try DockerTestEnvironment.publishedPort(container: name, containerPort: 8080)
        var ready = false
        for _ in 0..<50 where !ready {
            if TestHTTP.requestBlocking(port: port, path: "/") != nil { ready = true } else { usleep(100_000) }
        }
        let logs = try DockerTestEnvironment.docker(["logs", name]).output
        try #require(ready, "nginx did not answer on port \(port); logs:\n\(logs)")
        try body(port)
        let accessLog = try DockerTestEnvironment.docker(["logs", name]).output
        // Access log format: $time_iso8601 | $status | ${request_time}s | $upstream_addr | $request
        #expect(
            accessLog.range(
                of: #"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d \| 502 \| \d+\.\d{3}s \| - \| GET / HTTP/1\.1$"#,
                options: .regularExpression) != nil, "access log line format:\n\(accessLog)")
    }

    private func checkBehaviour(port: Int) {
        let down = TestHTTP.requestBlocking(port: port, path: "/", headers: ["X-Request-ID": "req-42"])
        #expect(down?.status == 502)
        #expect(down?.headers["content-type"] == "application/json")
        #expect(down?.headers["x-deployed-by"] == "swiftdeploy")
        #expect(down?.headers["x-request-id"] == "req-42")
        #expect(
            down?.body
                == #"{"code":502,"contact":"ops@example.com","error":"Bad Gateway: the service is not answering","service":"app"}"#
        )
        #expect(down?.headers["server"] == "nginx", "server_tokens off hides the version")

        let metrics = TestHTTP.requestBlocking(port: port, path: "/metrics")
        #expect(metrics?.status == 404)
        #expect(metrics?.headers["x-deployed-by"] == "swiftdeploy")
        #expect(TestHTTP.requestBlocking(port: port, path: "/chaos", method: "POST", body: "{}")?.status == 404)

        let generated = TestHTTP.requestBlocking(port: port, path: "/", headers: ["X-Request-ID": "bad id; injected"])
        let id = generated?.headers["x-request-id"] ?? ""
        #expect(
            id.range(of: "^[0-9a-f]{32}$", options: .regularExpression) != nil,
            "a malformed client id is replaced, got \(id)")
    }

    @Test(.requires(.docker)) func servesJSONErrorsAndHeadersAsRoot() throws {
        try withNginx(user: nil) { checkBehaviour(port: $0) }
    }

    @Test(.requires(.docker)) func runsAsANonRootUser() throws {
        try withNginx(user: "33:33") { checkBehaviour(port: $0) }
    }

    @Test(.requires(.docker)) func runsHardenedAsNobody() throws {
        try withNginx(user: "65534:65534") { checkBehaviour(port: $0) }
    }
}

/// `validate` falls back to `nginx -t` inside the manifest's nginx image when no nginx is installed on the host.
@Suite("validate without a local nginx")
struct ValidateInImageTests {
    @Test(.requires(.docker)) func nginxTestRunsInsideTheImage() throws {
        let dir = try TemporaryDirectory(prefix: "swiftdeploy-validate")
        defer { dir.remove() }
        let port = try DockerTestEnvironment.freePort()
        try dir.write(
            """
            services: {image: "swiftdeploy/api:0.1.0", port: 3000}
            nginx: {image: "swiftdeploy/nginx:bookworm", port: \(port)}
            network: {name: net, driver_type: bridge}
            """, to: "manifest.yaml")
        // A PATH with docker and docker-compose but without /usr/sbin, where Debian's nginx lives.
        let result = try CLIRunner.runBlocking(
            ["validate"], in: dir.url, environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"])
        #expect(result.stdout.contains("PASS  nginx -t"), "\(result.stdout)")
        #expect(result.stdout.contains("passes nginx -t inside swiftdeploy/nginx:bookworm"), "\(result.stdout)")
    }
}
