import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Runs the service until SIGTERM or SIGINT, then shuts down gracefully: the listening
/// socket closes, in-flight requests finish (chaos delays are cut short), and `run`
/// returns. A watchdog ends the process with status 1 if that takes longer than
/// `shutdownGrace`, so a stuck request can never hold a container past its stop timeout.
struct APIServer {
    /// Time allowed between SIGTERM and exit. Docker sends SIGKILL after 10 s by default.
    static let shutdownGrace: Duration = .seconds(8)

    let services: APIServices

    func makeApplication() -> some ApplicationProtocol {
        Application(
            router: buildRouter(services),
            configuration: .init(
                address: .hostname(services.configuration.host, port: services.configuration.port),
                serverName: nil
            ),
            logger: services.logger
        )
    }

    func run() async throws {
        let configuration = services.configuration
        services.logger.info(
            "starting",
            metadata: [
                "mode": .string(configuration.mode.rawValue),
                "version": .string(configuration.version),
                "host": .string(configuration.host),
                "port": .stringConvertible(configuration.port),
            ]
        )
        // Services shut down in reverse order: the watchdog hears SIGTERM first and arms
        // its timer, then the application drains.
        let group = ServiceGroup(
            configuration: .init(
                services: [makeApplication(), ShutdownWatchdog(grace: Self.shutdownGrace, logger: services.logger)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: services.logger
            )
        )
        try await group.run()
        services.logger.info(
            "stopped", metadata: ["uptime_seconds": .stringConvertible(services.metrics.uptimeSeconds)])
    }
}

/// Waits for graceful shutdown, then arms a timer on its own thread that exits the
/// process with status 1 if the service has not stopped within `grace`.
struct ShutdownWatchdog: Service {
    let grace: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the group is ending anyway
        }
        logger.info("shutting down", metadata: ["grace_seconds": .stringConvertible(grace.components.seconds)])
        let grace = self.grace
        let logger = self.logger
        Thread.detachNewThread {
            Thread.sleep(
                forTimeInterval: Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18)
            logger.error(
                """
                graceful shutdown did not finish within \(grace.components.seconds)s; exiting with requests still \
                in flight
                """
            )
            exit(1)
        }
    }
}
