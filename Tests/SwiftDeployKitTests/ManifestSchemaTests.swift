import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The loader and the JSON Schema are two readings of one table (`ManifestSchema`). These tests prove they agree:
/// key for key (a key the loader accepts but the schema lacks fails here, named), type for type (every key with a
/// good and a bad value, through both), on every fixture, and that the shipped schema file is current.
@Suite("Manifest schema")
struct ManifestSchemaTests {
    static let directory = URL(fileURLWithPath: "/srv/shop")
    static let schemaURL = RepositoryPaths.root.appendingPathComponent("schema/manifest.schema.json")

    // MARK: The table and the loader

    @Test func loaderAllowsExactlyTheTableKeysInEverySection() async throws {
        let reader = try ManifestLoader().reading(Self.maximalManifest(), directory: Self.directory)
        #expect(
            reader.problems.isEmpty,
            "the manifest built from ManifestSchema's examples must load: \(reader.problems.map(\.description))")
        let sections = [""] + ManifestSchema.allPaths.filter { !(ManifestSchema.key(at: $0)?.children.isEmpty ?? true) }
        for section in sections {
            let table = ManifestSchema.keyNames(at: section)
            guard let loader = reader.allowedKeys[section] else {
                Issue.record("the loader never checked the keys of section '\(section)', which ManifestSchema declares")
                continue
            }
            for key in loader where !table.contains(key) {
                Issue.record(
                    """
                    the loader accepts '\(Self.join(section, key))' but ManifestSchema (and so \
                    schema/manifest.schema.json) lacks it: add it to ManifestSchema.keys and run \
                    scripts/generate-schema
                    """
                )
            }
            for key in table where !loader.contains(key) {
                Issue.record(
                    "ManifestSchema declares '\(Self.join(section, key))' but the loader rejects it as unknown")
            }
        }
        // An item of a list of mappings (`slo.objectives[0]`) is checked against the list key's item keys.
        for (section, loader) in reader.allowedKeys where section.contains("[") {
            let list = String(section[..<section.firstIndex(of: "[")!])
            let table = ManifestSchema.key(at: list)?.listItemKeys.map(\.name) ?? []
            #expect(
                Set(loader) == Set(table),
                "the loader checks the items of \(list) against \(loader), ManifestSchema declares \(table)")
        }
        for section in reader.allowedKeys.keys where !sections.contains(section) && !section.contains("[") {
            Issue.record(
                """
                the loader reads a section '\(section)' that ManifestSchema does not declare: add it to \
                ManifestSchema.keys
                """
            )
        }
    }

    @Test func loaderReadsEveryTableKeyAndNoOther() async throws {
        let reader = try ManifestLoader().reading(Self.maximalManifest(), directory: Self.directory)
        let leaves = Set(ManifestSchema.allPaths.filter { ManifestSchema.key(at: $0)?.children.isEmpty ?? false })
        let read = Set(reader.readPaths.filter { !$0.contains("[") })
        for path in leaves.subtracting(read).sorted() {
            Issue.record("ManifestSchema declares '\(path)' but the loader never reads its value")
        }
        for path in read.subtracting(leaves).sorted() {
            Issue.record(
                """
                the loader reads '\(path)' but ManifestSchema lacks it: add it to ManifestSchema.keys and run \
                scripts/generate-schema
                """
            )
        }
    }

    @Test func everyKeyRejectsAWrongValueInTheLoader() async throws {
        for bad in Self.badManifests() {
            let reader = try ManifestLoader().reading(bad.text, directory: Self.directory)
            #expect(
                reader.problems.contains {
                    $0.path == bad.path || $0.path.hasPrefix(bad.path + ".") || $0.path.hasPrefix(bad.path + "[")
                },
                "the loader accepted \(bad.name): \(reader.problems.map(\.description))")
        }
    }

    @Test func defaultsInTheTableAreTheLoadersDefaults() async throws {
        // The minimal manifest gets every default; the table must state the same ones.
        let minimal = try ManifestLoader().parse(
            Self.minimalManifest(), file: "manifest.yaml", directory: Self.directory)
        let m = minimal
        let loaded: [String: ManifestKey.Default] = [
            "version": .integer(m.version), "services.name": .string(m.services.name),
            "services.mode": .string(m.services.mode.rawValue),
            "services.restart_policy": .string(m.services.restartPolicy),
            "services.healthcheck.path": .string(m.services.healthcheck.path),
            "services.healthcheck.interval": .string(m.services.healthcheck.interval.description),
            "services.healthcheck.timeout": .string(m.services.healthcheck.timeout.description),
            "services.healthcheck.retries": .integer(m.services.healthcheck.retries),
            "nginx.proxy_timeout": .string(m.nginx.proxyTimeout.description),
            "nginx.admin_port": .integer(m.nginx.adminPort),
            "policy.engine": .string(m.policy.engine.rawValue), "policy.dir": .string(m.policy.dir),
            "policy.thresholds": .string(m.policy.thresholds), "policy.opa.image": .string(m.policy.opa.image),
            "policy.opa.port": .integer(m.policy.opa.port), "metrics.window": .string(m.metrics.window.description),
            "metrics.min_requests": .integer(m.metrics.minRequests),
            "metrics.exclude_paths": .strings(m.metrics.excludePaths),
            "metrics.source": .string(m.metrics.source.rawValue), "history.path": .string(m.history.path),
            "history.report": .string(m.history.report),
            "rollout.steps": .integers(m.rollout.steps), "rollout.interval": .string(m.rollout.interval.description),
            "rollout.sticky": .boolean(m.rollout.sticky),
            "rollout.on_inconclusive": .string(m.rollout.onInconclusive.rawValue),
        ]
        for (path, value) in loaded {
            #expect(
                ManifestSchema.key(at: path)?.defaultValue == value,
                "ManifestSchema's default for \(path) differs from the loader's \(value)")
        }
    }

    // MARK: The shipped schema

    @Test func shippedSchemaIsCurrent() async {
        if let diff = Golden.compare(ManifestSchema.jsonSchema(), to: Self.schemaURL) {
            Issue.record("schema/manifest.schema.json is stale; regenerate it with scripts/generate-schema\n\(diff)")
        }
    }

    @Test func sampleManifestPointsEditorsAtTheSchema() async throws {
        let sample = try String(
            contentsOf: RepositoryPaths.root.appendingPathComponent("manifest.yaml"), encoding: .utf8)
        #expect(sample.hasPrefix("# yaml-language-server: $schema=schema/manifest.schema.json\n"))
    }

    // MARK: The schema, with Python's jsonschema

    @Test(.requires(Python.requirement))
    func schemaAndLoaderAgreeOnEveryKeyAndFixture() async throws {
        let python = try Python.requirement.value()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var cases: [(file: URL, name: String, valid: Bool)] = []
        func add(_ name: String, _ text: String, valid: Bool) throws {
            let url = dir.url.appendingPathComponent("case\(cases.count).yaml")
            try Data(text.utf8).write(to: url)
            cases.append((url, name, valid))
        }

        // Valid: the repository's sample, every valid fixture, and the manifest with every key.
        let sample = RepositoryPaths.root.appendingPathComponent("manifest.yaml")
        let valid = [sample] + Self.validFixtures()
        for url in valid {
            let text = try String(contentsOf: url, encoding: .utf8)
            _ = try ManifestLoader().parse(text, file: url.lastPathComponent, directory: Self.directory)
            try add(url.path.replacingOccurrences(of: RepositoryPaths.root.path + "/", with: ""), text, valid: true)
        }
        try add("every key (from ManifestSchema's examples)", Self.maximalManifest(), valid: true)

        // Invalid: a wrong value for every key, and every invalid manifest of the loader's tests.
        for bad in Self.badManifests() { try add(bad.name, bad.text, valid: false) }
        for (index, entry) in ManifestLoaderTests.invalid.enumerated() {
            #expect(!entry.1.isEmpty)
            // A rule between two values the schema cannot state: the loader alone rejects it.
            let loaderOnly = entry.1.allSatisfy { $0.contains("nginx.admin_port must differ from nginx.port") }
            try add(
                "ManifestLoaderTests.invalid[\(index)]\(loaderOnly ? " (loader-only rule)" : "")", entry.0,
                valid: loaderOnly)
        }
        try add("an empty manifest", "", valid: false)

        let result = try await ExternalTool.run(
            python,
            [
                RepositoryPaths.root.appendingPathComponent("scripts/validate-manifest").path,
                "--schema", Self.schemaURL.path, "--json",
            ] + cases.map(\.file.path))
        var verdicts: [String: (Bool, [String])] = [:]
        for line in result.output.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let file = object["file"] as? String, let isValid = object["valid"] as? Bool
            else { continue }
            verdicts[file] = (isValid, object["errors"] as? [String] ?? [])
        }
        #expect(
            verdicts.count == cases.count,
            "validate-manifest answered \(verdicts.count) of \(cases.count) files: \(result.output)")
        for entry in cases {
            guard let (isValid, errors) = verdicts[entry.file.path] else { continue }
            if entry.valid {
                #expect(isValid, "the schema rejects \(entry.name), which the loader accepts: \(errors)")
            } else {
                #expect(!isValid, "the schema accepts \(entry.name), which the loader rejects")
            }
        }
    }

    // MARK: Manifests built from the table

    static func join(_ section: String, _ key: String) -> String { section.isEmpty ? key : "\(section).\(key)" }

    /// A JSON value (JSON is YAML) for a key, from the table alone: every key set, each to a valid example.
    static func example(_ key: ManifestKey, _ path: String, ports: inout Int) -> Any {
        switch key.kind {
        case .section(let children):
            var object: [String: Any] = [:]
            for child in children { object[child.name] = example(child, join(path, child.name), ports: &ports) }
            return object
        case .string(let rule):
            // Configured paths must be distinct files (history, report, thresholds…): one example per key.
            if rule.example == ManifestGrammar.filePathRule.example {
                return "var/" + path.replacingOccurrences(of: ".", with: "_")
            }
            return rule.example
        case .integer(let range):
            if range == 1...65535 {
                ports += 1
                return ports
            }
            return range.lowerBound
        case .boolean: return true
        case .duration: return "2s"
        case .choice(let words): return words[0]
        case .list(let rule): return [rule.example]
        case .integerList(let range): return [range.upperBound]
        case .environment: return ["LOG_LEVEL": ManifestGrammar.environmentValueRule.example]
        case .number(let range): return (range.lowerBound + range.upperBound * 199) / 200
        case .sectionList(let children):
            var object: [String: Any] = [:]
            for child in children { object[child.name] = example(child, join(path, child.name), ports: &ports) }
            return [object]
        }
    }

    static func document(_ object: [String: Any]) -> String {
        let data = try! JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func maximalObject() -> [String: Any] {
        var ports = 20_000
        var object: [String: Any] = [:]
        for key in ManifestSchema.keys { object[key.name] = example(key, key.name, ports: &ports) }
        return object
    }

    static func maximalManifest() -> String { document(maximalObject()) }

    static func minimalManifest() -> String {
        var ports = 20_000
        func required(_ keys: [ManifestKey], _ path: String) -> [String: Any] {
            var object: [String: Any] = [:]
            for key in keys where key.required {
                if case .section(let children) = key.kind {
                    object[key.name] = required(children, join(path, key.name))
                } else {
                    object[key.name] = example(key, join(path, key.name), ports: &ports)
                }
            }
            return object
        }
        return document(required(ManifestSchema.keys, ""))
    }

    /// For every key, manifests that differ from the maximal one by one wrong value there (and for every section an
    /// unknown key, for every required key its absence).
    static func badManifests() -> [(name: String, path: String, text: String)] {
        var result: [(String, String, String)] = []
        func setting(_ path: String, to value: Any?) -> String {
            func set(_ object: [String: Any], _ parts: ArraySlice<String>) -> [String: Any] {
                var object = object
                let head = parts.first!
                if parts.count == 1 {
                    object[head] = value
                } else {
                    object[head] = set(object[head] as? [String: Any] ?? [:], parts.dropFirst())
                }
                return object
            }
            return document(set(maximalObject(), ArraySlice(path.split(separator: ".").map(String.init))))
        }
        result.append(("an unknown top-level key", "bogus_key", setting("bogus_key", to: 1)))
        for key in ManifestSchema.keys where key.required {
            result.append(("the manifest without \(key.name)", key.name, setting(key.name, to: nil)))
        }
        for path in ManifestSchema.allPaths {
            let key = ManifestSchema.key(at: path)!
            var wrong: [(String, Any)] = []
            switch key.kind {
            case .section(let children):
                wrong = [("a list", [1]), ("an unknown key", ["bogus_key": 1])]
                for child in children where child.required {
                    result.append(
                        (
                            "\(path) without \(child.name)", join(path, child.name),
                            setting(join(path, child.name), to: nil)
                        ))
                }
            case .string(let rule):
                wrong = [
                    ("\(rule.counterexample.debugDescription)", rule.counterexample), ("a mapping", ["a": 1]),
                    ("boolean true", true),
                ]
            case .integer(let range):
                wrong = [
                    ("the string \"12\"", "12"), ("\(range.lowerBound - 1)", range.lowerBound - 1), ("a list", [1]),
                ]
                if range.upperBound < Int.max { wrong.append(("\(range.upperBound + 1)", range.upperBound + 1)) }
            case .boolean:
                wrong = [("the string \"yes\"", "yes"), ("1", 1)]
            case .duration:
                wrong = [("\"5 seconds\"", "5 seconds"), ("\"30\" (quoted)", "30"), ("a list", [1])]
            case .choice:
                wrong = [("\"bogus\"", "bogus"), ("1", 1)]
            case .list(let rule):
                wrong = [
                    ("a single string", rule.example),
                    ("[\(rule.counterexample.debugDescription)]", [rule.counterexample]),
                ]
            case .integerList(let range):
                wrong = [
                    ("a single integer", range.upperBound), ("[\"\(range.upperBound)\"]", ["\(range.upperBound)"]),
                    ("[\(range.lowerBound - 1)]", [range.lowerBound - 1]), ("[]", [Int]()),
                ]
            case .number(let range):
                wrong = [("the string \"1\"", "1"), ("\(range.upperBound)", range.upperBound), ("a list", [1])]
            case .sectionList:
                wrong = [("a mapping", ["a": 1]), ("an empty list", [Any]()), ("a list of strings", ["a"])]
            case .environment(let reserved):
                wrong = [
                    ("a list", ["a"]), ("a reserved name \(reserved[0])", [reserved[0]: "x"]),
                    ("a bad name", ["1X": "x"]),
                    ("a bad value", ["OK": ManifestGrammar.environmentValueRule.counterexample]),
                ]
            }
            for forbidden in key.forbidden { wrong.append(("the reserved \(forbidden)", forbidden)) }
            for (what, value) in wrong { result.append(("\(path) set to \(what)", path, setting(path, to: value))) }
        }
        return result
    }

    static func validFixtures() -> [URL] {
        let root = RepositoryPaths.fixtures
        let files =
            FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        return files.filter { $0.lastPathComponent == "manifest.yaml" }.sorted { $0.path < $1.path }
    }
}

/// python3 with PyYAML and jsonschema, as scripts/validate-manifest needs.
enum Python {
    /// Synchronous (a requirement is checked before the test starts): the runner's blocking wait, once per process.
    static func path() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/python3"
            guard FileManager.default.isExecutableFile(atPath: candidate) else { continue }
            guard let probe = try? ExternalTool.runBlocking(candidate, ["-c", "import yaml, jsonschema"]),
                probe.status == 0
            else { return nil }
            return candidate
        }
        return nil
    }

    static let requirement = TestRequirement("python3 with PyYAML and jsonschema") {
        path().map { .met($0) }
            ?? .missing("python3 with PyYAML and jsonschema is not installed; run scripts/bootstrap")
    }
}
