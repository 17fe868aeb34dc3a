import Crypto
import Foundation
import _CryptoExtras

/// Hashes, HMACs and JSON Web Tokens (`crypto.*`, `io.jwt.*`), all through swift-crypto.
extension Builtins {
    static func registerCrypto(_ t: inout [String: Builtin]) {
        func hash(_ name: String, _ f: @escaping (Data) -> Data) {
            t[name] = Builtin(arity: 1) { a, _ in .string(hex(f(Data(try string(name, a, 0).utf8)))) }
        }
        hash("crypto.md5") { Data(Insecure.MD5.hash(data: $0)) }
        hash("crypto.sha1") { Data(Insecure.SHA1.hash(data: $0)) }
        hash("crypto.sha256") { Data(SHA256.hash(data: $0)) }
        func hmac(_ name: String, _ f: @escaping (Data, SymmetricKey) -> Data) {
            t[name] = Builtin(arity: 2) { a, _ in
                let x = try string(name, a, 0), key = try string(name, a, 1)
                return .string(hex(f(Data(x.utf8), SymmetricKey(data: Data(key.utf8)))))
            }
        }
        hmac("crypto.hmac.md5") { Data(HMAC<Insecure.MD5>.authenticationCode(for: $0, using: $1)) }
        hmac("crypto.hmac.sha1") { Data(HMAC<Insecure.SHA1>.authenticationCode(for: $0, using: $1)) }
        hmac("crypto.hmac.sha256") { Data(HMAC<SHA256>.authenticationCode(for: $0, using: $1)) }
        hmac("crypto.hmac.sha512") { Data(HMAC<SHA512>.authenticationCode(for: $0, using: $1)) }
        t["crypto.hmac.equal"] = Builtin(arity: 2) { a, _ in
            let x = Data(try string("crypto.hmac.equal", a, 0).utf8),
                y = Data(try string("crypto.hmac.equal", a, 1).utf8)
            // Constant time in the length of the inputs, as Go's hmac.Equal.
            guard x.count == y.count else { return .bool(false) }
            var diff: UInt8 = 0
            for (p, q) in zip(x, y) { diff |= p ^ q }
            return .bool(diff == 0)
        }
        t["hex.decode"] = Builtin(arity: 1) { a, _ in
            let s = try string("hex.decode", a, 0)
            guard let d = unhex(s) else {
                // Go's encoding/hex messages.
                if let bad = s.unicodeScalars.first(where: { !$0.properties.isASCIIHexDigit }) {
                    let code = String(bad.value, radix: 16, uppercase: true)
                    throw RegoError.builtin(
                        """
                        hex.decode: encoding/hex: invalid byte: \
                        U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code) '\(bad)'
                        """
                    )
                }
                throw RegoError.builtin("hex.decode: encoding/hex: odd length hex string")
            }
            return .string(String(decoding: d, as: UTF8.self))
        }

        t["io.jwt.decode"] = Builtin(arity: 1) { a, _ in
            let token = try JWT.decode(try string("io.jwt.decode", a, 0))
            return .array([token.header, token.payload, .string(hex(token.signature))])
        }
        for alg in JWT.algorithms {
            let name = "io.jwt.verify_\(alg.lowercased())"
            t[name] = Builtin(arity: 2) { a, _ in
                let jwt = try string(name, a, 0), key = try string(name, a, 1)
                let parts = try JWT.split(jwt)
                let keys: [JWT.Key]
                if alg.hasPrefix("HS") { keys = [.secret(Data(key.utf8))] } else { keys = try JWT.publicKeys(key) }
                guard let sig = JWT.base64URL(parts[2]) else {
                    throw RegoError.builtin("\(name): JWT signature had invalid encoding")
                }
                let signed = Data("\(parts[0]).\(parts[1])".utf8)
                return .bool(keys.contains { JWT.verify(alg: alg, key: $0, signed: signed, signature: sig) })
            }
        }
        t["io.jwt.decode_verify"] = Builtin(arity: 2) { a, _ in
            try JWT.decodeVerify(try string("io.jwt.decode_verify", a, 0), try object("io.jwt.decode_verify", a, 1))
        }
        t["io.jwt.encode_sign_raw"] = Builtin(arity: 3) { a, _ in
            let fn = "io.jwt.encode_sign_raw"
            return .string(
                try JWT.sign(fn, header: try string(fn, a, 0), payload: try string(fn, a, 1), key: try string(fn, a, 2))
            )
        }
        t["io.jwt.encode_sign"] = Builtin(arity: 3) { a, _ in
            let fn = "io.jwt.encode_sign"
            _ = try object(fn, a, 0)
            _ = try object(fn, a, 1)
            _ = try object(fn, a, 2)
            return .string(
                try JWT.sign(fn, header: a[0].jsonString(), payload: a[1].jsonString(), key: a[2].jsonString()))
        }
    }

    static func hex(_ d: Data) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(d.count * 2)
        for b in d {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 15)])
        }
        return s
    }

    static func unhex(_ s: String) -> Data? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        func nib(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = Data(capacity: u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = nib(u[i]), let l = nib(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

/// JSON Web Token decoding, verification and signing (RFC 7515/7519) as OPA's `io.jwt.*` do it.
enum JWT {
    static let algorithms = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512", "EdDSA",
    ]

    enum Key {
        case secret(Data)
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    struct Token {
        var header: RegoValue
        var payload: RegoValue
        var signature: Data
    }

    /// Go's base64.RawURLEncoding (padding tolerated, as OPA strips it first).
    static func base64URL(_ s: Substring) -> Data? {
        guard s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "=") }) else {
            return nil
        }
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while t.hasSuffix("=") { t.removeLast() }
        if t.contains(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/")) }) { return nil }
        if t.count % 4 == 1 { return nil }
        t += String(repeating: "=", count: (4 - t.count % 4) % 4)
        return Data(base64Encoded: t)
    }

    /// Position of the first byte Go's decoder rejects (for its error message).
    static func badByte(_ s: Substring) -> Int {
        for (i, c) in s.enumerated()
        where !(c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == "=")) { return i }
        return s.count
    }

    static func base64URLEncode(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func split(_ jwt: String) throws -> [Substring] {
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 1 { throw RegoError.builtin("encoded JWT had no period separators") }
        if parts.count != 3 { throw RegoError.builtin("encoded JWT must have 3 sections, found \(parts.count)") }
        return parts
    }

    static func decode(_ jwt: String) throws -> Token {
        var jwt = jwt
        while true {
            let parts = try split(jwt)
            guard let h = base64URL(parts[0]) else {
                throw RegoError.builtin(
                    "JWT header had invalid encoding: illegal base64 data at input byte \(badByte(parts[0]))")
            }
            guard let header = try? RegoValue(jsonData: h), case .object(let ho) = header else {
                throw RegoError.builtin("JWT header had invalid encoding: not a JSON object")
            }
            if ho[.string("enc")] != nil { throw RegoError.builtin("JWT is a JWE object, which is not supported") }
            guard let p = base64URL(parts[1]) else {
                throw RegoError.builtin(
                    "JWT payload had invalid encoding: illegal base64 data at input byte \(badByte(parts[1]))")
            }
            guard let s = base64URL(parts[2]) else {
                throw RegoError.builtin(
                    "JWT signature had invalid encoding: illegal base64 data at input byte \(badByte(parts[2]))")
            }
            if case .string(let cty)? = ho[.string("cty")], cty.uppercased() == "JWT" {
                // A nested token: the payload holds the inner JWT, as a JSON string or as is.
                if case .string(let inner)? = try? RegoValue(jsonData: p) {
                    jwt = inner
                } else {
                    jwt = String(decoding: p, as: UTF8.self)
                }
                continue
            }
            guard let payload = try? RegoValue(jsonData: p), case .object = payload else {
                throw RegoError.builtin("JWT payload had invalid encoding: not a JSON object")
            }
            return Token(header: header, payload: payload, signature: s)
        }
    }

    // MARK: keys

    /// Keys from a PEM certificate or public key, a JWK or a JWK set.
    static func publicKeys(_ text: String) throws -> [Key] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") {
            guard case .object(let o) = try RegoValue(jsonString: trimmed) else {
                throw RegoError.builtin("failed to parse a JWK key (set)")
            }
            if case .array(let keys)? = o[.string("keys")] {
                return try keys.map { k in
                    guard case .object(let ko) = k else { throw RegoError.builtin("failed to parse a JWK key (set)") }
                    return try jwk(ko)
                }
            }
            return [try jwk(o)]
        }
        guard let (label, der, rest) = pem(trimmed) else {
            throw RegoError.builtin("failed to find a PEM block in the key or certificate")
        }
        if !rest.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw RegoError.builtin("extra data after a PEM certificate block")
        }
        let spki: Data
        switch label {
        case "CERTIFICATE":
            guard let s = DER.subjectPublicKeyInfo(ofCertificate: der) else {
                throw RegoError.builtin("failed to parse a PEM certificate")
            }
            spki = s
        case "PUBLIC KEY": spki = der
        case "RSA PUBLIC KEY":
            return [.rsa(try _RSA.Signing.PublicKey(unsafeDERRepresentation: der))]
        default: throw RegoError.builtin("failed to extract a Key from the PEM certificate")
        }
        return [try key(spki: spki)]
    }

    static func pem(_ text: String) -> (String, Data, Substring)? {
        guard let begin = text.range(of: "-----BEGIN "),
            let endLabel = text.range(of: "-----", range: begin.upperBound..<text.endIndex)
        else { return nil }
        let label = String(text[begin.upperBound..<endLabel.lowerBound])
        guard let end = text.range(of: "-----END \(label)-----", range: endLabel.upperBound..<text.endIndex) else {
            return nil
        }
        let body = text[endLabel.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: String(body)) else { return nil }
        return (label, der, text[end.upperBound...])
    }

    static func key(spki: Data) throws -> Key {
        if let k = try? P256.Signing.PublicKey(derRepresentation: spki) { return .p256(k) }
        if let k = try? P384.Signing.PublicKey(derRepresentation: spki) { return .p384(k) }
        if let k = try? P521.Signing.PublicKey(derRepresentation: spki) { return .p521(k) }
        if let k = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: spki) { return .rsa(k) }
        // Ed25519 SubjectPublicKeyInfo: 12 bytes of prefix, then the 32-byte key.
        if spki.count == 44, let k = try? Curve25519.Signing.PublicKey(rawRepresentation: spki.suffix(32)) {
            return .ed25519(k)
        }
        throw RegoError.builtin("unsupported public key type")
    }

    static func jwk(_ o: [RegoValue: RegoValue]) throws -> Key {
        func field(_ k: String) throws -> Data {
            guard case .string(let s)? = o[.string(k)], let d = base64URL(Substring(s)) else {
                throw RegoError.builtin("JWK is missing or has an invalid \(k)")
            }
            return d
        }
        guard case .string(let kty)? = o[.string("kty")] else {
            throw RegoError.builtin("failed to parse a JWK key (set)")
        }
        switch kty {
        case "oct": return .secret(try field("k"))
        case "RSA": return .rsa(try _RSA.Signing.PublicKey(n: try field("n"), e: try field("e")))
        case "EC":
            let raw = try field("x") + field("y")
            switch o[.string("crv")] {
            case .string("P-256")?: return .p256(try P256.Signing.PublicKey(rawRepresentation: raw))
            case .string("P-384")?: return .p384(try P384.Signing.PublicKey(rawRepresentation: raw))
            case .string("P-521")?: return .p521(try P521.Signing.PublicKey(rawRepresentation: raw))
            default: throw RegoError.builtin("unsupported JWK curve")
            }
        case "OKP": return .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: try field("x")))
        default: throw RegoError.builtin("failed to parse a JWK key (set): unsupported key type \(kty)")
        }
    }

    static func verify(alg: String, key: Key, signed: Data, signature sig: Data) -> Bool {
        switch (alg, key) {
        case ("HS256", .secret(let s)):
            return Data(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: s))) == sig
        case ("HS384", .secret(let s)):
            return Data(HMAC<SHA384>.authenticationCode(for: signed, using: SymmetricKey(data: s))) == sig
        case ("HS512", .secret(let s)):
            return Data(HMAC<SHA512>.authenticationCode(for: signed, using: SymmetricKey(data: s))) == sig
        case (_, .rsa(let k)) where alg.hasPrefix("RS") || alg.hasPrefix("PS"):
            let padding: _RSA.Signing.Padding = alg.hasPrefix("PS") ? .PSS : .insecurePKCS1v1_5
            let s = _RSA.Signing.RSASignature(rawRepresentation: sig)
            switch alg.dropFirst(2) {
            case "256": return k.isValidSignature(s, for: SHA256.hash(data: signed), padding: padding)
            case "384": return k.isValidSignature(s, for: SHA384.hash(data: signed), padding: padding)
            case "512": return k.isValidSignature(s, for: SHA512.hash(data: signed), padding: padding)
            default: return false
            }
        case ("ES256", .p256(let k)):
            guard let s = try? P256.Signing.ECDSASignature(rawRepresentation: sig) else { return false }
            return k.isValidSignature(s, for: SHA256.hash(data: signed))
        case ("ES384", .p384(let k)):
            guard let s = try? P384.Signing.ECDSASignature(rawRepresentation: sig) else { return false }
            return k.isValidSignature(s, for: SHA384.hash(data: signed))
        case ("ES512", .p521(let k)):
            guard let s = try? P521.Signing.ECDSASignature(rawRepresentation: sig) else { return false }
            return k.isValidSignature(s, for: SHA512.hash(data: signed))
        case ("EdDSA", .ed25519(let k)): return k.isValidSignature(sig, for: signed)
        default: return false
        }
    }

    // MARK: decode_verify

    static func decodeVerify(_ jwt: String, _ constraints: [RegoValue: RegoValue]) throws -> RegoValue {
        let invalid = RegoValue.array([.bool(false), .object([:]), .object([:])])
        var keys: [Key] = []
        var alg: String? = nil, iss: String? = nil, aud: String? = nil
        var time: Double = Date().timeIntervalSince1970 * 1e9
        for (k, v) in constraints {
            guard case .string(let name) = k else {
                throw RegoError.builtin("io.jwt.decode_verify: constraint keys must be strings")
            }
            switch (name, v) {
            case ("cert", .string(let s)): keys += try publicKeys(s)
            case ("secret", .string(let s)): keys.append(.secret(Data(s.utf8)))
            case ("alg", .string(let s)): alg = s
            case ("iss", .string(let s)): iss = s
            case ("aud", .string(let s)): aud = s
            case ("time", .number(let n)): time = n.doubleValue
            case ("cert", _), ("secret", _), ("alg", _), ("iss", _), ("aud", _), ("time", _):
                throw RegoError.builtin("io.jwt.decode_verify: invalid value for constraint \(name)")
            default: throw RegoError.builtin("io.jwt.decode_verify: unknown token validation constraint: \(name)")
            }
        }
        if keys.isEmpty {
            throw RegoError.builtin("io.jwt.decode_verify: no key or secret given (constraints cert or secret)")
        }
        // Verify the outermost signature, then decode (following nested tokens).
        let parts = try split(jwt)
        guard let hdata = base64URL(parts[0]), case .object(let ho)? = try? RegoValue(jsonData: hdata) else {
            return invalid
        }
        guard case .string(let headerAlg)? = ho[.string("alg")] else { return invalid }
        // No critical header extension is understood, so any `crit` makes the token invalid (RFC 7515 4.1.11).
        if ho[.string("crit")] != nil { return invalid }
        if let alg, alg != headerAlg { return invalid }
        guard let sig = base64URL(parts[2]) else { return invalid }
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        guard keys.contains(where: { verify(alg: headerAlg, key: $0, signed: signed, signature: sig) }) else {
            return invalid
        }
        if case .string(let cty)? = ho[.string("cty")], cty.uppercased() == "JWT", let p = base64URL(parts[1]) {
            // A nested token: its own signature must verify with the same keys.
            let inner: String
            if case .string(let s)? = try? RegoValue(jsonData: p) {
                inner = s
            } else {
                inner = String(decoding: p, as: UTF8.self)
            }
            return try decodeVerify(inner, constraints)
        }
        let token = try decode(jwt)
        guard case .object(let p) = token.payload else { return invalid }
        let now = time / 1e9
        if let exp = p[.string("exp")] {
            guard case .number(let e) = exp else { throw RegoError.builtin("exp value must be a number") }
            if now >= e.doubleValue { return invalid }
        }
        if let nbf = p[.string("nbf")] {
            guard case .number(let n) = nbf else { throw RegoError.builtin("nbf value must be a number") }
            if now < n.doubleValue { return invalid }
        }
        if let iss, p[.string("iss")] != .string(iss) { return invalid }
        switch p[.string("aud")] {
        case nil: if aud != nil { return invalid }
        case .string(let a)?: if aud != a { return invalid }
        case .array(let list)?: guard let aud, list.contains(.string(aud)) else { return invalid }
        default: return invalid
        }
        return .array([.bool(true), token.header, token.payload])
    }

    // MARK: signing

    static func sign(_ fn: String, header: String, payload: String, key: String) throws -> String {
        // OPA's messages (from its JWS library).
        guard let hv = try? RegoValue(jsonString: header) else {
            throw RegoError.builtin(
                "\(fn): missing or invalid 'alg' header: cannot parse JSON"
                    + (header.isEmpty ? ": cannot parse empty string" : ""))
        }
        guard case .object(let h) = hv, case .string(let alg)? = h[.string("alg")] else {
            throw RegoError.builtin("\(fn): missing or invalid 'alg' header: jwsbb: header \"alg\" not found")
        }
        guard case .object(let k)? = try? RegoValue(jsonString: key) else {
            throw RegoError.builtin("\(fn): invalid JWK: not a JSON object")
        }
        if (try? RegoValue(jsonString: payload)) == nil, h[.string("cty")] == nil,
            h[.string("typ")] != .string("text/plain")
        {
            // OPA accepts a non-JSON payload only with an explicit media type.
            throw RegoError.builtin("\(fn): type is JWT but payload is not JSON")
        }
        let input = base64URLEncode(Data(header.utf8)) + "." + base64URLEncode(Data(payload.utf8))
        let data = Data(input.utf8)
        func field(_ name: String) throws -> Data {
            guard case .string(let s)? = k[.string(name)], let d = base64URL(Substring(s)) else {
                throw RegoError.builtin("\(fn): JWK is missing \(name)")
            }
            return d
        }
        let sig: Data
        switch alg {
        case "HS256": sig = Data(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: try field("k"))))
        case "HS384": sig = Data(HMAC<SHA384>.authenticationCode(for: data, using: SymmetricKey(data: try field("k"))))
        case "HS512": sig = Data(HMAC<SHA512>.authenticationCode(for: data, using: SymmetricKey(data: try field("k"))))
        case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
            let pk = try _RSA.Signing.PrivateKey(
                n: try field("n"), e: try field("e"), d: try field("d"), p: try field("p"), q: try field("q"))
            let padding: _RSA.Signing.Padding = alg.hasPrefix("PS") ? .PSS : .insecurePKCS1v1_5
            switch alg.dropFirst(2) {
            case "256": sig = try pk.signature(for: SHA256.hash(data: data), padding: padding).rawRepresentation
            case "384": sig = try pk.signature(for: SHA384.hash(data: data), padding: padding).rawRepresentation
            default: sig = try pk.signature(for: SHA512.hash(data: data), padding: padding).rawRepresentation
            }
        case "ES256":
            sig = try P256.Signing.PrivateKey(rawRepresentation: try field("d")).signature(for: data).rawRepresentation
        case "ES384":
            sig = try P384.Signing.PrivateKey(rawRepresentation: try field("d")).signature(for: data).rawRepresentation
        case "ES512":
            sig = try P521.Signing.PrivateKey(rawRepresentation: try field("d")).signature(for: data).rawRepresentation
        case "EdDSA": sig = try Curve25519.Signing.PrivateKey(rawRepresentation: try field("d")).signature(for: data)
        default: throw RegoError.builtin("\(fn): unknown JWS algorithm: \(alg)")
        }
        return input + "." + base64URLEncode(sig)
    }
}

/// Just enough DER to find a certificate's SubjectPublicKeyInfo (the keys themselves are parsed by swift-crypto).
enum DER {
    /// (tag, content range, end) of the element at `i`.
    static func element(_ d: [UInt8], _ i: Int) -> (tag: UInt8, start: Int, end: Int)? {
        guard i + 1 < d.count else { return nil }
        let tag = d[i]
        var len = Int(d[i + 1]), p = i + 2
        if len & 0x80 != 0 {
            let n = len & 0x7f
            guard n <= 4, p + n <= d.count else { return nil }
            len = 0
            for j in 0..<n { len = len << 8 | Int(d[p + j]) }
            p += n
        }
        guard p + len <= d.count else { return nil }
        return (tag, p, p + len)
    }

    static func subjectPublicKeyInfo(ofCertificate der: Data) -> Data? {
        let d = [UInt8](der)
        guard let cert = element(d, 0), cert.tag == 0x30, let tbs = element(d, cert.start), tbs.tag == 0x30 else {
            return nil
        }
        var i = tbs.start
        var index = 0
        while i < tbs.end, let e = element(d, i) {
            if e.tag == 0xa0 {
                i = e.end
                continue
            }  // [0] version
            // serial, signature algorithm, issuer, validity, subject, then the key.
            if index == 5 { return Data(d[i..<e.end]) }
            index += 1
            i = e.end
        }
        return nil
    }
}
