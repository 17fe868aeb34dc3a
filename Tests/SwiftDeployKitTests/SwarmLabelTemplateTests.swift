import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// nginx's Swarm config during a rollout is a Go template (`template_driver: golang`) that Swarm renders with the nginx
/// service's labels whenever it starts a task. The weight label can be set by hand (`docker service update
/// --label-add`), so whatever it holds must render to one of the live forms (weights 0-100): never its own text.
/// Go is not installed here, so `GoLabelTemplate` renders the template the way Swarm's driver (Go's text/template)
/// does for the only constructs it may hold, and refuses any other construct, which proves the template's structure
/// too. The real driver's rendering is compared byte for byte in SwarmRolloutEndToEndTests.
@Suite("Swarm rollout: a hand-set weight label renders only a known split")
struct SwarmLabelTemplateTests {
    static let candidate = CanaryRender(image: "shop/checkout:2.0.0", version: "2.0.0", weight: 20, sticky: true)

    func manifest() throws -> Manifest {
        try ManifestLoader().load(from: fixture("render/swarm/manifest.yaml"))
    }

    func liveForm(_ weight: Int) throws -> String {
        var canary = Self.candidate
        canary.weight = weight
        return try #require(try ConfigRenderer().render(try manifest(), canary: canary).nginxLive)
    }

    static let hostile = [
        "50%", "150", "-5", "abc", "", " 50", "050", "5\n    include /etc/passwd;",
        "50% canary;\n        * stable;\n    }\n    server { listen 81; }",
        "}}{{ secret \"x\" }}", "100 ", "0x10", "99.5",
    ]

    /// Every label value, hostile ones included, renders to a live form; a value that is not a weight 1-100 in plain
    /// digits is no traffic on the candidate.
    @Test(arguments: hostile + (0...100).map(String.init))
    func aLabelValueRendersOnlyALiveForm(_ label: String) async throws {
        let template = try ConfigRenderer().render(try manifest(), canary: Self.candidate).nginxConf
        let rendered = try GoLabelTemplate(template).render(labels: [CanaryContext.swarmWeightLabel: label])
        let weight = Int(label).flatMap { (1...100).contains($0) && String($0) == label ? $0 : nil } ?? 0
        let expected = try liveForm(weight)
        #expect(rendered == expected, "label \(label.debugDescription): \(Golden.diff(expected, rendered))")
        #expect(!label.contains("\n") || !rendered.contains(label), "the label's text reached nginx.conf")
    }

    /// A missing label is no traffic on the candidate.
    @Test func aMissingLabelIsAllStable() async throws {
        let template = try ConfigRenderer().render(try manifest(), canary: Self.candidate).nginxConf
        let expected = try liveForm(0)
        #expect(try GoLabelTemplate(template).render(labels: [:]) == expected)
    }

    /// The template never prints the label: its only actions compare it with fixed strings.
    @Test func theTemplateNeverPrintsTheLabel() async throws {
        let template = try ConfigRenderer().render(try manifest(), canary: Self.candidate).nginxConf
        #expect(try GoLabelTemplate(template).printsLabelText == false)
    }

    /// What the hostile labels render to passes real nginx's own check (and so does every live form).
    @Test(.requires(.nginx)) func nginxAcceptsWhatEveryHostileLabelRendersTo() async throws {
        let nginx = try TestRequirement.nginx.value()
        let template = try GoLabelTemplate(
            try ConfigRenderer().render(try manifest(), canary: Self.candidate).nginxConf)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for label in Self.hostile + ["1", "50", "99", "100"] {
            let file = try dir.write(
                try template.render(labels: [CanaryContext.swarmWeightLabel: label]), to: "nginx.conf")
            let result = try await ExternalTool.run(nginx, ["-t", "-p", dir.path + "/", "-c", file.path])
            #expect(result.status == 0, "label \(label.debugDescription): nginx -t failed: \(result.output)")
        }
    }
}

/// Go's text/template restricted to what a label-driven Swarm config may use: `{{$v := index .Service.Labels "k"}}`,
/// `{{if eq $v "a" …}}`, `{{else if eq $v "a" …}}`, `{{else}}`, `{{end}}`, and the printing actions `{{$v}}` and
/// `{{index .Service.Labels "k"}}` (supported so that a template printing the label can be caught). Any other action
/// is refused. A missing label is "" (Go's `index` on a map gives the zero value); `eq` with several arguments is true
/// when the first equals any other, as in Go.
struct GoLabelTemplate {
    enum Node {
        case text(String)
        case assign(variable: String, label: String)
        case printVariable(String)
        case printLabel(String)
        case branches([(condition: (variable: String, values: [String])?, body: [Node])])
    }
    struct Unsupported: Error, CustomStringConvertible {
        let action: String
        var description: String { "unsupported template action {{\(action)}}" }
    }

    let nodes: [Node]

    init(_ source: String) throws {
        var tokens: [(isAction: Bool, text: String)] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { tokens.append((false, String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw Unsupported(action: String(rest[open.upperBound...]))
            }
            tokens.append((true, String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces)))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { tokens.append((false, String(rest))) }
        var index = 0
        let (nodes, end) = try Self.parse(tokens, &index)
        guard end == nil else { throw Unsupported(action: end!) }
        self.nodes = nodes
    }

    /// Parses until `{{else…}}` or `{{end}}` (returned) or the end of input (nil).
    private static func parse(_ tokens: [(isAction: Bool, text: String)], _ index: inout Int) throws -> (
        [Node], String?
    ) {
        var nodes: [Node] = []
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            guard token.isAction else {
                nodes.append(.text(token.text))
                continue
            }
            let words = try words(token.text)
            switch words.first {
            case "end", "else": return (nodes, token.text)
            case "if":
                var branches: [(condition: (variable: String, values: [String])?, body: [Node])] = []
                var condition: (variable: String, values: [String])? = try Self.condition(
                    Array(words.dropFirst()), token.text)
                while true {
                    let (body, end) = try parse(tokens, &index)
                    branches.append((condition, body))
                    guard let end else { throw Unsupported(action: "if without end") }
                    if end == "end" { break }
                    let endWords = try Self.words(end)
                    if endWords == ["else"] {
                        condition = nil
                        continue
                    }
                    guard endWords.count > 2, endWords[0] == "else", endWords[1] == "if",
                        branches.last?.condition != nil
                    else { throw Unsupported(action: end) }
                    condition = try Self.condition(Array(endWords.dropFirst(2)), end)
                }
                nodes.append(.branches(branches))
            default:
                if words.count == 5, words[1] == ":=", words[2] == "index", words[0].hasPrefix("$") {
                    let label = try labelKey(Array(words[2...]), token.text)
                    nodes.append(.assign(variable: words[0], label: label))
                } else if words.count == 1, words[0].hasPrefix("$") {
                    nodes.append(.printVariable(words[0]))
                } else if words.first == "index" {
                    nodes.append(.printLabel(try labelKey(words, token.text)))
                } else {
                    throw Unsupported(action: token.text)
                }
            }
        }
        return (nodes, nil)
    }

    /// `index .Service.Labels "key"` (as words) → key.
    private static func labelKey(_ words: [String], _ action: String) throws -> String {
        guard words.count == 3, words[0] == "index", words[1] == ".Service.Labels", let key = literal(words[2]) else {
            throw Unsupported(action: action)
        }
        return key
    }

    private static func condition(_ words: [String], _ action: String) throws -> (variable: String, values: [String]) {
        guard words.count >= 3, words[0] == "eq", words[1].hasPrefix("$") else { throw Unsupported(action: action) }
        let values = words.dropFirst(2).compactMap(literal)
        guard values.count == words.count - 2 else { throw Unsupported(action: action) }
        return (words[1], values)
    }

    /// A double-quoted string literal without escapes, else nil.
    private static func literal(_ word: String) -> String? {
        guard word.count >= 2, word.hasPrefix("\""), word.hasSuffix("\"") else { return nil }
        let inner = String(word.dropFirst().dropLast())
        return inner.contains("\\") || inner.contains("\"") ? nil : inner
    }

    /// Splits an action into words; a quoted literal is one word (without spaces inside: enough here).
    private static func words(_ action: String) throws -> [String] {
        if action.contains("(") || action.contains("|") { throw Unsupported(action: action) }
        return action.split(separator: " ").map(String.init)
    }

    var printsLabelText: Bool {
        func prints(_ nodes: [Node]) -> Bool {
            nodes.contains {
                switch $0 {
                case .printVariable, .printLabel: return true
                case .branches(let branches): return branches.contains { prints($0.body) }
                case .text, .assign: return false
                }
            }
        }
        return prints(nodes)
    }

    func render(labels: [String: String]) throws -> String {
        var variables: [String: String] = [:]
        func run(_ nodes: [Node]) throws -> String {
            var out = ""
            for node in nodes {
                switch node {
                case .text(let text): out += text
                case .assign(let variable, let label): variables[variable] = labels[label] ?? ""
                case .printVariable(let variable):
                    guard let value = variables[variable] else { throw Unsupported(action: "undefined \(variable)") }
                    out += value
                case .printLabel(let label): out += labels[label] ?? ""
                case .branches(let branches):
                    for branch in branches {
                        if let condition = branch.condition {
                            guard let value = variables[condition.variable] else {
                                throw Unsupported(action: "undefined \(condition.variable)")
                            }
                            guard condition.values.contains(value) else { continue }
                        }
                        out += try run(branch.body)
                        break
                    }
                }
            }
            return out
        }
        return try run(nodes)
    }
}
