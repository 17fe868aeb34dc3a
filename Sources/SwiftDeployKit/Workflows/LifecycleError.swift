import Foundation

/// Why a lifecycle workflow (deploy, promote, teardown, status, rollout) stopped.
public enum LifecycleError: SwiftDeployFailure, Equatable {
    /// The policy did not allow the action (deny → 1, inconclusive → 2) and no override was given.
    case policyRefused(action: String, decision: PolicyDecision)
    /// `--override` was given an empty reason.
    case emptyOverrideReason
    /// Promote or status found no running app for the project.
    case notDeployed(project: String, service: String)
    /// The service answered, but not in the expected mode.
    case modeNotConfirmed(expected: DeploymentMode, answered: String)
    /// The new mode failed; the previous mode was restored and is healthy.
    case rolledBack(target: DeploymentMode, previous: DeploymentMode, cause: String)
    /// The new mode failed and so did the way back.
    case rollbackFailed(target: DeploymentMode, previous: DeploymentMode, cause: String, rollbackCause: String)
    /// Teardown finished but something of the project is still there.
    case leftovers(project: String, resources: ProjectResources)
    /// The history could not be written before acting: nothing was changed.
    case historyUnwritable(path: String, cause: String)
    /// The action was done (or failed) but its outcome could not be recorded; its intent stays open.
    case outcomeNotRecorded(done: String, cause: String, intentSeq: Int)
    /// The app would run as root: its image's `USER` is root and the manifest neither sets a user nor allows root.
    case rootUser(image: String, user: String)
    /// `deploy` would change the running app's mode: that is `promote`'s job, gated by the canary policy.
    case modeChangeNeedsPromote(project: String, running: DeploymentMode, manifest: DeploymentMode)

    public var exitStatus: ExitStatus {
        switch self {
        case .policyRefused(_, let decision): return decision.verdict.exitStatus()
        case .emptyOverrideReason: return .usage
        case .modeChangeNeedsPromote: return .failed
        case .rootUser: return .invalidInput
        default: return .operationFailed
        }
    }

    public var errorDescription: String? {
        switch self {
        case .policyRefused(let action, let decision):
            let reasons = decision.reasons.isEmpty ? ["(no reason given)"] : decision.reasons
            let verb = decision.verdict == .inconclusive ? "could not decide" : "denied"
            return "\(action) refused: the \(decision.domain) policy \(verb) (\(decision.engine)):\n"
                + reasons.map { "  - \($0)" }.joined(separator: "\n")
                    + """
                    \nno container was started or changed; fix the cause, or proceed anyway with --override \
                    \"reason\" (recorded in the history)
                    """
        case .emptyOverrideReason:
            return
                """
                --override needs a reason, e.g. --override \"hotfix for INC-42, approved by on-call\"; it is \
                recorded in the history
                """
        case .notDeployed(let project, let service):
            return "project '\(project)' has no '\(service)' container running; run 'swiftdeploy deploy' first"
        case .modeNotConfirmed(let expected, let answered):
            return "the service did not confirm mode \(expected.rawValue): it answered \(answered)"
        case .rolledBack(let target, let previous, let cause):
            return """
                promote to \(target.rawValue) failed: \(cause)
                rolled back: services.mode is \(previous.rawValue) again in manifest.yaml and the app is healthy in \
                \(previous.rawValue) mode
                """
        case .rollbackFailed(let target, let previous, let cause, let rollbackCause):
            return """
                promote to \(target.rawValue) failed: \(cause)
                the rollback to \(previous.rawValue) failed too: \(rollbackCause)
                the app is not healthy; check 'swiftdeploy status' and the container logs, then deploy again
                """
        case .historyUnwritable(let path, let cause):
            return
                """
                cannot record in the history \(path) before acting: \(cause)\nnothing was changed; make the \
                history writable (permissions, disk space) and run again
                """
        case .outcomeNotRecorded(let done, let cause, let seq):
            return
                """
                \(done), but the outcome could not be recorded in the history: \(cause)\nintent #\(seq) stays \
                open: the next deploy, promote or teardown closes it as interrupted and records what it finds; \
                make the history writable
                """
        case .rootUser(let image, let user):
            return
                """
                image \(image) runs as root (USER \(user.isEmpty ? "not set" : "'\(user)'")) and the manifest \
                sets no services.user: set services.user to a non-root user (for example '10001:10001'), or \
                services.allow_root: true to accept root; nothing was changed
                """
        case .modeChangeNeedsPromote(let project, let running, let manifest):
            return
                """
                deploy refused: project '\(project)' runs in \(running.rawValue) mode but the manifest says \
                services.mode \(manifest.rawValue)\n
                """
                    + """
                    a mode change is gated by the canary policy: run 'swiftdeploy promote \(manifest.rawValue)', or \
                    set services.mode back to \(running.rawValue) to redeploy as it is; nothing was changed
                    """
        case .leftovers(let project, let resources):
            return
                """
                teardown of project '\(project)' left \(resources.containers.count) container(s), \
                \(resources.networks.count) network(s), \(resources.volumes.count) volume(s) behind: \
                \((resources.containers + resources.networks + resources.volumes).joined(separator: ", ")); \
                remove them with docker rm/network rm/volume rm
                """
        }
    }
}
