import Crypto
import Foundation

/// `providers.aws.sign_req`: signs an `http.send`-style request object with AWS Signature
/// Version 4 (HMAC-SHA256 through swift-crypto), as OPA does. It only computes headers: no
/// request is sent, so it needs no network and is deterministic given its time argument.
extension Builtins {
    /// The request keys `http.send` accepts; OPA refuses any other key here too.
    static let httpSendKeys: Set<String> = [
        "method", "url", "body", "enable_redirect", "force_json_decode", "force_yaml_decode", "headers", "raw_body",
        "tls_use_system_certs", "tls_ca_cert", "tls_ca_cert_file", "tls_ca_cert_env_variable", "tls_client_cert",
        "tls_client_cert_file", "tls_client_cert_env_variable", "tls_client_key", "tls_client_key_file",
        "tls_client_key_env_variable", "tls_insecure_skip_verify", "tls_server_name", "timeout", "cache", "force_cache",
        "force_cache_duration_seconds", "raise_error", "caching_mode", "max_retry_attempts", "cache_ignored_headers",
    ]

    static func registerAWSSigning(_ t: inout [String: Builtin]) {
        t["providers.aws.sign_req"] = Builtin(arity: 3) { a, _ in try AWSSigner.signRequest(a) }
    }
}

enum AWSSigner {
    static let fn = "providers.aws.sign_req"
    static let requiredConfig = ["aws_access_key", "aws_region", "aws_secret_access_key", "aws_service"]

    static func operandError(_ i: Int, _ message: String) -> RegoError {
        RegoError.typeError("\(fn): operand \(i) \(message)")
    }

    /// `{"a", "b"}`: a set of keys as OPA prints it.
    static func setText(_ keys: [RegoValue]) -> String {
        "{" + keys.sorted().map { $0.jsonString() }.joined(separator: ", ") + "}"
    }

    static func string(_ v: RegoValue?) -> String {
        if case .string(let s)? = v { return s }
        return ""
    }

    static func signRequest(_ a: [RegoValue]) throws -> RegoValue {
        guard case .object(let req) = a[0] else { throw Builtins.typeError(fn, 1, "object", a[0]) }
        guard case .object(let config) = a[1] else { throw Builtins.typeError(fn, 2, "object", a[1]) }
        let missing = requiredConfig.filter { config[.string($0)] == nil }
        if !missing.isEmpty {
            throw operandError(2, "missing required AWS config parameters(s): \(setText(missing.map { .string($0) }))")
        }
        let invalid = requiredConfig.filter {
            if case .string? = config[.string($0)] { return false }
            return true
        }
        if !invalid.isEmpty {
            throw operandError(
                2, "invalid values for required AWS config parameters(s): \(setText(invalid.map { .string($0) }))")
        }
        let service = string(config[.string("aws_service")])
        let accessKey = string(config[.string("aws_access_key")])
        let secretKey = string(config[.string("aws_secret_access_key")])
        let region = string(config[.string("aws_region")])
        let sessionToken = string(config[.string("aws_session_token")])

        let ns = try Builtins.number(fn, a, 2)
        // OPA reads the number's text as an int64: `1e9` and `1.0` are refused like out-of-range values.
        let text = ns.literal ?? ns.description
        guard ns.isInteger, !text.contains(where: { "eE.".contains($0) }), let timestamp = ns.intValue,
            Int64(exactly: timestamp) != nil
        else {
            throw operandError(3, "could not convert time_ns value into a unix timestamp")
        }

        let invalidKeys = req.keys.filter {
            if case .string(let k) = $0 { return !Builtins.httpSendKeys.contains(k) }
            return true
        }
        if !invalidKeys.isEmpty {
            throw operandError(1, "invalid request parameters(s): \(setText(Array(invalidKeys)))")
        }
        let missingKeys = ["method", "url"].filter { req[.string($0)] == nil }
        if !missingKeys.isEmpty {
            throw operandError(1, "missing required request parameters(s): \(setText(missingKeys.map { .string($0) }))")
        }

        var headers: [RegoValue: RegoValue] = [:]
        if let h = req[.string("headers")] {
            // OPA numbers this operand 0.
            guard case .object(let o) = h else { throw Builtins.typeError(fn, 0, "object", h) }
            headers = o
        }
        var invalidParams: [RegoValue] = []
        if case .string? = req[.string("url")] {} else { invalidParams.append(.string("url")) }
        if case .string? = req[.string("method")] {} else { invalidParams.append(.string("method")) }
        if !invalidParams.isEmpty {
            throw operandError(1, "invalid values for required request parameters(s): \(setText(invalidParams))")
        }
        let urlText = string(req[.string("url")])
        let url: GoURL
        do {
            url = try GoURL(urlText)
        } catch let e as GoURL.ParseError {
            throw RegoError.builtin("\(fn): parse \(RegoValue.string(urlText).jsonString()): \(e.message)")
        }
        let method = string(req[.string("method")])

        let body: [UInt8]
        if let raw = req[.string("raw_body")] {
            body = Array(string(raw).utf8)
        } else if let b = req[.string("body")] {
            body = Array(b.jsonString().utf8)
        } else {
            body = []
        }

        // Header names and values as OPA's objectToMap reads them (a non-string becomes "").
        var headerMap: [String: String] = [:]
        for (k, v) in headers { headerMap[string(k)] = string(v) }

        var disablePayloadSigning = false
        if let d = config[.string("disable_payload_signing")] {
            guard case .bool(let b) = d else {
                throw operandError(2, "invalid value for 'disable_payload_signing' in AWS config")
            }
            disablePayloadSigning = b
        }

        let (authorization, awsHeaders) = signV4(
            headers: headerMap, method: method, url: url, body: body, service: service, accessKey: accessKey,
            secretKey: secretKey, region: region, sessionToken: sessionToken, timeNs: timestamp,
            disablePayloadSigning: disablePayloadSigning)
        var signed: [RegoValue: RegoValue] = [:]
        for (k, v) in headerMap { signed[.string(k)] = .string(v) }
        signed[.string("Authorization")] = .string(authorization)
        for (k, v) in awsHeaders { signed[.string(k)] = .string(v) }
        var out = req
        out[.string("headers")] = .object(signed)
        return .object(out)
    }

    static let ignoredHeaders: Set<String> = ["authorization", "user-agent", "x-amzn-trace-id"]

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }

    /// The Authorization header and the headers AWS needs (`host`, `x-amz-date`, …), for the
    /// request's headers, method, URL and body at `timeNs` (nanoseconds since the Unix epoch).
    static func signV4(
        headers: [String: String], method: String, url: GoURL, body: [UInt8], service: String,
        accessKey: String, secretKey: String, region: String, sessionToken: String,
        timeNs: Int, disablePayloadSigning: Bool
    ) -> (String, [String: String]) {
        let contentSha256 = disablePayloadSigning ? "UNSIGNED-PAYLOAD" : hex(SHA256.hash(data: body))
        let (date, stamp) = utcStamps(timeNs)
        var awsHeaders = ["host": url.host, "x-amz-date": stamp]
        if service == "s3" || service == "glacier" { awsHeaders["x-amz-content-sha256"] = contentSha256 }
        if !sessionToken.isEmpty { awsHeaders["x-amz-security-token"] = sessionToken }
        var toSign = awsHeaders
        for (k, v) in headers where !ignoredHeaders.contains(k.lowercased()) { toSign[k.lowercased()] = v }
        let keys = toSign.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var canonical = method + "\n" + url.escapedPath + "\n" + url.rawQuery + "\n"
        for k in keys { canonical += k + ":" + toSign[k]! + "\n" }
        canonical += "\n"
        let headerList = keys.joined(separator: ";")
        canonical += headerList + "\n" + contentSha256
        let scope = "\(date)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(stamp)\n\(scope)\n" + hex(SHA256.hash(data: Array(canonical.utf8)))
        var key = hmac(Array(("AWS4" + secretKey).utf8), date)
        key = hmac(key, region)
        key = hmac(key, service)
        key = hmac(key, "aws4_request")
        let signature = hex(hmac(key, stringToSign))
        let auth =
            "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope),SignedHeaders=\(headerList),Signature=\(signature)"
        return (auth, awsHeaders)
    }

    /// `20060102` and `20060102T150405Z` in UTC for a time in nanoseconds since the epoch.
    static func utcStamps(_ ns: Int) -> (String, String) {
        var secs = ns / 1_000_000_000
        if ns % 1_000_000_000 < 0 { secs -= 1 }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 {
            rem += 86_400
            days -= 1
        }
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let date = String(format: "%04d%02d%02d", y, m, d)
        return (date, date + String(format: "T%02d%02d%02dZ", rem / 3600, rem % 3600 / 60, rem % 60))
    }
}

/// The parts of a URL that signing reads, split as Go's `net/url` does: `host` (with port),
/// the escaped path (`EscapedPath`) and the raw query. Invalid escapes and hosts are errors
/// with Go's messages.
struct GoURL {
    var host = ""
    var escapedPath = ""
    var rawQuery = ""

    struct ParseError: Error { let message: String }

    init(_ s: String) throws {
        if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw ParseError(message: "net/url: invalid control character in URL")
        }
        var rest = Substring(s)
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        if let q = rest.firstIndex(of: "?") {
            rawQuery = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        var hasScheme = false
        if let colon = rest.firstIndex(of: ":"), rest[..<colon].first?.isLetter == true,
            rest[..<colon].allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || "+-.".contains($0) })
        {
            rest = rest[rest.index(after: colon)...]
            hasScheme = true
        }
        if hasScheme && !rest.hasPrefix("/") {
            return  // an opaque URL (`mailto:x`): no host, no path
        }
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[..<slash]
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            host = String(authority)
            if host.hasPrefix("[") && !host.contains("]") { throw ParseError(message: "missing ']' in host") }
            if let bad = host.unicodeScalars.first(where: { !GoURL.hostAllowed($0) }) {
                throw ParseError(
                    message: "invalid character \(RegoValue.string(String(bad)).jsonString()) in host name")
            }
            rest = rest[slash...]
        }
        escapedPath = try GoURL.escapePath(String(rest))
    }

    static func hostAllowed(_ c: Unicode.Scalar) -> Bool {
        if c.value >= 0x80 { return true }
        if CharacterSet.alphanumerics.contains(c) && c.isASCII { return true }
        return "-._~!$&'()*+,;=:[]%".unicodeScalars.contains(c)
    }

    /// Go's `shouldEscape` for a path byte.
    static func shouldEscape(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return false
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"): return false
        case UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: "/"),
            UInt8(ascii: ":"),
            UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "@"):
            return false
        default: return true
        }
    }

    /// A path written validly escaped stays as written; otherwise it is unescaped and escaped again.
    static func escapePath(_ p: String) throws -> String {
        let bytes = Array(p.utf8)
        var decoded: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) else {
                    let end = min(i + 3, bytes.count)
                    throw ParseError(
                        message:
                            """
                            invalid URL escape \
                            \(RegoValue.string(String(decoding: bytes[i..<end], as: UTF8.self)).jsonString())
                            """
                    )
                }
                decoded.append(h << 4 | l)
                i += 3
            } else {
                decoded.append(bytes[i])
                i += 1
            }
        }
        let validEncoded = bytes.allSatisfy { "!$&'()*+,;=:@[]%".utf8.contains($0) || !shouldEscape($0) }
        if validEncoded { return p }
        return decoded.map { shouldEscape($0) ? String(format: "%%%02X", $0) : String(UnicodeScalar($0)) }.joined()
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
