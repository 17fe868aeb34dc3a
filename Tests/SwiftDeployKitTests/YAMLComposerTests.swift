import Foundation
import TestSupport
import Testing
import Yams

@testable import SwiftDeployKit

/// `YAMLComposer.compose` (the basic resolver, the default one again on a duplicate key) must give exactly what
/// `Yams.compose` gives as the readers see it: the same tree (kinds, text, styles, positions) or the same error. Tags
/// are left out: they are what the resolvers differ in (Yams even resolves some at composition, e.g. the empty
/// value of a `{{placeholder}}` is `null` to the default resolver, `str` to the basic one), and no reader asks.
@Suite("YAML composed without the default resolver")
struct YAMLComposerTests {
    /// A node as the readers see it: no tags (those are what the two resolvers differ in).
    indirect enum Shape: Equatable {
        case scalar(String, Node.Scalar.Style, Int?, Int?)
        case sequence([Shape], Int?, Int?)
        case mapping([Shape], Int?, Int?)
        case alias
    }

    static func shape(_ node: Node) -> Shape {
        switch node {
        case .scalar(let s): return .scalar(s.string, s.style, s.mark?.line, s.mark?.column)
        case .sequence(let s): return .sequence(s.map(shape), s.mark?.line, s.mark?.column)
        case .mapping(let m):
            return .mapping(m.flatMap { [shape($0.key), shape($0.value)] }, m.mark?.line, m.mark?.column)
        case .alias: return .alias
        }
    }

    static func outcome(_ compose: () throws -> Node?) -> String {
        do {
            guard let node = try compose() else { return "empty" }
            return "\(shape(node))"
        } catch {
            return "error: \(error)"
        }
    }

    static func agree(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let ours = outcome { try YAMLComposer.compose(yaml: text) }
        let yams = outcome { try Yams.compose(yaml: text) }
        #expect(ours == yams, "\(text)", sourceLocation: sourceLocation)
    }

    static let hostile = [
        "", "# only a comment\n", "a: 1\nb: 2\n", "a: 1\na: 2\n",
        // Keys that differ only to the default resolver: distinct there, duplicates to the basic one.
        "1: a\n\"1\": b\n", "true: a\n'true': b\n", "null: a\n\"null\": b\n", "~: a\n\"~\": b\n",
        "2001-12-14: a\n\"2001-12-14\": b\n", "1.5: a\n\"1.5\": b\n", "0x1f: a\n'0x1f': b\n",
        "<<: a\n\"<<\": b\n", "=: a\n'=': b\n",
        // …and real duplicates beside them, in nested mappings, after them, and a syntax error after them.
        "outer:\n  1: a\n  \"1\": b\n  1: c\n", "x:\n  true: a\n  'true': b\ny:\n  k: 1\n  k: 2\n",
        "a: {1: x, \"1\": y}\nb: [1, 2\n", "a:\n  \"1\": x\n  1: y\nb: : :\n",
        "services:\n  port: 8080\n  port: 9090\n", "services:\n  \"port\": 8080\n  port: 9090\n",
        // Anchors, aliases, tags, styles, flow collections, documents.
        "a: &x {k: v}\nb: *x\n", "a: !!str 1\nb: !custom 2\n", "a: |\n  text\n  more\nb: >\n  folded\n",
        "[1, two, 'three', \"four\"]\n", "a: 1\n---\nb: 2\n", "a: [unclosed\n", "\t- tab\n", "a: *missing\n",
        "? complex\n: value\n", "{a: 1, a: 2}\n",
    ]

    @Test func hostileDocumentsAgree() {
        for text in Self.hostile { Self.agree(text) }
    }

    @Test func everyFixtureAndSampleAgrees() throws {
        var texts = [
            try String(contentsOf: RepositoryPaths.root.appendingPathComponent("manifest.yaml"), encoding: .utf8)
        ]
        let files = FileManager.default.enumerator(at: RepositoryPaths.fixtures, includingPropertiesForKeys: nil)
        while let url = files?.nextObject() as? URL {
            guard ["yaml", "yml"].contains(url.pathExtension) || url.lastPathComponent.hasSuffix(".yaml.template")
            else { continue }
            texts.append(try String(contentsOf: url, encoding: .utf8))
        }
        #expect(texts.count > 10)
        for text in texts { Self.agree(text) }
    }

    /// The manifest loader's verdict on a duplicate that only the basic resolver sees is the default resolver's.
    @Test func theLoaderReportsWhatItReportedBefore() throws {
        let directory = URL(fileURLWithPath: "/nonexistent-project")
        let base = try String(contentsOf: RepositoryPaths.root.appendingPathComponent("manifest.yaml"), encoding: .utf8)
        let variants = [
            base.replacingOccurrences(of: "services:\n", with: "services:\n  1: a\n  \"1\": b\n"),
            base.replacingOccurrences(of: "services:\n", with: "services:\n  port: 1\n  \"port\": 2\n"),
            base + "true: x\n'true': y\n",
        ]
        for text in variants {
            let ours = Self.problems { try ManifestLoader().parse(text, file: "manifest.yaml", directory: directory) }
            let yams = Self.problems {
                // The loader as it was: Yams' default resolver throughout.
                let reader = NodeReader(file: "manifest.yaml")
                do {
                    guard let root = try Yams.compose(yaml: text) else { return }
                    _ = ManifestBuilder(
                        reader: reader, directory: directory,
                        fileURL: directory.appendingPathComponent("manifest.yaml")
                    ).build(root)
                } catch let error as YamlError {
                    throw ManifestError.invalid([reader.problem(from: error)])
                }
                if !reader.problems.isEmpty { throw ManifestError.invalid(reader.problems) }
            }
            #expect(!ours.isEmpty)
            #expect(Set(ours) == Set(yams), "\(text)")
        }
    }

    static func problems(_ body: () throws -> Void) -> [String] {
        do {
            try body()
            return []
        } catch let ManifestError.invalid(problems) {
            return problems.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }
}
