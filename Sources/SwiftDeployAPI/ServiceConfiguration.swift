/// The service's settings, read once at start from the environment.
///
/// | variable      | default   | accepted                                           |
/// |---------------|-----------|----------------------------------------------------|
/// | `MODE`        | `stable`  | `stable` or `canary`                               |
/// | `APP_VERSION` | `0.1.0`   | 1–64 characters of `A-Z a-z 0-9 . _ + -`           |
/// | `APP_PORT`    | `3000`    | a whole number 1–65535                             |
/// | `APP_HOST`    | `0.0.0.0` | an IPv4/IPv6 address or host name, no spaces       |
///
/// A variable that is set but empty is an error rather than a silent default, so a
/// typo in a Compose file cannot quietly start a canary as stable.
struct ServiceConfiguration: Sendable, Equatable {
    static let defaultMode = ServiceMode.stable
    static let defaultVersion = "0.1.0"
    static let defaultPort = 3000
    static let defaultHost = "0.0.0.0"

    var mode: ServiceMode
    var version: String
    var port: Int
    var host: String

    init(
        mode: ServiceMode = defaultMode,
        version: String = defaultVersion,
        port: Int = defaultPort,
        host: String = defaultHost
    ) {
        self.mode = mode
        self.version = version
        self.port = port
        self.host = host
    }

    /// Reads and validates `MODE`, `APP_VERSION`, `APP_PORT` and `APP_HOST`.
    ///
    /// - Throws: `ConfigurationError` listing every invalid variable, not only the first.
    static func fromEnvironment(_ environment: [String: String]) throws -> ServiceConfiguration {
        var problems: [ConfigurationError.Problem] = []
        var configuration = ServiceConfiguration()

        if let raw = environment["MODE"] {
            if let mode = ServiceMode(rawValue: raw) {
                configuration.mode = mode
            } else {
                problems.append(
                    .init(
                        variable: "MODE",
                        value: raw,
                        reason: "must be 'stable' or 'canary'",
                        fix: "set MODE=stable or MODE=canary, or unset it for the default (stable)"
                    ))
            }
        }

        if let raw = environment["APP_VERSION"] {
            if let reason = versionProblem(raw) {
                problems.append(
                    .init(
                        variable: "APP_VERSION",
                        value: raw,
                        reason: reason,
                        fix:
                            "use a version such as 0.1.0 or 1.2.0-rc.1, or unset it for the default (\(defaultVersion))"
                    ))
            } else {
                configuration.version = raw
            }
        }

        if let raw = environment["APP_PORT"] {
            if let port = Int(raw), (1...65535).contains(port), raw.allSatisfy(\.isASCIIDigit) {
                configuration.port = port
            } else {
                problems.append(
                    .init(
                        variable: "APP_PORT",
                        value: raw,
                        reason: "must be a whole number from 1 to 65535",
                        fix:
                            "set APP_PORT to a free TCP port such as 3000, or unset it for the default (\(defaultPort))"
                    ))
            }
        }

        if let raw = environment["APP_HOST"] {
            if raw.isEmpty || raw.count > 253 || raw.contains(where: { $0.isWhitespace || !$0.isASCII }) {
                problems.append(
                    .init(
                        variable: "APP_HOST",
                        value: raw,
                        reason: "must be an IP address or host name without spaces",
                        fix:
                            """
                            set APP_HOST=127.0.0.1 to listen on loopback only, or unset it for the default \
                            (\(defaultHost))
                            """
                    ))
            } else {
                configuration.host = raw
            }
        }

        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return configuration
    }

    private static func versionProblem(_ raw: String) -> String? {
        if raw.isEmpty { return "is set but empty" }
        if raw.count > 64 { return "is \(raw.count) characters long; at most 64 are allowed" }
        let allowed = raw.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "+", "-": true
            default: false
            }
        }
        return allowed ? nil : "may contain only letters, digits and . _ + -"
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
