import Foundation
import Rego
import Testing

/// Malformed or hostile policies must produce errors, never a crash or a hang.
@Suite struct MalformedPolicyTests {
    func compileError(_ source: String, file: String = "bad.rego") -> RegoError? {
        do {
            _ = try RegoEngine(modules: [RegoModule(name: file, source: source)], data: .object([:]))
            return nil
        } catch let e as RegoError {
            return e
        } catch {
            return RegoError(code: "unexpected", message: "\(error)")
        }
    }

    @Test func unterminatedStringReportsPosition() throws {
        let e = try #require(compileError("package p\n\nx := \"abc\n"))
        #expect(e.code == "rego_parse_error")
        #expect(e.file == "bad.rego")
        #expect(e.line == 3)
        #expect(e.column == 6)
        #expect(e.message.contains("unterminated string"))
    }

    @Test func unterminatedRawStringAndBody() throws {
        #expect(compileError("package p\nx := `abc")?.code == "rego_parse_error")
        let e = try #require(compileError("package p\nallow if {\n  input.x == 1\n"))
        #expect(e.code == "rego_parse_error")
        #expect(e.message.contains("missing '}'"))
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let e = try #require(compileError("package p\nx := \(deep)\n"))
        #expect(e.code == "rego_parse_error")
        #expect(e.message.contains("nesting too deep"))
        let parens = String(repeating: "(", count: 50_000) + "1" + String(repeating: ")", count: 50_000)
        #expect(compileError("package p\nx := \(parens)\n")?.code == "rego_parse_error")
        let deepJSON = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: RegoError.self) { try RegoValue(jsonString: deepJSON) }
    }

    @Test func hugeNumbersAreErrorsOrExact() throws {
        let e = try #require(compileError("package p\nx := 1e999999999\n"))
        #expect(e.code == "rego_parse_error")
        #expect(e.message.contains("out of range"))
        let engine = try RegoEngine(
            modules: [RegoModule(name: "n.rego", source: "package p\nx := 123456789012345678901234567890 * 10\n")],
            data: .object([:]))
        #expect(try engine.evaluate(path: "data.p.x", input: nil)?.jsonString() == "1234567890123456789012345678900")
    }

    @Test func recursionIsAnErrorNotAHang() throws {
        let engine = try RegoEngine(
            modules: [
                RegoModule(
                    name: "r.rego",
                    source: """
                        package p
                        f(x) := y if { y := f(x + 1) }
                        r := f(1)
                        a if b
                        b if a
                        """)
            ], data: .object([:]), options: .init(timeout: 5))
        let e1 = #expect(throws: RegoError.self) { try engine.evaluate(path: "data.p.r", input: nil) }
        #expect(e1?.code == "eval_limit_error")
        let e2 = #expect(throws: RegoError.self) { try engine.evaluate(path: "data.p.a", input: nil) }
        #expect(e2?.code == "rego_recursion_error")
    }

    @Test func runawayEvaluationStopsAtTheTimeLimit() throws {
        let engine = try RegoEngine(
            modules: [
                RegoModule(
                    name: "slow.rego",
                    source: """
                        package p
                        n := numbers.range(1, 2000)
                        slow := count([1 | some a in n; some b in n; some c in n; a + b + c == -1])
                        """)
            ], data: .object([:]), options: .init(timeout: 0.5))
        let start = Date()
        let e = #expect(throws: RegoError.self) { try engine.evaluate(path: "data.p.slow", input: nil) }
        #expect(e?.code == "eval_limit_error")
        #expect(Date().timeIntervalSince(start) < 5)
    }
}
