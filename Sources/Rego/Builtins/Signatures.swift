import Foundation

/// The type signature of every builtin, in OPA's notation (`(name: type, …) => type`).
///
/// One table: the registry takes each builtin's arity from here and the type checker
/// its argument and result types. `BuiltinSignatureTests` asserts that every registered
/// builtin has a signature and that the two agree. Types: `any`, `any<T, …>` (one of),
/// `string`, `number`, `boolean`, `null`, `array[T]`, `set[T]`, `object[K: V]`.
/// A signature of `(...)` takes any number of arguments of any type.
enum BuiltinSignatures {
    static let collection = "any<string, array[any], object[any: any], set[any]>"
    static let arrayOrSet = "any<array[any], set[any]>"
    static let numbers = "any<array[number], set[number]>"
    static let strings = "any<array[string], set[string]>"

    static let table: [String: String] = [
        // comparison, arithmetic, sets
        "equal": "(x: any, y: any) => boolean",
        "neq": "(x: any, y: any) => boolean",
        "lt": "(x: any, y: any) => boolean",
        "lte": "(x: any, y: any) => boolean",
        "gt": "(x: any, y: any) => boolean",
        "gte": "(x: any, y: any) => boolean",
        "internal.member_2": "(x: any, y: any) => boolean",
        "internal.member_3": "(x: any, y: any, z: any) => boolean",
        "plus": "(x: number, y: number) => number",
        "minus": "(x: any<number, set[any]>, y: any<number, set[any]>) => any<number, set[any]>",
        "mul": "(x: number, y: number) => number",
        "div": "(x: number, y: number) => number",
        "rem": "(x: number, y: number) => number",
        "abs": "(x: number) => number",
        "round": "(x: number) => number",
        "ceil": "(x: number) => number",
        "floor": "(x: number) => number",
        "numbers.range": "(a: number, b: number) => array[number]",
        "numbers.range_step": "(a: number, b: number, step: number) => array[number]",
        "or": "(x: set[any], y: set[any]) => set[any]",
        "and": "(x: set[any], y: set[any]) => set[any]",
        "intersection": "(xs: set[set[any]]) => set[any]",
        "union": "(xs: set[set[any]]) => set[any]",
        "bits.and": "(x: number, y: number) => number",
        "bits.or": "(x: number, y: number) => number",
        "bits.xor": "(x: number, y: number) => number",
        "bits.negate": "(x: number) => number",
        "bits.lsh": "(x: number, s: number) => number",
        "bits.rsh": "(x: number, s: number) => number",
        // aggregates
        "count": "(collection: \(collection)) => number",
        "sum": "(collection: \(numbers)) => number",
        "product": "(collection: \(numbers)) => number",
        "max": "(collection: \(arrayOrSet)) => any",
        "min": "(collection: \(arrayOrSet)) => any",
        "sort": "(collection: \(arrayOrSet)) => array[any]",
        "all": "(collection: \(arrayOrSet)) => boolean",
        "any": "(collection: \(arrayOrSet)) => boolean",
        // arrays and objects
        "array.concat": "(x: array[any], y: array[any]) => array[any]",
        "array.flatten": "(arr: array[any]) => array[any]",
        "array.reverse": "(arr: array[any]) => array[any]",
        "array.slice": "(arr: array[any], start: number, stop: number) => array[any]",
        "object.filter": "(object: object[any: any], keys: any<array[any], object[any: any], set[any]>) => any",
        "object.get": "(object: object[any: any], key: any, default: any) => any",
        "object.keys": "(object: object[any: any]) => set[any]",
        "object.remove": "(object: object[any: any], keys: any<array[any], object[any: any], set[any]>) => any",
        "object.subset": "(super: any<array[any], object[any: any], set[any]>, sub: any) => any",
        "object.union": "(a: object[any: any], b: object[any: any]) => any",
        "object.union_n": "(objects: array[object[any: any]]) => any",
        "json.filter":
            """
        (object: object[any: any], paths: any<array[any<string, array[any]>], set[any<string, array[any]>]>) \
        => any
        """,
        "json.remove":
            """
        (object: object[any: any], paths: any<array[any<string, array[any]>], set[any<string, array[any]>]>) \
        => any
        """,
        "walk": "(x: any) => array[any]",
        "json.patch": "(object: any, patches: array[object[string: any]]) => any",
        // strings
        "concat": "(delimiter: string, collection: \(strings)) => string",
        "contains": "(haystack: string, needle: string) => boolean",
        "endswith": "(search: string, base: string) => boolean",
        "startswith": "(search: string, base: string) => boolean",
        "format_int": "(number: number, base: number) => string",
        "indexof": "(haystack: string, needle: string) => number",
        "indexof_n": "(haystack: string, needle: string) => array[number]",
        "lower": "(x: string) => string",
        "upper": "(x: string) => string",
        "replace": "(x: string, old: string, new: string) => string",
        "split": "(x: string, delimiter: string) => array[string]",
        "sprintf": "(format: string, values: array[any]) => string",
        "strings.count": "(search: string, substring: string) => number",
        "strings.replace_n": "(patterns: object[string: string], value: string) => string",
        "strings.reverse": "(x: string) => string",
        "substring": "(value: string, offset: number, length: number) => string",
        "trim_prefix": "(value: string, prefix: string) => string",
        "trim_suffix": "(value: string, suffix: string) => string",
        "trim_space": "(value: string) => string",
        "trim": "(value: string, cutset: string) => string",
        "trim_left": "(value: string, cutset: string) => string",
        "trim_right": "(value: string, cutset: string) => string",
        "strings.any_prefix_match":
            """
        (search: any<string, array[string], set[string]>, base: any<string, array[string], set[string]>) => \
        boolean
        """,
        "strings.any_suffix_match":
            """
        (search: any<string, array[string], set[string]>, base: any<string, array[string], set[string]>) => \
        boolean
        """,
        "to_number": "(x: any<null, boolean, number, string>) => number",
        "internal.template_string": "(parts: array[any]) => string",
        // regex and glob
        "re_match": "(pattern: string, value: string) => boolean",
        "regex.match": "(pattern: string, value: string) => boolean",
        "regex.is_valid": "(pattern: any) => boolean",
        "regex.find_all_string_submatch_n": "(pattern: string, value: string, number: number) => array[array[string]]",
        "regex.find_n": "(pattern: string, value: string, number: number) => array[string]",
        "regex.replace": "(s: string, pattern: string, value: string) => string",
        "regex.split": "(pattern: string, value: string) => array[string]",
        "glob.match": "(pattern: string, delimiters: any<null, array[string]>, match: string) => boolean",
        "glob.quote_meta": "(pattern: string) => string",
        "regex.template_match":
            "(template: string, value: string, delimiter_start: string, delimiter_end: string) => boolean",
        // time
        "time.now_ns": "() => number",
        "time.add_date": "(ns: number, years: number, months: number, days: number) => number",
        "time.clock": "(x: any<number, array[any<number, string>]>) => array[number]",
        "time.date": "(x: any<number, array[any<number, string>]>) => array[number]",
        "time.diff":
            """
        (ns1: any<number, array[any<number, string>]>, ns2: any<number, array[any<number, string>]>) => \
        array[number]
        """,
        "time.format": "(x: any<number, array[any<number, string>]>) => string",
        "time.parse_duration_ns": "(duration: string) => number",
        "time.parse_ns": "(layout: string, value: string) => number",
        "time.parse_rfc3339_ns": "(value: string) => number",
        "time.weekday": "(x: any<number, array[any<number, string>]>) => string",
        // units, types
        "units.parse": "(x: string) => number",
        "units.parse_bytes": "(x: string) => number",
        "type_name": "(x: any) => string",
        "is_array": "(x: any) => boolean",
        "is_boolean": "(x: any) => boolean",
        "is_null": "(x: any) => boolean",
        "is_number": "(x: any) => boolean",
        "is_object": "(x: any) => boolean",
        "is_set": "(x: any) => boolean",
        "is_string": "(x: any) => boolean",
        // encodings
        "base64.decode": "(x: string) => string",
        "base64.encode": "(x: string) => string",
        "base64.is_valid": "(x: string) => boolean",
        "base64url.decode": "(x: string) => string",
        "base64url.encode": "(x: string) => string",
        "base64url.encode_no_pad": "(x: string) => string",
        "hex.encode": "(x: string) => string",
        "hex.decode": "(x: string) => string",
        "json.is_valid": "(x: string) => boolean",
        "json.marshal": "(x: any) => string",
        "json.marshal_with_options": "(x: any, opts: object[string: any]) => string",
        "json.unmarshal": "(x: string) => any",
        "yaml.is_valid": "(x: string) => boolean",
        "yaml.marshal": "(x: any) => string",
        "yaml.unmarshal": "(x: string) => any",
        "urlquery.encode": "(x: string) => string",
        "urlquery.decode": "(x: string) => string",
        "urlquery.encode_object": "(object: object[string: any<string, array[string], set[string]>]) => string",
        "urlquery.decode_object": "(x: string) => object[string: array[string]]",
        // crypto and tokens
        "crypto.md5": "(x: string) => string",
        "crypto.sha1": "(x: string) => string",
        "crypto.sha256": "(x: string) => string",
        "crypto.hmac.md5": "(x: string, key: string) => string",
        "crypto.hmac.sha1": "(x: string, key: string) => string",
        "crypto.hmac.sha256": "(x: string, key: string) => string",
        "crypto.hmac.sha512": "(x: string, key: string) => string",
        "crypto.hmac.equal": "(mac1: string, mac2: string) => boolean",
        "io.jwt.decode": "(jwt: string) => array[any]",
        "io.jwt.decode_verify": "(jwt: string, constraints: object[string: any]) => array[any]",
        "io.jwt.encode_sign":
            "(headers: object[string: any], payload: object[string: any], key: object[string: any]) => string",
        "io.jwt.encode_sign_raw": "(headers: string, payload: string, key: string) => string",
        "io.jwt.verify_hs256": "(jwt: string, secret: string) => boolean",
        "io.jwt.verify_hs384": "(jwt: string, secret: string) => boolean",
        "io.jwt.verify_hs512": "(jwt: string, secret: string) => boolean",
        "io.jwt.verify_rs256": "(jwt: string, certificate: string) => boolean",
        "io.jwt.verify_rs384": "(jwt: string, certificate: string) => boolean",
        "io.jwt.verify_rs512": "(jwt: string, certificate: string) => boolean",
        "io.jwt.verify_ps256": "(jwt: string, certificate: string) => boolean",
        "io.jwt.verify_ps384": "(jwt: string, certificate: string) => boolean",
        "io.jwt.verify_ps512": "(jwt: string, certificate: string) => boolean",
        "io.jwt.verify_es256": "(jwt: string, certificate: string) => boolean",
        "io.jwt.verify_es384": "(jwt: string, certificate: string) => boolean",
        "io.jwt.verify_es512": "(jwt: string, certificate: string) => boolean",
        "io.jwt.verify_eddsa": "(jwt: string, certificate: string) => boolean",
        // networks, versions, graphs, identifiers
        "net.cidr_contains": "(cidr: string, cidr_or_ip: string) => boolean",
        "net.cidr_intersects": "(cidr1: string, cidr2: string) => boolean",
        "net.cidr_is_valid": "(cidr: string) => boolean",
        "net.cidr_expand": "(cidr: string) => set[string]",
        "net.cidr_merge": "(addrs: any<array[string], set[string]>) => set[string]",
        "net.cidr_contains_matches":
            """
        (cidrs: any<string, array[any], object[string: any], set[any]>, cidrs_or_ips: any<string, array[any], \
        object[string: any], set[any]>) => set[array[any]]
        """,
        "semver.is_valid": "(vsn: any) => boolean",
        "providers.aws.sign_req":
            "(request: object[any: any], aws_config: object[any: any], time_ns: number) => object[any: any]",
        // GraphQL: query and schema as strings or as the AST objects parse_query/parse_schema return
        "graphql.parse_query": "(query: string) => object[any: any]",
        "graphql.parse_schema": "(schema: string) => object[any: any]",
        "graphql.parse":
            "(query: any<string, object[any: any]>, schema: any<string, object[any: any]>) => array[object[any: any]]",
        "graphql.parse_and_verify":
            """
        (query: any<string, object[any: any]>, schema: any<string, object[any: any]>) => array[any<boolean, \
        object[any: any]>]
        """,
        "graphql.is_valid": "(query: any<string, object[any: any]>, schema: any<string, object[any: any]>) => boolean",
        "graphql.schema_is_valid": "(schema: any<string, object[any: any]>) => boolean",
        "semver.compare": "(a: string, b: string) => number",
        "graph.reachable":
            "(graph: object[any: any<array[any], set[any]>], initial: any<array[any], set[any]>) => set[any]",
        "graph.reachable_paths":
            "(graph: object[any: any<array[any], set[any]>], initial: any<array[any], set[any]>) => set[array[any]]",
        "uuid.parse": "(uuid: string) => object[string: any]",
        "uuid.rfc4122": "(k: string) => string",
        "rand.intn": "(str: string, n: number) => number",
        // runtime and debugging
        "print": "(...)",
        "trace": "(note: string) => boolean",
        "opa.runtime": "() => object[string: any]",
        "test.sleep": "(duration: string) => null",
        "http.send": "(request: object[string: any]) => object[any: any]",
    ]
}

/// A type of OPA's type checker.
indirect enum RegoType: Equatable, CustomStringConvertible {
    case any
    case null, boolean, number, string
    case array(RegoType)
    case set(RegoType)
    case object(RegoType, RegoType)
    /// An object whose keys are known (an object literal with constant keys, OPA's static
    /// object type `object<a: number>`), its fields sorted by key.
    case knownObject([Field])
    /// One of several types (`any<…>`).
    case union([RegoType])

    /// A field of a `knownObject`.
    struct Field: Equatable {
        var key: RegoValue
        var type: RegoType
    }

    var description: String {
        switch self {
        case .any: return "any"
        case .null: return "null"
        case .boolean: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array(let e): return "array[\(e)]"
        case .set(let e): return "set[\(e)]"
        case .object(let k, let v): return "object[\(k): \(v)]"
        case .knownObject(let fs):
            return "object<"
                + fs.map { f in
                    if case .string(let s) = f.key { return "\(s): \(f.type)" }
                    return "\(f.key.jsonString()): \(f.type)"
                }.joined(separator: ", ") + ">"
        case .union(let ts): return "any<" + ts.map(\.description).joined(separator: ", ") + ">"
        }
    }

    /// True for null, boolean, number and string, and unions of them only.
    var isScalar: Bool {
        switch self {
        case .null, .boolean, .number, .string: return true
        case .union(let ts): return ts.allSatisfy(\.isScalar)
        default: return false
        }
    }

    /// OPA's `unifies`: could a value of this type also be of `other`?
    func unifies(_ other: RegoType) -> Bool {
        switch (self, other) {
        case (.any, _), (_, .any): return true
        case (.union(let ts), _): return ts.contains { $0.unifies(other) }
        case (_, .union(let ts)): return ts.contains { self.unifies($0) }
        case (.null, .null), (.boolean, .boolean), (.number, .number), (.string, .string): return true
        case (.array(let a), .array(let b)), (.set(let a), .set(let b)): return a.unifies(b)
        case (.object(let k1, let v1), .object(let k2, let v2)): return k1.unifies(k2) && v1.unifies(v2)
        case (.knownObject(let fs), .object(let k, let v)), (.object(let k, let v), .knownObject(let fs)):
            return fs.allSatisfy { RegoType.of($0.key).unifies(k) && $0.type.unifies(v) }
        // Two known objects: left open (never refused here).
        case (.knownObject, .knownObject): return true
        default: return false
        }
    }

    /// The union of types, flattened; `any` absorbs the rest.
    static func join(_ types: [RegoType]) -> RegoType {
        var out: [RegoType] = []
        for t in types {
            let parts: [RegoType]
            if case .union(let ts) = t { parts = ts } else { parts = [t] }
            for p in parts {
                if p == .any { return .any }
                if !out.contains(p) { out.append(p) }
            }
        }
        if out.isEmpty { return .any }
        return out.count == 1 ? out[0] : .union(out)
    }

    /// The type of a value.
    static func of(_ v: RegoValue) -> RegoType {
        switch v {
        case .null: return .null
        case .bool: return .boolean
        case .number: return .number
        case .string: return .string
        case .array(let items): return .array(join(items.map(of)))
        case .set(let items): return .set(join(items.map(of)))
        case .object(let o): return .object(join(o.keys.map(of)), join(o.values.map(of)))
        }
    }
}

/// A parsed builtin signature.
struct BuiltinSignature {
    var argNames: [String]
    var args: [RegoType]
    var result: RegoType
    /// True for `(...)`: any number of arguments of any type.
    var variadic: Bool

    var arity: Int { variadic ? -1 : args.count }

    /// `want: (name: type, …)` as OPA prints it.
    var wantDescription: String {
        "(" + zip(argNames, args).map { $0.isEmpty ? "\($1)" : "\($0): \($1)" }.joined(separator: ", ") + ")"
    }

    /// Parses OPA's notation; nil for a malformed signature (a test checks the whole table parses). Reads UTF-8 bytes:
    /// every engine start parses the whole table, and Character-wise parsing was most of compiling a small bundle.
    /// A word is ASCII letters, digits and `_`; spaces are U+0020 (`TypeCheckerTests` holds this against the
    /// Character-wise reading it replaced).
    init?(_ text: String) {
        var text = text
        guard
            let parsed = text.withUTF8({ bytes -> BuiltinSignature? in
                var scanner = SignatureScanner(bytes: bytes)
                return scanner.signature()
            })
        else { return nil }
        self = parsed
    }

    init(argNames: [String], args: [RegoType], result: RegoType, variadic: Bool) {
        self.argNames = argNames
        self.args = args
        self.result = result
        self.variadic = variadic
    }

    /// Parsed signatures by builtin name.
    static let all: [String: BuiltinSignature] = BuiltinSignatures.table.compactMapValues(BuiltinSignature.init)
}

/// The byte-wise reader of a signature (see ``BuiltinSignature/init(_:)``).
private struct SignatureScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func skip() { while i < bytes.count, bytes[i] == UInt8(ascii: " ") { i += 1 } }

    mutating func eat(_ s: StaticString) -> Bool {
        skip()
        let n = s.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        for k in 0..<n where bytes[i + k] != s.utf8Start[k] { return false }
        i += n
        return true
    }

    mutating func word() -> String {
        skip()
        let start = i
        while i < bytes.count {
            let c = bytes[i]
            let isWord =
                (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_")
            guard isWord else { break }
            i += 1
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    mutating func type() -> RegoType? {
        switch word() {
        case "any":
            guard eat("<") else { return .any }
            var ts: [RegoType] = []
            repeat {
                guard let t = type() else { return nil }
                ts.append(t)
            } while eat(",")
            return eat(">") ? .union(ts) : nil
        case "null": return .null
        case "boolean": return .boolean
        case "number": return .number
        case "string": return .string
        case "array":
            guard eat("["), let e = type(), eat("]") else { return nil }
            return .array(e)
        case "set":
            guard eat("["), let e = type(), eat("]") else { return nil }
            return .set(e)
        case "object":
            guard eat("["), let k = type(), eat(":"), let v = type(), eat("]") else { return nil }
            return .object(k, v)
        default: return nil
        }
    }

    mutating func signature() -> BuiltinSignature? {
        guard eat("(") else { return nil }
        var argNames: [String] = []
        var args: [RegoType] = []
        if eat("...") {
            guard eat(")") else { return nil }
            return BuiltinSignature(argNames: [], args: [], result: .any, variadic: true)
        }
        if !eat(")") {
            repeat {
                let save = i
                let name = word()
                if eat(":") {
                    argNames.append(name)
                } else {
                    i = save
                    argNames.append("")
                }
                guard let t = type() else { return nil }
                args.append(t)
            } while eat(",")
            guard eat(")") else { return nil }
        }
        guard eat("=>"), let result = type() else { return nil }
        skip()
        guard i == bytes.count else { return nil }
        return BuiltinSignature(argNames: argNames, args: args, result: result, variadic: false)
    }
}
