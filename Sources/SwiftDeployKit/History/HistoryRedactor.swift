import Foundation

/// Keeps secrets out of the history. Applied by `HistoryLog` to every string
/// and JSON value a caller supplies, before the line is written:
///
/// - a key that names a credential (`password`, `passwd`, `secret`, `token`,
///   `api_key`/`apiKey`, `credential`, `private_key`, `authorization`; any case,
///   `-`/`_` ignored, anywhere in the key) has its whole value replaced;
/// - every value under an environment map (`env`, `environment`, `env_vars`,
///   `environment_variables`) is replaced: environment values are never kept;
/// - strings that look like credentials are replaced wherever they appear:
///   `Bearer …`/`Basic …` tokens, AWS access key ids (`AKIA…`/`ASIA…`), GitHub
///   and GitLab tokens, Slack tokens, PEM private keys, and the password in
///   `scheme://user:password@host` URLs; in free text, the value after a credential-naming key
///   (`password=…`, `api_key: …`, `token is …`);
/// - the value of any variable in the process environment whose *name* names a
///   credential (`GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`…) is replaced where it
///   appears inside a string, and so are the manifest's own `services.env` values whose keys name a credential.
public struct HistoryRedactor: Sendable {
    /// What a redacted value becomes.
    public static let placeholder = "[REDACTED]"

    private static let sensitiveKeyParts = [
        "password", "passwd", "secret", "token", "apikey", "credential",
        "privatekey", "authorization",
    ]
    private static let environmentKeys: Set<String> = ["env", "environment", "envvars", "environmentvariables"]

    static let valuePatterns: [NSRegularExpression] = [
        #"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*"#,
        #"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"#,
        #"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b"#,
        #"\bgithub_pat_[A-Za-z0-9_]{20,}\b"#,
        #"\bglpat-[A-Za-z0-9\-_]{20,}\b"#,
        #"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"#,
        #"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"#,
        #"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#,  // JWT
    ].map { try! NSRegularExpression(pattern: $0) }
    // Free text `password=hunter2`, `api_key: abc`, `token "x y"`: keep the key, drop the value.
    static let keyValue = try! NSRegularExpression(
        pattern:
            #"(?i)\b([A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|credential|private[_\-]?key|authorization)[A-Za-z0-9_.\-]*)(\s*[=:]\s*|\s+is\s+)("[^"]*"|'[^']*'|[^\s,;]+)"#
    )
    // user:password@ in a URL: keep the user and the host, drop the password.
    static let urlPassword = try! NSRegularExpression(
        pattern: #"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:)[^\s@/]+@"#)

    /// Secret values taken from the environment, longest first so one that
    /// contains another is replaced whole.
    private let environmentSecrets: [String]

    /// - Parameter environment: the process environment; values of variables
    ///   whose names name a credential (and are at least 6 characters long) are
    ///   scrubbed from every string.
    ///   - secrets: further values to scrub wherever they appear (the manifest's own `services.env` values whose
    ///     keys name a credential, see ``Manifest/secretValues``); values shorter than 4 characters are ignored.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, secrets: [String] = []) {
        environmentSecrets =
            (environment
            .filter { HistoryRedactor.isSensitiveKey($0.key) && $0.value.count >= 6 }
            .map(\.value) + secrets.filter { $0.count >= 4 })
            .sorted { $0.count > $1.count }
    }

    /// True when `key` names a credential.
    public static func isSensitiveKey(_ key: String) -> Bool {
        let folded = normalized(key)
        return sensitiveKeyParts.contains { folded.contains($0) }
    }

    private static func normalized(_ key: String) -> String {
        String(key.lowercased().unicodeScalars.filter { $0 != "_" && $0 != "-" && $0 != " " && $0 != "." })
    }

    /// `value` with every secret replaced by `placeholder`.
    public func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let s): return .string(redact(s))
        case .array(let items): return .array(items.map(redact))
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, member) in members {
                if HistoryRedactor.isSensitiveKey(key) {
                    out[key] = member == .null ? .null : .string(HistoryRedactor.placeholder)
                } else if HistoryRedactor.environmentKeys.contains(HistoryRedactor.normalized(key)) {
                    out[key] = HistoryRedactor.redactAllValues(member)
                } else {
                    out[key] = redact(member)
                }
            }
            return .object(out)
        default: return value
        }
    }

    /// `text` with credential-looking substrings replaced by `placeholder`.
    public func redact(_ text: String) -> String {
        var result = text
        for secret in environmentSecrets {
            // Byte for byte first: `contains` compares whole characters, so a secret followed by a combining mark
            // (`value\u{301}`) is not found by it; then by characters, which also finds a canonically equal spelling.
            result = HistoryRedactor.replacingBytes(of: secret, in: result)
            if result.contains(secret) {
                result = result.replacingOccurrences(of: secret, with: HistoryRedactor.placeholder)
            }
        }
        // Cheap pre-check: skip the regexes for text that holds none of the words the patterns need (most of what a
        // gate records). No length limit: `pwd=x` (5 bytes) is a credential.
        guard HistoryRedactor.mayMatchAPattern(result) else { return result }
        return redactPatterns(result)
    }

    /// `text` with every match of the credential patterns replaced (no pre-check).
    func redactPatterns(_ text: String) -> String {
        var result = text
        for pattern in HistoryRedactor.valuePatterns {
            let range = NSRange(result.startIndex..., in: result)
            result = pattern.stringByReplacingMatches(
                in: result, range: range, withTemplate: HistoryRedactor.placeholder)
        }
        let pairs = NSRange(result.startIndex..., in: result)
        result = HistoryRedactor.keyValue.stringByReplacingMatches(
            in: result, range: pairs, withTemplate: "$1$2\(HistoryRedactor.placeholder)")
        let range = NSRange(result.startIndex..., in: result)
        result = HistoryRedactor.urlPassword.stringByReplacingMatches(
            in: result, range: range, withTemplate: "$1\(HistoryRedactor.placeholder)@")
        return result
    }

    /// Words of which every credential pattern needs one (compared in lower case): a pattern can match ASCII text
    /// only where one of them occurs. `(?i)` patterns match ASCII letters of either case, and nothing else in ASCII
    /// text, so lower-casing keeps every possible match. `HistoryRedactorTests` hold this against the patterns.
    static let patternWords: [[UInt8]] = [
        "bearer", "basic",  // (?i) bearer|basic tokens
        "akia", "asia", "agpa", "aida", "aroa", "anpa",  // AWS key ids
        "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
        "github_pat_", "glpat-", "xox", "eyj",  // (a PEM private key needs "private", below)
        // key = value: api[_-]?key as its three spellings (an image named `team/api:1` holds no credential word)
        "passw", "pwd", "secret", "token", "apikey", "api_key", "api-key", "credential", "private", "authorization",
        "://",  // user:password@ in a URL
    ].map { Array($0.utf8) }

    /// False only when no credential pattern can match `text`: ASCII text holding none of ``patternWords``.
    /// Text with any non-ASCII character is always looked at (case folding there is ICU's to decide).
    static func mayMatchAPattern(_ text: String) -> Bool {
        var lower: [UInt8] = []
        lower.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            guard byte < 0x80 else { return true }
            lower.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
        }
        return patternWords.contains { word in
            guard lower.count >= word.count else { return false }
            for start in 0...(lower.count - word.count) where lower[start] == word[0] {
                if lower[start..<start + word.count].elementsEqual(word) { return true }
            }
            return false
        }
    }

    /// `text` with every occurrence of `secret`'s UTF-8 bytes replaced by ``placeholder`` (left to right, not
    /// overlapping). A match always starts and ends on a scalar boundary (UTF-8 never starts a scalar with a
    /// continuation byte), so the result is valid text.
    static func replacingBytes(of secret: String, in text: String) -> String {
        let needle = Array(secret.utf8)
        let haystack = Array(text.utf8)
        guard !needle.isEmpty, haystack.count >= needle.count else { return text }
        var out: [UInt8] = []
        var index = 0
        var replaced = false
        while index < haystack.count {
            if haystack[index] == needle[0], index + needle.count <= haystack.count,
                haystack[index..<index + needle.count].elementsEqual(needle)
            {
                out.append(contentsOf: placeholder.utf8)
                index += needle.count
                replaced = true
            } else {
                out.append(haystack[index])
                index += 1
            }
        }
        return replaced ? String(decoding: out, as: UTF8.self) : text
    }

    /// An environment map keeps its keys (which variables were set) but no values.
    private static func redactAllValues(_ value: JSONValue) -> JSONValue {
        switch value {
        case .null: return .null
        case .object(let members): return .object(members.mapValues(redactAllValues))
        case .array(let items): return .array(items.map(redactAllValues))
        default: return .string(placeholder)
        }
    }
}

extension Manifest {
    /// Values of `services.env` whose keys name a credential (`DB_PASSWORD`, `API_TOKEN`…): the history and the
    /// reports never show them, wherever they appear.
    public var secretValues: [String] {
        services.env.filter { HistoryRedactor.isSensitiveKey($0.name) }.map(\.value).sorted()
    }
}
