import Foundation
import Rego

/// Loads OPA's conformance cases (`opa-conformance/cases-v1.jsonl` in the shared
/// directory) and runs one case through the engine.
struct ConformanceSuite {
    struct Case {
        let dir: String
        let file: String
        let tier: String
        let note: String
        let query: String
        let modules: [String]
        let data: RegoValue
        let input: RegoValue?
        let inputTerm: String?
        let wantResult: [RegoValue]?
        let sortBindings: Bool
        let wantErrorCode: String?
        let wantError: String?
        let strictError: Bool

        /// Key of the exclusion list: file and note (notes repeat across files).
        var key: String { "\(file) :: \(note)" }
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    static func load(_ url: URL) throws -> [Case] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var cases: [Case] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            guard case .object(let o) = try RegoValue(jsonString: String(line)) else { continue }
            func str(_ k: String) -> String? {
                if case .string(let s)? = o[.string(k)] { return s }
                return nil
            }
            var modules: [String] = []
            if case .array(let ms)? = o[.string("modules")] {
                for m in ms { if case .string(let s) = m { modules.append(s) } }
            }
            var want: [RegoValue]? = nil
            if case .array(let w)? = o[.string("want_result")] { want = w }
            cases.append(
                Case(
                    dir: str("dir") ?? "", file: str("file") ?? "", tier: str("tier") ?? "", note: str("note") ?? "",
                    query: str("query") ?? "", modules: modules, data: o[.string("data")] ?? .object([:]),
                    input: o[.string("input")], inputTerm: str("input_term"), wantResult: want,
                    sortBindings: o[.string("sort_bindings")] == .bool(true),
                    wantErrorCode: str("want_error_code"), wantError: str("want_error"),
                    strictError: o[.string("strict_error")] == .bool(true)))
        }
        return cases
    }

    /// JSON view of a value (sets become sorted arrays), as the cases are written.
    static func normalize(_ v: RegoValue, sort: Bool) -> RegoValue {
        let j = (try? RegoValue(jsonData: v.jsonData())) ?? v
        if sort, case .array(let items) = j { return .array(items.sorted()) }
        return j
    }

    enum Outcome {
        case pass
        case fail(String)
    }

    static func run(_ c: Case) -> Outcome {
        let modules = c.modules.enumerated().map { RegoModule(name: "test-\($0.offset).rego", source: $0.element) }
        let wantsError = c.wantErrorCode != nil || c.wantError != nil
        do {
            let engine = try RegoEngine(
                modules: modules, data: c.data,
                options: .init(strictBuiltinErrors: c.strictError, timeout: 5))
            var input = c.input
            if let term = c.inputTerm {
                let empty = try RegoEngine(modules: [], data: .object([:]))
                input = try empty.query("__input__ = \(term)", input: nil).first?["__input__"]
            }
            let rows = try engine.query(c.query, input: input)
            if wantsError {
                return .fail("want error \(c.wantErrorCode ?? "") \(c.wantError ?? ""), got \(rows.count) result(s)")
            }
            let got = Set(
                rows.map { row in
                    RegoValue.object(
                        Dictionary(
                            uniqueKeysWithValues: row.filter { !$0.key.hasPrefix("__localq") }.map {
                                (RegoValue.string($0.key), normalize($0.value, sort: c.sortBindings))
                            }))
                })
            let want = Set(
                (c.wantResult ?? []).map { w -> RegoValue in
                    guard case .object(let o) = w else { return w }
                    return .object(o.mapValues { normalize($0, sort: c.sortBindings) })
                })
            if got == want { return .pass }
            return .fail(
                """
                got \(RegoValue.set(got).jsonString().prefix(300)), want \
                \(RegoValue.set(want).jsonString().prefix(300))
                """
            )
        } catch let e as RegoError {
            if !wantsError { return .fail("unexpected error: \(e)") }
            if let code = c.wantErrorCode, code != e.code { return .fail("want code \(code), got \(e)") }
            if let msg = c.wantError, !msg.isEmpty, !e.description.contains(msg), !e.message.contains(msg) {
                return .fail("want message containing \(msg.debugDescription), got \(e)")
            }
            return .pass
        } catch {
            return .fail("unexpected error: \(error)")
        }
    }
}
