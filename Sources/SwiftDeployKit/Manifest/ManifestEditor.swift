import Foundation
import Yams

/// Why `services.mode` could not be rewritten in place.
public enum ManifestEditorError: SwiftDeployFailure, Equatable {
    /// The file's shape does not allow a safe in-place edit (an alias, a block scalar, no `services` mapping).
    case notEditable(path: String, line: Int?, column: Int?, reason: String)
    /// The rewritten text did not read back as the same manifest with only the mode changed. Nothing was written.
    case verificationFailed(path: String, detail: String)
    /// Writing the new file failed; the old file is untouched.
    case writeFailed(path: String, reason: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .notEditable: return .invalidInput
        case .verificationFailed, .writeFailed: return .operationFailed
        }
    }

    public var errorDescription: String? {
        switch self {
        case .notEditable(let path, let line, let column, let reason):
            let position = line.map { ":\($0):\(column ?? 1)" } ?? ""
            return
                """
                \(path)\(position): error: cannot change services.mode in place: \(reason); write it as a plain \
                'mode: stable' line under services: and run again
                """
        case .verificationFailed(let path, let detail):
            return
                """
                refusing to rewrite \(path): the edited manifest would not read back as the same manifest with a \
                new mode (\(detail)); the file was left untouched; please report this with the manifest attached
                """
        case .writeFailed(let path, let reason):
            return
                """
                could not write \(path): \(reason); the file was left untouched; check the directory's \
                permissions and free space
                """
        }
    }
}

/// Rewrites `services.mode` in `manifest.yaml` **in place**: only the bytes of the
/// mode's value change (its quote style kept); comments, key order, indentation,
/// line endings and every other byte of the file stay identical. When `mode` is
/// absent, one line `mode: <value>` is inserted as the first key under `services:`
/// with its siblings' indentation.
///
/// The value is found through Yams' node marks (line and column, counted in
/// Unicode scalars as libyaml does). Before writing, the new text is loaded again
/// and must equal the old manifest with only `services.mode` changed; the file is
/// then replaced atomically (temporary file + rename) with its permissions kept.
public struct ManifestEditor: Sendable {
    public init() {}

    /// The text with `services.mode` set to `mode`. `path` names the file in errors.
    public func settingMode(_ mode: DeploymentMode, in text: String, path: String = "manifest.yaml") throws -> String {
        try setting(serviceKey: "mode", to: mode.rawValue, in: text, path: path)
    }

    /// The text with `services.<key>` set to `value` (a value that passed its grammar, so it never needs escaping):
    /// only the value's bytes change, its quote style kept; an absent key is inserted as the first key under
    /// `services:`.
    public func setting(serviceKey key: String, to value: String, in text: String, path: String = "manifest.yaml")
        throws -> String
    {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ManifestEditorError.notEditable(
                path: path, line: nil, column: nil, reason: "it is not valid YAML (\(error))")
        }
        guard let top = root?.mapping else {
            throw ManifestEditorError.notEditable(
                path: path, line: nil, column: nil, reason: "the manifest is not a mapping")
        }
        guard let services = top.first(where: { $0.key.scalar?.string == "services" })?.value else {
            throw ManifestEditorError.notEditable(
                path: path, line: nil, column: nil, reason: "it has no services: section")
        }
        guard let mapping = services.mapping else {
            throw ManifestEditorError.notEditable(
                path: path, line: services.mark?.line, column: services.mark?.column,
                reason: "services is not a mapping")
        }
        var scalars = Array(text.unicodeScalars)
        let lines = LineIndex(scalars)

        if let entry = mapping.first(where: { $0.key.scalar?.string == key }) {
            guard let scalar = entry.value.scalar, let mark = entry.value.mark, let keyMark = entry.key.mark else {
                throw ManifestEditorError.notEditable(
                    path: path, line: entry.key.mark?.line, column: entry.key.mark?.column,
                    reason: "services.\(key) is not a single value")
            }
            // Yams resolves an alias to its anchored node, which sits before the key: editing it would change the
            // anchor.
            guard (mark.line, mark.column) > (keyMark.line, keyMark.column) else {
                throw ManifestEditorError.notEditable(
                    path: path, line: keyMark.line, column: keyMark.column,
                    reason: "services.\(key) is an alias of a value defined elsewhere")
            }
            guard var start = lines.offset(line: mark.line, column: mark.column) else {
                throw ManifestEditorError.notEditable(
                    path: path, line: mark.line, column: mark.column, reason: "its position is outside the file")
            }
            start = Self.skipProperties(scalars, from: start)
            let (raw, replacement): (String, String)
            switch scalar.style {
            case .plain: (raw, replacement) = (scalar.string, value)
            case .singleQuoted: (raw, replacement) = ("'\(scalar.string)'", "'\(value)'")
            case .doubleQuoted: (raw, replacement) = ("\"\(scalar.string)\"", "\"\(value)\"")
            default:
                throw ManifestEditorError.notEditable(
                    path: path, line: mark.line, column: mark.column,
                    reason: "services.\(key) is a block scalar (| or >)")
            }
            let rawScalars = Array(raw.unicodeScalars)
            guard start + rawScalars.count <= scalars.count,
                Array(scalars[start..<(start + rawScalars.count)]) == rawScalars
            else {
                throw ManifestEditorError.notEditable(
                    path: path, line: mark.line, column: mark.column,
                    reason: "services.\(key) is written with escapes or over several lines")
            }
            scalars.replaceSubrange(start..<(start + rawScalars.count), with: Array(replacement.unicodeScalars))
        } else {
            guard let first = mapping.first?.key, let mark = first.mark,
                let keyStart = lines.offset(line: mark.line, column: mark.column)
            else {
                throw ManifestEditorError.notEditable(
                    path: path, line: services.mark?.line, column: services.mark?.column,
                    reason: "services has no keys to place \(key) beside")
            }
            // In a flow mapping (`services: {image: …}`) the first key follows `{`.
            let lineStart = lines.offset(line: mark.line, column: 1)!
            let before = scalars[lineStart..<keyStart].reversed().first { $0 != " " && $0 != "\t" }
            if mapping.style == .flow || before == "{" {
                scalars.insert(contentsOf: Array("\(key): \(value), ".unicodeScalars), at: keyStart)
            } else {
                let indentation = Array(scalars[lineStart..<keyStart])
                guard indentation.allSatisfy({ $0 == " " || $0 == "\t" }) else {
                    throw ManifestEditorError.notEditable(
                        path: path, line: mark.line, column: mark.column,
                        reason: "the first key under services does not start its line")
                }
                let newline = text.contains("\r\n") ? "\r\n" : "\n"
                let inserted = indentation + Array("\(key): \(value)\(newline)".unicodeScalars)
                scalars.insert(contentsOf: inserted, at: lineStart)
            }
        }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars)
        return String(result)
    }

    /// Skips an anchor (`&name`) and a tag (`!!str`) written before the value.
    static func skipProperties(_ scalars: [Unicode.Scalar], from start: Int) -> Int {
        var index = start
        while index < scalars.count, scalars[index] == "&" || scalars[index] == "!" {
            while index < scalars.count, scalars[index] != " ", scalars[index] != "\t", scalars[index] != "\n",
                scalars[index] != "\r"
            { index += 1 }
            while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
        }
        return index
    }

    /// Sets `services.mode` in the manifest file at `url`; returns the mode it had before.
    /// A no-op (nothing written) when the mode is already `mode`.
    @discardableResult
    public func setMode(_ mode: DeploymentMode, inFileAt url: URL, loader: ManifestLoader = ManifestLoader()) throws
        -> DeploymentMode
    {
        let edit = try prepareMode(mode, inFileAt: url, loader: loader)
        try commit(edit)
        return edit.before.services.mode
    }

    /// Everything `setMode` does except the write: reads the file, edits the text, checks the result reads
    /// back as the same manifest with only the mode changed, and checks the directory takes a new file
    /// (a temporary sibling is written, synced and removed). A manifest that cannot be edited fails here,
    /// before anything is changed; `commit` then only writes.
    public func prepareMode(_ mode: DeploymentMode, inFileAt url: URL, loader: ManifestLoader = ManifestLoader()) throws
        -> PreparedModeEdit
    {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ManifestError.unreadable(path: path, reason: error.localizedDescription)
        }
        // A UTF-8 byte-order mark is kept: decoding drops it, so it is put back on write.
        let bom = Data([0xEF, 0xBB, 0xBF])
        let hasBOM = data.starts(with: bom)
        guard let text = String(data: hasBOM ? data.dropFirst(3) : data, encoding: .utf8) else {
            throw ManifestError.unreadable(path: path, reason: "it is not valid UTF-8")
        }
        let directory = url.deletingLastPathComponent().standardizedFileURL
        let before = try loader.parse(text, file: url.lastPathComponent, directory: directory, fileURL: url)
        if before.services.mode == mode {
            return PreparedModeEdit(url: url, original: data, edited: data, before: before, after: before)
        }
        let edited = try settingMode(mode, in: text, path: path)
        let after: Manifest
        do { after = try loader.parse(edited, file: url.lastPathComponent, directory: directory, fileURL: url) } catch {
            throw ManifestEditorError.verificationFailed(
                path: path, detail: "it no longer loads: \(error.localizedDescription)")
        }
        var expected = before
        expected.services.mode = mode
        guard after == expected else {
            throw ManifestEditorError.verificationFailed(path: path, detail: "more than services.mode would change")
        }
        let bytes = (hasBOM ? bom : Data()) + Data(edited.utf8)
        do {
            let staged = try AtomicFile.stage(bytes, for: url)
            try? FileManager.default.removeItem(at: staged)
        } catch {
            throw ManifestEditorError.writeFailed(
                path: path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        return PreparedModeEdit(url: url, original: data, edited: bytes, before: before, after: after)
    }

    /// Writes a prepared edit atomically (temporary file + rename, permissions kept). Refuses, writing
    /// nothing, when the file changed since it was prepared.
    public func commit(_ edit: PreparedModeEdit) throws {
        guard edit.edited != edit.original else { return }
        let path = edit.url.path
        guard let now = FileManager.default.contents(atPath: path), now == edit.original else {
            throw ManifestEditorError.verificationFailed(
                path: path, detail: "the file changed on disk since it was read; run again")
        }
        do {
            try AtomicFile.write(edit.edited, to: edit.url)
        } catch {
            throw ManifestEditorError.writeFailed(
                path: path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }
}

/// A checked `services.mode` edit, ready to write with `ManifestEditor.commit`.
public struct PreparedModeEdit: Sendable {
    public let url: URL
    /// The file's bytes when read.
    public let original: Data
    /// The bytes to write (the same as `original` when the mode is already the target).
    public let edited: Data
    /// The manifest before and after the edit.
    public let before: Manifest
    public let after: Manifest
}

extension ManifestEditor {
    /// Sets `services.image` and `services.version` in the manifest file at `url` (what a finished rollout does):
    /// only those values' bytes change. The edited text must load as the old manifest with exactly those two
    /// values changed, or nothing is written.
    public func setImageAndVersion(
        image: String, version: String, inFileAt url: URL, loader: ManifestLoader = ManifestLoader()
    ) throws {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ManifestError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestError.unreadable(path: path, reason: "it is not valid UTF-8")
        }
        let directory = url.deletingLastPathComponent().standardizedFileURL
        let before = try loader.parse(text, file: url.lastPathComponent, directory: directory, fileURL: url)
        if before.services.image == image, before.services.version == version { return }
        var edited = text
        if before.services.image != image {
            edited = try setting(serviceKey: "image", to: image, in: edited, path: path)
        }
        if before.services.version != version {
            edited = try setting(serviceKey: "version", to: version, in: edited, path: path)
        }
        let after: Manifest
        do { after = try loader.parse(edited, file: url.lastPathComponent, directory: directory, fileURL: url) } catch {
            throw ManifestEditorError.verificationFailed(
                path: path, detail: "it no longer loads: \(error.localizedDescription)")
        }
        var expected = before
        expected.services.image = image
        expected.services.version = version
        guard after == expected else {
            throw ManifestEditorError.verificationFailed(
                path: path, detail: "more than services.image and services.version would change")
        }
        do {
            try AtomicFile.write(Data(edited.utf8), to: url)
        } catch {
            throw ManifestEditorError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}

/// Maps libyaml's (line, column) marks, both counted from 1 in Unicode scalars, to offsets.
struct LineIndex {
    /// The offset at which each line starts.
    private var starts: [Int] = [0]
    private let count: Int

    init(_ scalars: [Unicode.Scalar]) {
        count = scalars.count
        var index = 0
        // libyaml skips a byte-order mark without counting it as a column.
        if scalars.first == "\u{FEFF}" {
            starts = [1]
            index = 1
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\r", index + 1 < scalars.count, scalars[index + 1] == "\n" {
                starts.append(index + 2)
                index += 2
                continue
            }
            if scalar == "\n" || scalar == "\r" || scalar == "\u{85}" || scalar == "\u{2028}" || scalar == "\u{2029}" {
                starts.append(index + 1)
            }
            index += 1
        }
    }

    func offset(line: Int, column: Int) -> Int? {
        guard line >= 1, line <= starts.count, column >= 1 else { return nil }
        let offset = starts[line - 1] + column - 1
        return offset <= count ? offset : nil
    }
}
