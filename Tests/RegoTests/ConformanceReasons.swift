import Foundation

/// Reasons recorded in `conformance-exclusions.txt` for whole areas this engine leaves out
/// (`REGO_CONFORMANCE_RECORD=1` writes them); other failures are recorded with their message.
enum ConformanceReasons {
    static let byDirectory: [String: String] = [
        "graphql":
            """
        graphql.* builtins not implemented: they need a GraphQL schema parser and validator with OPA's \
        (gqlparser's) AST and error messages
        """,
        "providers-aws":
            "providers.aws.sign_req not supported: it signs requests for http.send, which policies here may not make",
        "netlookupipaddr": "net.lookup_ip_addr not supported: policies have no network access (DNS)",
        "cryptox509parsecertificates":
            "crypto.x509.* not implemented: X.509 parsing into OPA's (Go's) certificate JSON shape",
        "cryptox509parsecertificaterequest":
            "crypto.x509.* not implemented: X.509 parsing into OPA's (Go's) certificate JSON shape",
        "cryptox509parseandverifycertificates": "crypto.x509.* not implemented: X.509 chain verification",
        "cryptox509parsekeypair": "crypto.x509.* not implemented: key pair parsing",
        "cryptox509parsersaprivatekey": "crypto.x509.* not implemented: RSA private key to JWK",
        "cryptoparsersaprivatekeys": "crypto.parse_private_keys not implemented",
        "jsonschema":
            """
        json.verify_schema / json.match_schema not implemented: needs a JSON Schema validator with \
        gojsonschema's messages
        """,
        "rendertemplate": "strings.render_template not implemented: needs Go's text/template",
        "regexmatchtemplate": "regex.template_match not implemented",
        "regoparsemodule": "rego.parse_module not implemented: returns OPA's AST as JSON",
        "regometadatachain": "rego.metadata.* not implemented: METADATA annotations are not parsed",
        "regometadatarule": "rego.metadata.* not implemented: METADATA annotations are not parsed",
        "planner-ir": "cases of OPA's IR planner (wasm/plan target) that depend on its specific behaviour",
    ]

    static func reason(dir: String, failure: String) -> String {
        if let r = byDirectory[dir] { return r }
        return failure.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
    }
}
