/// A duration written in the manifest: an integer number of seconds (`30`) or
/// Go-style units (`500ms`, `30s`, `2m`, `1h`, `1m30s`). Kept in milliseconds.
public struct ManifestDuration: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var milliseconds: Int

    public init(milliseconds: Int) { self.milliseconds = milliseconds }

    public var seconds: Double { Double(milliseconds) / 1000 }

    /// The form nginx and Compose both accept: `30s` when whole seconds, otherwise `1500ms`.
    public var description: String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    public static func < (a: ManifestDuration, b: ManifestDuration) -> Bool { a.milliseconds < b.milliseconds }

    /// Parses `500ms`, `30s`, `2m`, `1h`, `1m30s`; nil when the text is not such a duration.
    public static func parse(_ text: String) -> ManifestDuration? {
        guard !text.isEmpty else { return nil }
        var total = 0
        var digits = ""
        var chars = Array(text)
        var index = 0
        var sawUnit = false
        while index < chars.count {
            let c = chars[index]
            if c.isASCII, c.isNumber {
                digits.append(c)
                index += 1
                continue
            }
            guard !digits.isEmpty, let value = Int(digits), value < 1_000_000_000 else { return nil }
            let unit: Int
            if c == "m", index + 1 < chars.count, chars[index + 1] == "s" {
                unit = 1
                index += 2
            } else if c == "s" {
                unit = 1000
                index += 1
            } else if c == "m" {
                unit = 60_000
                index += 1
            } else if c == "h" {
                unit = 3_600_000
                index += 1
            } else {
                return nil
            }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            total += product
            digits = ""
            sawUnit = true
        }
        chars.removeAll()
        guard digits.isEmpty, sawUnit else { return nil }
        return ManifestDuration(milliseconds: total)
    }
}
