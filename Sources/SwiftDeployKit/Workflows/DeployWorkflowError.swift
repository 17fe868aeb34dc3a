import Foundation

/// Why a lifecycle workflow (deploy, promote, teardown, status) stopped.
public enum DeployWorkflowError: SwiftDeployFailure, Equatable {
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

    public var exitStatus: ExitStatus {
        switch self {
        case .policyRefused(_, let decision): return decision.verdict.exitStatus()
        case .emptyOverrideReason: return .usage
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
                + "\nno container was started or changed; fix the cause, or proceed anyway with --override \"reason\" (recorded in the history)"
        case .emptyOverrideReason:
            return "--override needs a reason, e.g. --override \"hotfix for INC-42, approved by on-call\"; it is recorded in the history"
        case .notDeployed(let project, let service):
            return "project '\(project)' has no '\(service)' container running; run 'swiftdeploy deploy' first"
        case .modeNotConfirmed(let expected, let answered):
            return "the service did not confirm mode \(expected.rawValue): it answered \(answered)"
        case .rolledBack(let target, let previous, let cause):
            return """
            promote to \(target.rawValue) failed: \(cause)
            rolled back: services.mode is \(previous.rawValue) again in manifest.yaml and the app is healthy in \(previous.rawValue) mode
            """
        case .rollbackFailed(let target, let previous, let cause, let rollbackCause):
            return """
            promote to \(target.rawValue) failed: \(cause)
            the rollback to \(previous.rawValue) failed too: \(rollbackCause)
            the app is not healthy; check 'swiftdeploy status' and the container logs, then deploy again
            """
        case .leftovers(let project, let resources):
            return "teardown of project '\(project)' left \(resources.containers.count) container(s), \(resources.networks.count) network(s), \(resources.volumes.count) volume(s) behind: \((resources.containers + resources.networks + resources.volumes).joined(separator: ", ")); remove them with docker rm/network rm/volume rm"
        }
    }
}
