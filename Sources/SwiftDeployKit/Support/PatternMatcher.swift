/// A matcher for the small regular expressions of the manifest grammar and the renderers' guards, giving the answer
/// ICU (`NSRegularExpression`, no options, the whole string searched) gives, without ICU.
///
/// Why: the first `NSRegularExpression` of a process builds ICU's static sets (about 2 ms), paid by every command
/// that loads a manifest, `gate` included (issue 15, finding 7). The grammar's patterns need little: literals,
/// classes with ranges, `\s` `\S` `\uHHHH` and escaped punctuation, `.`, groups `(…)` `(?:…)`, negative lookahead
/// `(?!…)`, alternation, greedy quantifiers `? * + {n} {n,} {n,m}`, and `^` `$` as ICU reads them without flags
/// (`^` at the start only; `$` at the end or before one final line terminator or CR LF).
///
/// Anything else (back-references, lazy or possessive quantifiers, `\d` `\w` `\b`, flags, nested or intersected
/// sets, `--` in a set (ICU's set difference), `{` `}` `]` as literals) is refused with ``Unsupported`` rather than
/// guessed: the caller then uses ICU. So are two forms where ICU's backtracking and the automaton could part: a
/// repetition (`*`, `+`, `{n,m}` with m > 1) of something that can match the empty string (ICU ends a loop on an
/// empty iteration), and a lookahead anywhere but right after the `^` that starts the pattern or one of its
/// top-level alternatives (which also keeps the time linear: such a lookahead runs once, at the start).
/// `PatternMatcherTests` compares the answers with ICU's on every pattern the code uses and on random patterns.
///
/// The pattern compiles to a Thompson automaton and runs without backtracking: time linear in the input times the
/// automaton's size (at most ``Compiler/limit`` steps, lookaheads included), so no input can make a check slow.
struct PatternMatcher: Sendable {
    /// A pattern outside the supported syntax: `offset` is the position (in Unicode scalars) of the problem.
    struct Unsupported: Error, CustomStringConvertible, Equatable {
        let pattern: String
        let offset: Int
        let reason: String
        var description: String { "pattern \(pattern) at offset \(offset): \(reason)" }
    }

    private let program: Program

    init(_ pattern: String) throws(Unsupported) {
        var parser = Parser(pattern: pattern)
        let tree = try parser.parsePattern()
        var compiler = Compiler()
        do { program = try compiler.program(for: tree) } catch {
            throw Unsupported(pattern: pattern, offset: 0, reason: "the automaton would exceed \(Compiler.limit) steps")
        }
    }

    /// Whether the pattern matches somewhere in `text` (as `firstMatch(in:options:range:) != nil` over the whole
    /// string).
    func matches(_ text: String) -> Bool {
        let input = Array(text.unicodeScalars)
        return program.run(on: input, from: 0, anchored: false)
    }
}

// MARK: - Syntax tree

extension PatternMatcher {
    /// A set of scalars: ranges, optionally `\s` / `\S`, optionally negated.
    struct ScalarSet: Sendable {
        var ranges: [ClosedRange<UInt32>] = []
        var whitespace = false
        var nonWhitespace = false
        var negated = false

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            let value = scalar.value
            var hit = false
            for range in ranges where range.contains(value) {
                hit = true
                break
            }
            if !hit, whitespace || nonWhitespace {
                let isSpace = scalar.properties.isWhitespace
                hit = (whitespace && isSpace) || (nonWhitespace && !isSpace)
            }
            return hit != negated
        }

        /// ICU's line terminators: `.` never matches them, `$` matches before one at the end.
        static func isLineTerminator(_ value: UInt32) -> Bool {
            (0x0A...0x0D).contains(value) || value == 0x85 || value == 0x2028 || value == 0x2029
        }

        static let dot = ScalarSet(
            ranges: [0x0A...0x0D, 0x85...0x85, 0x2028...0x2029], whitespace: false, nonWhitespace: false,
            negated: true)
    }

    indirect enum Node: Sendable {
        case scalars(ScalarSet)
        case sequence([Node])
        case alternation([Node])
        case repetition(Node, min: Int, max: Int?)
        case start
        case end
        case negativeLookahead(Node)
    }
}

// MARK: - Parser

extension PatternMatcher {
    private struct Parser {
        let pattern: String
        let scalars: [Unicode.Scalar]
        var index = 0
        /// How many groups the parser is inside (a lookahead is allowed at depth 0 only).
        var depth = 0
        /// Escaped punctuation that stands for itself, in and out of sets.
        static let escapable = Set("\\^$.|?*+()[]{}/-".unicodeScalars)
        /// The largest count a `{n,m}` may name (the grammar's largest is 1024).
        static let maxCount = 4096

        init(pattern: String) {
            self.pattern = pattern
            self.scalars = Array(pattern.unicodeScalars)
        }

        private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        private func fail(_ reason: String, at offset: Int? = nil) -> Unsupported {
            Unsupported(pattern: pattern, offset: offset ?? index, reason: reason)
        }

        mutating func parsePattern() throws(Unsupported) -> Node {
            // NSRegularExpression refuses the empty pattern: so does the matcher.
            if scalars.isEmpty { throw fail("the pattern is empty") }
            let node = try parseAlternation()
            if index < scalars.count { throw fail("unbalanced ')'") }
            return node
        }

        private mutating func parseAlternation() throws(Unsupported) -> Node {
            var branches = [try parseSequence()]
            while peek == "|" {
                index += 1
                branches.append(try parseSequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        private mutating func parseSequence() throws(Unsupported) -> Node {
            var items: [Node] = []
            while let c = peek, c != "|", c != ")" {
                let atomStart = index
                // A lookahead only right after a leading `^` of a top-level alternative: it then runs once.
                if scalars[atomStart] == "(", atomStart + 2 < scalars.count, scalars[atomStart + 1] == "?",
                    scalars[atomStart + 2] == "!"
                {
                    guard depth == 0, items.count == 1, case .start = items[0] else {
                        throw fail("a lookahead is supported only right after the leading '^'")
                    }
                }
                let atom = try parseAtom()
                // A group's content may be an assertion: only a bare `^`, `$` or `(?!…)` may not be repeated.
                let bareAssertion =
                    scalars[atomStart] == "^" || scalars[atomStart] == "$"
                    || (scalars[atomStart] == "(" && atomStart + 1 < index && scalars[atomStart + 1] == "?"
                        && scalars[atomStart + 2] == "!")
                items.append(try parseQuantifier(atom, at: atomStart, bareAssertion: bareAssertion))
            }
            return items.count == 1 ? items[0] : .sequence(items)
        }

        private mutating func parseAtom() throws(Unsupported) -> Node {
            let c = scalars[index]
            switch c {
            case "(":
                index += 1
                var lookahead = false
                if peek == "?" {
                    index += 1
                    switch peek {
                    case ":": index += 1
                    case "!":
                        index += 1
                        lookahead = true
                    default: throw fail("only (?: and (?! groups are supported")
                    }
                }
                depth += 1
                let inner = try parseAlternation()
                depth -= 1
                guard peek == ")" else { throw fail("missing ')'") }
                index += 1
                return lookahead ? .negativeLookahead(inner) : inner
            case "[":
                return .scalars(try parseSet())
            case ".":
                index += 1
                return .scalars(.dot)
            case "^":
                index += 1
                return .start
            case "$":
                index += 1
                return .end
            case "\\":
                index += 1
                return .scalars(try parseEscape())
            case "*", "+", "?", "{":
                throw fail("'\(c)' with nothing to repeat")
            case "]", "}":
                throw fail("a literal '\(c)' must be escaped")
            default:
                index += 1
                return .scalars(ScalarSet(ranges: [c.value...c.value]))
            }
        }

        private mutating func parseQuantifier(
            _ atom: Node, at atomStart: Int, bareAssertion: Bool
        ) throws(Unsupported) -> Node {
            guard let c = peek, "?*+{".unicodeScalars.contains(c) else { return atom }
            if bareAssertion { throw fail("a quantifier on an assertion", at: atomStart) }
            var min = 0
            var max: Int?
            index += 1
            switch c {
            case "?": max = 1
            case "*": break
            case "+": min = 1
            default:
                min = try parseCount()
                if peek == "," {
                    index += 1
                    max = peek == "}" ? nil : try parseCount()
                } else {
                    max = min
                }
                guard peek == "}" else { throw fail("a '{' count must end with '}'") }
                index += 1
                if let max, max < min { throw fail("{\(min),\(max)}: the maximum is below the minimum") }
            }
            if let next = peek, "?*+{".unicodeScalars.contains(next) {
                throw fail("lazy, possessive or stacked quantifiers are not supported")
            }
            if max != 0, max != 1, Self.canMatchEmpty(atom) {
                throw fail("a repetition of something that can match the empty string", at: atomStart)
            }
            return .repetition(atom, min: min, max: max)
        }

        static func canMatchEmpty(_ node: Node) -> Bool {
            switch node {
            case .scalars: return false
            case .sequence(let items): return items.allSatisfy(canMatchEmpty)
            case .alternation(let branches): return branches.contains(where: canMatchEmpty)
            case .repetition(let item, let min, _): return min == 0 || canMatchEmpty(item)
            case .start, .end, .negativeLookahead: return true
            }
        }

        private mutating func parseCount() throws(Unsupported) -> Int {
            var value = 0
            var digits = 0
            while let c = peek, ("0"..."9").contains(c) {
                value = value * 10 + Int(c.value - 48)
                digits += 1
                index += 1
                if value > Self.maxCount { throw fail("a count above \(Self.maxCount)") }
            }
            guard digits > 0 else { throw fail("a '{' must hold a count") }
            return value
        }

        /// After the backslash.
        private mutating func parseEscape() throws(Unsupported) -> ScalarSet {
            guard let c = peek else { throw fail("a pattern may not end with '\\'") }
            index += 1
            switch c {
            case "s": return ScalarSet(whitespace: true)
            case "S": return ScalarSet(nonWhitespace: true)
            case "u":
                var value: UInt32 = 0
                for _ in 0..<4 {
                    guard let h = peek, let digit = Self.hexValue(h) else { throw fail("\\u needs four hex digits") }
                    value = value * 16 + digit
                    index += 1
                }
                guard Unicode.Scalar(value) != nil else { throw fail("\\u\(value) is a surrogate") }
                return ScalarSet(ranges: [value...value])
            default:
                guard Self.escapable.contains(c) else {
                    throw fail("the escape \\\(c) is not supported", at: index - 2)
                }
                return ScalarSet(ranges: [c.value...c.value])
            }
        }

        private static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
            switch c {
            case "0"..."9": return c.value - 48
            case "a"..."f": return c.value - 87
            case "A"..."F": return c.value - 55
            default: return nil
            }
        }

        /// After `[`: items up to `]`.
        private mutating func parseSet() throws(Unsupported) -> ScalarSet {
            index += 1
            var set = ScalarSet()
            if peek == "^" {
                set.negated = true
                index += 1
            }
            var first = true
            while true {
                guard let c = peek else { throw fail("missing ']'") }
                if c == "]" {
                    if first { throw fail("an empty set or a leading ']' is not supported") }
                    index += 1
                    return set
                }
                if c == "-" {
                    // `--` is ICU's set difference.
                    if index + 1 < scalars.count, scalars[index + 1] == "-" { throw fail("'--' inside a set") }
                    // Only as the first or the last item: anything else is a range or ICU's set difference.
                    guard first || (index + 1 < scalars.count && scalars[index + 1] == "]") else {
                        throw fail("a '-' inside a set must be first or last")
                    }
                    index += 1
                    set.ranges.append(c.value...c.value)
                    first = false
                    continue
                }
                let low = try parseSetItem(first: first)
                first = false
                guard low.ranges.count == 1, !low.whitespace, !low.nonWhitespace, peek == "-",
                    index + 1 < scalars.count, scalars[index + 1] != "]"
                else {
                    set.ranges += low.ranges
                    set.whitespace = set.whitespace || low.whitespace
                    set.nonWhitespace = set.nonWhitespace || low.nonWhitespace
                    continue
                }
                index += 1
                if scalars[index] == "-" {
                    throw fail("a range may not end with an unescaped '-' ('--' is ICU's set difference)")
                }
                let high = try parseSetItem(first: false)
                guard high.ranges.count == 1, !high.whitespace, !high.nonWhitespace else {
                    throw fail("a range must end with a single character")
                }
                let lower = low.ranges[0].lowerBound
                let upper = high.ranges[0].lowerBound
                guard lower <= upper else { throw fail("the range is reversed") }
                set.ranges.append(lower...upper)
            }
        }

        private mutating func parseSetItem(first: Bool) throws(Unsupported) -> ScalarSet {
            let c = scalars[index]
            switch c {
            case "\\":
                index += 1
                return try parseEscape()
            case "[", "&", "$", "}", "^":
                throw fail("'\(c)' inside a set must be escaped")
            case ":" where first:
                throw fail("a set may not start with ':'")
            default:
                index += 1
                return ScalarSet(ranges: [c.value...c.value])
            }
        }
    }
}

// MARK: - Automaton

extension PatternMatcher {
    fileprivate enum Instruction: Sendable {
        case consume(Int)
        case split(Int, Int)
        case jump(Int)
        case start
        case end
        case negativeLookahead(Int)
        case match
    }

    private struct Compiler {
        static let limit = 100_000
        struct TooLarge: Error {}

        var code: [Instruction] = []
        var sets: [ScalarSet] = []
        var lookaheads: [Program] = []
        /// Steps of the lookaheads' programs, counted against the same limit.
        var nestedSteps = 0

        mutating func program(for node: Node) throws(TooLarge) -> Program {
            try emit(node)
            code.append(.match)
            return Program(code: code, sets: sets, lookaheads: lookaheads)
        }

        private mutating func append(_ instruction: Instruction) throws(TooLarge) -> Int {
            guard code.count + nestedSteps < Self.limit else { throw TooLarge() }
            code.append(instruction)
            return code.count - 1
        }

        private mutating func emit(_ node: Node) throws(TooLarge) {
            switch node {
            case .scalars(let set):
                sets.append(set)
                _ = try append(.consume(sets.count - 1))
            case .sequence(let items):
                for item in items { try emit(item) }
            case .alternation(let branches):
                var jumps: [Int] = []
                for (position, branch) in branches.enumerated() {
                    if position == branches.count - 1 {
                        try emit(branch)
                    } else {
                        let split = try append(.split(0, 0))
                        try emit(branch)
                        jumps.append(try append(.jump(0)))
                        code[split] = .split(split + 1, code.count)
                    }
                }
                for jump in jumps { code[jump] = .jump(code.count) }
            case .repetition(let item, let min, let max):
                for _ in 0..<min { try emit(item) }
                if let max {
                    // (max - min) optional copies: e?e?… has the language of e{0,k}.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(try append(.split(0, 0)))
                        try emit(item)
                    }
                    for split in splits { code[split] = .split(split + 1, code.count) }
                } else {
                    let split = try append(.split(0, 0))
                    try emit(item)
                    _ = try append(.jump(split))
                    code[split] = .split(split + 1, code.count)
                }
            case .start:
                _ = try append(.start)
            case .end:
                _ = try append(.end)
            case .negativeLookahead(let inner):
                var nested = Compiler()
                nested.nestedSteps = code.count + nestedSteps
                let program = try nested.program(for: inner)
                nestedSteps += program.code.count
                lookaheads.append(program)
                _ = try append(.negativeLookahead(lookaheads.count - 1))
            }
        }
    }

    fileprivate final class Program: Sendable {
        let code: [Instruction]
        let sets: [ScalarSet]
        let lookaheads: [Program]

        init(code: [Instruction], sets: [ScalarSet], lookaheads: [Program]) {
            self.code = code
            self.sets = sets
            self.lookaheads = lookaheads
        }

        /// Whether a match starts at `from` (`anchored`) or at any position from `from` on.
        func run(on input: [Unicode.Scalar], from: Int, anchored: Bool) -> Bool {
            var run = Run(program: self, input: input)
            return run.search(from: from, anchored: anchored)
        }
    }

    /// One simulation: the threads at the current position and the next, each state added once per position.
    private struct Run {
        let program: Program
        let input: [Unicode.Scalar]
        var stamp: [Int]
        var stack: [Int] = []
        var lookaheadAnswers: [Int: [Int: Bool]] = [:]

        init(program: Program, input: [Unicode.Scalar]) {
            self.program = program
            self.input = input
            self.stamp = Array(repeating: -1, count: program.code.count)
        }

        mutating func search(from: Int, anchored: Bool) -> Bool {
            var current: [Int] = []
            var next: [Int] = []
            var position = from
            while true {
                if position == from || !anchored {
                    if add(0, at: position, to: &current) { return true }
                }
                if position == input.count || (anchored && current.isEmpty) { return false }
                let scalar = input[position]
                next.removeAll(keepingCapacity: true)
                for pc in current {
                    guard case .consume(let set) = program.code[pc], program.sets[set].contains(scalar) else {
                        continue
                    }
                    if add(pc + 1, at: position + 1, to: &next) { return true }
                }
                swap(&current, &next)
                position += 1
            }
        }

        /// Adds the state `pc` and every state reachable from it without consuming; true when one is the match.
        private mutating func add(_ pc: Int, at position: Int, to list: inout [Int]) -> Bool {
            stack.append(pc)
            defer { stack.removeAll(keepingCapacity: true) }
            while let pc = stack.popLast() {
                if stamp[pc] == position { continue }
                stamp[pc] = position
                switch program.code[pc] {
                case .consume: list.append(pc)
                case .split(let first, let second):
                    stack.append(second)
                    stack.append(first)
                case .jump(let target): stack.append(target)
                case .start: if position == 0 { stack.append(pc + 1) }
                case .end: if atEnd(position) { stack.append(pc + 1) }
                case .negativeLookahead(let index): if !lookahead(index, at: position) { stack.append(pc + 1) }
                case .match: return true
                }
            }
            return false
        }

        private mutating func lookahead(_ index: Int, at position: Int) -> Bool {
            if let known = lookaheadAnswers[index]?[position] { return known }
            let answer = program.lookaheads[index].run(on: input, from: position, anchored: true)
            lookaheadAnswers[index, default: [:]][position] = answer
            return answer
        }

        /// ICU's `$` without flags: the end, or before a final line terminator (not between CR and LF), or before
        /// a final CR LF.
        private func atEnd(_ position: Int) -> Bool {
            let count = input.count
            if position == count { return true }
            if position == count - 1 {
                let value = input[position].value
                guard ScalarSet.isLineTerminator(value) else { return false }
                return !(value == 0x0A && position > 0 && input[position - 1].value == 0x0D)
            }
            return position == count - 2 && input[position].value == 0x0D && input[position + 1].value == 0x0A
        }
    }
}
