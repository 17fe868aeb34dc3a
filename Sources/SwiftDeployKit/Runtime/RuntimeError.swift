import Foundation

/// Why talking to Docker or Compose failed. Each case names the dependency,
/// its distinct reason and what to do next.
public enum RuntimeError: SwiftDeployFailure, Equatable {
    /// A program (docker, docker-compose) is not on `PATH`.
    case programNotFound(program: String)
    /// A program was found but cannot be started: `detail` names the file and the reason (no execute permission, a
    /// directory, an executable for another machine: "Exec format error").
    case cannotStart(program: String, detail: String)
    /// Neither `docker compose` (v2) nor `docker-compose` (v1) works; the reason each attempt failed.
    case composeMissing(v2: String, v1: String)
    /// The Docker daemon does not answer `docker info`.
    case daemonUnreachable(host: String, detail: String)
    /// A command ran and exited non-zero.
    case commandFailed(command: String, status: Int32, output: String)
    /// A command outlived its time limit and was terminated.
    case commandTimedOut(command: String, seconds: Int)
    /// An image is neither present locally nor pullable.
    case imageMissing(image: String, detail: String)
    /// A published port is already taken on the host.
    case portTaken(port: Int, detail: String)
    /// A service did not become healthy in time.
    case unhealthy(service: String, state: String, seconds: Int, health: String, logs: String)
    /// The stack is up but `/healthz` through nginx never answered 200.
    case healthEndpointDown(url: String, seconds: Int, lastAnswer: String, service: String, logs: String)
    /// Docker answered something this tool could not read.
    case unreadableAnswer(command: String, detail: String)
    /// `runtime: swarm` needs this engine to be a Swarm manager; it is not (`inactive`, `a worker`, …).
    case notSwarmManager(state: String)
    /// Swarm rolled an update back (or paused it): a replica failed within update_config.monitor.
    case swarmRolledBack(service: String, state: String, message: String, tasks: [String])
    /// A rolling update did not finish within the timeout; Swarm goes on with it.
    case swarmUpdateTimedOut(seconds: Int, services: [String], tasks: [String], budget: String)
    /// A service has replicas missing after the wait: which, on which nodes, with their errors.
    case replicasNotReady(seconds: Int, services: [String], tasks: [String], failures: [String])
    /// Compose with replicas: a service has fewer ready containers than `services.replicas` after the timeout; names
    /// each container not ready and carries the first one's logs.
    case containersNotReady(seconds: Int, services: [String], containers: [String], logContainer: String, logs: String)
    /// No task of the service runs on this node (docker exec reaches local containers only).
    case noLocalTask(service: String)

    public var exitStatus: ExitStatus { .operationFailed }

    public var errorDescription: String? {
        switch self {
        case .programNotFound(let program):
            return
                """
                cannot run '\(program)': it is not installed or not on PATH; install Docker (docker and the \
                Compose plugin or docker-compose) and try again
                """
        case .cannotStart(let program, let detail):
            return
                """
                cannot start '\(program)': \(detail); it is there but cannot run: give it execute permission \
                (chmod +x) if it lacks it, install a build of it for this machine if it is for another (exec format \
                error), or put a working \(program) first on PATH; then try again
                """
        case .composeMissing(let v2, let v1):
            return """
                Docker Compose not found: 'docker compose' (v2) failed: \(v2); 'docker-compose' (v1) failed: \(v1)
                install the Compose plugin (docker compose) or docker-compose, then run again
                """
        case .daemonUnreachable(let host, let detail):
            return """
                the Docker daemon is not reachable at \(host): \(detail)
                start Docker (e.g. 'sudo systemctl start docker', or scripts/docker-engine here) or fix DOCKER_HOST, \
                then run again
                """
        case .notSwarmManager(let state):
            return
                """
                runtime: swarm needs this Docker engine to be a Swarm manager, and it is \(state); nothing was \
                changed\n
                """
                    + """
                    run swiftdeploy on a manager node, or make this engine one: docker swarm init --advertise-addr \
                    <addr> (the address the other nodes reach it on)
                    """
        case .swarmRolledBack(let service, let state, let message, let tasks):
            var text =
                "Swarm rolled the update of \(service) back (\(state)): \(message.isEmpty ? "no message" : message)"
            if !tasks.isEmpty { text += "\nfailed tasks:\n" + Self.indent(tasks.joined(separator: "\n")) }
            return text
        case .swarmUpdateTimedOut(let seconds, let services, let tasks, let budget):
            var text = "the rolling update did not finish within \(seconds)s: \(services.joined(separator: ", "))"
            if !tasks.isEmpty { text += "\nrecent task failures:\n" + Self.indent(tasks.joined(separator: "\n")) }
            text +=
                """
                \nSwarm goes on with it: watch it with 'docker service ps <service>', roll it back with 'docker \
                service rollback <service>', or deploy again with a longer --timeout
                """
            if !budget.isEmpty {
                text +=
                    """
                     (Swarm updates one replica at a time and watches each for update_config.monitor; the default \
                    --timeout is \(budget))
                    """
            }
            return text
        case .replicasNotReady(let seconds, let services, let tasks, let failures):
            var text = "the stack is not ready after \(seconds)s: \(services.joined(separator: ", "))"
            if !tasks.isEmpty { text += "\ntasks not running:\n" + Self.indent(tasks.joined(separator: "\n")) }
            if !failures.isEmpty { text += "\nrecent task failures:\n" + Self.indent(failures.joined(separator: "\n")) }
            return text + "\nsee 'docker stack ps <project> --no-trunc' and 'docker service logs <task>'"
        case .containersNotReady(let seconds, let services, let containers, let logContainer, let logs):
            var text = "the project is not ready after \(seconds)s: \(services.joined(separator: ", "))"
            if !containers.isEmpty {
                text += "\ncontainers not ready:\n" + Self.indent(containers.joined(separator: "\n"))
            }
            if !logs.isEmpty { text += "\nlast output of \(logContainer):\n" + Self.indent(logs) }
            return text
                + """
                \nsee 'docker ps -a' and 'docker logs <container>'; a replica that never starts may lack memory \
                or fail its health check
                """
        case .noLocalTask(let service):
            return
                """
                no task of \(service) runs on this node, and docker exec reaches this node's containers only; run \
                swiftdeploy on the manager that runs it (nginx is placed on a manager)
                """
        case .commandFailed(let command, let status, let output):
            return "'\(command)' failed with exit status \(status):\n\(Self.indent(output))"
        case .commandTimedOut(let command, let seconds):
            return
                """
                '\(command)' did not finish within \(seconds)s and was stopped; check that the Docker daemon is \
                responsive ('docker info') and try again
                """
        case .imageMissing(let image, let detail):
            return """
                image '\(image)' is not on this host and could not be pulled: \(detail)
                build it (scripts/build-images builds the demo images) or fix the image name in manifest.yaml, then \
                deploy again
                """
        case .portTaken(let port, let detail):
            return """
                port \(port) is already in use on this host: \(detail)
                stop whatever holds it ('ss -ltnp | grep :\(port)') or change nginx.port / nginx.admin_port in \
                manifest.yaml, then deploy again
                """
        case .unhealthy(let service, let state, let seconds, let health, let logs):
            var text = "service '\(service)' is not healthy after \(seconds)s (state: \(state))"
            if !health.isEmpty { text += "\nlast health check output:\n\(Self.indent(health))" }
            text += logs.isEmpty ? "\n(no log output)" : "\nlast log lines of '\(service)':\n\(Self.indent(logs))"
            text += "\nfix the service (see the logs above), or raise --timeout if it is only slow to start"
            return text
        case .healthEndpointDown(let url, let seconds, let lastAnswer, let service, let logs):
            var text =
                """
                every container is running, but \(url) did not answer 200 through nginx within \(seconds)s (last \
                answer: \(lastAnswer))
                """
            text +=
                logs.isEmpty
                ? "\n(no log output from '\(service)')" : "\nlast log lines of '\(service)':\n\(Self.indent(logs))"
            text +=
                "\ncheck services.healthcheck.path in manifest.yaml (the app must answer 200 there), then deploy again"
            return text
        case .unreadableAnswer(let command, let detail):
            return "could not read the answer of '\(command)': \(detail); check the Docker version ('docker version')"
        }
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "  | \($0)" }.joined(separator: "\n")
    }
}
