import Foundation

/// The strict grammar every manifest value must match before it can reach a
/// generated file. Each check returns nil when the value is valid, otherwise
/// a short description of what is expected.
///
/// These rules are the first line of defence against injection into
/// nginx.conf and docker-compose.yml; the templates' escaping is the second.
public enum ManifestGrammar {
    /// A Compose project name: lowercase letters, digits, `-` and `_`, starting with a letter or digit, at most 63.
    public static func projectName(_ s: String) -> String? {
        matches(s, Pattern.projectName)
            ? nil
            : """
            a Compose project name (lowercase letters, digits, '-' and '_', starting with a letter or digit, at \
            most 63 characters)
            """
    }

    /// A DNS label: what Docker's embedded DNS resolves as a service name.
    public static func dnsLabel(_ s: String) -> String? {
        matches(s, Pattern.dnsLabel)
            ? nil
            : """
            a DNS-safe name (lowercase letters, digits and '-', not starting or ending with '-', at most 63 \
            characters)
            """
    }

    /// A container user as Compose takes it: `name`, `uid`, `name:group` or `uid:gid`.
    public static func containerUser(_ s: String) -> String? {
        matches(s, Pattern.containerUser)
            ? nil
            : "a user such as 'app', '10001' or '10001:10001' (a lowercase name or a numeric id, optionally ':group')"
    }

    /// Whether a container user (`services.user` or an image's `USER`) is root: empty, `root` or uid 0.
    public static func isRoot(_ user: String) -> Bool {
        let name =
            user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return name.isEmpty || name == "root" || (Int(name) == 0)
    }

    /// A Docker network name.
    public static func networkName(_ s: String) -> String? {
        matches(s, Pattern.networkName)
            ? nil
            : """
            a network name (letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64 \
            characters)
            """
    }

    /// An image reference: `[registry[:port]/]path[:tag][@sha256:digest]`, Docker's reference grammar.
    public static func imageReference(_ s: String) -> String? {
        return s.count <= 255 && matches(s, Pattern.imageReference)
            ? nil
            : """
            an image reference such as 'nginx:1.27' or 'registry.example.com/team/app:1.2.3' (lowercase name, \
            optional tag and sha256 digest)
            """
    }

    /// An application version: letters, digits, `.`, `_`, `+`, `-`.
    public static func version(_ s: String) -> String? {
        matches(s, Pattern.version)
            ? nil
            : "a version such as '1.2.3' or '2024.06-rc1' (letters, digits, '.', '_', '+', '-')"
    }

    public static let restartPolicies = ["no", "always", "on-failure", "unless-stopped"]

    /// An environment variable name.
    public static func environmentName(_ s: String) -> String? {
        matches(s, Pattern.environmentName)
            ? nil
            : "an environment variable name (letters, digits and '_', not starting with a digit)"
    }

    /// An environment value: any printable text without control characters or `${` interpolation.
    public static func environmentValue(_ s: String) -> String? {
        if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "text without newlines or control characters"
        }
        if s.contains("${") || s.contains("$(") {
            return "text without '${…}' or '$(…)' (Compose would interpolate it); write a literal '$' as it is"
        }
        return s.utf8.count <= 4096 ? nil : "at most 4096 bytes"
    }

    /// A Compose memory size: `512m`, `1g`, `268435456`.
    public static func memory(_ s: String) -> String? {
        matches(s, Pattern.memory) ? nil : "a memory size such as '256m' or '1g'"
    }

    /// A CPU count: `0.5`, `2`.
    public static func cpus(_ s: String) -> String? {
        guard matches(s, Pattern.cpusText), let v = Double(s), v > 0 else {
            return "a positive number of CPUs such as '0.5' or '2'"
        }
        return nil
    }

    /// An HTTP path: starts with `/`, unreserved characters only.
    public static func httpPath(_ s: String) -> String? {
        matches(s, Pattern.httpPath)
            ? nil
            : "an absolute HTTP path such as '/healthz' (letters, digits, '.', '_', '~', '-', '/')"
    }

    /// An e-mail address, conservatively.
    public static func email(_ s: String) -> String? {
        matches(s, Pattern.email)
            ? nil
            : "an e-mail address such as 'ops@example.com'"
    }

    /// A file path: relative or absolute, safe characters, no `..` segment.
    public static func filePath(_ s: String) -> String? {
        guard matches(s, Pattern.filePathText) else {
            return "a file path of letters, digits, '.', '_', '-' and '/'"
        }
        if s.split(separator: "/").contains("..") { return "a path without '..' segments" }
        return nil
    }

    /// An http(s) URL with a host, optional port and path, no credentials, query or fragment.
    public static func httpURL(_ s: String) -> String? {
        matches(s, Pattern.httpURL)
            ? nil
            : "an http(s) URL such as 'http://127.0.0.1:8181' (no credentials, query or fragment)"
    }

    /// A Swarm placement constraint as `docker stack deploy` takes it: `<key> ==|!= <value>`, the key one of Swarm's
    /// node attributes (`node.role` only with `manager` or `worker`). Nothing else: no quotes, no spaces inside a
    /// value, no YAML or shell syntax, so a constraint cannot reach past its own list item.
    public static func placementConstraint(_ s: String) -> String? {
        matches(s, Pattern.placementConstraint)
            ? nil
            : """
            a placement constraint such as 'node.role == worker' or 'node.labels.zone != eu-1' ('<key> == \
            <value>' or '<key> != <value>'; key node.id, node.hostname, node.role (manager or worker), \
            node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>; value of letters, \
            digits, '.', '_' and '-')
            """
    }

    /// Why `steps` (`rollout.steps` or `rollout --steps`) is not a valid list of rollout steps, or nil when it is:
    /// at least one step, each 1-100, strictly increasing, the last one 100.
    public static func rolloutSteps(_ steps: [Int]) -> String? {
        let shown = "[" + steps.map(String.init).joined(separator: ", ") + "]"
        if steps.isEmpty { return "must list at least one step, e.g. [10, 50, 100]" }
        if let bad = steps.first(where: { !(1...100).contains($0) }) {
            return "must be percents 1-100, got \(bad) in \(shown)"
        }
        if zip(steps, steps.dropFirst()).contains(where: { $0 >= $1 }) {
            return "must increase strictly, got \(shown)"
        }
        if steps.last != 100 {
            return "must end at 100 (the candidate takes all traffic before it is promoted), got \(shown)"
        }
        return nil
    }

    /// The regular expressions behind the rules above. They are written in the common subset of ICU's and
    /// ECMA-262's syntax, because the JSON Schema (`ManifestSchema`) ships them to editors as they are.
    public enum Pattern {
        public static let projectName = #"^[a-z0-9][a-z0-9_-]{0,62}$"#
        public static let dnsLabel = #"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"#
        public static let networkName = #"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$"#
        public static let imageReference: String = {
            let component = #"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"#
            let registry =
                #"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)?"#
            let tag = #"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"#
            let digest = #"(?:@sha256:[a-f0-9]{64})?"#
            return "^\(registry)\(component)(?:/\(component))*\(tag)\(digest)$"
        }()
        public static let version = #"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"#
        public static let environmentName = #"^[A-Za-z_][A-Za-z0-9_]{0,127}$"#
        /// No control character and no `${` or `$(` anywhere.
        public static let environmentValue = #"^(?![\s\S]*\$[{(])[^\u0000-\u001F\u007F]*$"#
        public static let memory = #"^[1-9][0-9]{0,12}[bkmgBKMG]?$"#
        static let cpusText = #"^[0-9]{1,3}(\.[0-9]{1,3})?$"#
        /// `cpusText` and not zero.
        public static let cpus = #"^(?!0{1,3}(\.0{1,3})?$)[0-9]{1,3}(\.[0-9]{1,3})?$"#
        public static let httpPath = #"^/[A-Za-z0-9._~/-]{0,255}$"#
        public static let email = #"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$"#
        static let filePathText = #"^[A-Za-z0-9._/-]{1,1024}$"#
        /// `filePathText` without a `..` segment.
        public static let filePath = #"^(?!(.*/)?\.\.(/|$))[A-Za-z0-9._/-]{1,1024}$"#
        public static let httpURL = #"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$"#
        /// A container user: `name`, `uid`, `name:group` or `uid:gid`.
        public static let containerUser =
            #"^([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})(:([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10}))?$"#
        /// A Swarm placement constraint (see `placementConstraint`).
        public static let placementConstraint: String = {
            let name = #"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?"#
            let key = #"(?:node\.(?:id|hostname|platform\.os|platform\.arch)|(?:node|engine)\.labels\."# + name + ")"
            return #"^(?:"# + key + #" {0,4}(?:==|!=) {0,4}"# + name
                + #"|node\.role {0,4}(?:==|!=) {0,4}(?:manager|worker))$"#
        }()
        /// A duration in Go-style units; whole seconds are written as a YAML integer instead.
        public static let duration = #"^([0-9]+(ms|s|m|h))+$"#
    }

    /// A string rule as the loader checks it and as the JSON Schema states it.
    public struct Rule: Sendable {
        public let check: @Sendable (String) -> String?
        /// The ECMA-262 pattern a value matching `check` matches (and only such a value).
        public let pattern: String
        public let maxLength: Int?
        /// A value the rule accepts and one it rejects (tests walk every key with them).
        public let example: String
        public let counterexample: String

        public init(
            _ check: @escaping @Sendable (String) -> String?, pattern: String, maxLength: Int? = nil,
            example: String, counterexample: String
        ) {
            self.check = check
            self.pattern = pattern
            self.maxLength = maxLength
            self.example = example
            self.counterexample = counterexample
        }
    }

    public static let projectNameRule = Rule(
        { projectName($0) }, pattern: Pattern.projectName, example: "shop-checkout", counterexample: "a}b")
    public static let dnsLabelRule = Rule(
        { dnsLabel($0) }, pattern: Pattern.dnsLabel, example: "checkout", counterexample: "-app")
    public static let networkNameRule = Rule(
        { networkName($0) }, pattern: Pattern.networkName, example: "app-net", counterexample: "net work")
    public static let imageReferenceRule = Rule(
        { imageReference($0) }, pattern: Pattern.imageReference, maxLength: 255,
        example: "registry.example.com:5000/team/app:1.2.3", counterexample: "nginx;listen")
    public static let versionRule = Rule(
        { version($0) }, pattern: Pattern.version, example: "2.4.1-rc.1", counterexample: "1 2")
    public static let environmentNameRule = Rule(
        { environmentName($0) }, pattern: Pattern.environmentName, example: "LOG_LEVEL", counterexample: "1X")
    public static let environmentValueRule = Rule(
        { environmentValue($0) }, pattern: Pattern.environmentValue, maxLength: 4096,
        example: "info", counterexample: "${HOME}")
    public static let memoryRule = Rule(
        { memory($0) }, pattern: Pattern.memory, example: "512m", counterexample: "512 MB")
    public static let cpusRule = Rule({ cpus($0) }, pattern: Pattern.cpus, example: "1.5", counterexample: "0.0")
    public static let httpPathRule = Rule(
        { httpPath($0) }, pattern: Pattern.httpPath, example: "/healthz", counterexample: "/h; deny all")
    public static let emailRule = Rule(
        { email($0) }, pattern: Pattern.email, example: "ops@example.com", counterexample: "ops@example")
    public static let filePathRule = Rule(
        { filePath($0) }, pattern: Pattern.filePath, example: "var/report.md", counterexample: "../etc/passwd")
    public static let containerUserRule = Rule(
        { containerUser($0) }, pattern: Pattern.containerUser, example: "10001:10001",
        counterexample: "app user")
    public static let placementConstraintRule = Rule(
        { placementConstraint($0) }, pattern: Pattern.placementConstraint,
        example: "node.role == worker", counterexample: "node.role == worker\"]\n  x: [\"")
    public static let httpURLRule = Rule(
        { httpURL($0) }, pattern: Pattern.httpURL, example: "http://127.0.0.1:8181",
        counterexample: "http://user:pw@host/")

    /// No rule admits a line terminator at the end (the schema's `$` is ECMA-262's): see `matchesStrictly`.
    private static func matches(_ s: String, _ pattern: String) -> Bool {
        CompiledPatterns.matchesStrictly(s, pattern)
    }

    /// A project name derived from a directory name: lowercased, invalid characters replaced by `-`.
    public static func derivedProjectName(fromDirectory name: String) -> String {
        var out = ""
        for scalar in name.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-" {
                out.unicodeScalars.append(scalar)
            } else {
                out.append("-")
            }
        }
        while let first = out.first, first == "-" || first == "_" { out.removeFirst() }
        out = String(out.prefix(63))
        return out.isEmpty ? Manifest.Defaults.fallbackProject : out
    }
}
