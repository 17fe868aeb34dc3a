import Foundation

/// Both sides of a running rollout for `swiftdeploy status`: the rollout's state and each side's traffic over
/// the frame's window (through the admin listener's `/stable/metrics` and `/canary/metrics`; on Swarm from every
/// replica).
public struct RolloutDashboard: Sendable {
    public var status: RolloutStatus
    public var stable: Result<StatusFigures, StatusMetricsUnavailable>
    public var canary: Result<StatusFigures, StatusMetricsUnavailable>

    /// The rollout part of a status frame, or nil when no rollout is running or paused. `sides` reads each side
    /// another way (Swarm: every replica, ``SwarmRolloutSides``); a side with a doubt (a replica not read) is shown
    /// unavailable with the reason, never as the figures of the replicas that answered.
    public static func collect(
        manifest: Manifest, containers: [ContainerStatus], window: ManifestDuration,
        transport: HTTPTransport = SocketHTTPClient(),
        sides: (any RolloutSideReading)? = nil
    ) async -> RolloutDashboard? {
        guard let status = try? RolloutStateReader(manifest: manifest).status(containers: containers),
            [.running, .paused].contains(status.state)
        else { return nil }
        let analyzer = RolloutAnalyzer(manifest: manifest, transport: transport)
        let settings = MetricsWindowSettings(manifest: manifest, window: window)
        let figures: @Sendable (Bool) async -> Result<StatusFigures, StatusMetricsUnavailable> = { canary in
            // Compose with replicas: the stable side from every replica (see RolloutAnalyzer.measure).
            let source: any MetricsSource =
                !canary && analyzer.stableReplicated
                ? ReplicaMetricsSource.compose(manifest: manifest, transport: transport)
                : ScrapeMetricsSource(
                    url: canary ? analyzer.canaryMetricsURL : analyzer.stableMetricsURL, transport: transport)
            let description = sides?.describe(canary: canary) ?? source.description
            do {
                let f: WindowFigures
                if let sides {
                    let first = try await sides.snapshot(canary: canary)
                    await TaskSleeper().sleep(
                        seconds: settings.window.seconds - (MonotonicClock.now() - first.snapshot.monotonicSeconds))
                    let second = try await sides.snapshot(canary: canary)
                    let doubts = first.doubts + second.doubts.filter { !first.doubts.contains($0) }
                    if !doubts.isEmpty {
                        return .failure(StatusMetricsUnavailable("\(description): \(doubts.joined(separator: "; "))"))
                    }
                    f = MetricsWindow(settings: settings).figures(from: first.snapshot, to: second.snapshot)
                } else {
                    f = try await source.window(settings: settings)
                }
                return .success(
                    StatusFigures(
                        requestRate: f.requestRate, errorRate: f.errorRate, p50Ms: f.p50Ms, p95Ms: f.p95Ms,
                        p99Ms: f.p99Ms, chaos: f.chaosActive.map(WindowStatusMetrics.chaosName),
                        windowSeconds: f.windowSeconds))
            } catch {
                return .failure(StatusMetricsUnavailable("\(description): \(error.localizedDescription)"))
            }
        }
        async let stable = figures(false)
        async let canary = figures(true)
        return RolloutDashboard(status: status, stable: await stable, canary: await canary)
    }

    public var json: JSONValue {
        func side(_ r: Result<StatusFigures, StatusMetricsUnavailable>) -> JSONValue {
            func number(_ value: Double?) -> JSONValue { value.map { .double(($0 * 1000).rounded() / 1000) } ?? .null }
            switch r {
            case .success(let f):
                return .object([
                    "available": .bool(true), "request_rate": number(f.requestRate), "error_rate": number(f.errorRate),
                    "p99_ms": number(f.p99Ms),
                ])
            case .failure(let why):
                return .object(["available": .bool(false), "reason": .string(why.reason)])
            }
        }
        guard case .object(var object) = status.json else { return .null }
        object["sides"] = .object(["stable": side(stable), "canary": side(canary)])
        return .object(object)
    }
}
