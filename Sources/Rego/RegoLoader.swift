import Foundation

/// Loads policy modules and data documents from paths the way `opa eval -d` does.
///
/// - a `.rego` file is a module;
/// - a `.json` or `.yaml` data file merges into the base document at its root (or, for a
///   file found while walking a directory, at the path of its directory);
/// - `a.b:FILE` loads FILE at `data.a.b`;
/// - directories are walked recursively (hidden entries skipped), in sorted order.
public struct RegoLoader {
    public private(set) var modules: [RegoModule] = []
    public private(set) var data: RegoValue = .object([:])

    public init() {}

    /// Loads each path; throws `RegoError` (code `load_error`) naming the path and problem.
    public mutating func load(_ specs: [String]) throws {
        for spec in specs { try load(spec) }
    }

    public mutating func load(_ spec: String) throws {
        var prefix: [String] = []
        var path = spec
        if let colon = spec.firstIndex(of: ":"), !FileManager.default.fileExists(atPath: spec) {
            let p = String(spec[..<colon])
            prefix = p.split(separator: ".").map(String.init)
            path = String(spec[spec.index(after: colon)...])
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw RegoError(code: "load_error", message: "\(path): no such file or directory")
        }
        if isDir.boolValue {
            try walk(URL(fileURLWithPath: path), prefix: prefix, root: true)
        } else {
            try loadFile(URL(fileURLWithPath: path), prefix: prefix, explicit: true)
        }
    }

    mutating func walk(_ dir: URL, prefix: [String], root: Bool) throws {
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        for name in entries where !name.hasPrefix(".") {
            let url = dir.appendingPathComponent(name)
            var isDir: ObjCBool = false
            FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
            if isDir.boolValue {
                try walk(url, prefix: prefix + [name], root: false)
            } else {
                try loadFile(url, prefix: prefix, explicit: false)
            }
        }
    }

    mutating func loadFile(_ url: URL, prefix: [String], explicit: Bool) throws {
        let ext = url.pathExtension.lowercased()
        switch ext {
        case "rego":
            let text: String
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw RegoError(code: "load_error", message: "\(url.path): cannot read: \(error.localizedDescription)")
            }
            modules.append(RegoModule(name: url.path, source: text))
        case "json":
            let bytes: Data
            do { bytes = try Data(contentsOf: url) } catch {
                throw RegoError(code: "load_error", message: "\(url.path): cannot read: \(error.localizedDescription)")
            }
            let value: RegoValue
            do { value = try RegoValue(jsonData: bytes) } catch let e as RegoError {
                throw RegoError(code: "load_error", message: "\(url.path): invalid JSON: \(e.message)")
            }
            try merge(value, at: prefix, source: url.path)
        case "yaml", "yml":
            let text: String
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw RegoError(code: "load_error", message: "\(url.path): cannot read: \(error.localizedDescription)")
            }
            let value: RegoValue
            do {
                var reader = try YAMLReader(text)
                value = try reader.parseDocument()
            } catch let e as RegoError {
                throw RegoError(code: "load_error", message: "\(url.path): invalid YAML: \(e.message)")
            }
            try merge(value, at: prefix, source: url.path)
        default:
            if explicit {
                throw RegoError(
                    code: "load_error", message: "\(url.path): unsupported file type (expected .rego, .json or .yaml)")
            }
        }
    }

    mutating func merge(_ value: RegoValue, at path: [String], source: String) throws {
        if path.isEmpty {
            guard case .object = value else {
                throw RegoError(
                    code: "load_error",
                    message:
                        """
                        \(source): data file at the root must hold a JSON object; load it with a prefix \
                        (name:\(source))
                        """
                )
            }
        }
        let wrapped = path.reversed().reduce(value) { v, key in .object([.string(key): v]) }
        guard let merged = RegoValue.merge(data, wrapped) else {
            throw RegoError(
                code: "load_error", message: "\(source): merge error: its keys conflict with data loaded before")
        }
        data = merged
    }
}

/// Runs `test_*` rules like `opa test`.
public struct RegoTestRunner {
    public struct Result: Sendable {
        public let name: String
        public let passed: Bool
        /// The error that stopped the test, if any.
        public let error: RegoError?
        public let duration: TimeInterval
    }

    public let engine: RegoEngine

    public init(engine: RegoEngine) { self.engine = engine }

    /// Evaluates every rule whose name starts with `test_`; a test passes when its value is `true`.
    public func run() -> [Result] {
        engine.rulePaths().filter { $0.last?.hasPrefix("test_") == true }.map { path in
            let name = "data." + path.joined(separator: ".")
            let start = Date()
            do {
                let v = try engine.evaluate(path: name, input: nil)
                return Result(
                    name: name, passed: v == .bool(true), error: nil, duration: Date().timeIntervalSince(start))
            } catch let e as RegoError {
                return Result(name: name, passed: false, error: e, duration: Date().timeIntervalSince(start))
            } catch {
                return Result(
                    name: name, passed: false, error: RegoError(code: "eval_error", message: "\(error)"),
                    duration: Date().timeIntervalSince(start))
            }
        }
    }
}

extension RegoEngine {
    /// Ground paths (without `data`) of the non-function rules, sorted, each once.
    public func rulePaths() -> [[String]] {
        var out: [[String]] = []
        func visit(_ node: RuleNode, _ path: [String]) {
            if node.rules.contains(where: { !$0.rule.isFunction && $0.rule.isGround }) { out.append(path) }
            for (name, child) in node.children.sorted(by: { $0.key < $1.key }) { visit(child, path + [name]) }
        }
        visit(program.root, [])
        return out
    }
}
