import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

@Suite("Writing generated files")
struct ConfigGeneratorTests {
    private func project() throws -> (TemporaryDirectory, Manifest) {
        let dir = try TemporaryDirectory()
        let url = try dir.write(
            try String(contentsOf: fixture("render/base/manifest.yaml"), encoding: .utf8), to: "manifest.yaml")
        return (dir, try ManifestLoader().load(from: url))
    }

    @Test func writesBothThenSkipsUnchanged() throws {
        let (dir, manifest) = try project()
        defer { dir.remove() }
        let generator = ConfigGenerator(manifest: manifest, templates: .builtin)
        #expect(try generator.write().map(\.outcome) == [.created, .created])
        #expect(try generator.write().map(\.outcome) == [.unchanged, .unchanged])
        #expect(try generator.drift().isEmpty)
        let before = try dir.read("nginx.conf")
        try FileManager.default.removeItem(at: dir.url.appendingPathComponent("nginx.conf"))
        try FileManager.default.removeItem(at: dir.url.appendingPathComponent("docker-compose.yml"))
        #expect(try generator.drift().count == 2)
        try generator.write()
        #expect(try dir.read("nginx.conf") == before)
    }

    /// docker-compose.yml holds services.env values: owner-only, even over an older 0644 copy.
    /// nginx.conf holds none and must stay readable by the unprivileged nginx.
    @Test func theComposeFileIsWrittenOwnerOnly() throws {
        let (dir, manifest) = try project()
        defer { dir.remove() }
        try dir.write("old", to: "docker-compose.yml")
        chmod(dir.url.appendingPathComponent("docker-compose.yml").path, 0o644)
        try ConfigGenerator(manifest: manifest, templates: .builtin).write()
        func mode(_ name: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: dir.url.appendingPathComponent(name).path)[
                .posixPermissions] as? NSNumber)!.intValue & 0o777
        }
        #expect(try mode("docker-compose.yml") == 0o600)
        #expect(try mode("nginx.conf") == 0o644)
        // Permissions are part of "up to date": a compose file widened by hand is rewritten.
        chmod(dir.url.appendingPathComponent("docker-compose.yml").path, 0o644)
        #expect(
            try ConfigGenerator(manifest: manifest, templates: .builtin).drift().map { $0.url.lastPathComponent } == [
                "docker-compose.yml"
            ])
    }

    @Test func aFailedWriteLeavesNoHalfWrittenFile() throws {
        let (dir, manifest) = try project()
        defer { dir.remove() }
        try ConfigGenerator(manifest: manifest, templates: .builtin).write()
        let original = try dir.read("docker-compose.yml")
        // Make the rendered compose file differ, then make the directory unwritable for new files.
        var changed = manifest
        changed.services.port = 4000
        chmod(dir.path, 0o555)
        defer { chmod(dir.path, 0o755) }
        if getuid() == 0 {
            // root ignores directory permissions: fall back to a template that cannot render.
            chmod(dir.path, 0o755)
            let broken = TemplateSet(nginx: "{{#unclosed}}", compose: "x", origin: "test")
            #expect(throws: RenderError.self) { try ConfigGenerator(manifest: changed, templates: broken).write() }
        } else {
            #expect(throws: RenderError.self) { try ConfigGenerator(manifest: changed, templates: .builtin).write() }
        }
        #expect(try dir.read("docker-compose.yml") == original)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }
}
