import Foundation

/// Who appended a line: the CI job when the environment says it runs in CI,
/// otherwise the user and host.
public struct HistoryActor: Sendable, Hashable, Codable {
    /// The user (CI actor, else `CurrentUser.name`: `$USER`, `$LOGNAME` or the uid's passwd entry).
    public var user: String?
    /// The machine's host name.
    public var host: String?
    /// The CI system (`github-actions`, `gitlab-ci`, `ci`), nil outside CI.
    public var ci: String?
    /// The CI job or run id.
    public var job: String?
    /// The CI workflow or pipeline name.
    public var workflow: String?

    public init(
        user: String? = nil, host: String? = nil, ci: String? = nil, job: String? = nil, workflow: String? = nil
    ) {
        self.user = user
        self.host = host
        self.ci = ci
        self.job = job
        self.workflow = workflow
    }

    /// The actor for `environment`: GitHub Actions (`GITHUB_ACTIONS`,
    /// `GITHUB_ACTOR`, `GITHUB_RUN_ID`, `GITHUB_WORKFLOW`), GitLab CI
    /// (`GITLAB_CI`, `GITLAB_USER_LOGIN`, `CI_JOB_ID`, `CI_PIPELINE_ID`), any CI
    /// setting `CI` (`CI_JOB_ID`/`BUILD_ID` if present), else `CurrentUser.name` and the host name.
    public static func resolve(environment: [String: String], hostName: String = HistoryActor.localHostName())
        -> HistoryActor
    {
        func value(_ key: String) -> String? {
            guard let v = environment[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        let localUser = CurrentUser.name(environment: environment)
        if value("GITHUB_ACTIONS") == "true" {
            return HistoryActor(
                user: value("GITHUB_ACTOR") ?? localUser, host: hostName, ci: "github-actions",
                job: value("GITHUB_RUN_ID"), workflow: value("GITHUB_WORKFLOW"))
        }
        if value("GITLAB_CI") != nil {
            return HistoryActor(
                user: value("GITLAB_USER_LOGIN") ?? localUser, host: hostName, ci: "gitlab-ci",
                job: value("CI_JOB_ID"), workflow: value("CI_PIPELINE_ID"))
        }
        if let ci = value("CI"), ci.lowercased() != "false", ci != "0" {
            return HistoryActor(
                user: localUser, host: hostName, ci: "ci", job: value("CI_JOB_ID") ?? value("BUILD_ID"),
                workflow: nil)
        }
        return HistoryActor(user: localUser, host: hostName)
    }

    /// `gethostname(2)`, without a DNS lookup.
    public static func localHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        let name = String(cString: buffer)
        return name.isEmpty ? "unknown" : name
    }

    /// `user@host`, or `user (ci job)` in CI: how reports name the actor.
    public var displayName: String {
        let who = user ?? "unknown"
        if let ci {
            return job.map { "\(who) (\(ci) job \($0))" } ?? "\(who) (\(ci))"
        }
        return host.map { "\(who)@\($0)" } ?? who
    }

    var jsonValue: JSONValue {
        var o: [String: JSONValue] = [:]
        if let user { o["user"] = .string(user) }
        if let host { o["host"] = .string(host) }
        if let ci { o["ci"] = .string(ci) }
        if let job { o["job"] = .string(job) }
        if let workflow { o["workflow"] = .string(workflow) }
        return .object(o)
    }
}

/// The git commit a line records: `SWIFTDEPLOY_GIT_COMMIT`, `GITHUB_SHA` or
/// `CI_COMMIT_SHA` from the environment, else `git rev-parse HEAD` in the
/// given directory (read from the repository's files by ``GitHead`` where its
/// answer is certain to be git's, which spares starting git). Never throws: no git, no repository, or a slow git
/// (over 5 s, then stopped) all mean "unknown".
enum GitCommit {
    static func resolve(in directory: URL, environment: [String: String], timeout: TimeInterval = 5) async -> String? {
        for key in ["SWIFTDEPLOY_GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"] {
            if let v = environment[key], isCommitHash(v) { return v.lowercased() }
        }
        guard let git = ProcessRunner.locate("git", path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            return nil
        }
        // Read the repository's files where git's answer is plain; start git only where it is not.
        switch GitHead.read(in: directory, environment: environment) {
        case .commit(let commit): return commit
        case .none: return nil
        case .unsure: break
        }
        var env = environment
        env["GIT_OPTIONAL_LOCKS"] = "0"
        guard
            let result = try? await ProcessRunner.run(
                [git.path, "rev-parse", "HEAD"], environment: env,
                currentDirectory: directory, timeout: timeout),
            result.succeeded
        else { return nil }
        let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return isCommitHash(text) ? text : nil
    }

    static func isCommitHash(_ s: String) -> Bool {
        (s.count == 40 || s.count == 64) && s.allSatisfy { $0.isHexDigit }
    }
}
