import Foundation
import Rego

/// JSON shapes of `swiftdeploy policy eval`, identical to `opa eval -f json`.
enum PolicyOutput {
    /// Loads `-d` paths the way `opa eval` does, and the input from `-i FILE` or `-I` (standard input), if any.
    static func load(data: [String], inputFile: String?, standardInput: Bool) throws -> (RegoLoader, RegoValue?) {
        var loader = RegoLoader()
        try loader.load(data)
        if let inputFile {
            guard let bytes = FileManager.default.contents(atPath: inputFile) else {
                throw RegoError(
                    code: "load_error",
                    message: "\(inputFile): cannot read the input file; check the path and its permissions")
            }
            return (loader, try parseInput(bytes, source: inputFile))
        }
        if standardInput {
            return (loader, try parseInput(FileHandle.standardInput.readDataToEndOfFile(), source: "standard input"))
        }
        return (loader, nil)
    }

    static func parseInput(_ bytes: Data, source: String) throws -> RegoValue {
        do { return try RegoValue(jsonData: bytes) } catch let e as RegoError {
            throw RegoError(code: "load_error", message: "\(source): invalid JSON input: \(e.message)")
        }
    }

    /// `{"result": [{"expressions": [...], "bindings": {...}}]}`, or `{}` when undefined.
    static func evalJSON(_ results: [RegoQueryResult]) -> String {
        if results.isEmpty { return "{}" }
        let rows: [RegoValue] = results.map { r in
            var row: [RegoValue: RegoValue] = [
                .string("expressions"): .array(
                    r.expressions.map { e in
                        .object([
                            .string("value"): e.value,
                            .string("text"): .string(e.text),
                            .string("location"): .object([.string("row"): .int(e.row), .string("col"): .int(e.column)]),
                        ])
                    })
            ]
            if !r.bindings.isEmpty {
                row[.string("bindings")] = .object(
                    Dictionary(uniqueKeysWithValues: r.bindings.map { (.string($0.key), $0.value) }))
            }
            return .object(row)
        }
        return RegoValue.object([.string("result"): .array(rows)]).prettyJSONString()
    }

    /// `{"errors": [{"code": …, "message": …, "location": {…}}]}` as opa prints errors.
    static func errorJSON(_ e: RegoError) -> String {
        var err: [RegoValue: RegoValue] = [.string("code"): .string(e.code), .string("message"): .string(e.message)]
        if let file = e.file {
            var loc: [RegoValue: RegoValue] = [.string("file"): .string(file)]
            if let l = e.line { loc[.string("row")] = .int(l) }
            if let c = e.column { loc[.string("col")] = .int(c) }
            err[.string("location")] = .object(loc)
        }
        return RegoValue.object([.string("errors"): .array([.object(err)])]).prettyJSONString()
    }
}
