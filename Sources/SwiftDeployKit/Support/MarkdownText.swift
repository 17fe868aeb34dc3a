import Foundation

/// Escapes untrusted text (policy messages, override reasons, actors) for GitHub-flavoured Markdown, so a message
/// can never become a link, an image, HTML, emphasis or a table break in a report: the characters of links, images,
/// code,
/// emphasis and tables are backslash-escaped, HTML is neutralised, bare URLs are broken so they are not auto-linked,
/// and line
/// breaks become `<br>` (one table cell).
public enum MarkdownText {
    /// What makes links and images (`[`, `]`), code, emphasis, strike-through and table breaks.
    private static let punctuation: Set<Character> = ["\\", "`", "*", "_", "[", "]", "|", "~"]

    public static func cell(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\r\n", "\n", "\r": out += "<br>"
            // Break auto-linked URLs (`http://…`, `www.…`); the entity renders as the character itself.
            case "/" where out.hasSuffix(":") || out.hasSuffix(":&#47;"): out += "&#47;"
            case "." where out.lowercased().hasSuffix("www"): out += "&#46;"
            default:
                if punctuation.contains(ch) { out += "\\" }
                out.append(ch)
            }
        }
        return out
    }
}
