import Foundation
import Testing

@testable import Rego

/// `providers.aws.sign_req` beyond the conformance cases: its errors, as OPA's evaluator
/// (opa-ref) reported them for the same calls, and hostile input. Signatures themselves are
/// compared with OPA's in `DifferentialTests` (`Tests/Fixtures/rego/differential/aws-signing`).
@Suite struct AWSSigningTests {
    static let config: RegoValue = .object([
        .string("aws_access_key"): .string("a"), .string("aws_secret_access_key"): .string("b"),
        .string("aws_service"): .string("s3"), .string("aws_region"): .string("r"),
    ])

    func sign(_ request: String, time: String = "0") throws -> RegoValue? {
        let source = "package t\n\nx := providers.aws.sign_req(data.req, data.config, \(time))\n"
        let engine = try RegoEngine(
            modules: [RegoModule(name: "t.rego", source: source)],
            data: .object([.string("req"): try RegoValue(jsonString: request), .string("config"): Self.config]),
            options: .init(strictBuiltinErrors: true))
        return try engine.evaluate(path: "data.t.x", input: nil)
    }

    func error(_ request: String, time: String = "0") -> RegoError? {
        do {
            _ = try sign(request, time: time)
            return nil
        } catch let e as RegoError {
            return e
        } catch {
            return RegoError(code: "unexpected", message: "\(error)")
        }
    }

    @Test(arguments: [
        (
            #"{"method": "GET", "url": "https://x/", "foo": 1}"#, "0", "eval_type_error",
            #"providers.aws.sign_req: operand 1 invalid request parameters(s): {"foo"}"#
        ),
        (
            #"{"method": "GET", "url": "https://x/", "headers": "h"}"#, "0", "eval_type_error",
            "providers.aws.sign_req: operand 0 must be object but got string"
        ),
        (
            #"{"method": "GET", "url": "https://x/"}"#, "1.5", "eval_type_error",
            "providers.aws.sign_req: operand 3 could not convert time_ns value into a unix timestamp"
        ),
        (
            #"{"method": "GET", "url": "https://x/"}"#, "1e3", "eval_type_error",
            "providers.aws.sign_req: operand 3 could not convert time_ns value into a unix timestamp"
        ),
        (
            #"{"method": "GET", "url": "https://x/"}"#, "9223372036854775808", "eval_type_error",
            "providers.aws.sign_req: operand 3 could not convert time_ns value into a unix timestamp"
        ),
        (
            #"{"method": "GET", "url": "http://[::1:80/"}"#, "0", "eval_builtin_error",
            #"providers.aws.sign_req: parse "http://[::1:80/": missing ']' in host"#
        ),
        (
            #"{"method": "GET", "url": "%zz"}"#, "0", "eval_builtin_error",
            #"providers.aws.sign_req: parse "%zz": invalid URL escape "%zz""#
        ),
    ])
    func errorsAreOPAs(_ request: String, _ time: String, _ code: String, _ message: String) {
        let e = error(request, time: time)
        #expect(e?.code == code, "\(String(describing: e))")
        #expect(e?.message == message, "\(String(describing: e))")
    }

    func header(_ signed: RegoValue?, _ name: String) -> RegoValue? {
        guard case .object(let o)? = signed, case .object(let h)? = o[.string("headers")] else { return nil }
        return h[.string(name)]
    }

    @Test func extremeTimesSignAsOPADates() throws {
        // Dates as opa-ref gave them for the largest and smallest int64 nanoseconds.
        let late = try #require(try sign(#"{"method": "GET", "url": "https://x/"}"#, time: "9223372036854775807"))
        #expect(header(late, "x-amz-date") == .string("22620411T234716Z"))
        let early = try #require(try sign(#"{"method": "GET", "url": "https://x/"}"#, time: "-9223372036854775808"))
        #expect(header(early, "x-amz-date") == .string("16770921T001243Z"))
    }

    @Test func aLargeBodyIsHashedNotRejected() throws {
        let body = String(repeating: "x", count: 4 << 20)
        let signed = try #require(
            try sign(
                RegoValue.object([
                    .string("method"): .string("PUT"), .string("url"): .string("https://x/k"),
                    .string("raw_body"): .string(body),
                ]).jsonString()))
        // SHA-256 of 4 MiB of "x", as Python's hashlib gives it.
        #expect(
            header(signed, "x-amz-content-sha256")
                == .string("baa7a6d36ffa957552df230235c2d51d735f28d49c58a5f3438a3a973a25a37d"))
    }
}
