import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The in-place `services.mode` rewrite: every byte outside the edited value stays identical.
@Suite struct ManifestEditorTests {
    static let cases = [
        "comments", "odd-indentation", "single-quoted", "double-quoted", "absent", "crlf", "flow",
        "absent-flow", "tagged", "unicode", "bom",
    ]

    func fixture(_ name: String, _ file: String) throws -> Data {
        try Data(contentsOf: RepositoryPaths.fixtures.appendingPathComponent("editor/\(name)/\(file)"))
    }

    /// The expected files were made by one explicit textual replacement each (an oracle independent of the editor).
    @Test(arguments: cases)
    func rewritesOnlyTheModeValue(name: String) throws {
        let original = String(decoding: try fixture(name, "manifest.yaml"), as: UTF8.self)
        let expected = try fixture(name, "expected-canary.yaml")
        let edited = try ManifestEditor().settingMode(.canary, in: original)
        #expect(Data(edited.utf8) == expected, "\(name): edited text differs from expected-canary.yaml:\n\(edited)")
    }

    /// Property: old and new differ in exactly one contiguous span, and that span is the value.
    @Test(arguments: cases.filter { !$0.hasPrefix("absent") })
    func everyByteOutsideTheValueIsIdentical(name: String) throws {
        let original = Array(try fixture(name, "manifest.yaml"))
        let edited = Array(
            try ManifestEditor().settingMode(.canary, in: String(decoding: original, as: UTF8.self)).utf8)
        let prefix = zip(original, edited).prefix { $0 == $1 }.count
        let suffix = zip(original.reversed(), edited.reversed()).prefix { $0 == $1 }.count
        #expect(String(decoding: original[prefix..<(original.count - suffix)], as: UTF8.self) == "stable")
        #expect(String(decoding: edited[prefix..<(edited.count - suffix)], as: UTF8.self) == "canary")
    }

    @Test(arguments: cases)
    func roundTripRestoresTheOriginalBytesWhereModeWasPresent(name: String) throws {
        let original = String(decoding: try fixture(name, "manifest.yaml"), as: UTF8.self)
        let there = try ManifestEditor().settingMode(.canary, in: original)
        let back = try ManifestEditor().settingMode(.stable, in: there)
        if name.hasPrefix("absent") {
            // The inserted key stays, now saying stable; everything else is the original.
            #expect(back != original)
            #expect(
                back.replacingOccurrences(of: "mode: stable, ", with: "").replacingOccurrences(
                    of: "    mode: stable\n", with: "") == original)
        } else {
            #expect(back == original)
        }
    }

    @Test(arguments: cases)
    func fileEditIsVerifiedAndKeepsPermissions(name: String) throws {
        let dir = try TemporaryDirectory(prefix: "editor")
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("manifest.yaml")
        try fixture(name, "manifest.yaml").write(to: url)
        chmod(url.path, 0o640)
        let before = try ManifestEditor().setMode(.canary, inFileAt: url)
        #expect(before == .stable)
        #expect(try Data(contentsOf: url) == fixture(name, "expected-canary.yaml"))
        let permissions = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber
        #expect(permissions?.int16Value == 0o640)
        #expect(try ManifestLoader().load(from: url).services.mode == .canary)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["manifest.yaml"])
    }

    @Test func settingTheCurrentModeWritesNothing() throws {
        let dir = try TemporaryDirectory(prefix: "editor")
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("manifest.yaml")
        try fixture("comments", "manifest.yaml").write(to: url)
        let past = Date(timeIntervalSince1970: 1_000_000)
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: url.path)
        #expect(try ManifestEditor().setMode(.stable, inFileAt: url) == .stable)
        let modified = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date
        #expect(modified == past)
    }

    @Test func aliasIsRefusedWithItsPosition() throws {
        let text = "defaults: &d stable\nservices:\n  image: x\n  mode: *d\n"
        // Yams resolves the alias to the anchored scalar on line 1: the editor must not rewrite the anchor.
        #expect(
            throws: ManifestEditorError.notEditable(
                path: "manifest.yaml", line: 4, column: 3,
                reason: "services.mode is an alias of a value defined elsewhere")
        ) {
            try ManifestEditor().settingMode(.canary, in: text)
        }
    }

    @Test func blockScalarIsRefused() throws {
        let text = "services:\n  mode: |\n    stable\n"
        #expect(throws: ManifestEditorError.self) { try ManifestEditor().settingMode(.canary, in: text) }
    }

    @Test func escapedDoubleQuotedValueIsRefusedNotMangled() throws {
        let text = "services:\n  mode: \"st\\x61ble\"\n"
        #expect(
            throws: ManifestEditorError.notEditable(
                path: "manifest.yaml", line: 2, column: 9,
                reason: "services.mode is written with escapes or over several lines")
        ) {
            try ManifestEditor().settingMode(.canary, in: text)
        }
    }

    @Test func invalidManifestIsNotTouched() throws {
        let dir = try TemporaryDirectory(prefix: "editor")
        defer { dir.remove() }
        let url = try dir.write("services:\n  mode: stable\n", to: "manifest.yaml")
        #expect(throws: ManifestError.self) { try ManifestEditor().setMode(.canary, inFileAt: url) }
        #expect(try dir.read("manifest.yaml") == "services:\n  mode: stable\n")
    }
}
