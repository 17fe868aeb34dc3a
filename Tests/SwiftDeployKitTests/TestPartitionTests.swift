import Foundation
import TestSupport
import Testing

/// `scripts/run-tests` runs the suite as several processes: every suite (or test) that uses the Docker engine in the
/// process of its group in `scripts/test-groups`, everything else in one no-engine process that runs beside the
/// Compose processes and the Swarm ones. A suite missing from that file would silently run in the no-engine process,
/// beside everything; this test makes such a miss a failure (it runs in the no-engine process itself, so it runs
/// wherever the suite runs, engine or not). It reads the test sources: a `.requires(.docker)` on a suite or a test, a
/// suite gated on `SwarmCluster.enabled`, and whether the suite enters swarm mode (`SwarmTestEnvironment.begin()`).
@Suite struct TestPartitionTests {
    static let groupsFile = RepositoryPaths.root.appendingPathComponent("scripts/test-groups")
    static let tests = RepositoryPaths.root.appendingPathComponent("Tests")

    @Test func everySuiteThatUsesTheEngineIsInTheRightGroup() throws {
        let partition = try TestPartition(
            groups: String(contentsOf: Self.groupsFile, encoding: .utf8), sources: Self.tests)
        #expect(partition.uses.count >= 10, "found only \(partition.uses.map(\.id)) using the engine under Tests/")
        #expect(
            Set(partition.uses.map(\.kind)) == [.compose, .swarm, .multinode],
            "\(partition.uses.map { "\($0.id): \($0.kind)" })")
        for problem in partition.problems() {
            Issue.record("scripts/test-groups: \(problem)")
        }
    }

    /// The checker finds a suite in no group, a suite in the wrong kind of group, a test listed twice, an entry that
    /// names nothing and one that lists a suite using no engine; of a suite split by test over several groups, a test
    /// left in no group, one in two, and the suite listed whole as well; and none once the file is right. A
    /// requirement in a comment or in the text of a multi-line string literal (a fixture's source) is no requirement.
    @Test func theCheckerFindsEveryKindOfMistake() throws {
        let dir = try TemporaryDirectory(prefix: "test-groups")
        defer { dir.remove() }
        try dir.write(
            """
            import Testing
            /// Not a suite-level requirement: `.requires(.docker)` in a comment.
            @Suite(.serialized, .requires(.docker)) struct ComposeSuite {
                @Test func up() {}
            }
            @Suite("swarm")
            struct SwarmSuite {
                @Test(.requires(.docker))
                func deploy() throws { let s = try SwarmTestEnvironment.begin(); defer { s.end() } }
            }
            @Suite struct Mixed {
                @Test func plain() {}
                @Test(.requires(.docker)) func engine() {}
            }
            @Suite struct Plain { @Test(.requires(.dockerCompose)) func config() {} }
            @Suite(.serialized, .requires(.docker)) struct Split {
                static func helper() {}
                @Test func one() {}
                @Test(arguments: [1, 2])
                func two(_ n: Int) {}
                @Test func three() {}
            }
            @Suite struct Fixture {
                let source = \"\"\"
                    @Test(.requires(.docker)) func inAString() {}
                    \"\"\"
                @Test func reads() {}
            }
            """, to: "KitTests/A.swift")
        try dir.write(
            """
            @Suite(.enabled(if: SwarmCluster.enabled, "two engines")) struct Nodes {
                @Test func join() {}
            }
            """, to: "CLITests/B.swift")

        let right = """
            # group  suite or test
            compose-a  KitTests.ComposeSuite
            compose-b  KitTests.Mixed/engine
            swarm-a    KitTests.SwarmSuite
            multinode  CLITests.Nodes
            compose-a  KitTests.Split/one
            compose-b  KitTests.Split/two
            compose-c  KitTests.Split/three
            timed      KitTests.Plain
            """
        let good = try TestPartition(groups: right, sources: dir.url)
        #expect(good.problems().isEmpty, "\(good.problems())")
        #expect(
            Dictionary(uniqueKeysWithValues: good.uses.map { ($0.id, $0.kind) })
                == [
                    "KitTests.ComposeSuite": .compose, "KitTests.SwarmSuite/deploy": .swarm,
                    "KitTests.Mixed/engine": .compose, "KitTests.Split": .compose,
                    "CLITests.Nodes": .multinode,
                ])

        let wrong = """
            compose-a  KitTests.SwarmSuite
            compose-b  KitTests.Mixed/engine
            swarm-a    KitTests.Mixed/engine
            multinode  CLITests.Nodes
            compose-c  KitTests.Plain
            compose-c  KitTests.Gone
            nightly    CLITests.Nodes
            compose-a  KitTests.Split/one
            compose-b  KitTests.Split/one
            swarm-a    KitTests.Split/two
            compose-c  KitTests.Split/helper
            """
        let problems = try TestPartition(groups: wrong, sources: dir.url).problems().joined(separator: "\n")
        #expect(
            problems.contains("KitTests.ComposeSuite needs the Docker engine (KitTests/A.swift:3) but is in no group"),
            "\(problems)")
        #expect(
            problems.contains("KitTests.SwarmSuite/deploy enters swarm mode (KitTests/A.swift:8) but is in compose-a"),
            "\(problems)")
        #expect(problems.contains("KitTests.Mixed/engine is in two groups (compose-b, swarm-a)"), "\(problems)")
        #expect(problems.contains("line 6: KitTests.Gone names no suite or test under Tests/"), "\(problems)")
        #expect(problems.contains("line 5: KitTests.Plain uses no Docker engine"), "\(problems)")
        #expect(
            problems.contains("line 7: group 'nightly' is not compose-…, swarm-…, multinode or timed"), "\(problems)")
        #expect(problems.contains("KitTests.Split/one is in two groups (compose-a, compose-b)"), "\(problems)")
        #expect(
            problems.contains("KitTests.Split/three needs the Docker engine (KitTests/A.swift:16) but is in no group"),
            "\(problems)")
        #expect(
            problems.contains("KitTests.Split/two needs the Docker engine (KitTests/A.swift:16) but is in swarm-a"),
            "\(problems)")
        #expect(problems.contains("line 11: KitTests.Split/helper names no suite or test"), "\(problems)")

        let timedEngine = right.replacingOccurrences(
            of: "compose-a  KitTests.ComposeSuite", with: "timed      KitTests.ComposeSuite")
        let timed = try TestPartition(groups: timedEngine, sources: dir.url).problems().joined(separator: "\n")
        #expect(
            timed.contains("line 2: KitTests.ComposeSuite needs the Docker engine; a timed group is for suites"),
            "\(timed)")

        let both = right + "\ncompose-d  KitTests.Split\n"
        let twice = try TestPartition(groups: both, sources: dir.url).problems().joined(separator: "\n")
        #expect(twice.contains("KitTests.Split is in compose-d (line 10) and split by test as well"), "\(twice)")
    }
}

/// The partition of `scripts/test-groups` checked against what the test sources need.
struct TestPartition {
    enum Kind: String, Sendable { case compose, swarm, multinode, timed }

    /// A line of the groups file: its group and the suite (`<target>.<suite>`) or test (`<target>.<suite>/<test>`).
    struct Entry {
        let group: String
        let id: String
        let line: Int
        var kind: Kind? {
            if group == "multinode" || group.hasPrefix("multinode-") { return .multinode }
            if group.hasPrefix("compose-") { return .compose }
            if group.hasPrefix("swarm-") { return .swarm }
            if group == "timed" || group.hasPrefix("timed-") { return .timed }
            return nil
        }
    }

    /// A suite, or a test of a suite, that needs the engine: where the sources say so and which kind of group it needs.
    struct Use {
        let target: String
        let suite: String
        let test: String?
        let kind: Kind
        let location: String
        var id: String { "\(target).\(suite)" + (test.map { "/\($0)" } ?? "") }
    }

    let entries: [Entry]
    let uses: [Use]
    /// Every top-level type under the sources (`<target>.<type>`) with the functions declared in it.
    let declarations: [String: Set<String>]
    /// The test functions (`@Test`) of every type under the sources (`<target>.<type>`).
    let tests: [String: Set<String>]

    init(groups: String, sources: URL) throws {
        entries = groups.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap {
            index, line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let group = words.first, !group.hasPrefix("#"), words.count >= 2 else { return nil }
            return Entry(group: String(group), id: String(words[1]), line: index + 1)
        }
        var uses: [Use] = []
        var declarations: [String: Set<String>] = [:]
        var tests: [String: Set<String>] = [:]
        let files =
            FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
            .sorted { $0.path < $1.path } ?? []
        for file in files {
            let relative = String(file.standardizedFileURL.path.dropFirst(sources.standardizedFileURL.path.count + 1))
            guard let target = relative.split(separator: "/").first.map(String.init), relative.contains("/") else {
                continue
            }
            let scan = Self.scan(try String(contentsOf: file, encoding: .utf8), target: target, file: relative)
            uses += scan.uses
            declarations.merge(scan.declarations) { $0.union($1) }
            tests.merge(scan.tests) { $0.union($1) }
        }
        self.uses = uses
        self.declarations = declarations
        self.tests = tests
    }

    private static let topLevelType = try! Regex(
        #"^(?:@\w+(?:\(.*\))?\s+)*(?:(?:public|internal|private|fileprivate|final)\s+)*(?:struct|class|enum|actor|extension)\s+(\w+)"#
    )
    private static let function = try! Regex(#"\bfunc\s+(\w+)"#)
    private static let dockerRequirement = try! Regex(#"\.requires\([^)]*\.docker\b"#)

    /// One file: its top-level types (column 0, as swift-format leaves them), the functions in each, and every
    /// engine requirement, on the suite (its `@Suite` attribute, or `SwarmCluster.enabled`) or on a test (its `@Test`
    /// attribute; the test is the next `func`). A suite that calls `SwarmTestEnvironment.begin()` needs a swarm group.
    private static func scan(_ text: String, target: String, file: String) -> (
        uses: [Use], declarations: [String: Set<String>], tests: [String: Set<String>]
    ) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var declarations: [String: Set<String>] = [:]
        var found: [(suite: String, test: String?, line: Int, multinode: Bool)] = []
        var swarmSuites: Set<String> = []
        var current: String? = nil
        var inSuiteAttribute = false
        var pendingSuiteUse: (line: Int, multinode: Bool)? = nil
        var inTestAttribute: Int? = nil  // the line of a test attribute with an engine requirement, until its func
        var tests: [String: Set<String>] = [:]
        var afterTestAttribute = false  // a `@Test` attribute, until its func
        let isText = MultilineStrings.textLines(lines)  // a test's own fixture sources are no code
        for (index, line) in lines.enumerated() {
            if isText[index] { continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("//") { continue }
            if line.hasPrefix("@Suite") { inSuiteAttribute = true }
            let requiresEngine = line.contains(dockerRequirement)
            let multinode = line.contains("SwarmCluster.enabled")
            if inSuiteAttribute, requiresEngine || multinode {
                pendingSuiteUse = (index + 1, multinode)
            }
            if let match = line.firstMatch(of: topLevelType), let name = match.output[1].substring {
                current = String(name)
                declarations[String(name), default: []].formUnion([])
                inSuiteAttribute = false
                if let use = pendingSuiteUse {
                    found.append((String(name), nil, use.line, use.multinode))
                    pendingSuiteUse = nil
                }
            }
            guard let suite = current else { continue }
            if line.contains("SwarmTestEnvironment.begin(") { swarmSuites.insert(suite) }
            if !inSuiteAttribute, trimmed.hasPrefix("@Test") || line.contains("@Test(") {
                afterTestAttribute = true
                if requiresEngine { inTestAttribute = index + 1 }
            }
            if let match = line.firstMatch(of: function), let name = match.output[1].substring {
                declarations[suite, default: []].insert(String(name))
                if afterTestAttribute { tests[suite, default: []].insert(String(name)) }
                afterTestAttribute = false
                if let attributeLine = inTestAttribute {
                    found.append((suite, String(name), attributeLine, false))
                    inTestAttribute = nil
                }
            }
        }
        let uses = found.map { item in
            Use(
                target: target, suite: item.suite, test: item.test,
                kind: item.multinode ? .multinode : swarmSuites.contains(item.suite) ? .swarm : .compose,
                location: "\(file):\(item.line)")
        }
        return (
            uses, Dictionary(uniqueKeysWithValues: declarations.map { ("\(target).\($0.key)", $0.value) }),
            Dictionary(uniqueKeysWithValues: tests.map { ("\(target).\($0.key)", $0.value) })
        )
    }

    /// What is wrong with the groups file, one sentence each; empty when every engine use is in exactly one group of
    /// its kind and every entry names a suite or test that needs the engine.
    func problems() -> [String] {
        var problems: [String] = []
        for entry in entries where entry.kind == nil {
            problems.append("line \(entry.line): group '\(entry.group)' is not compose-…, swarm-…, multinode or timed")
        }
        for use in uses {
            let suiteID = "\(use.target).\(use.suite)"
            let what =
                use.kind == .compose
                ? "needs the Docker engine" : use.kind == .swarm ? "enters swarm mode" : "needs two engines"
            let byTest = entries.filter { $0.id.hasPrefix(suiteID + "/") }
            if use.test == nil, !byTest.isEmpty {
                // A suite split by test over several processes: each of its tests in exactly one group of its kind
                // (a test left out would run in the no-engine process), and not the suite as well.
                if let whole = entries.first(where: { $0.id == suiteID }) {
                    problems.append(
                        "\(suiteID) is in \(whole.group) (line \(whole.line)) and split by test as well: keep one")
                }
                for test in (tests[suiteID] ?? []).sorted() {
                    let covering = byTest.filter { $0.id == "\(suiteID)/\(test)" }
                    if covering.isEmpty {
                        problems.append(
                            "\(suiteID)/\(test) \(what) (\(use.location)) but is in no group, though other tests of "
                                + "its suite are, so scripts/run-tests would run it in the no-engine process; add it "
                                + "to a \(use.kind == .multinode ? "multinode" : "\(use.kind.rawValue)-…") group")
                    } else if covering.count > 1 {
                        problems.append(
                            "\(suiteID)/\(test) is in two groups (\(covering.map(\.group).joined(separator: ", "))): "
                                + "keep one")
                    }
                }
                for entry in byTest where entry.kind != nil && entry.kind != use.kind {
                    problems.append(
                        "\(entry.id) \(what) (\(use.location)) but is in \(entry.group) (line \(entry.line)): "
                            + "move it to a \(use.kind == .multinode ? "multinode" : "\(use.kind.rawValue)-…") group")
                }
                continue
            }
            let covering = entries.filter { $0.id == suiteID || (use.test != nil && $0.id == use.id) }
            switch covering.count {
            case 0:
                problems.append(
                    "\(use.id) \(what) (\(use.location)) but is in no group, so scripts/run-tests would run it in "
                        + """
                        the no-engine process beside everything; add \
                        '\(use.kind == .multinode ? "multinode" : "\(use.kind.rawValue)-a")  \(use.id)'
                        """
                )
            case 1:
                if let entry = covering.first, let kind = entry.kind, kind != use.kind {
                    problems.append(
                        "\(use.id) \(what) (\(use.location)) but is in \(entry.group) (line \(entry.line)): "
                            + "move it to a \(use.kind == .multinode ? "multinode" : "\(use.kind.rawValue)-…") group")
                }
            default:
                problems.append(
                    "\(use.id) is in two groups (\(covering.map(\.group).joined(separator: ", "))): keep one")
            }
        }
        for entry in entries {
            let parts = entry.id.split(separator: "/", maxSplits: 1).map(String.init)
            guard declarations[parts[0]] != nil, parts.count == 1 || tests[parts[0]]?.contains(parts[1]) == true else {
                problems.append(
                    "line \(entry.line): \(entry.id) names no suite or test under Tests/ (renamed or removed?)")
                continue
            }
            let covers = uses.contains { use in
                "\(use.target).\(use.suite)" == parts[0]
                    && (parts.count == 1 || use.test == nil || use.test == parts[1])
            }
            if entry.kind == .timed {
                // A timed group holds suites that need no engine but measure wall time, so they run one test at a
                // time beside the parallel no-engine process; an engine suite there would run beside Swarm.
                if covers {
                    problems.append(
                        "line \(entry.line): \(entry.id) needs the Docker engine; a timed group is for suites that do "
                            + "not (move it to a compose-…, swarm-… or multinode group)")
                }
                continue
            }
            if !covers {
                problems.append(
                    "line \(entry.line): \(entry.id) uses no Docker engine (no .requires(.docker)); remove it "
                        + "so that it runs in the no-engine process")
            }
        }
        return problems
    }
}
