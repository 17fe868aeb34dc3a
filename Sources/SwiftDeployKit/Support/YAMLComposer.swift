import Foundation
import Yams

/// `Yams.compose(yaml:)` without Yams' default resolver where it cannot change the answer.
///
/// The default resolver tells `1`, `true`, `null`, `~` and timestamps from text with regular expressions that ICU
/// compiles once per process and runs at every key comparison (a few milliseconds of every `gate`). Swiftdeploy's
/// readers look at a scalar's text and style only, and look keys up by plain words, which read as text under either
/// resolver; the one place the resolver shows is Yams' duplicate-key check, where `1` and `"1"` are different keys to
/// the default resolver and the same key to the basic one. So the basic resolver finds every duplicate the default
/// one finds, and more: when it finds none the tree is the same but for tags (no reader asks for them; Yams fixes
/// some at composition, e.g. an empty value is `null` to one resolver and `str` to the other), and when it finds one
/// the document is composed again with the default resolver, which gives exactly Yams' answer (the tree, or its
/// error). `YAMLComposerTests` holds the two against each other.
///
/// Not for readers that ask a node for its tag or its typed value (`int`, `bool`, `float`, `any`).
///
/// Yams' `Constructor.default` builds its tag maps anew on every use and `Parser.Encoding.default` reads the
/// environment (`YAMS_DEFAULT_ENCODING`) on every use: both are taken once per process here (about 0.4 ms of a `gate`,
/// which composes the manifest and each policy's METADATA block).
enum YAMLComposer {
    nonisolated(unsafe) private static let constructor = Constructor.default
    private static let encoding = Parser.Encoding.default

    static func compose(yaml: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: yaml, .basic, constructor, encoding)
        } catch YamlError.duplicatedKeysInMapping {
            return try Yams.compose(yaml: yaml, .default, constructor, encoding)
        }
    }
}
