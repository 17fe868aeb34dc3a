import Foundation

/// Why a `swiftdeploy rollout` command could not do what was asked.
public enum RolloutError: SwiftDeployFailure, Equatable {
    /// A command-line value is wrong (`--steps`, `--image`, `--version`).
    case invalidArgument(String)
    /// `rollout start` while another rollout is running or paused.
    case alreadyInProgress(state: String, image: String, step: Int, weight: Int)
    /// `resume`, `pause`, `abort` or `promote` with no rollout to act on.
    case nothingToAct(action: String, state: String)
    /// The candidate container did not come up healthy.
    case candidateUnhealthy(service: String, detail: String)
    /// nginx refused the new configuration (`nginx -t`) or the reload failed; the old configuration keeps serving.
    case nginxRejected(step: String, output: String)
    /// The nginx container reads a different nginx.conf than the one written (a replaced bind-mounted file).
    case nginxConfigStale(path: String)
    /// The runtime in use cannot do this (a test double).
    case runtimeUnsupported(operation: String)
    /// `rollout` on a `runtime: swarm` project that this process cannot split: nginx's task is not on this node (or
    /// the runtime is not Swarm's). Refused before anything is asked, changed or recorded; `action` is the command to
    /// run again on the right manager.
    case swarmSplitUnavailable(project: String, detail: String, action: String = "rollout start")
    /// On Swarm, `rollout start` with a manifest that does not render to the stack that runs (edited, not deployed):
    /// refused before anything is asked, changed or recorded.
    case swarmManifestNotDeployed(manifest: String, service: String, running: String, rendered: String)
    /// On Swarm, nginx's task no longer runs on this node when a rollout is to be finished (it moved to another
    /// manager mid-rollout): the rollout was recorded paused, nothing else changed.
    case swarmNginxMoved(project: String, detail: String)
    /// On Swarm, after a weight change nginx (container `container`, a task of `service`) does not run the weight set:
    /// its admin listener answers `loaded` (what its master loaded, or why it could not be read) where the weight label
    /// holds `label` and `expected` was set (the master rejected the reload, or the task was replaced meanwhile).
    case swarmLoadedWeightMismatch(container: String, service: String, expected: Int, label: String, loaded: String)
    /// On Swarm, `docker exec` into nginx's container failed for `step` (the command did not run, or failed for a
    /// reason other than nginx judging the config: writing, moving, reloading, reading back).
    case swarmExecFailed(step: String, command: String, container: String, service: String, output: String)
    /// A step failed for a reason other than the policy (a scrape, Docker); the rollout was rolled back.
    case failedAndRolledBack(cause: String)
    /// Finishing (the promotion) failed half-way: the candidate keeps serving, the rollout is paused.
    case finishFailed(cause: String)
    /// Finishing: the runtime (Swarm) rolled the stable service's update to the new version back. `manifest` and the
    /// generated files were put back on `stableImage`/`stableVersion`; the candidate keeps serving, the rollout is
    /// paused.
    case stableUpdateRolledBack(cause: String, manifest: String, stableImage: String, stableVersion: String)
    /// The rollback failed half-way: recorded as paused so `rollout abort` can be run again.
    case rollbackFailed(cause: String, reason: String)
    /// On Swarm, `rollout resume` or the promotion with a manifest that no longer renders to the stack recorded at the
    /// rollout's start (`recorded`, now `now`): refused.
    case swarmManifestChangedDuringRollout(manifest: String, recorded: String, now: String, action: String)
    /// On Swarm, `rollout start` with a candidate image that has no registry digest on a swarm of `nodes` nodes,
    /// without `--override`: refused.
    case swarmCandidateNotPinned(image: String, nodes: Int)
    /// On Swarm, `action` (deploy, promote, teardown, rollout start) while the stack runs the candidate service
    /// `service` (image `image`) that this project directory's history records no rollout for: refused.
    case swarmCandidateServiceExists(service: String, image: String, action: String)
    /// On Swarm, `rollout start` with an nginx.conf template unfit for a rollout (no split, or no split-weight
    /// location).
    case swarmTemplateWithoutSplit(detail: String)
    /// On Swarm, a weight change failed after nginx's running copy was replaced (`cause`): what of the previous config,
    /// label and reload was put back (`restored`) or could not be (`failed`), and what nginx in `container` runs after
    /// that (`runs`, asked again).
    case swarmSplitPutBack(
        cause: String, restored: [String], failed: [String], runs: String, container: String, service: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .invalidArgument: return .usage
        case .alreadyInProgress, .nothingToAct: return .failed
        case .candidateUnhealthy, .nginxRejected, .nginxConfigStale, .runtimeUnsupported, .swarmSplitUnavailable,
            .swarmNginxMoved, .swarmManifestNotDeployed, .swarmLoadedWeightMismatch,
            .swarmExecFailed,
            .failedAndRolledBack,
            .finishFailed, .stableUpdateRolledBack, .rollbackFailed, .swarmManifestChangedDuringRollout,
            .swarmCandidateNotPinned,
            .swarmCandidateServiceExists, .swarmTemplateWithoutSplit, .swarmSplitPutBack:
            return .operationFailed
        }
    }

    public var errorDescription: String? {
        switch self {
        case .invalidArgument(let message):
            return message
        case .alreadyInProgress(let state, let image, let step, let weight):
            return
                """
                a rollout of \(image) is \(state) at step \(step + 1) (\(weight)% of clients on it); run \
                `swiftdeploy rollout resume` to continue it or `swiftdeploy rollout abort` to end it first
                """
        case .nothingToAct(let action, let state):
            return
                """
                cannot \(action): the rollout state is \(state); start one with `swiftdeploy rollout start \
                --image REF`
                """
        case .candidateUnhealthy(let service, let detail):
            return
                """
                the candidate \(service) did not become healthy: \(detail); it was removed and stable kept \
                serving; check its logs and image
                """
        case .nginxRejected(let step, let output):
            return
                """
                nginx refused the configuration for \(step): \(output); the running configuration was kept; check \
                the templates
                """
        case .nginxConfigStale(let path):
            return
                """
                the nginx container does not see the \(path) just written (its bind mount points at a file that \
                was replaced); run `swiftdeploy deploy` so nginx is recreated on the current file, then start the \
                rollout again
                """
        case .runtimeUnsupported(let operation):
            return "this container runtime cannot \(operation)"
        case .swarmSplitUnavailable(let project, let detail, let action):
            return
                """
                progressive delivery on Swarm needs the stack's nginx task on this node, where swiftdeploy sets \
                the split with docker exec (project \(project)): \(detail); nothing was started or recorded. Run \
                `swiftdeploy \(action)` on the manager that runs nginx (`docker service ps \
                \(project)_nginx`)\(action == "rollout start" ? ", or `swiftdeploy deploy` first" : "")
                """
        case .swarmManifestNotDeployed(let manifest, let service, let running, let rendered):
            let runs =
                running.isEmpty
                ? "no label swiftdeploy.manifest.digest (not deployed, or deployed by an older swiftdeploy)"
                : "the stack of digest \(running)"
            return
                """
                \(manifest) does not render to the stack that runs: it gives digest \(rendered), \(service) runs \
                \(runs). The digest covers the manifest's contents, its file name and the templates (the built-in \
                ones change with a swiftdeploy upgrade), so an edit, a manifest deployed under another file name \
                or an upgrade all differ; a rollout deploys the candidate from the manifest as it is and keeps \
                stable as deployed, so the difference would be judged as part of the new release. Deploy first \
                (`swiftdeploy deploy`: when nginx's config differs, Swarm replaces nginx's task, a moment without \
                nginx on its port) or revert the edit, then start the rollout; nothing was started or recorded
                """
        case .swarmNginxMoved(let project, let detail):
            return
                """
                the rollout cannot be finished from this node: \(detail); nginx's task moved to another node \
                (`docker service ps \(project)_nginx`). The rollout is recorded paused, the candidate keeps its \
                share: run `swiftdeploy rollout promote` on the manager that runs nginx, with this project \
                directory there (its history and lock), or `swiftdeploy rollout abort` here (it takes traffic \
                back through nginx's weight label, which replaces nginx's task)
                """
        case .swarmLoadedWeightMismatch(let container, let service, let expected, let label, let loaded):
            return
                """
                nginx in container \(container) (a task of \(service)) did not load the split just set: expected \
                \(expected)% of clients on the candidate (the weight label says \
                \(label.isEmpty ? "nothing" : "'\(label)'")), nginx runs \(loaded) (its master rejected the \
                reload? see `docker service logs \(service)`; or its task was replaced: `docker service ps \
                \(service)`)
                """
        case .swarmExecFailed(let step, let command, let container, let service, let output):
            return
                """
                docker exec into nginx's container \(container) (a task of \(service)) failed for \(step) running \
                `\(command)`: \(output); check that the task still runs on this node (`docker service ps \
                \(service)`); the split may be half changed: run `swiftdeploy rollout status`, then `swiftdeploy \
                rollout resume` or `abort`
                """
        case .failedAndRolledBack(let cause):
            return "the rollout failed and was rolled back: \(cause); stable kept serving"
        case .finishFailed(let cause):
            return
                """
                finishing the rollout failed: \(cause); the candidate keeps serving and the rollout is paused; \
                fix the cause, then run `swiftdeploy rollout promote` or `swiftdeploy rollout abort` (see \
                `swiftdeploy rollout status`)
                """
        case .stableUpdateRolledBack(let cause, let manifest, let image, let version):
            return
                """
                \(cause)\nthe stable service runs \(image) (version \(version)) again, and \(manifest) and the \
                generated files were put back on it; the candidate keeps serving all traffic and the rollout is \
                paused: run `swiftdeploy rollout abort` to return traffic to stable (see `swiftdeploy rollout \
                status`), then fix the new version and start a new rollout
                """
        case .rollbackFailed(let cause, let reason):
            return
                """
                rolling back (\(reason)) failed: \(cause); the rollout is recorded as paused; fix the cause and \
                run `swiftdeploy rollout abort` again (see `swiftdeploy rollout status`)
                """
        case .swarmManifestChangedDuringRollout(let manifest, let recorded, let now, let action):
            return
                """
                \(manifest) was changed during the rollout: it renders the stack of digest \(now), the rollout \
                started on \(recorded); `\(action)` would deploy the change to stable unjudged (and replace \
                nginx's task if its config changed); revert the edit and run `swiftdeploy \(action)` again, or \
                run `swiftdeploy rollout abort` (it deploys no stack: stable and nginx stay as they run) and \
                deploy the change on its own; nothing was changed
                """
        case .swarmCandidateNotPinned(let image, let nodes):
            return
                """
                the candidate image \(image) has no registry digest on this node and the swarm has \(nodes) \
                nodes: each node would run its own copy of the tag, so the replicas judged could run different \
                images and stable would be promoted to whatever the tag names on each node; push it to a registry \
                and pull it here, or pass it by digest (`--image name:tag@sha256:…`), or pass `--override REASON` \
                to roll out the tag unpinned; nothing was started or recorded
                """
        case .swarmSplitPutBack(let cause, let restored, let failed, let runs, let container, let service):
            let put = restored.isEmpty ? "nothing could be put back" : "put back: \(restored.joined(separator: ", "))"
            let not = failed.isEmpty ? "" : "; could not put back: \(failed.joined(separator: "; "))"
            return
                """
                \(cause)\n\(put)\(not); nginx in container \(container) (a task of \(service)) now runs \(runs); \
                the rollout stopped: run `swiftdeploy rollout status`, then `swiftdeploy rollout resume` or \
                `abort`
                """
        case .swarmTemplateWithoutSplit(let detail):
            return
                """
                a rollout on Swarm cannot run with this nginx.conf template: \(detail); nothing was started or \
                recorded (`swiftdeploy validate` checks it)
                """
        case .swarmCandidateServiceExists(let service, let image, let action):
            return
                """
                \(action) refused: the stack runs the candidate service \(service) (\(image)), but this project \
                directory's history records no rollout (one started from another manager's copy of the project, \
                or a service left by hand); run `swiftdeploy rollout abort` where that rollout was started, or \
                remove the service (`docker service rm \(service)`) if no rollout owns it, then run `swiftdeploy \
                \(action)` again
                """
        }
    }
}

/// What `swiftdeploy rollout` needs beyond the lifecycle: removing one service and running a command in one.
/// The defaults refuse, so a runtime that cannot do them is never assumed to have done them.
extension ContainerRuntime {
    public func remove(service: String) async throws {
        throw RolloutError.runtimeUnsupported(operation: "remove the service \(service)")
    }

    public func exec(service: String, command: [String]) async throws -> CommandResult {
        throw RolloutError.runtimeUnsupported(operation: "run \(command.joined(separator: " ")) in \(service)")
    }
}
