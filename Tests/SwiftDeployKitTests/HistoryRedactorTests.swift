import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

@Suite("History redaction")
struct HistoryRedactorTests {
    static let secrets = [
        "hunter2-password-value",
        "s3cr3t-api-key-0123456789",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "postgres-pw-123",
        "value-of-database-url-in-env",
        "xoxb-1234567890-abcdefghij",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "ci-token-from-environment-77",
    ]

    @Test func credentialsNeverReachTheFile() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let url = dir.url.appendingPathComponent("history.jsonl")
        var env = localEnvironment
        env["DEPLOY_TOKEN"] = "ci-token-from-environment-77"
        let log = HistoryLog(url: url, environment: env)
        let input: JSONValue = [
            "metrics": ["error_rate": 0.01, "p99_ms": 120],
            "service": [
                "image": "app:1.2", "password": "hunter2-password-value",
                "environment": ["DATABASE_URL": "value-of-database-url-in-env", "LOG_LEVEL": "debug"],
            ],
            "headers": [["name": "Authorization", "Authorization": "Bearer abcdefghijklmnop"]],
            "apiKey": "s3cr3t-api-key-0123456789",
        ]
        try await log.append(
            HistoryEntry(
                event: .gate, outcome: "ok",
                message:
                    """
                    pushed with ghp_abcdefghijklmnopqrstuvwxyz0123456789 and key AKIAIOSFODNN7EXAMPLE using \
                    ci-token-from-environment-77
                    """,
                decision: HistoryDecision(
                    domain: "canary", verdict: "allow",
                    reasons: [
                        """
                        token \
                        eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U \
                        seen
                        """
                    ],
                    engine: "embedded", input: input),
                details: [
                    "db": "postgres://app:postgres-pw-123@db:5432/app", "slack": "xoxb-1234567890-abcdefghij",
                    "key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
                    "Client-Secret": ["nested": "whatever"], "env": ["A": "1"],
                ]))
        try await log.append(
            HistoryEntry(
                event: .override, override: HistoryOverride(reason: "approved, Authorization: Bearer zyxwvutsrqponm")))

        let text = try String(contentsOf: url, encoding: .utf8)
        for secret in Self.secrets {
            #expect(!text.contains(secret), "secret \(secret) leaked into the history")
        }
        #expect(!text.contains("abcdefghijklmnop") && !text.contains("zyxwvutsrqponm"))
        // What is not secret stays, so the record is still useful.
        #expect(text.contains("\"LOG_LEVEL\":\"[REDACTED]\""), "environment keys stay, values go")
        #expect(text.contains("\"image\":\"app:1.2\""))
        #expect(text.contains("\"error_rate\":0.01"))
        #expect(text.contains("postgres://app:[REDACTED]@db:5432/app"))
        #expect(text.contains("\"Client-Secret\":\"[REDACTED]\""))
        #expect(try AuditReport.verify(history: url).chain.isIntact)
    }

    @Test(arguments: [
        "password", "DB_PASSWORD", "clientSecret", "github_token", "api_key", "X-API-Key", "aws_credentials",
        "private_key", "Authorization", "passwd",
    ])
    func sensitiveKeys(_ key: String) {
        #expect(HistoryRedactor.isSensitiveKey(key))
    }

    @Test(arguments: ["image", "port", "mode", "error_rate", "manifest_hash", "reasons", "author"])
    func ordinaryKeys(_ key: String) {
        #expect(!HistoryRedactor.isSensitiveKey(key))
    }

    @Test func plainTextIsLeftAlone() {
        let r = HistoryRedactor(environment: [:])
        let text = "error rate 7.5% is above 5% at https://example.com/metrics (p99 900ms)"
        #expect(r.redact(text) == text)
    }

    // MARK: The pre-check that spares the patterns (issue 15, finding 7)

    /// Pieces near and on the patterns' words, in both cases, and the characters around them.
    static let pieces = [
        "Bearer ", "bAsIc ", "bear", "basi", "AKIA", "asia", "AGPA", "aida", "AROA", "ANPA", "AKI", "gh", "ghp_",
        "GHS_",
        "g", "h", "github_pat_", "github_pa", "glpat-", "glpat", "xoxb-", "xoxp-", "xo",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END PRIVATE KEY-----", "-----begin ", "eyJ", "EYJ", "ey", "password", "PassWd", "passw", "pwd", "PWD",
        "Secret", "secre", "token", "TOK", "api_key", "Api-Key", "apikey", "ap", "credential", "Private_Key",
        "private", "authorization", "Authoriz", "://", ":/", "https://", "user:pw@", "@", " is ", "=", ": ", "\"", "'",
        " ", "\n", "\t", ",", ";", ".", "-", "_", "/", "+", "~", "ABCDEFGHIJKLMNOP", "0123456789abcdef",
        "QRSTUVWXYZ234567",
        "x", "Z", "9", "==", "api", "API", "key", "Key", "ghu", "gho", "ghr", "p_", "i",
    ]

    @Test func textThePreCheckPassesOverIsLeftAsThePatternsLeaveIt() {
        let seed = FuzzSeed.resolve(
            test: "HistoryRedactorTests.textThePreCheckPassesOverIsLeftAsThePatternsLeaveIt",
            filter: "SwiftDeployKitTests.HistoryRedactorTests")
        var rng = seed.generator
        let redactor = HistoryRedactor(environment: [:])
        var passedOver = 0, changed = 0
        for _ in 0..<20_000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...12, using: &rng) { text += Self.pieces.randomElement(using: &rng)! }
            let byPatterns = redactor.redactPatterns(text)
            if byPatterns != text { changed += 1 }
            if !HistoryRedactor.mayMatchAPattern(text) {
                passedOver += 1
                #expect(byPatterns == text, "the pre-check passed over '\(text)', which the patterns change (\(seed))")
            }
            #expect(redactor.redact(text) == byPatterns, "'\(text)' (\(seed))")
        }
        // Both kinds were drawn: text the patterns change, and text the pre-check spares them.
        #expect(changed > 1_000 && passedOver > 1_000, "changed \(changed), passed over \(passedOver) (\(seed))")
    }

    @Test func everyPatternWordIsNeeded() {
        // Without any one word, some text the patterns change is passed over: the list is no larger than it must be
        // for the test above to catch a missing word.
        let samples = [
            "bearer": "Bearer abcdefxyzklm", "basic": "basic QWxhZGRpbjpvcGVu",
            "akia": "AKIAIOSFODNN7EXAMPLE", "asia": "ASIAIOSFODNN7EXAMPLE", "agpa": "AGPAIOSFODNN7EXAMPLE",
            "aida": "AIDAIOSFODNN7EXAMPLE", "aroa": "AROAIOSFODNN7EXAMPLE", "anpa": "ANPAIOSFODNN7EXAMPLE",
            "ghp_": "ghp_abcdefghijklmnopqrstuvwxyz", "gho_": "gho_abcdefghijklmnopqrstuvwxyz",
            "ghu_": "ghu_abcdefghijklmnopqrstuvwxyz", "ghs_": "ghs_abcdefghijklmnopqrstuvwxyz",
            "ghr_": "ghr_abcdefghijklmnopqrstuvwxyz", "github_pat_": "github_pat_abcdefxyzklmnopqrstuvw1234",
            "glpat-": "glpat-abcdefxyzklmnopqrstuvw", "xox": "xoxb-1234567890-abcdef",
            "eyj": "eyJhbGciOiJI.eyJzdWIiOiIx.dozjgNryP4J3",
            "passw": "password=hunter22", "pwd": "pwd: hunter22", "secret": "SECRET=abcdefxy",
            "token": "token is abcdefxy", "apikey": "APIKEY=abcdefxy", "api_key": "Api_Key: abcdefxy",
            "api-key": "api-key=abcdefxy", "credential": "credential=abcdefxy",
            "private": "private_key=abcdefxy", "authorization": "authorization=abcdefxy",
            "://": "postgres://app:pw123@db",
        ]
        let redactor = HistoryRedactor(environment: [:])
        #expect(Set(samples.keys) == Set(HistoryRedactor.patternWords.map { String(decoding: $0, as: UTF8.self) }))
        for (word, text) in samples {
            #expect(redactor.redactPatterns(text) != text, "the patterns leave '\(text)' alone")
            #expect(HistoryRedactor.mayMatchAPattern(text), "'\(text)'")
            let others = HistoryRedactor.patternWords.filter { $0 != Array(word.utf8) }
            let lower = text.lowercased()
            #expect(
                !others.contains { lower.contains(String(decoding: $0, as: UTF8.self)) },
                "'\(text)' also holds another word: it does not show that '\(word)' is needed")
        }
    }

    @Test func anEnvironmentSecretFollowedByACombiningMarkIsRedacted() {
        // `String.contains` compares characters: "value" + U+0301 is one character "valué", so the secret was not
        // found and reached the history whole.
        let redactor = HistoryRedactor(environment: ["DEPLOY_TOKEN": "s3cr3tvalue-123456"])
        let expected = [
            "x s3cr3tvalue-123456\u{301} y": "x [REDACTED]\u{301} y",
            "s3cr3tvalue-123456\u{20DD}": "[REDACTED]\u{20DD}",
            "a s3cr3tvalue-123456 b": "a [REDACTED] b",
        ]
        for (text, redacted) in expected {
            // Compared by bytes: the placeholder's "]" and the mark after it are one character.
            #expect(Array(redactor.redact(text).utf8) == Array(redacted.utf8), "\(redactor.redact(text))")
        }
        // A canonically equal spelling (precomposed against combining) is still found by characters.
        let accented = HistoryRedactor(environment: ["API_SECRET": "caf\u{E9}-secret-9"])
        #expect(!accented.redact("at cafe\u{301}-secret-9 now").contains("-secret-9"))
        #expect(HistoryRedactor.replacingBytes(of: "ab", in: "xabyab") == "x[REDACTED]y[REDACTED]")
        #expect(HistoryRedactor.replacingBytes(of: "aa", in: "aaa") == "[REDACTED]a")
        #expect(HistoryRedactor.replacingBytes(of: "zz", in: "é") == "é")
    }

    @Test func shortTextWithACredentialIsRedacted() {
        // Before, text under 8 bytes was never looked at: `pwd=abc` reached the history.
        let redactor = HistoryRedactor(environment: [:])
        #expect(redactor.redact("pwd=abc") == "pwd=[REDACTED]")
        #expect(redactor.redact("token=x") == "token=[REDACTED]")
        #expect(redactor.redact("pwd=x") == "pwd=[REDACTED]")
        #expect(redactor.redact("ok") == "ok")
    }

    /// ``HistoryRedactor/patternWords`` was checked against these patterns, word by word: a changed or added pattern
    /// fails here until its words are checked too (and added to `patternWords` and to `everyPatternWordIsNeeded`).
    @Test func thePatternsAreTheOnesTheWordsWereCheckedAgainst() {
        let patterns =
            HistoryRedactor.valuePatterns.map(\.pattern) + [
                HistoryRedactor.keyValue.pattern, HistoryRedactor.urlPassword.pattern,
            ]
        #expect(
            patterns == [
                #"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*"#,
                #"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"#,
                #"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b"#,
                #"\bgithub_pat_[A-Za-z0-9_]{20,}\b"#,
                #"\bglpat-[A-Za-z0-9\-_]{20,}\b"#,
                #"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"#,
                #"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"#,
                #"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#,
                #"(?i)\b([A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|credential|private[_\-]?key|authorization)[A-Za-z0-9_.\-]*)(\s*[=:]\s*|\s+is\s+)("[^"]*"|'[^']*'|[^\s,;]+)"#,
                #"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:)[^\s@/]+@"#,
            ])
    }

    @Test func nonASCIITextIsAlwaysLookedAt() {
        // ICU folds case beyond ASCII (the Kelvin sign is a k, the long s an s): such text goes to the patterns.
        let redactor = HistoryRedactor(environment: [:])
        for text in ["to\u{212A}en=abcdefgh", "ba\u{17F}ic QWxhZGRpbjpvcGVu", "naïve text, no secret"] {
            #expect(HistoryRedactor.mayMatchAPattern(text))
            #expect(redactor.redact(text) == redactor.redactPatterns(text))
        }
        #expect(redactor.redact("to\u{212A}en=abcdefgh") != "to\u{212A}en=abcdefgh")
    }
}
