import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A body that is not valid exposition text. Names the line (1-based), the column and what was expected.
public struct ExpositionError: SwiftDeployFailure, Equatable {
    public var line: Int
    public var column: Int
    public var message: String
    /// The offending line, cut to 120 characters.
    public var excerpt: String

    public init(line: Int, column: Int, message: String, excerpt: String) {
        self.line = line
        self.column = column
        self.message = message
        self.excerpt = excerpt
    }

    public var errorDescription: String? {
        """
        metrics line \(line):\(column): \(message) (line: \(excerpt.debugDescription)); the endpoint must serve \
        the Prometheus text format 0.0.4 or OpenMetrics text
        """
    }

    /// A body nobody can decide on: the decision is inconclusive.
    public var exitStatus: ExitStatus { .inconclusive }
}

/// Parses the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
///
/// Handles `# HELP` (with `\\` and `\n` escapes), `# TYPE`, `# UNIT`, escaped label values (`\\`, `\"`, `\n`),
/// a trailing comma in a label set, histograms and summaries (their `_bucket`/`_sum`/`_count` samples are
/// grouped under the family, a bucket without `le` or a quantile without `quantile` is an error), timestamps,
/// `NaN`/`+Inf`/`-Inf`, OpenMetrics exemplars (skipped) and `# EOF` (nothing may follow it).
/// Malformed input throws ``ExpositionError`` naming the line; the parser never traps on any input.
public struct ExpositionParser: Sendable {
    public init() {}

    /// Parses a body. With `format` nil the format is detected: a body whose last line is `# EOF` is OpenMetrics.
    public func parse(_ data: Data, format: ExpositionFormat? = nil) throws -> [MetricFamily] {
        var bytes = [UInt8](data)
        let detected = format ?? (ExpositionParser.endsWithEOF(bytes) ? .openMetrics : .prometheusText)
        bytes.append(0)  // strtod stops at the terminator; every token is bounded by the scanner anyway
        return try bytes.withUnsafeBufferPointer { buffer in
            var scanner = ExpositionScanner(buffer: buffer, end: buffer.count - 1, format: detected)
            return try scanner.run()
        }
    }

    /// Parses a string (tests, fixtures).
    public func parse(_ text: String, format: ExpositionFormat? = nil) throws -> [MetricFamily] {
        try parse(Data(text.utf8), format: format)
    }

    static func endsWithEOF(_ bytes: [UInt8]) -> Bool {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D || bytes[end - 1] == 0x20 { end -= 1 }
        let marker = Array("# EOF".utf8)
        guard end >= marker.count else { return false }
        let start = end - marker.count
        guard Array(bytes[start..<end]) == marker else { return false }
        return start == 0 || bytes[start - 1] == 0x0A
    }
}

private let space: UInt8 = 0x20, tab: UInt8 = 0x09, newline: UInt8 = 0x0A, carriageReturn: UInt8 = 0x0D
private let hash: UInt8 = 0x23, openBrace: UInt8 = 0x7B, closeBrace: UInt8 = 0x7D, equals: UInt8 = 0x3D
private let quote: UInt8 = 0x22, backslash: UInt8 = 0x5C, comma: UInt8 = 0x2C

@inline(__always) private func isNameStart(_ c: UInt8) -> Bool {
    (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c == 0x3A
}
@inline(__always) private func isNameChar(_ c: UInt8) -> Bool {
    isNameStart(c) || (c >= 0x30 && c <= 0x39)
}

private struct InternEntry {
    var bytes: [UInt8]
    var string: String
}

private struct ExpositionScanner {
    let buffer: UnsafeBufferPointer<UInt8>
    let end: Int
    let format: ExpositionFormat
    var position = 0
    var lineNumber = 0
    var lineStart = 0
    var lineEnd = 0

    var families: [MetricFamily] = []
    /// Family index by family name.
    var familyIndex: [String: Int] = [:]
    /// Names that already had a TYPE / HELP line.
    var typed: Set<String> = []
    var helped: Set<String> = []
    var current: Int? = nil
    var sawEOF = false
    /// Recently seen names and label values: consecutive samples repeat them, so most lines allocate no new string.
    var nameCache: [InternEntry] = []
    var labelNameCache: [InternEntry] = []
    var labelValueCache: [InternEntry] = []

    init(buffer: UnsafeBufferPointer<UInt8>, end: Int, format: ExpositionFormat) {
        self.buffer = buffer
        self.end = end
        self.format = format
    }

    mutating func run() throws -> [MetricFamily] {
        while position < end {
            lineNumber += 1
            lineStart = position
            var e = position
            while e < end, buffer[e] != newline { e += 1 }
            lineEnd = e
            if lineEnd > lineStart, buffer[lineEnd - 1] == carriageReturn { lineEnd -= 1 }
            position = e + 1
            if sawEOF {
                throw error(at: lineStart, "content after # EOF")
            }
            try parseLine()
        }
        if format == .openMetrics, !sawEOF {
            throw ExpositionError(
                line: max(lineNumber, 1), column: 1,
                message: "OpenMetrics body does not end with # EOF (the body is truncated)", excerpt: "")
        }
        return families
    }

    func excerpt() -> String {
        let cut = min(lineEnd, lineStart + 120)
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[lineStart..<max(lineStart, cut)]), as: UTF8.self)
    }

    func error(at index: Int, _ message: String) -> ExpositionError {
        ExpositionError(line: lineNumber, column: index - lineStart + 1, message: message, excerpt: excerpt())
    }

    func string(_ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: buffer[from..<to]), as: UTF8.self)
    }

    func validUTF8(_ from: Int, _ to: Int) -> Bool {
        var allASCII = true
        for i in from..<to where buffer[i] >= 0x80 {
            allASCII = false
            break
        }
        if allASCII { return true }
        return String(validating: UnsafeBufferPointer(rebasing: buffer[from..<to]), as: UTF8.self) != nil
    }

    func skipBlanks(_ i: inout Int) {
        while i < lineEnd, buffer[i] == space || buffer[i] == tab { i += 1 }
    }

    mutating func parseLine() throws {
        var i = lineStart
        if format == .prometheusText { skipBlanks(&i) }
        if i == lineEnd {
            if format == .openMetrics { throw error(at: i, "empty line (OpenMetrics allows none)") }
            return
        }
        if buffer[i] == hash {
            try parseComment(i)
        } else {
            try parseSample(i)
        }
    }

    mutating func parseComment(_ start: Int) throws {
        var i = start + 1
        skipBlanks(&i)
        var keywordEnd = i
        while keywordEnd < lineEnd, buffer[keywordEnd] != space, buffer[keywordEnd] != tab { keywordEnd += 1 }
        let keyword = string(i, keywordEnd)
        switch keyword {
        case "EOF" where format == .openMetrics:
            guard keywordEnd == lineEnd else { throw error(at: keywordEnd, "unexpected text after # EOF") }
            sawEOF = true
            return
        case "HELP", "TYPE", "UNIT":
            break
        default:
            if format == .openMetrics {
                throw error(
                    at: i, "unknown comment \"# \(keyword)\" (OpenMetrics allows HELP, TYPE, UNIT and EOF only)")
            }
            return  // an ordinary comment in text 0.0.4
        }
        if keyword == "UNIT", format == .prometheusText { return }
        i = keywordEnd
        skipBlanks(&i)
        let nameStart = i
        guard i < lineEnd, isNameStart(buffer[i]) else {
            throw error(at: i, "expected a metric name after # \(keyword)")
        }
        while i < lineEnd, isNameChar(buffer[i]) { i += 1 }
        let name = string(nameStart, i)
        var restStart = i
        if i < lineEnd {
            guard buffer[i] == space || buffer[i] == tab else {
                throw error(at: i, "invalid character in metric name \(name)")
            }
            restStart = i + 1
            if format == .prometheusText { skipBlanks(&restStart) }
        }
        switch keyword {
        case "TYPE":
            var typeEnd = restStart
            while typeEnd < lineEnd, buffer[typeEnd] != space, buffer[typeEnd] != tab { typeEnd += 1 }
            let typeText = string(restStart, typeEnd)
            var j = typeEnd
            skipBlanks(&j)
            guard j == lineEnd else { throw error(at: j, "unexpected text after the type of \(name)") }
            guard let type = MetricType(rawValue: typeText) else {
                throw error(
                    at: restStart,
                    """
                    unknown metric type \"\(typeText)\" for \(name) (expected counter, gauge, histogram, summary \
                    or untyped)
                    """
                )
            }
            if format == .prometheusText, [.unknown, .info, .stateset, .gaugehistogram].contains(type) {
                throw error(at: restStart, "metric type \"\(typeText)\" exists only in OpenMetrics, not in text 0.0.4")
            }
            if format == .openMetrics, type == .untyped {
                throw error(at: restStart, "metric type \"untyped\" is text 0.0.4; OpenMetrics calls it \"unknown\"")
            }
            guard !typed.contains(name) else { throw error(at: nameStart, "second TYPE line for \(name)") }
            if let index = familyIndex[name], !families[index].samples.isEmpty {
                throw error(at: nameStart, "TYPE line for \(name) after its samples")
            }
            typed.insert(name)
            let index = family(named: name)
            families[index].type = type
            current = index
        case "HELP":
            guard !helped.contains(name) else { throw error(at: nameStart, "second HELP line for \(name)") }
            helped.insert(name)
            guard validUTF8(restStart, lineEnd) else {
                throw error(at: restStart, "HELP text of \(name) is not valid UTF-8")
            }
            let help = unescape(restStart, lineEnd, allowQuote: format == .openMetrics)
            let index = family(named: name)
            families[index].help = help
            current = index
        default:  // UNIT
            let index = family(named: name)
            families[index].unit = string(restStart, lineEnd)
            current = index
        }
    }

    mutating func family(named name: String) -> Int {
        if let index = familyIndex[name] { return index }
        families.append(MetricFamily(name: name, type: format == .openMetrics ? .unknown : .untyped))
        familyIndex[name] = families.count - 1
        return families.count - 1
    }

    func unescape(_ from: Int, _ to: Int, allowQuote: Bool) -> String {
        var hasEscape = false
        for i in from..<to where buffer[i] == backslash {
            hasEscape = true
            break
        }
        if !hasEscape { return string(from, to) }
        var out: [UInt8] = []
        out.reserveCapacity(to - from)
        var i = from
        while i < to {
            let c = buffer[i]
            if c == backslash, i + 1 < to {
                let n = buffer[i + 1]
                if n == 0x6E {
                    out.append(newline)
                    i += 2
                    continue
                }
                if n == backslash {
                    out.append(backslash)
                    i += 2
                    continue
                }
                if n == quote, allowQuote {
                    out.append(quote)
                    i += 2
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The suffixes a family's samples may carry, by type.
    func belongs(_ sampleName: String, to family: MetricFamily) -> Bool {
        if sampleName == family.name {
            switch family.type {
            case .histogram, .gaugehistogram: return false  // only _bucket/_sum/_count samples
            case .counter: return format == .prometheusText  // OpenMetrics counters are name_total
            default: return true
            }
        }
        guard sampleName.hasPrefix(family.name) else { return false }
        let suffix = sampleName.dropFirst(family.name.count)
        switch family.type {
        case .histogram, .gaugehistogram:
            return suffix == "_bucket" || suffix == "_sum" || suffix == "_count" || suffix == "_created"
                || suffix == "_gcount" || suffix == "_gsum"
        case .summary:
            return suffix == "_sum" || suffix == "_count" || suffix == "_created"
        case .counter:
            return format == .openMetrics && (suffix == "_total" || suffix == "_created")
        case .info:
            return suffix == "_info"
        default:
            return false
        }
    }

    mutating func parseSample(_ start: Int) throws {
        var i = start
        guard isNameStart(buffer[i]) else { throw error(at: i, "expected a metric name, a comment or an empty line") }
        while i < lineEnd, isNameChar(buffer[i]) { i += 1 }
        let name = ExpositionScanner.intern(buffer, start, i, &nameCache, limit: 8)
        var labels: [MetricLabel] = []
        var brace = i
        if format == .prometheusText { skipBlanks(&brace) }  // text 0.0.4 allows blanks before the label set
        if brace < lineEnd, buffer[brace] == openBrace {
            i = brace + 1
            try parseLabels(&i, into: &labels, metric: name)
        }
        guard i < lineEnd, buffer[i] == space || buffer[i] == tab else {
            if i >= lineEnd { throw error(at: i, "sample \(name) has no value") }
            throw error(at: i, "invalid character \(characterName(buffer[i])) in sample \(name)")
        }
        skipBlanks(&i)
        let valueStart = i
        while i < lineEnd, buffer[i] != space, buffer[i] != tab { i += 1 }
        guard valueStart < i else { throw error(at: valueStart, "sample \(name) has no value") }
        guard let value = parseFloat(valueStart, i) else {
            throw error(
                at: valueStart,
                "value \"\(string(valueStart, i))\" of \(name) is not a number (expected a float, NaN, +Inf or -Inf)")
        }
        skipBlanks(&i)
        var timestamp: Double? = nil
        if i < lineEnd, buffer[i] != hash {
            let tsStart = i
            while i < lineEnd, buffer[i] != space, buffer[i] != tab { i += 1 }
            if format == .prometheusText {
                guard let ms = parseInteger(tsStart, i) else {
                    throw error(
                        at: tsStart,
                        "timestamp \"\(string(tsStart, i))\" of \(name) is not an integer number of milliseconds")
                }
                timestamp = Double(ms)
            } else {
                guard let seconds = parseFloat(tsStart, i), seconds.isFinite else {
                    throw error(
                        at: tsStart, "timestamp \"\(string(tsStart, i))\" of \(name) is not a number of seconds")
                }
                timestamp = seconds * 1000
            }
            skipBlanks(&i)
        }
        if i < lineEnd {
            if buffer[i] == hash, format == .openMetrics {
                // An exemplar: " # {labels} value [timestamp]". Validated for shape, then dropped.
                var j = i + 1
                skipBlanks(&j)
                guard j < lineEnd, buffer[j] == openBrace else {
                    throw error(at: j, "malformed exemplar after \(name)")
                }
                j += 1
                var exemplarLabels: [MetricLabel] = []
                try parseLabels(&j, into: &exemplarLabels, metric: name)
            } else {
                throw error(at: i, "unexpected text after the value of \(name)")
            }
        }
        try append(MetricSample(name: name, labels: labels, value: value, timestampMs: timestamp), at: start)
    }

    mutating func append(_ sample: MetricSample, at column: Int) throws {
        var index: Int
        if let c = current, belongs(sample.name, to: families[c]) {
            index = c
        } else if let found = lookupFamily(for: sample.name) {
            index = found
        } else {
            index = family(named: sample.name)
        }
        current = index
        // Read only what is needed: holding a copy of the family would make the append below copy its samples.
        let type = families[index].type
        if type == .histogram || type == .gaugehistogram, sample.name.hasSuffix("_bucket") {
            guard let le = sample[label: "le"] else {
                throw error(at: column, "histogram bucket \(sample.name) has no le label")
            }
            guard parseBound(le) != nil else {
                throw error(at: column, "histogram bucket \(sample.name) has le=\"\(le)\", which is not a number")
            }
        }
        if type == .summary, sample.name == families[index].name {
            guard let q = sample[label: "quantile"] else {
                throw error(at: column, "summary sample \(sample.name) has no quantile label")
            }
            guard parseBound(q) != nil else {
                throw error(at: column, "summary sample \(sample.name) has quantile=\"\(q)\", which is not a number")
            }
        }
        families[index].samples.append(sample)
    }

    func lookupFamily(for sampleName: String) -> Int? {
        if let index = familyIndex[sampleName], belongs(sampleName, to: families[index]) { return index }
        for suffix in ["_bucket", "_count", "_sum", "_total", "_created", "_info", "_gcount", "_gsum"]
        where sampleName.hasSuffix(suffix) {
            let base = String(sampleName.dropLast(suffix.count))
            if let index = familyIndex[base], belongs(sampleName, to: families[index]) { return index }
        }
        return nil
    }

    func parseBound(_ text: String) -> Double? {
        Double(text)
    }

    mutating func parseLabels(_ i: inout Int, into labels: inout [MetricLabel], metric: String) throws {
        while true {
            if format == .prometheusText { skipBlanks(&i) }
            guard i < lineEnd else { throw error(at: i, "unterminated label set of \(metric): expected }") }
            if buffer[i] == closeBrace {
                i += 1
                return
            }
            let nameStart = i
            guard isNameStart(buffer[i]), buffer[i] != 0x3A else {
                throw error(at: i, "expected a label name in \(metric), found \(characterName(buffer[i]))")
            }
            while i < lineEnd, isNameChar(buffer[i]), buffer[i] != 0x3A { i += 1 }
            let labelName = ExpositionScanner.intern(buffer, nameStart, i, &labelNameCache, limit: 32)
            if format == .prometheusText { skipBlanks(&i) }
            guard i < lineEnd, buffer[i] == equals else {
                throw error(at: i, "expected = after label \(labelName) of \(metric)")
            }
            i += 1
            if format == .prometheusText { skipBlanks(&i) }
            guard i < lineEnd, buffer[i] == quote else {
                throw error(at: i, "expected \" to open the value of label \(labelName) of \(metric)")
            }
            i += 1
            let valueStart = i
            var escaped = false
            while i < lineEnd {
                let c = buffer[i]
                if c == backslash {
                    guard i + 1 < lineEnd else { break }
                    let n = buffer[i + 1]
                    guard n == backslash || n == quote || n == 0x6E else {
                        throw error(
                            at: i,
                            """
                            invalid escape \\\(Character(UnicodeScalar(n))) in the value of label \(labelName) of \
                            \(metric) (allowed: \\\\, \\\", \\n)
                            """
                        )
                    }
                    escaped = true
                    i += 2
                    continue
                }
                if c == quote { break }
                i += 1
            }
            guard i < lineEnd, buffer[i] == quote else {
                throw error(
                    at: valueStart - 1, "unterminated value of label \(labelName) of \(metric): missing closing \"")
            }
            guard validUTF8(valueStart, i) else {
                throw error(at: valueStart, "value of label \(labelName) of \(metric) is not valid UTF-8")
            }
            let value =
                escaped
                ? unescape(valueStart, i, allowQuote: true)
                : ExpositionScanner.intern(buffer, valueStart, i, &labelValueCache, limit: 16)
            i += 1
            if labels.contains(where: { $0.name == labelName }) {
                throw error(at: nameStart, "label \(labelName) appears twice in \(metric)")
            }
            labels.append(MetricLabel(labelName, value))
            if format == .prometheusText { skipBlanks(&i) }
            guard i < lineEnd else { throw error(at: i, "unterminated label set of \(metric): expected }") }
            if buffer[i] == comma {
                i += 1
                continue
            }
            if buffer[i] == closeBrace {
                i += 1
                return
            }
            throw error(
                at: i, "expected , or } after label \(labelName) of \(metric), found \(characterName(buffer[i]))")
        }
    }

    static func intern(
        _ buffer: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ cache: inout [InternEntry], limit: Int
    ) -> String {
        let length = to - from
        guard length > 0, let start = buffer.baseAddress.map({ $0 + from }) else { return "" }
        for index in cache.indices where cache[index].bytes.count == length {
            let equal = cache[index].bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, start, length) == 0 }
            if equal { return cache[index].string }
        }
        let bytes = UnsafeBufferPointer(start: start, count: length)
        let string = String(decoding: bytes, as: UTF8.self)
        if cache.count >= limit { cache.removeFirst() }
        cache.append(InternEntry(bytes: Array(bytes), string: string))
        return string
    }

    func characterName(_ c: UInt8) -> String {
        c >= 0x21 && c < 0x7F ? "'\(Character(UnicodeScalar(c)))'" : String(format: "byte 0x%02X", c)
    }

    /// A float as Go's strconv.ParseFloat takes it (what Prometheus uses), including NaN and ±Inf.
    func parseFloat(_ from: Int, _ to: Int) -> Double? {
        let length = to - from
        guard length > 0 else { return nil }
        let first = buffer[from]
        // Fast path: plain decimals go through strtod on the bytes in place.
        if (first >= 0x30 && first <= 0x39) || first == 0x2D || first == 0x2B || first == 0x2E {
            var allowed = true
            for k in from..<to {
                let c = buffer[k]
                if !((c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x2D || c == 0x2B || c == 0x65 || c == 0x45) {
                    allowed = false
                    break
                }
            }
            if allowed {
                guard let base = buffer.baseAddress else { return nil }
                var endPointer: UnsafeMutablePointer<CChar>? = nil
                let start = UnsafeRawPointer(base + from).assumingMemoryBound(to: CChar.self)
                let value = strtod(start, &endPointer)
                guard let stop = endPointer else { return nil }
                let consumed = UnsafeRawPointer(stop) - UnsafeRawPointer(start)
                guard consumed == length else { return nil }
                return value
            }
        }
        let text = string(from, to)
        switch text.lowercased() {
        case "nan": return .nan
        case "+inf", "inf", "+infinity", "infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: return nil
        }
    }

    func parseInteger(_ from: Int, _ to: Int) -> Int64? {
        Int64(string(from, to))
    }
}
