import BigInt

extension Builtins {
    /// Splits "1.5e3Ki" into ("1.5e3", "Ki").
    static func splitAmount(_ s: String) -> (String, String) {
        let c = Array(s)
        var i = 0
        if i < c.count, c[i] == "-" || c[i] == "+" { i += 1 }
        while i < c.count, c[i].isASCII, c[i].isNumber || c[i] == "." { i += 1 }
        if i < c.count, c[i] == "e" || c[i] == "E" {
            var j = i + 1
            if j < c.count, c[j] == "-" || c[j] == "+" { j += 1 }
            if j < c.count, c[j].isASCII, c[j].isNumber {
                while j < c.count, c[j].isASCII, c[j].isNumber { j += 1 }
                i = j
            }
        }
        return (String(c[..<i]), String(c[i...]))
    }

    static func power(_ base: Int, _ exp: Int) -> RegoNumber { RegoNumber(BigInt(base).power(exp)) }

    static func registerUnits(_ t: inout [String: Builtin]) {
        t["units.parse_bytes"] = Builtin(arity: 1) { a, _ in
            let fn = "units.parse_bytes"
            var s = try string(fn, a, 0)
            s = s.trimmingCharacters(in: ["\""]).lowercased()
            if s.contains(" ") { throw RegoError.builtin("\(fn): spaces not allowed in resource strings") }
            let (num, unit) = splitAmount(s)
            if num.isEmpty || num == "-" || num == "+" { throw RegoError.builtin("\(fn): no byte amount provided") }
            let mult: RegoNumber
            switch unit {
            case "": mult = RegoNumber(1)
            case "kb", "k": mult = power(1000, 1)
            case "kib", "ki": mult = power(1024, 1)
            case "mb", "m": mult = power(1000, 2)
            case "mib", "mi": mult = power(1024, 2)
            case "gb", "g": mult = power(1000, 3)
            case "gib", "gi": mult = power(1024, 3)
            case "tb", "t": mult = power(1000, 4)
            case "tib", "ti": mult = power(1024, 4)
            case "pb", "p": mult = power(1000, 5)
            case "pib", "pi": mult = power(1024, 5)
            case "eb", "e": mult = power(1000, 6)
            case "eib", "ei": mult = power(1024, 6)
            default: throw RegoError.builtin("\(fn): byte unit \(unit) not recognized")
            }
            guard let n = RegoNumber(parsing: num) else {
                throw RegoError.builtin("\(fn): could not parse byte amount to a number")
            }
            let total = n * mult
            let truncated = total.sign < 0 ? total.ceil() : total.floor()
            return .number(truncated)
        }
        t["units.parse"] = Builtin(arity: 1) { a, _ in
            let fn = "units.parse"
            var s = try string(fn, a, 0)
            s = s.trimmingCharacters(in: ["\""])
            if s.contains(" ") { throw RegoError.builtin("\(fn): spaces not allowed in resource strings") }
            var (num, unit) = splitAmount(s)
            if num.isEmpty || num == "-" || num == "+" { throw RegoError.builtin("\(fn): no amount provided") }
            if unit.count > 1 { unit = String(unit.prefix(1)) + unit.dropFirst().lowercased() }
            let mult: RegoNumber
            switch unit {
            case "m": mult = RegoNumber(mantissa: 1, scale: 3)
            case "": mult = RegoNumber(1)
            case "k", "K": mult = power(1000, 1)
            case "ki", "Ki": mult = power(1024, 1)
            case "M": mult = power(1000, 2)
            case "mi", "Mi": mult = power(1024, 2)
            case "g", "G": mult = power(1000, 3)
            case "gi", "Gi": mult = power(1024, 3)
            case "t", "T": mult = power(1000, 4)
            case "ti", "Ti": mult = power(1024, 4)
            case "p", "P": mult = power(1000, 5)
            case "pi", "Pi": mult = power(1024, 5)
            case "e", "E": mult = power(1000, 6)
            case "ei", "Ei": mult = power(1024, 6)
            default: throw RegoError.builtin("\(fn): unit \(unit) not recognized")
            }
            guard let n = RegoNumber(parsing: num) else {
                throw RegoError.builtin("\(fn): could not parse amount to a number")
            }
            return .number(n * mult)
        }
    }
}
