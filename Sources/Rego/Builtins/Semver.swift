import Foundation

/// `semver.is_valid` and `semver.compare` (Semantic Versioning 2.0.0; build metadata is ignored when comparing).
extension Builtins {
    static func registerSemver(_ t: inout [String: Builtin]) {
        t["semver.is_valid"] = Builtin(arity: 1) { a, _ in
            guard case .string(let s) = a[0] else { return .bool(false) }
            return .bool(SemanticVersion(s) != nil)
        }
        t["semver.compare"] = Builtin(arity: 2) { a, _ in
            let fn = "semver.compare"
            let x = try string(fn, a, 0), y = try string(fn, a, 1)
            guard let p = SemanticVersion(x) else {
                throw RegoError.builtin(
                    "\(fn): operand 1: string \(RegoValue.string(x).jsonString()) is not a valid SemVer")
            }
            guard let q = SemanticVersion(y) else {
                throw RegoError.builtin(
                    "\(fn): operand 2: string \(RegoValue.string(y).jsonString()) is not a valid SemVer")
            }
            return .int(p.compare(q))
        }
    }
}

struct SemanticVersion {
    var core: [BigIntString]
    var prerelease: [String]

    /// Digits compared by value without overflow.
    struct BigIntString { let digits: String }

    init?(_ s: String) {
        var rest = Substring(s)
        if let plus = rest.firstIndex(of: "+") {
            let build = rest[rest.index(after: plus)...]
            guard !build.isEmpty,
                build.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({
                    SemanticVersion.isIdentifier($0)
                })
            else { return nil }
            rest = rest[..<plus]
        }
        prerelease = []
        if let dash = rest.firstIndex(of: "-") {
            let pre = rest[rest.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false)
            guard
                pre.allSatisfy({
                    SemanticVersion.isIdentifier($0) && !($0.count > 1 && $0.first == "0" && $0.allSatisfy(\.isNumber))
                })
            else { return nil }
            prerelease = pre.map(String.init)
            rest = rest[..<dash]
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            parts.allSatisfy({
                !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } && !($0.count > 1 && $0.first == "0")
            })
        else { return nil }
        core = parts.map { BigIntString(digits: String($0)) }
    }

    static func isIdentifier(_ s: Substring) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    static func compareNumeric(_ a: String, _ b: String) -> Int {
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        return a == b ? 0 : (a < b ? -1 : 1)
    }

    func compare(_ o: SemanticVersion) -> Int {
        for (x, y) in zip(core, o.core) {
            let c = Self.compareNumeric(x.digits, y.digits)
            if c != 0 { return c }
        }
        switch (prerelease.isEmpty, o.prerelease.isEmpty) {
        case (true, true): return 0
        case (true, false): return 1
        case (false, true): return -1
        default: break
        }
        for (x, y) in zip(prerelease, o.prerelease) {
            let xn = x.allSatisfy(\.isNumber), yn = y.allSatisfy(\.isNumber)
            let c: Int
            switch (xn, yn) {
            case (true, true): c = Self.compareNumeric(x, y)
            case (true, false): c = -1
            case (false, true): c = 1
            default: c = x == y ? 0 : (x < y ? -1 : 1)
            }
            if c != 0 { return c }
        }
        return prerelease.count == o.prerelease.count ? 0 : (prerelease.count < o.prerelease.count ? -1 : 1)
    }
}
