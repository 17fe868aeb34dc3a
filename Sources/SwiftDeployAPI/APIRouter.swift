import Foundation
import Hummingbird
import Logging

/// Everything one running service shares between requests.
struct APIServices: Sendable {
    let configuration: ServiceConfiguration
    let chaos: ChaosState
    let metrics: ServiceMetrics
    let logger: Logger

    init(
        configuration: ServiceConfiguration,
        chaos: ChaosState = ChaosState(),
        metrics: ServiceMetrics? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.chaos = chaos
        self.metrics = metrics ?? ServiceMetrics(mode: configuration.mode)
        self.logger = logger
    }
}

/// Body of `GET /`.
struct RootBody: Codable, Equatable {
    var message: String
    var mode: String
    var version: String
    var timestamp: String
}

/// Body of `GET /healthz`.
struct HealthBody: Codable, Equatable {
    var status: String
    var uptime_seconds: Double
}

/// Body of a successful `POST /chaos`.
struct ChaosBody: Codable, Equatable {
    var chaos: String
    var duration: Double?
    var rate: Double?
}

/// Builds the router: the four routes behind the observability and chaos middleware.
func buildRouter(_ services: APIServices) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(
        middleware: ObservabilityMiddleware(
            mode: services.configuration.mode, metrics: services.metrics, logger: services.logger
        ))
    router.add(middleware: ChaosMiddleware(chaos: services.chaos))

    router.get("/") { _, _ in
        APIResponse.json(
            RootBody(
                message: "Hello from swiftdeploy-api",
                mode: services.configuration.mode.rawValue,
                version: services.configuration.version,
                timestamp: JSONLogHandler.timestamp(Date())
            ))
    }

    router.get("/healthz") { _, _ in
        APIResponse.json(
            HealthBody(status: "ok", uptime_seconds: (services.metrics.uptimeSeconds * 1000).rounded() / 1000))
    }

    router.get("/metrics") { _, _ in
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: services.metrics.exposition()))
        )
    }

    router.post("/chaos") { request, _ in
        guard services.configuration.mode == .canary else {
            throw ChaosError.notCanary(mode: services.configuration.mode)
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: ChaosCommand.maximumBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw ChaosError.bodyTooLarge(limit: ChaosCommand.maximumBodyBytes)
        }
        let command = try ChaosCommand.parse(Array(buffer: body))
        let setting = services.chaos.apply(command)
        services.metrics.setChaos(setting)
        services.logger.notice("chaos changed", metadata: ["chaos": .string(setting.name)])
        switch setting {
        case .none: return APIResponse.json(ChaosBody(chaos: "none"))
        case .slow(let seconds): return APIResponse.json(ChaosBody(chaos: "slow", duration: seconds))
        case .error(let rate): return APIResponse.json(ChaosBody(chaos: "error", rate: rate))
        }
    }
    return router
}
