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
        matches(s, #"^[a-z0-9][a-z0-9_-]{0,62}$"#) ? nil
            : "a Compose project name (lowercase letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters)"
    }

    /// A DNS label: what Docker's embedded DNS resolves as a service name.
    public static func dnsLabel(_ s: String) -> String? {
        matches(s, #"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"#) ? nil
            : "a DNS-safe name (lowercase letters, digits and '-', not starting or ending with '-', at most 63 characters)"
    }

    /// A container user as Compose takes it: `name`, `uid`, `name:group` or `uid:gid`.
    public static func containerUser(_ s: String) -> String? {
        let part = #"(?:[a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})"#
        return matches(s, "^\(part)(?::\(part))?$") ? nil
            : "a user such as 'app', '10001' or '10001:10001' (a lowercase name or a numeric id, optionally ':group')"
    }

    /// Whether a container user (`services.user` or an image's `USER`) is root: empty, `root` or uid 0.
    public static func isRoot(_ user: String) -> Bool {
        let name = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return name.isEmpty || name == "root" || (Int(name) == 0)
    }

    /// A Docker network name.
    public static func networkName(_ s: String) -> String? {
        matches(s, #"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$"#) ? nil
            : "a network name (letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64 characters)"
    }

    /// An image reference: `[registry[:port]/]path[:tag][@sha256:digest]`, Docker's reference grammar.
    public static func imageReference(_ s: String) -> String? {
        let component = #"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"#
        let registry = #"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)?"#
        let tag = #"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"#
        let digest = #"(?:@sha256:[a-f0-9]{64})?"#
        let pattern = "^\(registry)\(component)(?:/\(component))*\(tag)\(digest)$"
        return s.count <= 255 && matches(s, pattern) ? nil
            : "an image reference such as 'nginx:1.27' or 'registry.example.com/team/app:1.2.3' (lowercase name, optional tag and sha256 digest)"
    }

    /// An application version: letters, digits, `.`, `_`, `+`, `-`.
    public static func version(_ s: String) -> String? {
        matches(s, #"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"#) ? nil
            : "a version such as '1.2.3' or '2024.06-rc1' (letters, digits, '.', '_', '+', '-')"
    }

    public static let restartPolicies = ["no", "always", "on-failure", "unless-stopped"]

    /// An environment variable name.
    public static func environmentName(_ s: String) -> String? {
        matches(s, #"^[A-Za-z_][A-Za-z0-9_]{0,127}$"#) ? nil
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
        matches(s, #"^[1-9][0-9]{0,12}[bkmgBKMG]?$"#) ? nil : "a memory size such as '256m' or '1g'"
    }

    /// A CPU count: `0.5`, `2`.
    public static func cpus(_ s: String) -> String? {
        guard matches(s, #"^[0-9]{1,3}(\.[0-9]{1,3})?$"#), let v = Double(s), v > 0 else {
            return "a positive number of CPUs such as '0.5' or '2'"
        }
        return nil
    }

    /// An HTTP path: starts with `/`, unreserved characters only.
    public static func httpPath(_ s: String) -> String? {
        matches(s, #"^/[A-Za-z0-9._~/-]{0,255}$"#) ? nil
            : "an absolute HTTP path such as '/healthz' (letters, digits, '.', '_', '~', '-', '/')"
    }

    /// An e-mail address, conservatively.
    public static func email(_ s: String) -> String? {
        matches(s, #"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$"#) ? nil
            : "an e-mail address such as 'ops@example.com'"
    }

    /// A file path: relative or absolute, safe characters, no `..` segment.
    public static func filePath(_ s: String) -> String? {
        guard matches(s, #"^[A-Za-z0-9._/-]{1,1024}$"#) else {
            return "a file path of letters, digits, '.', '_', '-' and '/'"
        }
        if s.split(separator: "/").contains("..") { return "a path without '..' segments" }
        return nil
    }

    /// An http(s) URL with a host, optional port and path, no credentials, query or fragment.
    public static func httpURL(_ s: String) -> String? {
        matches(s, #"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$"#) ? nil
            : "an http(s) URL such as 'http://127.0.0.1:8181' (no credentials, query or fragment)"
    }

    private static func matches(_ s: String, _ pattern: String) -> Bool {
        s.range(of: pattern, options: .regularExpression) != nil
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
