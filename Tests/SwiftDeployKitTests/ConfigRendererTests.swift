import Foundation
import Testing
import TestSupport
@testable import SwiftDeployKit

@Suite("Generated files")
struct ConfigRendererTests {
    static let cases = ["base", "full"]

    private func manifest(_ name: String) throws -> Manifest {
        try ManifestLoader().load(from: fixture("render/\(name)/manifest.yaml"))
    }

    @Test(arguments: cases)
    func goldenFilesMatch(_ name: String) throws {
        let rendered = try ConfigRenderer().render(try manifest(name))
        if let diff = Golden.compare(rendered.nginxConf, to: fixture("render/\(name)/nginx.conf")) { Issue.record(Comment(rawValue: diff)) }
        if let diff = Golden.compare(rendered.compose, to: fixture("render/\(name)/docker-compose.yml")) { Issue.record(Comment(rawValue: diff)) }
    }

    @Test func renderingIsDeterministic() throws {
        let m = try manifest("full")
        let first = try ConfigRenderer().render(m)
        for _ in 0..<5 { #expect(try ConfigRenderer().render(m) == first) }
    }

    @Test func builtInTemplatesAreIdenticalToTheRepositoryTemplates() throws {
        let templates = RepositoryPaths.root.appendingPathComponent("templates")
        let onDisk = try TemplateSet.directory(templates)
        #expect(onDisk.nginx == TemplateSet.builtin.nginx, "templates/nginx.conf.mustache changed: run scripts/sync-templates")
        #expect(onDisk.compose == TemplateSet.builtin.compose, "templates/docker-compose.yml.mustache changed: run scripts/sync-templates")
    }

    @Test func nginxConfigCarriesTheRequiredBehaviour() throws {
        let conf = try ConfigRenderer().render(try manifest("full")).nginxConf
        for required in [
            "listen 8443;", "listen 19180;", "server_tokens off;",
            "proxy_connect_timeout 45s;", "proxy_send_timeout 45s;", "proxy_read_timeout 45s;",
            "add_header X-Deployed-By swiftdeploy always;",
            "log_format swiftdeploy '$time_iso8601 | $status | ${request_time}s | $upstream_addr | $request';",
            "resolver 127.0.0.11", "set $swiftdeploy_upstream http://checkout:8000;", "proxy_pass $swiftdeploy_upstream;",
            "proxy_set_header X-Request-ID $swiftdeploy_request_id;", "location = /ready {",
            #"return 502 '{"code":502,"contact":"sre+oncall@example.org","error":"Bad Gateway: the service is not answering","service":"checkout"}';"#,
            "pid /tmp/nginx.pid;",
        ] {
            #expect(conf.contains(required), "nginx.conf lacks: \(required)")
        }
        #expect(!conf.contains("{{"), "unrendered mustache tag left in nginx.conf")
    }

    @Test func composeEscapesForYAMLAndInterpolation() throws {
        let compose = try ConfigRenderer().render(try manifest("full")).compose
        #expect(compose.contains(#"ALPHA: "has \"quotes\", a $$dollar and a \\backslash""#))
        #expect(compose.contains(#"- "127.0.0.1:19180:19180""#))
        #expect(compose.contains(#"- "127.0.0.1:18181:18181""#))
        #expect(compose.contains(#"- "./policy/rego:/policies:ro""#))
        #expect(!compose.contains("{{"))
    }

    @Test func escapingRefusesWhatGrammarShouldHaveStopped() throws {
        var m = try manifest("base")
        m.nginx.contact = "a$host@example.com"
        #expect(throws: RenderError.self) { try ConfigRenderer().render(m) }
        m = try manifest("base")
        m.services.healthcheck.path = "/x; return 200"
        #expect(throws: RenderError.self) { try ConfigRenderer().render(m) }
        m = try manifest("base")
        m.network.name = "net:\n  evil"
        #expect(throws: RenderError.self) { try ConfigRenderer().render(m) }
        #expect(Escaping.composeString("a\"b\n${X}") == #""a\"b\n$${X}""#)
    }

    @Test(arguments: cases)
    func nginxAcceptsTheGeneratedConfig(_ name: String) throws {
        guard let nginx = ExternalTool.locate("nginx", missing: { Issue.record(Comment(rawValue: $0)) }) else { return }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = try dir.write(try ConfigRenderer().render(try manifest(name)).nginxConf, to: "nginx.conf")
        let result = try ExternalTool.run(nginx, ["-t", "-p", dir.path + "/", "-c", file.path])
        #expect(result.status == 0, "nginx -t failed: \(result.output)")
    }

    @Test(arguments: cases)
    func composeAcceptsTheGeneratedFile(_ name: String) throws {
        guard let compose = ExternalTool.locate("docker-compose", missing: { Issue.record(Comment(rawValue: $0)) }) else { return }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = try dir.write(try ConfigRenderer().render(try manifest(name)).compose, to: "docker-compose.yml")
        let result = try ExternalTool.run(compose, ["-f", file.path, "config", "-q"], currentDirectory: dir.url)
        #expect(result.status == 0, "docker-compose config failed: \(result.output)")
    }
}
