import Foundation
import Yams

/// The thresholds a policy domain reads, declared in the domain's module itself as an OPA METADATA annotation
/// (package scope), so the policy and its contract never drift apart:
///
/// ```rego
/// # METADATA
/// # custom:
/// #   thresholds:
/// #     max_error_rate: {type: number, minimum: 0, maximum: 1}
/// #     max_p99_ms: number
/// package swiftdeploy.canary
/// ```
///
/// Each key of `custom.thresholds` is a key of the domain's block in `thresholds.json`; its value is a type
/// (`number`, `integer`, `string`, `boolean`, `array`) or an object with `type` and optional `minimum`/`maximum`
/// (numbers only). A domain that reads no threshold declares `thresholds: {}`. OPA reads the same annotation as
/// ordinary metadata, so the modules stay plain Rego.
///
/// `validate` and every decision check `thresholds.json` against the contract: a missing, unknown (with a
/// did-you-mean), wrongly typed, out-of-range or duplicated key, a missing domain block, or a domain without a
/// contract is a `validate` FAIL naming domain and key, and makes every decision of that domain inconclusive.
public struct ThresholdContract: Sendable, Equatable {
    /// The type a threshold must have.
    public enum Kind: String, Sendable, CaseIterable {
        case number, integer, string, boolean, array
    }

    public struct Key: Sendable, Equatable {
        public var name: String
        public var kind: Kind
        public var minimum: Double?
        public var maximum: Double?
        /// Where it is declared, `policies/canary.rego:5`.
        public var declaredAt: String

        /// `number`, `number ≥ 0`, `number in [0, 1]`.
        public var typeDescription: String {
            switch (minimum, maximum) {
            case let (min?, max?): return "\(kind.rawValue) in [\(formatCount(min)), \(formatCount(max))]"
            case let (min?, nil): return "\(kind.rawValue) ≥ \(formatCount(min))"
            case let (nil, max?): return "\(kind.rawValue) ≤ \(formatCount(max))"
            default: return kind.rawValue
            }
        }
    }

    public var domain: String
    /// The declared keys by name.
    public var keys: [String: Key]

    /// Reads every domain's contract from the modules. A module's declaration that cannot be read is a problem
    /// of its domain (the returned `problems`), never ignored.
    public static func read(modules: [PolicyBundle.Module], domains: [String], directoryName: String)
        -> (contracts: [String: ThresholdContract], problems: [String: [String]])
    {
        var contracts: [String: ThresholdContract] = [:]
        var problems: [String: [String]] = [:]
        for module in modules where !module.isTest {
            guard let package = module.package, package.hasPrefix("swiftdeploy.") else { continue }
            let domain = String(package.dropFirst("swiftdeploy.".count))
            guard domains.contains(domain) else { continue }
            let file = "\(directoryName)/\(module.name)"
            switch declaration(in: module.source, file: file) {
            case .none:
                continue
            case .failure(let message):
                problems[domain, default: []].append(message)
            case .success(let keys):
                var contract = contracts[domain] ?? ThresholdContract(domain: domain, keys: [:])
                for key in keys {
                    if let earlier = contract.keys[key.name], earlier.typeDescription != key.typeDescription {
                        problems[domain, default: []].append("\(key.declaredAt): threshold \(domain).\(key.name) is declared \(key.typeDescription) here but \(earlier.typeDescription) at \(earlier.declaredAt); declare it once")
                    }
                    contract.keys[key.name] = key
                }
                contracts[domain] = contract
            }
        }
        for domain in domains where contracts[domain] == nil && problems[domain] == nil {
            problems[domain] = ["the \(domain) policy declares no thresholds contract: add a METADATA annotation with custom.thresholds above `package swiftdeploy.\(domain)` (`thresholds: {}` when it reads none; see docs/policy.md)"]
        }
        return (contracts, problems)
    }

    enum Declaration {
        case none
        case failure(String)
        case success([Key])
    }

    /// The package-scope METADATA block of `source`: the `# METADATA` comment block directly above `package`.
    static func declaration(in source: String, file: String) -> Declaration {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        var index = 0
        while index < lines.count {
            let trimmed = lines[index].trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("package ") { return .none }
            guard trimmed == "# METADATA" || trimmed == "#METADATA" else { index += 1; continue }
            let start = index + 1
            var body: [String] = []
            var end = start
            while end < lines.count, lines[end].trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                var text = Substring(lines[end].trimmingCharacters(in: .whitespaces).dropFirst())
                if text.hasPrefix(" ") { text = text.dropFirst() }
                body.append(String(text))
                end += 1
            }
            // Package scope: the block must end right above the package statement (blank lines allowed, as OPA).
            var next = end
            while next < lines.count, lines[next].trimmingCharacters(in: .whitespaces).isEmpty { next += 1 }
            guard next < lines.count, lines[next].trimmingCharacters(in: .whitespaces).hasPrefix("package ") else {
                index = end
                continue
            }
            return parse(body.joined(separator: "\n"), file: file, firstLine: start + 1)
        }
        return .none
    }

    private static func parse(_ yaml: String, file: String, firstLine: Int) -> Declaration {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            return .failure("\(file):\(firstLine): the METADATA annotation is not valid YAML: \(error); fix the comment block above the package")
        }
        guard let root, let custom = root["custom"], let thresholds = custom["thresholds"] else { return .none }
        func at(_ node: Node) -> String { "\(file):\(firstLine + (node.mark?.line ?? 1) - 1)" }
        guard case .mapping(let mapping) = thresholds else {
            return .failure("\(at(thresholds)): custom.thresholds must be a mapping of threshold name to type, e.g. `max_p99_ms: number`")
        }
        var keys: [Key] = []
        let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
        for (keyNode, valueNode) in mapping {
            guard let name = keyNode.string, !name.isEmpty else {
                return .failure("\(at(keyNode)): a threshold name must be a string")
            }
            var typeNode: Node? = valueNode
            var minimum: Double? = nil, maximum: Double? = nil
            if case .mapping(let spec) = valueNode {
                typeNode = spec["type"]
                for (specKey, _) in spec where !["type", "minimum", "maximum", "description"].contains(specKey.string ?? "") {
                    return .failure("\(at(specKey)): unknown key '\(specKey.string ?? "?")' in the declaration of threshold \(name); use type, minimum, maximum, description")
                }
                for (field, target) in [("minimum", 0), ("maximum", 1)] {
                    guard let node = spec[field] else { continue }
                    guard let text = node.string, let number = Double(text), number.isFinite else {
                        return .failure("\(at(node)): \(field) of threshold \(name) must be a finite number")
                    }
                    if target == 0 { minimum = number } else { maximum = number }
                }
            }
            guard let text = typeNode?.string, let kind = Kind(rawValue: text) else {
                return .failure("\(at(valueNode)): threshold \(name) must declare a type (\(kinds)), got \(typeNode?.string.map { "'\($0)'" } ?? "nothing")")
            }
            if minimum != nil || maximum != nil, kind != .number, kind != .integer {
                return .failure("\(at(valueNode)): threshold \(name) is \(kind.rawValue): minimum and maximum apply to numbers only")
            }
            keys.append(Key(name: name, kind: kind, minimum: minimum, maximum: maximum, declaredAt: at(keyNode)))
        }
        return .success(keys)
    }

    /// The problems of `block` (the domain's object in `thresholds.json`, nil when absent) against this contract.
    /// `file` names the thresholds file in messages; `otherBlocks` are the file's domain names (for a typo'd block).
    public func problems(block: JSONValue?, file: String, otherBlocks: [String] = []) -> [String] {
        guard let block else {
            if keys.isEmpty { return [] }
            var message = "\(file) has no \(domain) block; the \(domain) policy reads \(keys.keys.sorted().map { "\(domain).\($0)" }.joined(separator: ", ")): add it"
            if let typo = ManifestNodeSuggestion.closest(domain, among: otherBlocks) {
                message += " (\(file) has a '\(typo)' block: did you mean '\(domain)'?)"
            }
            return [message]
        }
        guard case .object(let values) = block else {
            return ["\(file): \(domain) is \(DomainDocument.kind(block)), not an object of thresholds"]
        }
        var result: [String] = []
        for name in keys.keys.sorted() where values[name] == nil {
            let key = keys[name]!
            var message = "\(file): threshold \(domain).\(name) is missing; the \(domain) policy reads it (\(key.typeDescription), declared at \(key.declaredAt)): add it"
            let unknown = values.keys.filter { keys[$0] == nil }
            if let typo = ManifestNodeSuggestion.closest(name, among: Array(unknown)) {
                message += " (\(file) has '\(domain).\(typo)': misspelt?)"
            }
            result.append(message)
        }
        for name in values.keys.sorted() where keys[name] == nil {
            var message = "\(file): unknown threshold \(domain).\(name): the \(domain) policy does not read it"
            if let suggestion = ManifestNodeSuggestion.closest(name, among: Array(keys.keys)) {
                message += "; did you mean '\(domain).\(suggestion)'?"
            } else {
                message += "; it declares \(keys.isEmpty ? "none" : keys.keys.sorted().joined(separator: ", "))"
            }
            result.append(message)
        }
        for name in keys.keys.sorted() {
            guard let value = values[name], let key = keys[name] else { continue }
            if let problem = key.check(value) {
                result.append("\(file): threshold \(domain).\(name) must be \(key.typeDescription), got \(problem) (declared at \(key.declaredAt))")
            }
        }
        return result
    }
}

extension ThresholdContract.Key {
    /// Why `value` does not fit, or nil.
    func check(_ value: JSONValue) -> String? {
        func shown() -> String {
            switch value {
            case .string(let s): return "the string \(s.debugDescription)"
            case .null: return "null"
            default: return "\(DomainDocument.kind(value)) \(value.jsonString())"
            }
        }
        switch kind {
        case .number, .integer:
            guard let number = value.doubleValue, number.isFinite else { return shown() }
            if kind == .integer, number != number.rounded() { return shown() }
            if let minimum, number < minimum { return "\(value.jsonString()), below the minimum" }
            if let maximum, number > maximum { return "\(value.jsonString()), above the maximum" }
            return nil
        case .string:
            if case .string = value { return nil }
            return shown()
        case .boolean:
            if case .bool = value { return nil }
            return shown()
        case .array:
            if case .array = value { return nil }
            return shown()
        }
    }
}

/// The did-you-mean rule the manifest uses, for thresholds.
enum ManifestNodeSuggestion {
    static func closest(_ word: String, among candidates: [String]) -> String? {
        NodeReader.suggestion(for: word, among: candidates)
    }
}
