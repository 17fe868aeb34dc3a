import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Who runs this process, for history lines, lock holders and overrides: `USER`, else `LOGNAME`, else the
/// password-database entry of the real uid (a container or cron job often sets neither variable), else `uid N`.
/// Never "unknown": a record of who did something must name someone.
public enum CurrentUser {
    public static func name(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        uid: uid_t = getuid()
    ) -> String {
        for key in ["USER", "LOGNAME"] {
            if let value = environment[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { return value }
        }
        return passwdName(uid: uid) ?? "uid \(uid)"
    }

    /// The login name of `uid` in the password database (`getpwuid_r`), nil when it has no entry.
    public static func passwdName(uid: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil, let name = entry.pw_name else { return nil }
        let text = String(cString: name)
        return text.isEmpty ? nil : text
    }
}
