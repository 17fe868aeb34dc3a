import Foundation
import Yams

/// Reads `manifest.yaml` strictly: unknown keys (with a suggestion), wrong
/// types, values outside their grammar and missing required fields are all
/// reported at once, each with its line and column.
public struct ManifestLoader: Sendable {
    public init() {}

    /// Loads and validates the manifest at `url`. `displayPath` is how the file is named in messages
    /// (the path as the user typed it); defaults to the file name.
    public func load(from url: URL, displayPath: String? = nil) throws -> Manifest {
        let shown = displayPath ?? url.lastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ManifestError.notFound(path: shown)
        }
        if isDirectory.boolValue { throw ManifestError.unreadable(path: shown, reason: "it is a directory") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ManifestError.unreadable(path: shown, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestError.unreadable(path: shown, reason: "it is not valid UTF-8")
        }
        return try parse(
            text, file: shown, directory: url.deletingLastPathComponent().standardizedFileURL,
            fileURL: url.standardizedFileURL)
    }

    /// Loads `text` and returns the reader that checked it, with the keys each section allowed and every path read:
    /// tests compare them with `ManifestSchema`.
    func reading(_ text: String, directory: URL) throws -> NodeReader {
        let reader = NodeReader(file: "manifest.yaml")
        guard let root = try YAMLComposer.compose(yaml: text) else { return reader }
        _ = ManifestBuilder(
            reader: reader, directory: directory, fileURL: directory.appendingPathComponent("manifest.yaml")
        ).build(root)
        return reader
    }

    /// Validates manifest text. `directory` is where relative paths resolve and the default project name comes from;
    /// `fileURL` is the manifest's own path (default: `file`'s name inside `directory`).
    public func parse(_ text: String, file: String, directory: URL, fileURL: URL? = nil) throws -> Manifest {
        let reader = NodeReader(file: file)
        let root: Node?
        do {
            root = try YAMLComposer.compose(yaml: text)
        } catch let error as YamlError {
            throw ManifestError.invalid([reader.problem(from: error)])
        } catch {
            throw ManifestError.invalid([
                ManifestProblem(file: file, line: nil, column: nil, path: "", message: "not valid YAML: \(error)")
            ])
        }
        guard let root else {
            throw ManifestError.invalid([
                ManifestProblem(
                    file: file, line: 1, column: 1, path: "",
                    message:
                        """
                        the manifest is empty; it needs at least services.image, services.port, nginx.image, \
                        nginx.port, network.name and network.driver_type
                        """
                )
            ])
        }
        let ownURL = fileURL ?? directory.appendingPathComponent(URL(fileURLWithPath: file).lastPathComponent)
        let manifest = ManifestBuilder(reader: reader, directory: directory, fileURL: ownURL).build(root)
        if !reader.problems.isEmpty || manifest == nil {
            // File order; problems without a position (a missing section) come last, in the order found.
            let ordered = reader.problems.enumerated().sorted { a, b in
                (a.element.line ?? Int.max, a.element.column ?? Int.max, a.offset) < (
                    b.element.line ?? Int.max, b.element.column ?? Int.max, b.offset
                )
            }.map(\.element)
            throw ManifestError.invalid(ordered)
        }
        return manifest!
    }
}

/// Walks the composed YAML tree, collecting problems instead of stopping at the first.
final class NodeReader {
    let file: String
    private(set) var problems: [ManifestProblem] = []
    /// The keys each section was checked against, by section path ("" for the top level). Tests compare these
    /// and `readPaths` with `ManifestSchema`, so a key the loader accepts cannot be missing from the schema.
    private(set) var allowedKeys: [String: [String]] = [:]
    /// Every key path a value was read at.
    private(set) var readPaths: Set<String> = []

    init(file: String) { self.file = file }

    func noteRead(_ path: String) { readPaths.insert(path) }

    func report(_ node: Node?, _ path: String, _ message: String) {
        problems.append(
            ManifestProblem(
                file: file, line: node?.mark?.line, column: node?.mark?.column, path: path, message: message))
    }

    func problem(from error: YamlError) -> ManifestProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return ManifestProblem(
                file: file, line: mark.line, column: mark.column, path: "", message: "not valid YAML: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ManifestProblem(
                file: file, line: context.mark.line, column: context.mark.column, path: "",
                message:
                    """
                    duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in a mapping; each key \
                    may appear once
                    """
            )
        default:
            return ManifestProblem(file: file, line: nil, column: nil, path: "", message: "not valid YAML: \(error)")
        }
    }

    /// The mapping's entries by key, after reporting unknown and duplicate keys. Nil when the node is not a mapping.
    func mapping(_ node: Node, _ path: String, allowed: [String]) -> [String: Node]? {
        allowedKeys[path] = allowed
        guard case .mapping(let mapping) = node else {
            report(
                node, path,
                "\(path.isEmpty ? "the manifest" : path) must be a mapping of keys to values, got \(describe(node))")
            return nil
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                report(keyNode, path, "keys must be plain names, got \(describe(keyNode))")
                continue
            }
            let key = keyScalar.string
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            if !allowed.contains(key) {
                var message = "unknown key '\(key)'\(path.isEmpty ? "" : " at \(path)")"
                if let suggestion = Self.suggestion(for: key, among: allowed) {
                    message += "; did you mean '\(suggestion)'?"
                } else {
                    message += "; known keys: \(allowed.joined(separator: ", "))"
                }
                report(keyNode, keyPath, message)
                continue
            }
            if result[key] != nil {
                report(keyNode, keyPath, "duplicate key '\(keyPath)'; each key may appear once")
                continue
            }
            result[key] = value
        }
        return result
    }

    /// A scalar's text, for string fields. Numbers are taken as written (`version: 1.2` is "1.2").
    func string(_ node: Node?, _ path: String, required: Bool = false) -> String? {
        noteRead(path)
        guard let node else {
            if required { report(nil, path, "\(path) is required") }
            return nil
        }
        guard case .scalar(let scalar) = node else {
            report(node, path, "\(path) must be a string, got \(describe(node))")
            return nil
        }
        if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
            report(node, path, "\(path) must not be empty")
            return nil
        }
        if scalar.style == .plain, ["true", "false"].contains(scalar.string) {
            report(node, path, "\(path) must be a string, got boolean \(scalar.string); quote it if you mean the text")
            return nil
        }
        return scalar.string
    }

    /// A string checked against a grammar rule; reports `path must be <expected>, got "value"`.
    func checked(_ node: Node?, _ path: String, required: Bool = false, _ rule: (String) -> String?) -> String? {
        guard let value = string(node, path, required: required) else { return nil }
        if let expected = rule(value) {
            report(node, path, "\(path) must be \(expected), got \(Quoting.quote(value))")
            return nil
        }
        return value
    }

    /// One of a fixed set of words.
    func choice(_ node: Node?, _ path: String, _ choices: [String]) -> String? {
        guard let value = string(node, path) else { return nil }
        guard choices.contains(value) else {
            var message = "\(path) must be one of \(choices.joined(separator: ", ")), got \(Quoting.quote(value))"
            if let suggestion = Self.suggestion(for: value, among: choices) {
                message += "; did you mean '\(suggestion)'?"
            }
            report(node, path, message)
            return nil
        }
        return value
    }

    /// An integer written as a plain YAML integer (a quoted number is a string, and an error).
    func integer(_ node: Node?, _ path: String, required: Bool = false, range: ClosedRange<Int>) -> Int? {
        noteRead(path)
        guard let node else {
            if required { report(nil, path, "\(path) is required") }
            return nil
        }
        guard case .scalar(let scalar) = node, scalar.style == .plain,
            CompiledPatterns.matches(scalar.string, #"^[+-]?[0-9]+$"#)
        else {
            report(node, path, "\(path) must be an integer, got \(describe(node))")
            return nil
        }
        guard let value = Int(scalar.string), range.contains(value) else {
            report(node, path, "\(path) must be \(range.lowerBound)-\(range.upperBound), got \(scalar.string)")
            return nil
        }
        return value
    }

    /// A port number 1-65535.
    func port(_ node: Node?, _ path: String, required: Bool = false) -> Int? {
        integer(node, path, required: required, range: 1...65535)
    }

    /// `true` or `false`, nothing else (no yes/no/on/off).
    func boolean(_ node: Node?, _ path: String) -> Bool? {
        noteRead(path)
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, scalar.style == .plain, ["true", "false"].contains(scalar.string) else {
            report(node, path, "\(path) must be true or false, got \(describe(node))")
            return nil
        }
        return scalar.string == "true"
    }

    /// A duration: a plain integer of seconds, or text such as `500ms`, `30s`, `1m30s`.
    func duration(_ node: Node?, _ path: String, range: ClosedRange<ManifestDuration>) -> ManifestDuration? {
        noteRead(path)
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            report(node, path, "\(path) must be a duration such as 30s or 500ms, got \(describe(node))")
            return nil
        }
        let text = scalar.string
        let parsed: ManifestDuration?
        if scalar.style == .plain, let seconds = Int(text),
            CompiledPatterns.matches(text, #"^[0-9]+$"#)
        {
            parsed = seconds <= 1_000_000 ? ManifestDuration(milliseconds: seconds * 1000) : nil
        } else {
            parsed = ManifestDuration.parse(text)
        }
        guard let duration = parsed else {
            report(
                node, path,
                "\(path) must be a duration such as 30s, 500ms or 1m30s (or whole seconds), got \(Quoting.quote(text))")
            return nil
        }
        guard range.contains(duration) else {
            report(node, path, "\(path) must be between \(range.lowerBound) and \(range.upperBound), got \(duration)")
            return nil
        }
        return duration
    }

    /// A sequence of scalars.
    func stringList(_ node: Node?, _ path: String, _ rule: (String) -> String?) -> [String]? {
        noteRead(path)
        guard let node else { return nil }
        guard case .sequence(let sequence) = node else {
            report(node, path, "\(path) must be a list, got \(describe(node))")
            return nil
        }
        var values: [String] = []
        for (index, item) in sequence.enumerated() {
            if let value = checked(item, "\(path)[\(index)]", rule) { values.append(value) }
        }
        return values
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if scalar.style != .plain { return "string \(Quoting.quote(scalar.string))" }
            let s = scalar.string
            if ["", "~", "null", "Null", "NULL"].contains(s) { return "null" }
            if ["true", "false"].contains(s) { return "boolean \(s)" }
            if CompiledPatterns.matches(s, #"^[+-]?[0-9]+$"#) { return "integer \(s)" }
            if Double(s) != nil { return "number \(s)" }
            return "string \(Quoting.quote(s))"
        }
    }

    /// The closest allowed word, when close enough to be a likely typo.
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let limit = max(2, best.0.count / 3)
        return best.1 <= limit ? best.0 : nil
    }

    /// Optimal-string-alignment distance: Levenshtein plus adjacent transpositions.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
