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
/// (numbers only), `enum` (strings only: the allowed words), and for arrays `items` (each element is an object
/// whose fields are declared with the same grammar, every field required, no other field allowed) and
/// `minItems`:
///
/// ```rego
/// #     page_burn_rates:
/// #       type: array
/// #       minItems: 1
/// #       items: {factor: {type: number, minimum: 0}, long: string, short: string}
/// ```
///
/// A domain that reads no threshold declares `thresholds: {}`. OPA reads the same annotation as ordinary
/// metadata, so the modules stay plain Rego.
///
/// `validate` and every decision check `thresholds.json` against the contract: a missing, unknown (with a
/// did-you-mean), wrongly typed, out-of-range or duplicated key, a missing domain block, or a domain without a
/// contract is a `validate` FAIL naming domain and key (and, inside a list of objects, the element and field:
/// `slo.page_burn_rates[0].factor`), and makes every decision of that domain inconclusive.
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
        /// The allowed words (strings only); nil allows any string.
        public var allowed: [String]?
        /// The fields of each element (arrays only): every element must be an object with exactly these fields.
        /// nil allows any element.
        public var items: [Key]?
        /// The fewest elements (arrays only).
        public var minItems: Int?
        /// Where it is declared, `policies/canary.rego:5`.
        public var declaredAt: String

        public init(
            name: String, kind: Kind, minimum: Double? = nil, maximum: Double? = nil, allowed: [String]? = nil,
            items: [Key]? = nil, minItems: Int? = nil, declaredAt: String
        ) {
            self.name = name
            self.kind = kind
            self.minimum = minimum
            self.maximum = maximum
            self.allowed = allowed
            self.items = items
            self.minItems = minItems
            self.declaredAt = declaredAt
        }

        /// `number`, `number ≥ 0`, `number in [0, 1]`, `string, one of 1h, 6h`,
        /// `array of at least 1 {factor: number ≥ 0, long: string}`.
        public var typeDescription: String {
            if let allowed { return "\(kind.rawValue), one of \(allowed.joined(separator: ", "))" }
            if let items {
                let count = minItems.map { "at least \($0) " } ?? ""
                return "array of \(count){\(items.map { "\($0.name): \($0.typeDescription)" }.joined(separator: ", "))}"
            }
            if let minItems { return "array of at least \(minItems)" }
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
                        problems[domain, default: []].append(
                            """
                            \(key.declaredAt): threshold \(domain).\(key.name) is declared \(key.typeDescription) \
                            here but \(earlier.typeDescription) at \(earlier.declaredAt); declare it once
                            """
                        )
                    }
                    contract.keys[key.name] = key
                }
                contracts[domain] = contract
            }
        }
        for domain in domains where contracts[domain] == nil && problems[domain] == nil {
            problems[domain] = [
                """
                the \(domain) policy declares no thresholds contract: add a METADATA annotation with \
                custom.thresholds above `package swiftdeploy.\(domain)` (`thresholds: {}` when it reads none; see \
                docs/policy.md)
                """
            ]
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
        // The block is looked for above the first `package` line only: the lines after it are never read.
        var lines: [Substring] = []
        for line in TextLines.lines(source) {
            lines.append(line)
            if HorizontalSpace.trimmed(line).hasPrefix("package ") { break }
        }
        var index = 0
        while index < lines.count {
            let trimmed = HorizontalSpace.trimmed(lines[index])
            if trimmed.hasPrefix("package ") { return .none }
            guard trimmed == "# METADATA" || trimmed == "#METADATA" else {
                index += 1
                continue
            }
            let start = index + 1
            var body: [String] = []
            var end = start
            while end < lines.count, HorizontalSpace.trimmed(lines[end]).hasPrefix("#") {
                var text = HorizontalSpace.trimmed(lines[end]).dropFirst()
                if text.hasPrefix(" ") { text = text.dropFirst() }
                body.append(String(text))
                end += 1
            }
            // Package scope: the block must end right above the package statement (blank lines allowed, as OPA).
            var next = end
            while next < lines.count, HorizontalSpace.trimmed(lines[next]).isEmpty { next += 1 }
            guard next < lines.count, HorizontalSpace.trimmed(lines[next]).hasPrefix("package ") else {
                index = end
                continue
            }
            return parse(body.joined(separator: "\n"), file: file, firstLine: start + 1)
        }
        return .none
    }

    private static func parse(_ yaml: String, file: String, firstLine: Int) -> Declaration {
        let root: Node?
        do { root = try YAMLComposer.compose(yaml: yaml) } catch {
            return .failure(
                """
                \(file):\(firstLine): the METADATA annotation is not valid YAML: \(error); fix the comment block \
                above the package
                """
            )
        }
        guard let root, let custom = root["custom"], let thresholds = custom["thresholds"] else { return .none }
        func at(_ node: Node) -> String { "\(file):\(firstLine + (node.mark?.line ?? 1) - 1)" }
        guard case .mapping(let mapping) = thresholds else {
            return .failure(
                """
                \(at(thresholds)): custom.thresholds must be a mapping of threshold name to type, e.g. \
                `max_p99_ms: number`
                """
            )
        }
        var keys: [Key] = []
        for (keyNode, valueNode) in mapping {
            switch key(keyNode, valueNode, at: at, nested: false) {
            case .success(let key): keys.append(key)
            case .failure(let message): return .failure(message)
            }
        }
        return .success(keys)
    }

    private enum Parsed {
        case success(Key)
        case failure(String)
    }

    /// One declaration: `name: type` or `name: {type, minimum, maximum, enum, items, minItems, description}`.
    /// `nested` is true for the fields of `items` (which hold no further `items`). `at` gives a node's position.
    private static func key(_ keyNode: Node, _ valueNode: Node, at: (Node) -> String, nested: Bool) -> Parsed {
        let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = keyNode.string, !name.isEmpty else {
            return .failure("\(at(keyNode)): a threshold name must be a string")
        }
        var typeNode: Node? = valueNode
        var minimum: Double? = nil, maximum: Double? = nil
        var allowed: [String]? = nil, items: [Key]? = nil, minItems: Int? = nil
        if case .mapping(let spec) = valueNode {
            typeNode = spec["type"]
            let fields =
                nested
                ? ["type", "minimum", "maximum", "enum", "description"]
                : ["type", "minimum", "maximum", "enum", "items", "minItems", "description"]
            for (specKey, _) in spec where !fields.contains(specKey.string ?? "") {
                return .failure(
                    """
                    \(at(specKey)): unknown key '\(specKey.string ?? "?")' in the declaration of threshold \
                    \(name); use \(fields.joined(separator: ", "))
                    """
                )
            }
            for (field, target) in [("minimum", 0), ("maximum", 1)] {
                guard let node = spec[field] else { continue }
                guard let text = node.string, let number = Double(text), number.isFinite else {
                    return .failure("\(at(node)): \(field) of threshold \(name) must be a finite number")
                }
                if target == 0 { minimum = number } else { maximum = number }
            }
            if let node = spec["enum"] {
                guard case .sequence(let words) = node, !words.isEmpty,
                    let strings = Optional(words.compactMap(\.string)), strings.count == words.count
                else {
                    return .failure("\(at(node)): enum of threshold \(name) must be a non-empty list of words")
                }
                allowed = strings
            }
            if let node = spec["minItems"] {
                guard let text = node.string, let count = Int(text), count >= 0 else {
                    return .failure("\(at(node)): minItems of threshold \(name) must be a whole number ≥ 0")
                }
                minItems = count
            }
            if let node = spec["items"] {
                guard case .mapping(let fields) = node, !fields.isEmpty else {
                    return .failure(
                        """
                        \(at(node)): items of threshold \(name) must be a mapping of field name to type, e.g. \
                        `{factor: number, long: string}`
                        """
                    )
                }
                var declared: [Key] = []
                for (fieldNode, fieldValue) in fields {
                    switch key(fieldNode, fieldValue, at: at, nested: true) {
                    case .success(let field):
                        if declared.contains(where: { $0.name == field.name }) {
                            return .failure(
                                "\(at(fieldNode)): field \(field.name) of threshold \(name) is declared twice")
                        }
                        declared.append(field)
                    case .failure(let message): return .failure(message)
                    }
                }
                items = declared.sorted { $0.name < $1.name }
            }
        }
        guard let text = typeNode?.string, let kind = Kind(rawValue: text) else {
            return .failure(
                """
                \(at(valueNode)): threshold \(name) must declare a type (\(kinds)), got \
                \(typeNode?.string.map { "'\($0)'" } ?? "nothing")
                """
            )
        }
        if minimum != nil || maximum != nil, kind != .number, kind != .integer {
            return .failure(
                "\(at(valueNode)): threshold \(name) is \(kind.rawValue): minimum and maximum apply to numbers only")
        }
        if allowed != nil, kind != .string {
            return .failure("\(at(valueNode)): threshold \(name) is \(kind.rawValue): enum applies to strings only")
        }
        if items != nil || minItems != nil, kind != .array {
            return .failure(
                "\(at(valueNode)): threshold \(name) is \(kind.rawValue): items and minItems apply to arrays only")
        }
        return .success(
            Key(
                name: name, kind: kind, minimum: minimum, maximum: maximum, allowed: allowed, items: items,
                minItems: minItems, declaredAt: at(keyNode)))
    }

    /// The problems of `block` (the domain's object in `thresholds.json`, nil when absent) against this contract.
    /// `file` names the thresholds file in messages; `otherBlocks` are the file's domain names (for a typo'd block).
    public func problems(block: JSONValue?, file: String, otherBlocks: [String] = []) -> [String] {
        guard let block else {
            if keys.isEmpty { return [] }
            var message =
                """
                \(file) has no \(domain) block; the \(domain) policy reads \
                \(keys.keys.sorted().map { "\(domain).\($0)" }.joined(separator: ", ")): add it
                """
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
            var message =
                """
                \(file): threshold \(domain).\(name) is missing; the \(domain) policy reads it \
                (\(key.typeDescription), declared at \(key.declaredAt)): add it
                """
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
            result += key.problems(value, path: "\(domain).\(name)", file: file, domain: domain)
        }
        return result
    }
}

extension ThresholdContract.Key {
    /// Every way `value` (at `path`, `slo.page_burn_rates`) does not fit: its own type, then each element's fields
    /// (`slo.page_burn_rates[0].factor` missing, mistyped or out of range; an unknown field with a did-you-mean).
    func problems(_ value: JSONValue, path: String, file: String, domain: String) -> [String] {
        if let problem = check(value) {
            return ["\(file): threshold \(path) must be \(typeDescription), got \(problem) (declared at \(declaredAt))"]
        }
        guard let items, case .array(let elements) = value else { return [] }
        var result: [String] = []
        let names = items.map(\.name)
        for (index, element) in elements.enumerated() {
            let at = "\(path)[\(index)]"
            guard case .object(let fields) = element else {
                result.append(
                    """
                    \(file): threshold \(at) must be an object with \(names.joined(separator: ", ")), got \
                    \(Self.shown(element)) (declared at \(declaredAt))
                    """
                )
                continue
            }
            for item in items {
                guard let field = fields[item.name] else {
                    var message =
                        """
                        \(file): threshold \(at).\(item.name) is missing; the \(domain) policy reads it \
                        (\(item.typeDescription), declared at \(item.declaredAt)): add it
                        """
                    if let typo = ManifestNodeSuggestion.closest(
                        item.name, among: fields.keys.filter { !names.contains($0) })
                    {
                        message += " (\(file) has '\(at).\(typo)': misspelt?)"
                    }
                    result.append(message)
                    continue
                }
                result += item.problems(field, path: "\(at).\(item.name)", file: file, domain: domain)
            }
            for name in fields.keys.sorted() where !names.contains(name) {
                var message = "\(file): unknown field \(at).\(name): the \(domain) policy does not read it"
                if let suggestion = ManifestNodeSuggestion.closest(name, among: names) {
                    message += "; did you mean '\(at).\(suggestion)'?"
                } else {
                    message += "; each element has \(names.joined(separator: ", "))"
                }
                result.append(message)
            }
        }
        return result
    }

    static func shown(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return "the string \(s.debugDescription)"
        case .null: return "null"
        default: return "\(DomainDocument.kind(value)) \(value.jsonString())"
        }
    }

    /// Why `value` itself does not fit (its elements are `problems`'), or nil.
    func check(_ value: JSONValue) -> String? {
        func shown() -> String { Self.shown(value) }
        switch kind {
        case .number, .integer:
            guard let number = value.doubleValue, number.isFinite else { return shown() }
            if kind == .integer, number != number.rounded() { return shown() }
            if let minimum, number < minimum { return "\(value.jsonString()), below the minimum" }
            if let maximum, number > maximum { return "\(value.jsonString()), above the maximum" }
            return nil
        case .string:
            guard case .string(let text) = value else { return shown() }
            if let allowed, !allowed.contains(text) { return "\(shown()), not one of the allowed words" }
            return nil
        case .boolean:
            if case .bool = value { return nil }
            return shown()
        case .array:
            guard case .array(let elements) = value else { return shown() }
            if let minItems, elements.count < minItems {
                return elements.isEmpty ? "an empty array" : "an array of \(elements.count)"
            }
            return nil
        }
    }
}

/// The did-you-mean rule the manifest uses, for thresholds.
enum ManifestNodeSuggestion {
    static func closest(_ word: String, among candidates: [String]) -> String? {
        NodeReader.suggestion(for: word, among: candidates)
    }
}
