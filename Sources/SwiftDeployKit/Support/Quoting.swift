import Foundation

/// How messages show a value a user wrote: in double quotes, control characters and quotes escaped, cut at 80
/// characters, so a hostile value cannot forge a line of output or hide in one.
public enum Quoting {
    public static func quote(_ value: String) -> String {
        var escaped = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    escaped += String(format: "\\u%04X", scalar.value)
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        let limited = escaped.count > 80 ? String(escaped.prefix(77)) + "..." : escaped
        return "\"\(limited)\""
    }
}
