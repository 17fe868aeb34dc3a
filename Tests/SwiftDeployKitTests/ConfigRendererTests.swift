import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

@Suite("Generated files")
struct ConfigRendererTests {
    static let cases = ["base", "full", "observability", "replicas"]

    private func manifest(_ name: String) throws -> Manifest {
        try ManifestLoader().load(from: fixture("render/\(name)/manifest.yaml"))
    }

    @Test(arguments: cases)
    func goldenFilesMatch(_ name: String) async throws {
        let rendered = try ConfigRenderer().render(try manifest(name))
        if let diff = Golden.compare(rendered.nginxConf, to: fixture("render/\(name)/nginx.conf")) {
            Issue.record(Comment(rawValue: diff))
        }
        if let diff = Golden.compare(rendered.compose, to: fixture("render/\(name)/docker-compose.yml")) {
            Issue.record(Comment(rawValue: diff))
        }
    }

    @Test func renderingIsDeterministic() async throws {
        let m = try manifest("full")
        let first = try ConfigRenderer().render(m)
        for _ in 0..<5 { #expect(try ConfigRenderer().render(m) == first) }
    }

    @Test func builtInTemplatesAreIdenticalToTheRepositoryTemplates() async throws {
        let templates = RepositoryPaths.root.appendingPathComponent("templates")
        let onDisk = try TemplateSet.directory(templates)
        #expect(
            onDisk.nginx == TemplateSet.builtin.nginx,
            "templates/nginx.conf.mustache changed: run scripts/sync-templates")
        #expect(
            onDisk.compose == TemplateSet.builtin.compose,
            "templates/docker-compose.yml.mustache changed: run scripts/sync-templates")
    }

    @Test func nginxConfigCarriesTheRequiredBehaviour() async throws {
        let conf = try ConfigRenderer().render(try manifest("full")).nginxConf
        for required in [
            "listen 8080;", "listen 8081;", "server_tokens off;",
            "proxy_connect_timeout 45s;", "proxy_send_timeout 45s;", "proxy_read_timeout 45s;",
            "add_header X-Deployed-By swiftdeploy always;",
            "log_format swiftdeploy '$time_iso8601 | $status | ${request_time}s | $upstream_addr | $request';",
            "resolver 127.0.0.11", "set $swiftdeploy_upstream http://checkout:8000;",
            "proxy_pass $swiftdeploy_upstream;",
            "proxy_set_header X-Request-ID $swiftdeploy_request_id;", "location = /ready {",
            #"return 502 '{"code":502,"contact":"sre+oncall@example.org","error":"Bad Gateway: the service is not answering","service":"checkout"}';"#,
            "pid /tmp/nginx.pid;",
            // The app's own X-Request-ID is dropped: nginx sets the header once, on every response.
            "proxy_hide_header X-Request-ID;", "add_header X-Request-ID $swiftdeploy_request_id always;",
        ] {
            #expect(conf.contains(required), "nginx.conf lacks: \(required)")
        }
        #expect(!conf.contains("{{"), "unrendered mustache tag left in nginx.conf")
    }

    @Test func composeEscapesForYAMLAndInterpolation() async throws {
        let compose = try ConfigRenderer().render(try manifest("full")).compose
        #expect(compose.contains(#"ALPHA: "has \"quotes\", a $$dollar and a \\backslash""#))
        #expect(compose.contains(#"- "127.0.0.1:19180:8081""#))
        #expect(compose.contains(#"- "8443:8080""#))
        #expect(compose.contains(#"- "127.0.0.1:18181:18181""#))
        #expect(compose.contains(#"- "./policy/rego:/policies:ro""#))
        #expect(!compose.contains("{{"))
    }

    /// Every service: no capabilities, no privilege gain, read-only root with a tmpfs /tmp, a non-root user;
    /// the OPA sidecar alone on its own network.
    /// The lines of each service's block (`  name:` up to the next blank line) under `services:`.
    static func serviceBlocks(_ compose: String) -> [String: [String]] {
        let body = compose.components(separatedBy: "\nservices:\n")[1].components(separatedBy: "\nnetworks:\n")[0]
        var blocks: [String: [String]] = [:]
        var current: String?
        for line in body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("  "), !line.hasPrefix("   "), line.hasSuffix(":") {
                current = String(line.dropFirst(2).dropLast())
                blocks[current!] = []
            } else if let name = current, !line.isEmpty {
                blocks[name]!.append(line)
            }
        }
        return blocks
    }

    /// Every service: no capabilities, no privilege gain, read-only root with a tmpfs /tmp, a non-root user;
    /// the OPA sidecar alone on its own network.
    @Test(arguments: cases)
    func everyServiceIsHardened(_ name: String) async throws {
        let manifest = try manifest(name)
        let compose = try ConfigRenderer().render(manifest).compose
        let services = Self.serviceBlocks(compose)
        #expect(services.keys.contains(manifest.services.name) && services.keys.contains("nginx"), "\(services.keys)")
        for (service, lines) in services {
            let text = lines.joined(separator: "\n")
            #expect(text.contains("    cap_drop:\n      - \"ALL\""), "\(service): cap_drop")
            #expect(!text.contains("cap_add"), "\(service): cap_add")
            #expect(!lines.contains { $0.hasPrefix("    privileged:") }, "\(service): privileged")
            #expect(text.contains("    security_opt:\n      - \"no-new-privileges:true\""), "\(service): security_opt")
            #expect(lines.contains("    read_only: true"), "\(service): read_only")
            #expect(text.contains("    tmpfs:\n      - \"/tmp:"), "\(service): tmpfs")
            let user = lines.first { $0.hasPrefix("    user: ") }
            if service == manifest.services.name {
                #expect(
                    user == manifest.services.user.map { "    user: \"\($0)\"" },
                    "\(service): the user is services.user, or the image's own")
            } else {
                #expect(user == "    user: \"65534:65534\"", "\(service) runs as nobody")
            }
        }
        if let opa = services["opa"] {
            let policyNetwork = "      - \(manifest.network.name)-policy"
            #expect(opa.contains(policyNetwork))
            #expect(!opa.contains("      - \(manifest.network.name)"))
            for (service, lines) in services where service != "opa" {
                #expect(!lines.contains(policyNetwork), "\(service) shares the policy network with OPA")
            }
        }
    }

    @Test func theAppUserIsTheManifestsAndRootIsRefusedUnlessAllowed() async throws {
        let base = try String(contentsOf: fixture("render/base/manifest.yaml"), encoding: .utf8)
        func load(_ extra: String) throws -> Manifest {
            let text = base.replacingOccurrences(of: "services:\n", with: "services:\n\(extra)")
            return try ManifestLoader().parse(text, file: "manifest.yaml", directory: URL(fileURLWithPath: "/tmp"))
        }
        #expect(
            try ConfigRenderer().render(try load("  user: \"10001:10001\"\n")).compose.contains(#"user: "10001:10001""#)
        )
        for root in ["root", "0", "0:0", "root:root"] {
            let error = #expect(throws: ManifestError.self) { try load("  user: \"\(root)\"\n") }
            #expect(
                error?.errorDescription?.contains("runs the app as root (uid 0)") == true,
                "\(root): \(String(describing: error))")
            #expect(error?.exitStatus == .invalidInput)
        }
        #expect(try load("  user: root\n  allow_root: true\n").services.user == "root")
        #expect(throws: ManifestError.self) { try load("  user: \"a b\"\n") }
        #expect(throws: ManifestError.self) { try load("  allow_root: yes\n") }
    }

    @Test func escapingRefusesWhatGrammarShouldHaveStopped() async throws {
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

    @Test(.requires(.nginx), arguments: cases)
    func nginxAcceptsTheGeneratedConfig(_ name: String) async throws {
        let nginx = try TestRequirement.nginx.value()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = try dir.write(try ConfigRenderer().render(try manifest(name)).nginxConf, to: "nginx.conf")
        let result = try await ExternalTool.run(nginx, ["-t", "-p", dir.path + "/", "-c", file.path])
        #expect(result.status == 0, "nginx -t failed: \(result.output)")
    }

    @Test(.requires(.dockerCompose), arguments: cases)
    func composeAcceptsTheGeneratedFile(_ name: String) async throws {
        let compose = try TestRequirement.dockerCompose.value()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = try dir.write(try ConfigRenderer().render(try manifest(name)).compose, to: "docker-compose.yml")
        let result = try await ExternalTool.run(compose, ["-f", file.path, "config", "-q"], currentDirectory: dir.url)
        #expect(result.status == 0, "docker-compose config failed: \(result.output)")
    }
}
