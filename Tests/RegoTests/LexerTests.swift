import Foundation
import Rego
import Testing

/// The lexer works on UTF-8 bytes; positions stay in lines and characters.
@Suite struct LexerTests {
    static func parseError(_ source: String) -> RegoError? {
        do {
            try RegoEngine.parse(RegoModule(name: "l.rego", source: source))
            return nil
        } catch {
            return error as? RegoError
        }
    }

    @Test func crlfLineEndsCountLines() throws {
        let e = try #require(Self.parseError("package p\r\n\r\nx := 1\r\ny := \"open\r\n"))
        #expect(e.code == "rego_parse_error")
        #expect(e.line == 4 && e.column == 6, "\(e)")
    }

    @Test func columnsCountCharactersAfterNonASCIIText() throws {
        // "é" is two bytes and one character; "👍🏽" is eight bytes and one character.
        let e1 = try #require(Self.parseError("package p\n\nx := \"héllo\" ? 1\n"))
        #expect(e1.line == 3 && e1.column == 14, "\(e1)")
        let e2 = try #require(Self.parseError("package p\n\nx := \"👍🏽\" ? 1\n"))
        #expect(e2.line == 3 && e2.column == 10, "\(e2)")
        let e3 = try #require(Self.parseError("package p\n\nx := \"a\\qb\"\n"))
        #expect(e3.message.contains("invalid escape sequence '\\q'") && e3.column == 8, "\(e3)")
    }

    @Test func tokensDecodeAsBefore() throws {
        let engine = try RegoEngine(
            modules: [
                RegoModule(
                    name: "l.rego",
                    source: """
                        package p

                        s := "tab\\tquote\\"snow\\u2603pair\\ud83d\\ude00é"
                        raw := `a\\nb
                        c`
                        n := [1.5e3, 2.50, 1E-2, 0.0]
                        ops := [1 != 2, 1 <= 2, 2 >= 1, 1 == 1, 3 % 2]
                        t := $"x={1 + 1} {"y"}"
                        """)
            ], data: .object([:]))
        #expect(try engine.evaluate(path: "data.p.s", input: nil) == .string("tab\tquote\"snow\u{2603}pair\u{1F600}é"))
        #expect(try engine.evaluate(path: "data.p.raw", input: nil) == .string("a\\nb\nc"))
        #expect(try engine.evaluate(path: "data.p.n", input: nil)?.jsonString() == "[1.5e3,2.50,1E-2,0.0]")
        #expect(try engine.evaluate(path: "data.p.ops", input: nil)?.jsonString() == "[true,true,true,true,1]")
        #expect(try engine.evaluate(path: "data.p.t", input: nil) == .string("x=2 y"))
    }
}
