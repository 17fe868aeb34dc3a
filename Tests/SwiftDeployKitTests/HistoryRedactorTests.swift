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
}
