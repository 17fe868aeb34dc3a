import BigInt
import Foundation

/// Civil-time arithmetic and Go's reference-layout formatting/parsing, as OPA's time builtins use.
enum GoTime {
    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]
    static let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// Days since 1970-01-01 for a proleptic Gregorian date (month/day may overflow, as in Go).
    static func daysFromCivil(_ y0: Int, _ m0: Int, _ d: Int) -> Int {
        // normalise month
        var y = y0 + (m0 - 1).floorDiv(12)
        let m = (m0 - 1).floorMod(12) + 1
        y -= m <= 2 ? 1 : 0
        let era = y.floorDiv(400)
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + 1 - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468 + d - 1 + 0
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = z.floorDiv(146097)
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    struct Broken {
        var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, nanos: Int
        var weekday: Int, yearDay: Int
        var offset: Int, zoneName: String
    }

    static func zone(_ name: String) throws -> TimeZone {
        if name.isEmpty || name == "UTC" { return TimeZone(identifier: "UTC")! }
        if name == "Local" { return TimeZone.current }
        guard let tz = TimeZone(identifier: name) else { throw RegoError.builtin("unknown time zone \(name)") }
        return tz
    }

    static func broken(_ ns: Int, _ tz: TimeZone) -> Broken {
        let secs = ns.floorDiv(1_000_000_000)
        let nanos = ns.floorMod(1_000_000_000)
        let offset = tz.secondsFromGMT(for: Date(timeIntervalSince1970: Double(secs)))
        let local = secs + offset
        let dayNum = local.floorDiv(86400)
        let sod = local.floorMod(86400)
        let (y, m, d) = civilFromDays(dayNum)
        let wd = (dayNum + 4).floorMod(7)
        let yd = dayNum - daysFromCivil(y, 1, 1) + 1
        var name = tz.abbreviation(for: Date(timeIntervalSince1970: Double(secs))) ?? "UTC"
        if tz.identifier == "UTC" { name = "UTC" }
        if name.hasPrefix("GMT") && name.count > 3 {
            // Go prints numeric abbreviations like "+0530" for zones without one.
            let sign = offset < 0 ? "-" : "+"
            let o = abs(offset)
            name = String(
                format: "%@%02d%@", sign, o / 3600, o % 3600 / 60 == 0 ? "" : String(format: "%02d", o % 3600 / 60))
        }
        return Broken(
            year: y, month: m, day: d, hour: sod / 3600, minute: sod % 3600 / 60, second: sod % 60, nanos: nanos,
            weekday: wd, yearDay: yd, offset: offset, zoneName: name)
    }

    static let namedLayouts: [String: String] = [
        "ANSIC": "Mon Jan _2 15:04:05 2006",
        "UnixDate": "Mon Jan _2 15:04:05 MST 2006",
        "RubyDate": "Mon Jan 02 15:04:05 -0700 2006",
        "RFC822": "02 Jan 06 15:04 MST",
        "RFC822Z": "02 Jan 06 15:04 -0700",
        "RFC850": "Monday, 02-Jan-06 15:04:05 MST",
        "RFC1123": "Mon, 02 Jan 2006 15:04:05 MST",
        "RFC1123Z": "Mon, 02 Jan 2006 15:04:05 -0700",
        "RFC3339": "2006-01-02T15:04:05Z07:00",
        "RFC3339Nano": "2006-01-02T15:04:05.999999999Z07:00",
        "Kitchen": "3:04PM",
        "Stamp": "Jan _2 15:04:05",
        "StampMilli": "Jan _2 15:04:05.000",
        "StampMicro": "Jan _2 15:04:05.000000",
        "StampNano": "Jan _2 15:04:05.000000000",
        "DateTime": "2006-01-02 15:04:05",
        "DateOnly": "2006-01-02",
        "TimeOnly": "15:04:05",
    ]

    enum Chunk: Equatable {
        case literal(String)
        case longMonth, month, numMonth, zeroMonth
        case longWeekDay, weekDay
        case day, underDay, zeroDay, yearDay, zeroYearDay
        case hour, hour12, zeroHour12
        case minute, zeroMinute, second, zeroSecond
        case longYear, year
        case pm(upper: Bool)
        case tz
        case iso(String)  // "Z07:00" etc.
        case numTZ(String)  // "-0700" etc.
        case fracFixed(Int), fracTrim(Int)
    }

    static func chunks(_ layout: String) -> [Chunk] {
        let c = Array(layout)
        var out: [Chunk] = []
        var lit = ""
        var i = 0
        func has(_ s: String) -> Bool {
            let a = Array(s)
            return i + a.count <= c.count && Array(c[i..<i + a.count]) == a
        }
        func emit(_ ch: Chunk, _ len: Int) {
            if !lit.isEmpty {
                out.append(.literal(lit))
                lit = ""
            }
            out.append(ch)
            i += len
        }
        while i < c.count {
            if has("January") {
                emit(.longMonth, 7)
                continue
            }
            if has("Jan") {
                emit(.month, 3)
                continue
            }
            if has("Monday") {
                emit(.longWeekDay, 6)
                continue
            }
            if has("Mon") {
                emit(.weekDay, 3)
                continue
            }
            if has("MST") {
                emit(.tz, 3)
                continue
            }
            if has("002") {
                emit(.zeroYearDay, 3)
                continue
            }
            if has("01") {
                emit(.zeroMonth, 2)
                continue
            }
            if has("02") {
                emit(.zeroDay, 2)
                continue
            }
            if has("03") {
                emit(.zeroHour12, 2)
                continue
            }
            if has("04") {
                emit(.zeroMinute, 2)
                continue
            }
            if has("05") {
                emit(.zeroSecond, 2)
                continue
            }
            if has("06") {
                emit(.year, 2)
                continue
            }
            if has("15") {
                emit(.hour, 2)
                continue
            }
            if has("2006") {
                emit(.longYear, 4)
                continue
            }
            if has("__2") {
                emit(.yearDay, 3)
                continue
            }
            if has("_2") {
                emit(.underDay, 2)
                continue
            }
            var matched = false
            for z in ["Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07"] where !matched && has(z) {
                emit(.iso(z), z.count)
                matched = true
            }
            for z in ["-070000", "-07:00:00", "-0700", "-07:00", "-07"] where !matched && has(z) {
                emit(.numTZ(z), z.count)
                matched = true
            }
            if matched { continue }
            if has("PM") {
                emit(.pm(upper: true), 2)
                continue
            }
            if has("pm") {
                emit(.pm(upper: false), 2)
                continue
            }
            if c[i] == "." || c[i] == ",", i + 1 < c.count, c[i + 1] == "0" || c[i + 1] == "9" {
                let d = c[i + 1]
                var j = i + 1
                while j < c.count, c[j] == d { j += 1 }
                if j >= c.count || !c[j].isNumber {
                    emit(d == "0" ? .fracFixed(j - i - 1) : .fracTrim(j - i - 1), j - i)
                    continue
                }
            }
            if c[i] == "1" {
                emit(.numMonth, 1)
                continue
            }
            if c[i] == "2" {
                emit(.day, 1)
                continue
            }
            if c[i] == "3" {
                emit(.hour12, 1)
                continue
            }
            if c[i] == "4" {
                emit(.minute, 1)
                continue
            }
            if c[i] == "5" {
                emit(.second, 1)
                continue
            }
            lit.append(c[i])
            i += 1
        }
        if !lit.isEmpty { out.append(.literal(lit)) }
        return out
    }

    static func pad(_ n: Int, _ w: Int) -> String {
        let s = String(abs(n))
        return (n < 0 ? "-" : "") + String(repeating: "0", count: max(0, w - s.count)) + s
    }

    static func format(_ b: Broken, _ layout: String) -> String {
        var out = ""
        for ch in chunks(layout) {
            switch ch {
            case .literal(let s): out += s
            case .longMonth: out += months[b.month - 1]
            case .month: out += String(months[b.month - 1].prefix(3))
            case .numMonth: out += String(b.month)
            case .zeroMonth: out += pad(b.month, 2)
            case .longWeekDay: out += days[b.weekday]
            case .weekDay: out += String(days[b.weekday].prefix(3))
            case .day: out += String(b.day)
            case .underDay: out += b.day < 10 ? " \(b.day)" : String(b.day)
            case .zeroDay: out += pad(b.day, 2)
            case .yearDay: out += String(repeating: " ", count: max(0, 3 - String(b.yearDay).count)) + String(b.yearDay)
            case .zeroYearDay: out += pad(b.yearDay, 3)
            case .hour: out += pad(b.hour, 2)
            case .hour12: out += String(b.hour % 12 == 0 ? 12 : b.hour % 12)
            case .zeroHour12: out += pad(b.hour % 12 == 0 ? 12 : b.hour % 12, 2)
            case .minute: out += String(b.minute)
            case .zeroMinute: out += pad(b.minute, 2)
            case .second: out += String(b.second)
            case .zeroSecond: out += pad(b.second, 2)
            case .longYear: out += pad(b.year, 4)
            case .year: out += pad(b.year % 100, 2)
            case .pm(let upper): out += b.hour >= 12 ? (upper ? "PM" : "pm") : (upper ? "AM" : "am")
            case .tz: out += b.zoneName
            case .iso(let z), .numTZ(let z):
                if case .iso = ch, b.offset == 0 {
                    out += "Z"
                    continue
                }
                let sign = b.offset < 0 ? "-" : "+"
                let o = abs(b.offset)
                let h = pad(o / 3600, 2), m = pad(o % 3600 / 60, 2), s = pad(o % 60, 2)
                let body = z.dropFirst()
                switch body {
                case "070000": out += sign + h + m + s
                case "07:00:00": out += sign + h + ":" + m + ":" + s
                case "0700": out += sign + h + m
                case "07:00": out += sign + h + ":" + m
                default: out += sign + h
                }
            case .fracFixed(let n):
                out += "." + String(pad(b.nanos, 9).prefix(n))
            case .fracTrim(let n):
                var f = String(pad(b.nanos, 9).prefix(n))
                while f.hasSuffix("0") { f.removeLast() }
                if !f.isEmpty { out += "." + f }
            }
        }
        return out
    }

    /// Parses `value` by a Go layout; returns nanoseconds since the epoch.
    static func parse(_ layout: String, _ value: String) throws -> BigInt {
        let v = Array(value)
        var i = 0
        var year = 1, month = 1, day = 1, hour = 0, minute = 0, second = 0, nanos = 0
        var pm: Bool? = nil
        var offset: Int? = nil
        func fail() -> RegoError {
            RegoError.builtin(
                """
                parsing time \(RegoValue.string(value).jsonString()) as \(RegoValue.string(layout).jsonString()): \
                cannot parse
                """
            )
        }
        func digits(_ min: Int, _ max: Int) throws -> Int {
            var j = i
            while j < v.count, j - i < max, v[j].isASCII, v[j].isNumber { j += 1 }
            guard j - i >= min else { throw fail() }
            let n = Int(String(v[i..<j]))!
            i = j
            return n
        }
        func word(_ list: [String], _ short: Bool) throws -> Int {
            for (idx, w) in list.enumerated() {
                let s = Array(short ? String(w.prefix(3)) : w)
                if i + s.count <= v.count, String(v[i..<i + s.count]).lowercased() == String(s).lowercased() {
                    i += s.count
                    return idx
                }
            }
            throw fail()
        }
        let chunks = chunks(layout)
        for (ci, ch) in chunks.enumerated() {
            switch ch {
            case .literal(let s):
                let a = Array(s)
                guard i + a.count <= v.count, Array(v[i..<i + a.count]) == a else { throw fail() }
                i += a.count
            case .longMonth: month = try word(months, false) + 1
            case .month: month = try word(months, true) + 1
            case .numMonth: month = try digits(1, 2)
            case .zeroMonth: month = try digits(2, 2)
            case .longWeekDay: _ = try word(days, false)
            case .weekDay: _ = try word(days, true)
            case .day, .zeroDay: day = try digits(ch == .day ? 1 : 2, 2)
            case .underDay:
                if i < v.count, v[i] == " " { i += 1 }
                day = try digits(1, 2)
            case .yearDay, .zeroYearDay: _ = try digits(1, 3)
            case .hour: hour = try digits(2, 2)
            case .hour12, .zeroHour12: hour = try digits(ch == .hour12 ? 1 : 2, 2)
            case .minute, .zeroMinute: minute = try digits(ch == .minute ? 1 : 2, 2)
            case .second, .zeroSecond:
                second = try digits(ch == .second ? 1 : 2, 2)
                // Go accepts fractional seconds after seconds even when the layout has none.
                if i < v.count, v[i] == "." || v[i] == ",", ci + 1 < chunks.count ? !isFrac(chunks[ci + 1]) : true {
                    i += 1
                    let start = i
                    let n = try digits(1, 9)
                    nanos = n * Int(pow(10.0, Double(9 - (i - start))))
                }
            case .longYear:
                let neg = i < v.count && v[i] == "-"
                if neg { i += 1 }
                year = try digits(4, 4) * (neg ? -1 : 1)
            case .year:
                let y = try digits(2, 2)
                year = y >= 69 ? 1900 + y : 2000 + y
            case .pm:
                guard i + 2 <= v.count else { throw fail() }
                let s = String(v[i..<i + 2]).uppercased()
                guard s == "AM" || s == "PM" else { throw fail() }
                pm = s == "PM"
                i += 2
            case .tz:
                var j = i
                while j < v.count, v[j].isUppercase { j += 1 }
                guard j - i >= 3 else { throw fail() }
                let name = String(v[i..<j])
                i = j
                if name == "UTC" || name == "GMT" { offset = 0 }
            case .iso(let z), .numTZ(let z):
                if case .iso = ch, i < v.count, v[i] == "Z" {
                    i += 1
                    offset = 0
                    continue
                }
                guard i < v.count, v[i] == "+" || v[i] == "-" else { throw fail() }
                let sign = v[i] == "-" ? -1 : 1
                i += 1
                let h = try digits(2, 2)
                var m = 0, s = 0
                let body = String(z.dropFirst())
                if body.hasPrefix("07:") {
                    guard i < v.count, v[i] == ":" else { throw fail() }
                    i += 1
                    m = try digits(2, 2)
                } else if body.hasPrefix("0700") {
                    m = try digits(2, 2)
                }
                if body == "070000" { s = try digits(2, 2) }
                if body == "07:00:00" {
                    guard i < v.count, v[i] == ":" else { throw fail() }
                    i += 1
                    s = try digits(2, 2)
                }
                offset = sign * (h * 3600 + m * 60 + s)
            case .fracFixed(let n):
                guard i < v.count, v[i] == "." || v[i] == "," else { throw fail() }
                i += 1
                let f = try digits(n, n)
                nanos = f * Int(pow(10.0, Double(9 - n)))
            case .fracTrim:
                if i < v.count, v[i] == "." || v[i] == "," {
                    i += 1
                    let start = i
                    let f = try digits(1, 9)
                    nanos = f * Int(pow(10.0, Double(9 - (i - start))))
                }
            }
        }
        guard i == v.count else {
            throw RegoError.builtin(
                """
                parsing time \(RegoValue.string(value).jsonString()): extra text: \
                \(RegoValue.string(String(v[i...])).jsonString())
                """
            )
        }
        if let pm {
            if pm && hour < 12 { hour += 12 }
            if !pm && hour == 12 { hour = 0 }
        }
        guard month >= 1, month <= 12, day >= 1, day <= 31, hour < 24, minute < 60, second < 60 else {
            throw RegoError.builtin("parsing time \(RegoValue.string(value).jsonString()): day out of range")
        }
        let days = daysFromCivil(year, month, day)
        let secs = BigInt(days) * 86400 + BigInt(hour * 3600 + minute * 60 + second) - BigInt(offset ?? 0)
        return secs * 1_000_000_000 + BigInt(nanos)
    }

    static func isFrac(_ c: Chunk) -> Bool {
        switch c {
        case .fracFixed, .fracTrim: return true
        default: return false
        }
    }

    /// Go's time.ParseDuration in nanoseconds.
    static func parseDuration(_ s: String) throws -> BigInt {
        let err = RegoError.builtin("time: invalid duration \(RegoValue.string(s).jsonString())")
        var c = Array(s)
        var neg = false
        if c.first == "-" || c.first == "+" {
            neg = c.first == "-"
            c.removeFirst()
        }
        if c == ["0"] { return 0 }
        guard !c.isEmpty else { throw err }
        var total = RegoNumber(0)
        var i = 0
        while i < c.count {
            let start = i
            while i < c.count, c[i].isNumber || c[i] == "." { i += 1 }
            guard i > start, let n = RegoNumber(parsing: String(c[start..<i])) else { throw err }
            let us = i
            while i < c.count, !(c[i].isNumber || c[i] == ".") { i += 1 }
            let unit = String(c[us..<i])
            let mult: Int
            switch unit {
            case "ns": mult = 1
            case "us", "µs", "μs": mult = 1000
            case "ms": mult = 1_000_000
            case "s": mult = 1_000_000_000
            case "m": mult = 60_000_000_000
            case "h": mult = 3_600_000_000_000
            default:
                throw RegoError.builtin(
                    unit.isEmpty
                        ? "time: missing unit in duration \(RegoValue.string(s).jsonString())"
                        : """
                        time: unknown unit \(RegoValue.string(unit).jsonString()) in duration \
                        \(RegoValue.string(s).jsonString())
                        """
                )
            }
            total = total + n * RegoNumber(mult)
        }
        let v = total.floor().mantissa
        return neg ? -v : v
    }
}

extension Int {
    func floorDiv(_ d: Int) -> Int {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
    func floorMod(_ d: Int) -> Int {
        let r = self % d
        return r != 0 && (r < 0) != (d < 0) ? r + d : r
    }
}

extension Builtins {
    static let int64Min = BigInt(Int64.min), int64Max = BigInt(Int64.max)

    static func checkRange(_ ns: BigInt) throws -> RegoValue {
        guard ns >= int64Min, ns <= int64Max else { throw RegoError.builtin("time outside of valid range") }
        return .number(RegoNumber(ns))
    }

    /// `ns` or `[ns, tz]` or `[ns, tz, layout]` → (ns, zone, layout).
    static func timeArg(_ fn: String, _ v: RegoValue) throws -> (Int, TimeZone, String?) {
        var nsValue = v
        var tz = try GoTime.zone("")
        var layout: String? = nil
        if case .array(let items) = v {
            guard items.count >= 1, items.count <= 3 else {
                throw RegoError.builtin("\(fn): array should have 2 or 3 elements")
            }
            nsValue = items[0]
            if items.count > 1 {
                guard case .string(let name) = items[1] else {
                    throw RegoError.builtin("\(fn): timezone must be a string")
                }
                tz = try GoTime.zone(name)
            }
            if items.count > 2 {
                guard case .string(let l) = items[2] else { throw RegoError.builtin("\(fn): layout must be a string") }
                layout = GoTime.namedLayouts[l] ?? l
            }
        }
        guard case .number(let n) = nsValue else { throw typeError(fn, 1, "one of {number, array}", v) }
        let whole = n.sign < 0 ? n.ceil() : n.floor()
        guard let ns = whole.intValue else { throw RegoError.builtin("timestamp too big") }
        return (ns, tz, layout)
    }

    static func registerTime(_ t: inout [String: Builtin]) {
        t["time.now_ns"] = Builtin(arity: 0) { _, ev in
            .number(RegoNumber(BigInt(Int64((ev.now.timeIntervalSince1970 * 1e6).rounded())) * 1000))
        }
        t["time.parse_rfc3339_ns"] = Builtin(arity: 1) { a, _ in
            let s = try string("time.parse_rfc3339_ns", a, 0)
            return try checkRange(try GoTime.parse("2006-01-02T15:04:05Z07:00", s))
        }
        t["time.parse_ns"] = Builtin(arity: 2) { a, _ in
            let layout = try string("time.parse_ns", a, 0), s = try string("time.parse_ns", a, 1)
            return try checkRange(try GoTime.parse(GoTime.namedLayouts[layout] ?? layout, s))
        }
        t["time.parse_duration_ns"] = Builtin(arity: 1) { a, _ in
            .number(RegoNumber(try GoTime.parseDuration(try string("time.parse_duration_ns", a, 0))))
        }
        t["time.date"] = Builtin(arity: 1) { a, _ in
            let (ns, tz, _) = try timeArg("time.date", a[0])
            let b = GoTime.broken(ns, tz)
            return .array([.int(b.year), .int(b.month), .int(b.day)])
        }
        t["time.clock"] = Builtin(arity: 1) { a, _ in
            let (ns, tz, _) = try timeArg("time.clock", a[0])
            let b = GoTime.broken(ns, tz)
            return .array([.int(b.hour), .int(b.minute), .int(b.second)])
        }
        t["time.weekday"] = Builtin(arity: 1) { a, _ in
            let (ns, tz, _) = try timeArg("time.weekday", a[0])
            return .string(GoTime.days[GoTime.broken(ns, tz).weekday])
        }
        t["time.format"] = Builtin(arity: 1) { a, _ in
            let (ns, tz, layout) = try timeArg("time.format", a[0])
            return .string(GoTime.format(GoTime.broken(ns, tz), layout ?? GoTime.namedLayouts["RFC3339Nano"]!))
        }
        t["time.add_date"] = Builtin(arity: 4) { a, _ in
            let fn = "time.add_date"
            let ns = try int(fn, a, 0), y = try int(fn, a, 1), m = try int(fn, a, 2), d = try int(fn, a, 3)
            guard abs(y) < 1_000_000, abs(m) < 12_000_000, abs(d) < 400_000_000 else {
                throw RegoError.builtin("time outside of valid range")
            }
            let b = GoTime.broken(ns, try GoTime.zone(""))
            let days = GoTime.daysFromCivil(b.year + y, b.month + m, b.day + d)
            let secs = BigInt(days) * 86400 + BigInt(b.hour * 3600 + b.minute * 60 + b.second)
            return try checkRange(secs * 1_000_000_000 + BigInt(b.nanos))
        }
        t["time.diff"] = Builtin(arity: 2) { a, _ in
            let (n1, tz1, _) = try timeArg("time.diff", a[0])
            var (n2, _, _) = try timeArg("time.diff", a[1])
            var first = n1
            if first > n2 { swap(&first, &n2) }
            let b1 = GoTime.broken(first, tz1), b2 = GoTime.broken(n2, tz1)
            var year = b2.year - b1.year, month = b2.month - b1.month, day = b2.day - b1.day
            var hour = b2.hour - b1.hour, minute = b2.minute - b1.minute, sec = b2.second - b1.second
            if sec < 0 {
                sec += 60
                minute -= 1
            }
            if minute < 0 {
                minute += 60
                hour -= 1
            }
            if hour < 0 {
                hour += 24
                day -= 1
            }
            if day < 0 {
                let overflow = GoTime.civilFromDays(GoTime.daysFromCivil(b1.year, b1.month, 32)).2
                day += 32 - overflow
                month -= 1
            }
            if month < 0 {
                month += 12
                year -= 1
            }
            return .array([year, month, day, hour, minute, sec].map { .int($0) })
        }
    }
}
