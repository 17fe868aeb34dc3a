import BigInt
import Foundation

/// `bits.*`: bitwise operations on integers (arbitrary precision, as Go's big.Int in OPA).
extension Builtins {
    static func registerBits(_ t: inout [String: Builtin]) {
        func integer(_ fn: String, _ a: [RegoValue], _ i: Int) throws -> BigInt {
            let n = try number(fn, a, i)
            // Integral by value, whatever its text (`2.0`, `1e3`), as OPA's operand check is.
            guard n.isInteger else {
                throw RegoError.typeError(
                    "\(fn): operand \(i + 1) must be integer number but got floating-point number")
            }
            return n.mantissa
        }
        func binary(_ name: String, _ f: @escaping (BigInt, BigInt) -> BigInt) {
            t[name] = Builtin(arity: 2) { a, _ in
                .number(RegoNumber(f(try integer(name, a, 0), try integer(name, a, 1))))
            }
        }
        binary("bits.and") { $0 & $1 }
        binary("bits.or") { $0 | $1 }
        binary("bits.xor") { $0 ^ $1 }
        t["bits.negate"] = Builtin(arity: 1) { a, _ in .number(RegoNumber(~(try integer("bits.negate", a, 0)))) }
        for (name, left) in [("bits.lsh", true), ("bits.rsh", false)] {
            t[name] = Builtin(arity: 2) { a, _ in
                let x = try integer(name, a, 0), s = try integer(name, a, 1)
                guard s >= 0 else {
                    throw RegoError.typeError(
                        "\(name): operand 2 must be an unsigned integer number but got a negative integer")
                }
                guard s <= 1 << 20 else { throw RegoError.builtin("\(name): shift of \(s) bits is too large") }
                return .number(RegoNumber(left ? x << Int(s) : x >> Int(s)))
            }
        }
    }
}
