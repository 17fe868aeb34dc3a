import Foundation
import Rego
import TestSupport
import Testing

/// OPA's evaluator with its JSON output as Go wrote it.
///
/// `opa-ref eval` prints the result set after a round trip through Python's `json` module,
/// which turns every number with a fraction or an exponent into a Python float: OPA's
/// `[1.50]` comes out as `[1.5]` and its `2` (from `abs(2.0)`) stays `2`, but its `1e3`
/// becomes `1000.0`. The literal text of a number is therefore only visible before that
/// round trip. This helper loads the same library opa-ref loads (through opa-ref's own
/// `install`, so the same version) and prints, for each query, the envelope the Go side
/// returned, unparsed. Input is passed as raw JSON text for the same reason.
enum OPARaw {
    /// One query's outcome: the raw envelope (`{"result": [...]}` or `{"error": …}`).
    struct Outcome {
        let raw: String
    }

    static let script = #"""
        import importlib.machinery, importlib.util, ctypes, json, sys
        loader = importlib.machinery.SourceFileLoader("opa_ref_tool", sys.argv[1])
        spec = importlib.util.spec_from_loader("opa_ref_tool", loader)
        tool = importlib.util.module_from_spec(spec)
        loader.exec_module(tool)
        sys.path.insert(0, tool.install(quiet=True))
        from opa_bindings import engine as E
        req = json.load(sys.stdin)
        eng = E.OpaEngine()
        for name, src in sorted(req["modules"].items()):
            eng.add_policy(name, src)
        raw_input = (req.get("input") or "").encode()
        for q in req["queries"]:
            ptr = eng._lib.OpaEvalQuery(eng._handle, E._cstr(q), raw_input, 0, 0)
            raw = ctypes.string_at(ptr)
            eng._lib.OpaFreeString(ptr)
            sys.stdout.write(raw.decode().replace("\n", " ") + "\n")
        """#

    /// Evaluates every query against `modules` (name → source) with `input` given as JSON text.
    static func evaluate(modules: [String: String], input: String?, queries: [String]) async throws -> [Outcome] {
        guard let tool = OPARef.executable().0 else { throw POSIXError(.ENOENT) }
        var request: [RegoValue: RegoValue] = [
            .string("modules"): .object(
                Dictionary(uniqueKeysWithValues: modules.map { (.string($0.key), .string($0.value)) })),
            .string("queries"): .array(queries.map { .string($0) }),
        ]
        if let input { request[.string("input")] = .string(input) }
        // Through the runner: the request is written by its poll thread while both pipes are read.
        let result = try await ExternalTool.capture(
            ["/usr/bin/env", "python3", "-c", script, tool.path],
            input: Data(RegoValue.object(request).jsonString().utf8), timeout: 600)
        guard result.status == 0 else {
            throw RawError(
                message:
                    "OPA's evaluator (opa-ref's library) exited \(result.status): \(result.stderr.suffix(600))"
            )
        }
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(
            String.init)
        guard lines.count == queries.count else {
            throw RawError(message: "OPA's evaluator answered \(lines.count) lines for \(queries.count) queries")
        }
        return lines.map { Outcome(raw: $0) }
    }

    struct RawError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// The JSON text of binding `name` in every row (parsed with this engine's reader, which keeps
    /// number text, and printed again: keys sorted as OPA sorts them), `undefined`, or `error: code`.
    static func binding(_ outcome: Outcome, _ name: String) -> String {
        guard let v = try? RegoValue(jsonString: outcome.raw), case .object(let o) = v else {
            return "unreadable: \(outcome.raw)"
        }
        if let e = o[.string("error")], e != .null {
            if case .object(let eo) = e, case .string(let code)? = eo[.string("code")] {
                // The bridge files every evaluation error under `eval_error` (and compile errors under
                // `prepare_error`) and keeps OPA's own code in the message: report that one.
                if case .string(let message)? = eo[.string("message")],
                    let r = message.range(of: #"(eval|rego)_[a-z_]+_error"#, options: .regularExpression)
                {
                    return "error: \(message[r])"
                }
                return "error: \(code)"
            }
            return "error"
        }
        guard case .array(let rows)? = o[.string("result")], !rows.isEmpty else { return "undefined" }
        return rows.map { row -> String in
            guard case .object(let r) = row, case .object(let b)? = r[.string("bindings")], let x = b[.string(name)]
            else { return "undefined" }
            return x.jsonString()
        }.joined(separator: " | ")
    }

    /// The same for this engine.
    static func ours(_ engine: RegoEngine, _ query: String, input: RegoValue?, _ name: String) -> String {
        do {
            let rows = try engine.queryResults(query, input: input)
            if rows.isEmpty { return "undefined" }
            return rows.map { $0.bindings[name]?.jsonString() ?? "undefined" }.joined(separator: " | ")
        } catch let e as RegoError {
            return "error: \(e.code)"
        } catch {
            return "error"
        }
    }
}
