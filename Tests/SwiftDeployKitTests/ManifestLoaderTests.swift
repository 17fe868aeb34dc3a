import Foundation
import Testing

@testable import SwiftDeployKit

private let base = """
    services:
      image: swiftdeploy/api:0.1.0
      port: 3000
    nginx:
      image: nginx:1.27
      port: 8080
    network:
      name: app-net
      driver_type: bridge

    """

private func load(_ text: String, directory: String = "/srv/My Shop") throws -> Manifest {
    try ManifestLoader().parse(text, file: "manifest.yaml", directory: URL(fileURLWithPath: directory))
}

private func problems(_ text: String) -> [String] {
    do {
        _ = try load(text)
        return []
    } catch let error as ManifestError {
        return error.problems.map(\.description)
    } catch {
        return ["unexpected: \(error)"]
    }
}

@Suite("Manifest loading")
struct ManifestLoaderTests {
    @Test func baseOnlyManifestGetsEveryDefault() throws {
        let m = try load(base)
        #expect(m.version == 1)
        #expect(m.project == "my-shop")
        #expect(m.services.name == "app")
        #expect(m.services.mode == .stable)
        #expect(m.services.restartPolicy == "unless-stopped")
        #expect(m.services.healthcheck.path == "/healthz")
        #expect(m.services.healthcheck.interval == ManifestDuration(milliseconds: 5000))
        #expect(m.nginx.proxyTimeout.description == "30s")
        #expect(m.nginx.adminPort == 9180)
        #expect(m.nginx.contact == nil)
        #expect(m.policy.engine == .embedded)
        #expect(m.metrics.window.description == "30s")
        #expect(m.metrics.minRequests == 20)
        #expect(m.metrics.excludePaths == ["/healthz", "/metrics"])
        #expect(m.history.path == "history.jsonl")
        #expect(m.templatesDir == nil)
    }

    @Test func everyOptionalKeyIsRead() throws {
        let text = try String(contentsOf: fixture("render/full/manifest.yaml"), encoding: .utf8)
        let m = try load(text)
        #expect(m.project == "shop-checkout")
        #expect(m.services.name == "checkout")
        #expect(m.services.mode == .canary)
        #expect(m.services.version == "2.4.1-rc.1")
        #expect(m.services.env.map(\.name) == ["ALPHA", "FEATURE_FLAG", "ZETA"])
        #expect(m.services.env[1].value == "true")
        #expect(m.services.resources == .init(memory: "512m", cpus: "1.5"))
        #expect(m.services.healthcheck.timeout == ManifestDuration(milliseconds: 1500))
        #expect(m.nginx.proxyTimeout == ManifestDuration(milliseconds: 45_000))
        #expect(m.nginx.contact == "sre+oncall@example.org")
        #expect(m.policy.engine == .opa)
        #expect(m.policy.opa.port == 18181)
        #expect(m.metrics.window == ManifestDuration(milliseconds: 90_000))
        #expect(m.metrics.source == .prometheus)
        #expect(m.history.report == "var/audit_report.md")
    }

    @Test func projectNameIsDerivedSafelyFromTheDirectory() throws {
        #expect(try load(base, directory: "/x/Hello World!").project == "hello-world-")
        #expect(try load(base, directory: "/x/__").project == "swiftdeploy")
    }

    static let invalid: [(String, [String])] = [
        (
            base.replacingOccurrences(of: "port: 3000", with: "prot: 3000"),
            [
                "manifest.yaml:2:3: error: services.port is required",
                "manifest.yaml:3:3: error: unknown key 'prot' at services; did you mean 'port'?",
            ]
        ),
        (
            base.replacingOccurrences(of: "port: 8080", with: "port: 70000"),
            [
                "manifest.yaml:6:9: error: nginx.port must be 1-65535, got 70000"
            ]
        ),
        (
            base.replacingOccurrences(of: "port: 3000", with: "port: \"3000\""),
            [
                "manifest.yaml:3:9: error: services.port must be an integer, got string \"3000\""
            ]
        ),
        (
            base + "services2: {}\n",
            [
                "manifest.yaml:10:1: error: unknown key 'services2'; did you mean 'services'?"
            ]
        ),
        (
            base.replacingOccurrences(of: "driver_type: bridge", with: "driver_type: brige"),
            [
                """
                manifest.yaml:9:16: error: network.driver_type must be one of bridge, overlay, macvlan, ipvlan, \
                got \"brige\"; did you mean 'bridge'?
                """
            ]
        ),
        (
            base + "policy:\n  engine: rego\n",
            [
                "manifest.yaml:11:11: error: policy.engine must be one of embedded, opa, got \"rego\""
            ]
        ),
        (
            base.replacingOccurrences(of: "image: nginx:1.27", with: "image: \"nginx;\\n  listen 80\""),
            [
                """
                manifest.yaml:5:10: error: nginx.image must be an image reference such as 'nginx:1.27' or \
                'registry.example.com/team/app:1.2.3' (lowercase name, optional tag and sha256 digest), got \
                \"nginx;\\n  listen 80\"
                """
            ]
        ),
        (
            base + "project: \"a}b\"\n",
            [
                """
                manifest.yaml:10:10: error: project must be a Compose project name (lowercase letters, digits, \
                '-' and '_', starting with a letter or digit, at most 63 characters), got \"a}b\"
                """
            ]
        ),
        (
            base.replacingOccurrences(
                of: "  port: 3000", with: "  port: 3000\n  env:\n    SECRET: \"${HOME}\"\n    BAD: \"a\\nb: c\""),
            [
                """
                manifest.yaml:5:13: error: services.env.SECRET must be text without '${…}' or '$(…)' (Compose \
                would interpolate it); write a literal '$' as it is, got \"${HOME}\"
                """,
                """
                manifest.yaml:6:10: error: services.env.BAD must be text without newlines or control characters, \
                got \"a\\nb: c\"
                """,
            ]
        ),
        (
            base.replacingOccurrences(
                of: "  port: 8080", with: "  port: 8080\n  contact: \"ops@example.com'; return 200 'x\""),
            [
                """
                manifest.yaml:7:12: error: nginx.contact must be an e-mail address such as 'ops@example.com', got \
                \"ops@example.com'; return 200 'x\"
                """
            ]
        ),
        (
            base.replacingOccurrences(
                of: "  port: 3000",
                with:
                    """
                      port: 3000\n  mode: canary\n  healthcheck:\n    path: \"/h; deny all\"\n    interval: 5 \
                    seconds
                    """),
            [
                """
                manifest.yaml:6:11: error: services.healthcheck.path must be an absolute HTTP path such as \
                '/healthz' (letters, digits, '.', '_', '~', '-', '/'), got \"/h; deny all\"
                """,
                """
                manifest.yaml:7:15: error: services.healthcheck.interval must be a duration such as 30s, 500ms or \
                1m30s (or whole seconds), got \"5 seconds\"
                """,
            ]
        ),
        (
            base + "metrics:\n  source: prometheus\n  min_requests: yes\n",
            [
                """
                manifest.yaml:11:3: error: metrics.prometheus_url is required when metrics.source is prometheus; \
                set it to your Prometheus server, e.g. http://127.0.0.1:9090
                """,
                "manifest.yaml:12:17: error: metrics.min_requests must be an integer, got string \"yes\"",
            ]
        ),
        (
            base + "version: 2\n",
            [
                """
                manifest.yaml:10:10: error: version must be 1 (the only manifest schema this swiftdeploy knows), \
                got 2; upgrade swiftdeploy to read newer manifests
                """
            ]
        ),
        (
            "services: [1, 2]\n",
            [
                "manifest.yaml:1:11: error: services must be a mapping of keys to values, got a list",
                "manifest.yaml: error: nginx is required (with nginx.image and nginx.port)",
                "manifest.yaml: error: network is required (with network.name and network.driver_type)",
            ]
        ),
        (
            "services:\n  image: [unclosed\n",
            [
                """
                manifest.yaml:3:1: error: not valid YAML: while parsing a flow sequence: did not find expected \
                ',' or ']'
                """
            ]
        ),
        (
            base.replacingOccurrences(of: "  port: 3000", with: "  port: 3000\n  port: 3001"),
            [
                "manifest.yaml:3:3: error: duplicate key 'port' in a mapping; each key may appear once"
            ]
        ),
        (
            base.replacingOccurrences(of: "  port: 8080", with: "  port: 8080\n  admin_port: 8080"),
            [
                """
                manifest.yaml:5:3: error: nginx.admin_port must differ from nginx.port (both are 8080); set \
                nginx.admin_port to a free port
                """
            ]
        ),
        (
            base.replacingOccurrences(
                of: "  port: 3000", with: "  port: 3000\n  name: nginx\n  env:\n    MODE: canary"),
            [
                """
                manifest.yaml:4:9: error: services.name must not be 'nginx': that name is taken by the generated \
                nginx service
                """,
                """
                manifest.yaml:6:5: error: services.env.MODE is set by swiftdeploy from services.mode, \
                services.version and services.port; set those keys instead
                """,
            ]
        ),
    ]

    @Test(arguments: invalid.indices)
    func invalidManifestsReportEveryProblemWithItsPosition(_ index: Int) {
        let (text, expected) = Self.invalid[index]
        #expect(problems(text) == expected)
    }

    @Test func emptyManifestSaysWhatIsNeeded() {
        #expect(
            problems("") == [
                """
                manifest.yaml:1:1: error: the manifest is empty; it needs at least services.image, services.port, \
                nginx.image, nginx.port, network.name and network.driver_type
                """
            ])
    }

    @Test func missingFileIsNamed() {
        #expect(throws: ManifestError.notFound(path: "nope.yaml")) {
            try ManifestLoader().load(from: URL(fileURLWithPath: "/nonexistent/nope.yaml"), displayPath: "nope.yaml")
        }
    }

    @Test(arguments: [("30s", 30_000), ("500ms", 500), ("1m30s", 90_000), ("2h", 7_200_000), ("1h1m1s", 3_661_000)])
    func durationsParse(_ text: String, _ ms: Int) {
        #expect(ManifestDuration.parse(text) == ManifestDuration(milliseconds: ms))
    }

    @Test(arguments: ["", "30", "s", "1.5s", "-1s", "30 s", "1d", "99999999999h"])
    func badDurationsAreRejected(_ text: String) {
        #expect(ManifestDuration.parse(text) == nil)
    }
}

func fixture(_ path: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(path)
}
