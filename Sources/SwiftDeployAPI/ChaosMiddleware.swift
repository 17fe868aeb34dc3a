import Hummingbird
import ServiceLifecycle

/// Applies the active chaos to requests, except on `/healthz`, `/metrics` and `/chaos`,
/// which always answer normally so health checks, scrapes and recovery keep working.
///
/// Slow mode suspends the request's task with `Task.sleep` (no event-loop thread is
/// blocked); the delay is cut short when the service begins a graceful shutdown, so a
/// SIGTERM never waits out a long chaos delay. Error mode answers 500 without calling
/// the route.
struct ChaosMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Paths chaos never touches.
    static var exemptPaths: Set<String> { ["/healthz", "/metrics", "/chaos"] }

    let chaos: ChaosState

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard !Self.exemptPaths.contains(request.uri.path) else {
            return try await next(request, context)
        }
        switch chaos.effect() {
        case .none:
            break
        case .delay(let seconds):
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded())))
                }
            } catch is CancellationError {
                // Shutting down (or the client went away): answer now instead of waiting.
            }
        case .fail:
            let rate: Double
            if case .error(let current) = chaos.current { rate = current } else { rate = 0 }
            return APIResponse.error(
                """
                chaos: injected failure (error mode, rate \(ChaosCommand.format(rate))); POST {\"mode\": \
                \"recover\"} to /chaos to stop
                """,
                status: .internalServerError
            )
        }
        return try await next(request, context)
    }
}
