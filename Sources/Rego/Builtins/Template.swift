import Foundation

/// `internal.template_string`: the value of a template string (`$"…{expr}…"`), which the parser
/// turns into a call with literal parts (strings) and embedded expressions (sets of their values).
extension Builtins {
    static func registerTemplate(_ t: inout [String: Builtin]) {
        t["internal.template_string"] = Builtin(arity: 1) { a, _ in
            var out = ""
            for part in try array("internal.template_string", a, 0) {
                switch part {
                case .string(let s): out += s
                case .set(let values):
                    guard let v = values.first else {
                        out += "<undefined>"
                        continue
                    }
                    guard values.count == 1 else {
                        throw RegoError.builtin("template-strings must not produce multiple outputs")
                    }
                    if case .string(let s) = v { out += s } else { out += GoFormat.regoString(v) }
                default: throw typeError("internal.template_string", 1, "array of strings and sets", part)
                }
            }
            return .string(out)
        }
    }
}
