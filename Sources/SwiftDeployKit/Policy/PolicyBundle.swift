import Foundation

/// A problem with the policy files themselves: the user must fix a file (exit 65) or the command line (exit 64).
public enum PolicyError: SwiftDeployFailure, Equatable {
    case directoryMissing(path: String)
    case noPolicies(path: String)
    case unreadable(path: String, reason: String)
    case thresholdsMissing(path: String)
    case thresholdsInvalid(path: String, reason: String)
    case invalidDomainName(String)
    case unknownDomain(String, available: [String])

    public var errorDescription: String? {
        switch self {
        case .directoryMissing(let path):
            return
                """
                policy directory \(path) does not exist; create it with the default policies (swiftdeploy init) \
                or set policy.dir
                """
        case .noPolicies(let path):
            return
                """
                policy directory \(path) has no .rego module declaring package swiftdeploy.<domain>; add policies \
                or fix policy.dir
                """
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .thresholdsMissing(let path):
            return
                """
                thresholds file \(path) does not exist; it is data.thresholds for the policies: create it or set \
                policy.thresholds
                """
        case .thresholdsInvalid(let path, let reason):
            return "thresholds file \(path) is invalid: \(reason); it must be a JSON object keyed by domain"
        case .invalidDomainName(let name):
            return
                """
                \(name.debugDescription) is not a policy domain name: use lower-case letters, digits and _ (e.g. \
                canary, infrastructure) or all
                """
        case .unknownDomain(let name, let available):
            return
                """
                no policy declares package swiftdeploy.\(name); domains found: \
                \(available.isEmpty ? "none" : available.joined(separator: ", "))
                """
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .invalidDomainName, .unknownDomain: return .usage
        default: return .invalidInput
        }
    }
}

/// The user's policies: `.rego` modules of `policy.dir` and `thresholds.json` (`data.thresholds`).
public struct PolicyBundle: Sendable {
    public struct Module: Sendable, Equatable {
        /// The file name, e.g. `canary.rego`.
        public var name: String
        public var source: String
        /// The module's package, e.g. `swiftdeploy.canary`.
        public var package: String?
        public var isTest: Bool
    }

    public var directory: URL
    public var modules: [Module]
    public var thresholds: JSONValue
    /// The thresholds file as messages name it (`thresholds.json`, or the manifest's `policy.thresholds`).
    public var thresholdsName: String
    /// Keys that appear more than once in the thresholds file (`canary.max_error_rate`), with their line.
    public var duplicateThresholds: [(path: String, line: Int)]
    /// Each domain's declared thresholds (see ``ThresholdContract``).
    public var contracts: [String: ThresholdContract]
    /// Problems of the declarations themselves, by domain (unreadable annotation, no contract).
    public var contractProblems: [String: [String]]

    /// Policy modules (test modules left out).
    public var policyModules: [Module] { modules.filter { !$0.isTest } }
    /// `*_test.rego` modules.
    public var testModules: [Module] { modules.filter { $0.isTest } }

    /// The domains: every `swiftdeploy.<name>` package of a non-test module, sorted, `infrastructure` and `canary`
    /// first.
    public var domains: [String] {
        let names = Set(
            policyModules.compactMap { module -> String? in
                guard let package = module.package, package.hasPrefix("swiftdeploy.") else { return nil }
                let rest = package.dropFirst("swiftdeploy.".count)
                return rest.contains(".") ? nil : String(rest)
            })
        let order = ["infrastructure": 0, "canary": 1]
        return names.sorted { (order[$0] ?? 2, $0) < (order[$1] ?? 2, $1) }
    }

    public init(
        directory: URL, modules: [Module], thresholds: JSONValue, thresholdsName: String = "thresholds.json",
        duplicateThresholds: [(path: String, line: Int)] = [], directoryName: String? = nil
    ) {
        self.directory = directory
        self.modules = modules
        self.thresholds = thresholds
        self.thresholdsName = thresholdsName
        self.duplicateThresholds = duplicateThresholds
        self.contracts = [:]
        self.contractProblems = [:]
        let read = ThresholdContract.read(
            modules: modules, domains: domains,
            directoryName: directoryName ?? directory.lastPathComponent)
        self.contracts = read.contracts
        self.contractProblems = read.problems
    }

    /// Why the thresholds of `domain` cannot be trusted: the domain's contract cannot be read, or its block of the
    /// thresholds file has a missing, unknown, wrongly typed, out-of-range or duplicated key, or is missing.
    /// Empty when a decision may be made. Any problem makes the domain's decision inconclusive and `validate` FAIL.
    public func thresholdProblems(for domain: String) -> [String] {
        var result = contractProblems[domain] ?? []
        for duplicate in duplicateThresholds where duplicate.path == domain || duplicate.path.hasPrefix(domain + ".") {
            result.append(
                """
                \(thresholdsName):\(duplicate.line): \(duplicate.path) appears more than once; swiftdeploy \
                refuses an ambiguous limit (OPA would keep the last value silently): keep one
                """
            )
        }
        if let contract = contracts[domain] {
            let blocks = thresholds.objectKeys
            result += contract.problems(
                block: thresholds[domain], file: thresholdsName,
                otherBlocks: blocks.filter { $0 != domain && !domains.contains($0) })
        }
        return result
    }

    /// Every problem of the thresholds file against the contracts, for `validate`: each domain's block, and blocks
    /// no policy reads. (Problems of the declarations themselves are in ``contractProblems``.)
    public var allThresholdProblems: [String] {
        var result = domains.flatMap { domain in
            thresholdProblems(for: domain).filter { !(contractProblems[domain] ?? []).contains($0) }
        }
        for block in thresholds.objectKeys.sorted() where !domains.contains(block) {
            var message =
                """
                \(thresholdsName): block \(block) belongs to no policy (no module declares package \
                swiftdeploy.\(block))
                """
            if let suggestion = ManifestNodeSuggestion.closest(block, among: domains) {
                message += "; did you mean '\(suggestion)'?"
            }
            result.append(message)
        }
        return result
    }

    /// Loads the bundle the manifest names. Throws ``PolicyError`` (exit 65) for a missing directory, no modules,
    /// or a missing or invalid thresholds file.
    public static func load(manifest: Manifest) throws -> PolicyBundle {
        try load(
            directory: manifest.policyDirectoryURL, thresholds: manifest.thresholdsURL,
            thresholdsName: manifest.policy.thresholds, directoryName: manifest.policy.dir)
    }

    public static func load(
        directory: URL, thresholds thresholdsURL: URL, thresholdsName: String? = nil,
        directoryName: String? = nil
    ) throws -> PolicyBundle {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw PolicyError.directoryMissing(path: directory.path)
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".rego") }
                .sorted()
        } catch {
            throw PolicyError.unreadable(path: directory.path, reason: error.localizedDescription)
        }
        var sources: [String] = []
        for name in names {
            let url = directory.appendingPathComponent(name)
            guard let source = try? String(contentsOf: url, encoding: .utf8) else {
                throw PolicyError.unreadable(path: url.path, reason: "not readable as UTF-8 text")
            }
            sources.append(source)
        }
        let data = try readThresholds(thresholdsURL)
        // One command loads the bundle several times (the gate, the threshold contracts, the engine): files whose
        // bytes are the same as the last load's give the same bundle without parsing them again.
        let inputs = PolicyBundleMemo.Inputs(
            directory: directory.absoluteString, thresholds: thresholdsURL.absoluteString,
            thresholdsName: thresholdsName, directoryName: directoryName, names: names,
            sources: sources, thresholdsData: data)
        if let bundle = PolicyBundleMemo.shared.bundle(for: inputs) { return bundle }
        let modules = zip(names, sources).map { name, source in
            Module(name: name, source: source, package: packageName(in: source), isTest: name.hasSuffix("_test.rego"))
        }
        let (thresholds, duplicates) = try parseThresholds(data, url: thresholdsURL)
        let bundle = PolicyBundle(
            directory: directory, modules: modules, thresholds: thresholds,
            thresholdsName: thresholdsName ?? thresholdsURL.lastPathComponent,
            duplicateThresholds: duplicates, directoryName: directoryName)
        guard !bundle.domains.isEmpty else { throw PolicyError.noPolicies(path: directory.path) }
        PolicyBundleMemo.shared.store(bundle, for: inputs)
        return bundle
    }

    /// Reads the thresholds file: JSON whose top level is an object. Throws ``PolicyError`` (exit 65) when it is
    /// missing, unreadable or not such JSON. Per-key problems are not thrown: they are checked against each
    /// domain's ``ThresholdContract`` (see ``thresholdProblems(for:)``).
    static func loadThresholds(_ url: URL) throws -> JSONValue {
        try loadThresholdsReportingDuplicates(url).value
    }

    static func loadThresholdsReportingDuplicates(_ url: URL) throws -> (
        value: JSONValue, duplicates: [(path: String, line: Int)]
    ) {
        try parseThresholds(try readThresholds(url), url: url)
    }

    private static func readThresholds(_ url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw PolicyError.thresholdsMissing(path: url.path)
        }
        do { return try Data(contentsOf: url) } catch {
            throw PolicyError.unreadable(path: url.path, reason: error.localizedDescription)
        }
    }

    private static func parseThresholds(_ data: Data, url: URL) throws -> (
        value: JSONValue, duplicates: [(path: String, line: Int)]
    ) {
        let value: JSONValue
        do { value = try JSONValue.parse(data) } catch {
            throw PolicyError.thresholdsInvalid(path: url.path, reason: "not valid JSON (\(describe(error)))")
        }
        guard case .object = value else {
            throw PolicyError.thresholdsInvalid(
                path: url.path, reason: "the top level is \(DomainDocument.kind(value))")
        }
        return (value, JSONDuplicateKeys.find(in: data))
    }

    private static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
                ?? context.debugDescription
        }
        return "\(error)"
    }

    /// The `package a.b` of a module (first non-comment statement), or nil.
    static func packageName(in source: String) -> String? {
        // Windows line endings too: a module whose package went unseen would drop its whole domain from `gate all`.
        for rawLine in TextLines.lines(source) {
            let line = HorizontalSpace.trimmed(rawLine)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard line.hasPrefix("package ") else { return nil }
            let name = line.dropFirst("package ".count).split(whereSeparator: { $0 == " " || $0 == "#" }).first
            return name.map(String.init)
        }
        return nil
    }

    /// Validates a domain name given on the command line (it becomes part of a URL path and a Rego ref).
    public static func validateDomainName(_ name: String) throws {
        let valid =
            !name.isEmpty
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
            && !("0"..."9").contains(name.unicodeScalars.first!)
        guard valid else { throw PolicyError.invalidDomainName(name) }
    }

    /// The domains `request` names: one, or every domain for `all`. Throws for a name no policy declares.
    public func resolveDomains(_ request: String) throws -> [String] {
        if request == "all" { return domains }
        try PolicyBundle.validateDomainName(request)
        guard domains.contains(request) else { throw PolicyError.unknownDomain(request, available: domains) }
        return [request]
    }
}

/// The last policy bundle loaded in this process and the exact inputs it was made from (paths, names, file
/// bytes): ``PolicyBundle/load(directory:thresholds:thresholdsName:directoryName:)`` reuses it only when every
/// input is byte for byte the same, so an edited file is always parsed again.
final class PolicyBundleMemo: @unchecked Sendable {
    struct Inputs: Equatable {
        var directory: String
        var thresholds: String
        var thresholdsName: String?
        var directoryName: String?
        var names: [String]
        var sources: [String]
        var thresholdsData: Data

        /// Byte for byte: String's `==` would also equate differently normalised text.
        static func == (a: Inputs, b: Inputs) -> Bool {
            func same(_ x: String?, _ y: String?) -> Bool {
                switch (x, y) {
                case (nil, nil): return true
                case let (x?, y?): return TextBytes.equal(x, y)
                default: return false
                }
            }
            func same(_ x: [String], _ y: [String]) -> Bool {
                x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
            }
            return same(a.directory, b.directory) && same(a.thresholds, b.thresholds)
                && same(a.thresholdsName, b.thresholdsName)
                && same(a.directoryName, b.directoryName) && same(a.names, b.names) && same(a.sources, b.sources)
                && a.thresholdsData == b.thresholdsData
        }
    }

    static let shared = PolicyBundleMemo()
    private let lock = NSLock()
    private var last: (inputs: Inputs, bundle: PolicyBundle)?

    func bundle(for inputs: Inputs) -> PolicyBundle? {
        lock.withLock { last.flatMap { $0.inputs == inputs ? $0.bundle : nil } }
    }

    func store(_ bundle: PolicyBundle, for inputs: Inputs) {
        lock.withLock { last = (inputs, bundle) }
    }
}
