import Foundation
import Rego
import TestSupport
import Testing

/// OPA's compile errors for a declaration out of place (`rewriteDeclaredVar`): a name that
/// `:=`, `some` or `some … in` declares must not occur earlier in the same body, nor be declared
/// twice, nor redeclare a function's parameter; a name `some x` or `every` declares must be
/// used. Messages are opa-ref's, compared again in the
/// same run when it is there; nested bodies (comprehensions, `every`, `else`) are scopes of
/// their own.
@Suite struct DeclarationErrorTests {
    static let refused: [(source: String, message: String)] = [
        ("r if { y := x; x := 1 }", "var x referenced above"),
        ("r if { x := x + 1 }", "var x referenced above"),
        ("r if { x = 1; x := 2 }", "var x referenced above"),
        ("r if { input.a[x]; x := 1 }", "var x referenced above"),
        ("r if { x == 1; some x in [1] }", "var x referenced above"),
        ("r if { y = x; some x; x = 1 }", "var x referenced above"),
        ("r if { x := 1; x := 2 }", "var x assigned above"),
        ("r if { [x, y] := [1, 2]; y := 3 }", "var y assigned above"),
        ("r if { x := 1; some x }", "var x assigned above"),
        ("r if { some x; x := 1 }", "var x declared above"),
        ("r if { some x in [1]; x := 2 }", "var x declared above"),
        ("r if every x in [1] { x := 2 }", "var x declared above"),
        ("f(x) := y if { x := 1; y := 2 }", "arg x redeclared"),
        ("r if { x := 1; every y in [1] { y := 2 } }", "var y declared above"),
        // A name `some` or `every` declares and nothing uses.
        ("r if { some x; true }", "declared var x unused"),
        ("r if every x in [1] { true }", "declared var x unused"),
        ("r if every k, v in [1] { v > 0 }", "declared var k unused"),
    ]

    static let accepted: [String] = [
        "r := x if { x := 1; [y | y := x] }",
        "r if { y := [x | x := 1]; x := 2 }",
        "r if { x := 1 } else := 2 if { x := 1 }",
        "r if { x := 1; every y in [1] { x := 2; y > 0 } }",
        "f(x) := y if { y := [x | x := 2] }",
        "r if { some x in [1]; true }",
        "p contains x if { some x; input.xs[x] }",
        "r if every x in [1] { x > 0 }",
    ]

    static func compile(_ source: String) -> RegoError? {
        do {
            _ = try RegoEngine(
                modules: [RegoModule(name: "t.rego", source: "package t\n\n" + source + "\n")], data: .object([:]))
            return nil
        } catch let e as RegoError {
            return e
        } catch {
            return RegoError(code: "unexpected", message: "\(error)")
        }
    }

    /// OPA's error for `source` ("" when it accepts it); nil when opa-ref is missing locally (under CI that throws).
    static func opaError(_ source: String) async throws -> String? {
        guard try TestRequirement.opaRef.isAvailable(for: "OPA's verdict on \(source)") else { return nil }
        let (_, err) = try await DifferentialFuzzTests.reference(
            ["package t\n\n" + source + "\n"], data: .object([:]), input: .object([:]), query: "data.t")
        return err ?? ""
    }

    @Test(arguments: refused)
    func aMisplacedDeclarationIsACompileError(_ source: String, _ message: String) async throws {
        let e = try #require(Self.compile(source), "\(source) compiled; OPA refuses it with \(message)")
        #expect(e.code == "rego_compile_error" && e.message == message, "\(source): \(e)")
        #expect(e.file == "t.rego" && e.line == 3, "\(source): \(e)")
        if let opa = try await Self.opaError(source) {
            #expect(
                opa.contains("rego_compile_error: \(message)"), "\(source): OPA \(opa.isEmpty ? "accepts it" : opa)")
        }
    }

    @Test(arguments: accepted)
    func aDeclarationInItsOwnScopeCompiles(_ source: String) async throws {
        #expect(Self.compile(source) == nil, "\(source): \(Self.compile(source).map { "\($0)" } ?? "")")
        if let opa = try await Self.opaError(source) {
            #expect(opa.isEmpty, "\(source): OPA refuses it: \(opa)")
        }
    }

    @Test func aQueryIsCheckedToo() throws {
        let engine = try RegoEngine(modules: [], data: .object([:]))
        #expect {
            _ = try engine.queryResults("y := x; x := 1", input: nil)
        } throws: { error in
            (error as? RegoError)?.code == "rego_compile_error"
                && (error as? RegoError)?.message == "var x referenced above"
        }
    }
}
