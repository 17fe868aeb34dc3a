import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `net.cidr_*` builtins over IPv4 and IPv6 networks (addresses parsed with inet_pton, as Go's net package reads them).
extension Builtins {
    static func registerNet(_ t: inout [String: Builtin]) {
        t["net.cidr_contains"] = Builtin(arity: 2) { a, _ in
            let fn = "net.cidr_contains"
            let outer = try CIDR.parse(try string(fn, a, 0), fn)
            let inner = try CIDR.parseAddressOrCIDR(try string(fn, a, 1), fn)
            return .bool(outer.contains(inner))
        }
        t["net.cidr_intersects"] = Builtin(arity: 2) { a, _ in
            let fn = "net.cidr_intersects"
            let x = try CIDR.parse(try string(fn, a, 0), fn), y = try CIDR.parse(try string(fn, a, 1), fn)
            return .bool(x.contains(y.network) || y.contains(x.network))
        }
        t["net.cidr_is_valid"] = Builtin(arity: 1) { a, _ in
            .bool((try? CIDR.parse(try string("net.cidr_is_valid", a, 0), "net.cidr_is_valid")) != nil)
        }
        t["net.cidr_expand"] = Builtin(arity: 1) { a, _ in
            let fn = "net.cidr_expand"
            let c = try CIDR.parse(try string(fn, a, 0), fn)
            let hostBits = c.bytes.count * 8 - c.prefix
            guard hostBits <= 16 else {
                throw RegoError.builtin("\(fn): network \(c) too large to expand (at most 65536 addresses)")
            }
            var out: [RegoValue] = []
            var addr = c.network
            for i in 0..<(1 << hostBits) {
                if i > 0 { addr = addr.incremented() }
                out.append(.string(addr.addressString))
            }
            return .set(Set(out))
        }
        t["net.cidr_merge"] = Builtin(arity: 1) { a, _ in
            let fn = "net.cidr_merge"
            var nets: [CIDR] = []
            for v in try collection(fn, a, 0) {
                guard case .string(let s) = v else { throw typeError(fn, 1, "array of strings", v) }
                nets.append(try CIDR.parseForMerge(s, fn))
            }
            return .set(Set(CIDR.merge(nets).map { .string($0.description) }))
        }
        t["net.cidr_contains_matches"] = Builtin(arity: 2) { a, _ in
            let fn = "net.cidr_contains_matches"
            let cidrs = try CIDR.matchOperand(a[0], fn, 1), addrs = try CIDR.matchOperand(a[1], fn, 2)
            var out = Set<RegoValue>()
            for (ck, cs) in cidrs {
                let net = try CIDR.parse(cs, fn)
                for (ak, as_) in addrs {
                    if let x = try? CIDR.parseAddressOrCIDR(as_, fn), net.contains(x) { out.insert(.array([ck, ak])) }
                }
            }
            return .set(out)
        }
    }
}

/// An IP network (address bytes, 4 or 16, and prefix length).
struct CIDR: CustomStringConvertible {
    var bytes: [UInt8]
    var prefix: Int

    var network: CIDR {
        var b = bytes
        for i in 0..<b.count {
            let bits = max(0, min(8, prefix - i * 8))
            b[i] &= bits == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bits))
        }
        return CIDR(bytes: b, prefix: prefix)
    }

    var description: String { "\(addressString)/\(prefix)" }

    var addressString: String {
        var buf = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buf, socklen_t(buf.count)) }
        return String(cString: buf)
    }

    func incremented() -> CIDR {
        var b = bytes
        var i = b.count - 1
        while i >= 0 {
            b[i] &+= 1
            if b[i] != 0 { break }
            i -= 1
        }
        return CIDR(bytes: b, prefix: prefix)
    }

    /// True when `other` (a network or a single address) lies inside this network.
    func contains(_ other: CIDR) -> Bool {
        guard other.bytes.count == bytes.count, other.prefix >= prefix else { return false }
        var o = other
        o.prefix = prefix
        return o.network.bytes == network.bytes
    }

    static func address(_ s: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, s, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func parse(_ s: String, _ fn: String) throws -> CIDR {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bytes = address(String(parts[0])), let p = Int(parts[1]), p >= 0,
            p <= bytes.count * 8,
            parts[1].allSatisfy(\.isNumber)
        else {
            throw RegoError.builtin("\(fn): invalid CIDR address: \(s)")
        }
        return CIDR(bytes: bytes, prefix: p)
    }

    static func parseAddressOrCIDR(_ s: String, _ fn: String) throws -> CIDR {
        if let b = address(s) { return CIDR(bytes: b, prefix: b.count * 8) }
        return try parse(s, fn)
    }

    /// `net.cidr_merge` accepts IPv4 addresses without a prefix (taking their classful mask), not IPv6 ones.
    static func parseForMerge(_ s: String, _ fn: String) throws -> CIDR {
        if !s.contains("/") {
            guard let b = address(s) else { throw RegoError.builtin("\(fn): IP invalid: \(s)") }
            if b.count == 16 { throw RegoError.builtin("\(fn): IPv6 invalid: needs prefix length") }
            // Go's IP.DefaultMask: the classful mask of the address.
            let prefix = b[0] < 0x80 ? 8 : (b[0] < 0xC0 ? 16 : (b[0] < 0xE0 ? 24 : 32))
            return CIDR(bytes: b, prefix: prefix).network
        }
        return try parse(s, fn).network
    }

    /// Merges adjacent and contained networks (as OPA's cidr_merge: IPv4 first, then IPv6).
    static func merge(_ nets: [CIDR]) -> [CIDR] {
        var out: [CIDR] = []
        for family in [4, 16] {
            var list = nets.filter { $0.bytes.count == family }.map(\.network)
            list.sort {
                ($0.bytes.lexicographicallyPrecedes($1.bytes)) || ($0.bytes == $1.bytes && $0.prefix < $1.prefix)
            }
            var changed = true
            while changed {
                changed = false
                var next: [CIDR] = []
                for n in list {
                    if let last = next.last, last.contains(n) { continue }
                    if let last = next.last, last.prefix == n.prefix, last.prefix > 0 {
                        var parent = last
                        parent.prefix -= 1
                        parent = parent.network
                        var sibling = n
                        sibling.prefix -= 1
                        if sibling.network.bytes == parent.bytes {
                            next[next.count - 1] = parent
                            changed = true
                            continue
                        }
                    }
                    next.append(n)
                }
                list = next
            }
            out += list
        }
        return out
    }

    /// Elements of a `cidr_contains_matches` operand as (key, address) pairs.
    static func matchOperand(_ v: RegoValue, _ fn: String, _ i: Int) throws -> [(RegoValue, String)] {
        func item(_ key: RegoValue, _ x: RegoValue) throws -> (RegoValue, String) {
            switch x {
            case .string(let s): return (key, s)
            case .array(let t):
                if case .string(let s)? = t.first { return (key, s) }
            default: break
            }
            throw RegoError.builtin("\(fn): operand \(i): element must be string or non-empty array")
        }
        switch v {
        case .string(let s): return [(v, s)]
        case .array(let items): return try items.enumerated().map { try item(.int($0.offset), $0.element) }
        case .set: return try v.sortedElements.map { try item($0, $0) }
        case .object(let o): return try o.sorted { $0.key < $1.key }.map { try item($0.key, $0.value) }
        default:
            throw RegoError.typeError(
                "\(fn): operand \(i) must be one of {string, array, set, object} but got \(v.typeName)")
        }
    }
}
