import Foundation

/// Escaping for the two contexts generated files put values into. Both run on
/// values that already passed `ManifestGrammar`; they are the second line of defence.
enum Escaping {
    /// A YAML double-quoted scalar that Compose will not interpolate (`$` doubled).
    static func composeString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "$": out += "$$"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                    || scalar.value == 0x2028 || scalar.value == 0x2029
                {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// An nginx single-quoted string argument. nginx cannot escape `$` (it starts a
    /// variable), so a value holding one, a control character or a newline is refused.
    static func nginxString(_ value: String, field: String) throws -> String {
        if value.unicodeScalars.contains(where: { $0 == "$" || $0.value < 0x20 || $0.value == 0x7F }) {
            throw RenderError.unsafeValue(field: field, value: Quoting.quote(value), context: "nginx.conf")
        }
        var out = "'"
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            default: out.append(character)
            }
        }
        return out + "'"
    }

    /// A bare nginx token (port, path, duration, URL): only characters nginx reads literally.
    static func nginxToken(_ value: String, field: String) throws -> String {
        // Strictly: the guards are the second line of defence and must hold on their own (`/healthz` + "\n").
        guard CompiledPatterns.matchesStrictly(value, #"^[A-Za-z0-9._~/:-]+$"#) else {
            throw RenderError.unsafeValue(field: field, value: Quoting.quote(value), context: "nginx.conf")
        }
        return value
    }

    /// A bare YAML key (service and network names): DNS-safe characters only.
    static func composeKey(_ value: String, field: String) throws -> String {
        guard CompiledPatterns.matchesStrictly(value, #"^[A-Za-z0-9][A-Za-z0-9_.-]*$"#) else {
            throw RenderError.unsafeValue(field: field, value: Quoting.quote(value), context: "docker-compose.yml")
        }
        return value
    }
}
