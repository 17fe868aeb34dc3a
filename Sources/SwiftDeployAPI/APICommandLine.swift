import Foundation
import Logging

/// The `swiftdeploy-api` command line.
///
/// ```
/// swiftdeploy-api                          serve (configured by MODE, APP_VERSION, APP_PORT, APP_HOST)
/// swiftdeploy-api healthcheck [--url URL] [--timeout SECONDS]
/// swiftdeploy-api --help | --version
/// ```
///
/// Exit statuses: 0 ok/healthy, 1 unhealthy or shutdown overran its bound,
/// 3 the server failed (e.g. the port is taken), 64 usage error, 65 invalid configuration.
enum APICommandLine {
    static let usage = """
        usage: swiftdeploy-api                      run the service
               swiftdeploy-api healthcheck [--url URL] [--timeout SECONDS]
               swiftdeploy-api --help | --version

        environment (service):
          MODE         stable | canary                 (default stable)
          APP_VERSION  version reported by GET /       (default \(ServiceConfiguration.defaultVersion))
          APP_PORT     TCP port, 1-65535               (default \(ServiceConfiguration.defaultPort))
          APP_HOST     address to bind                 (default \(ServiceConfiguration.defaultHost))

        healthcheck probes http://127.0.0.1:$APP_PORT/healthz unless --url is given,
        and exits 0 when it answers 200 with "status":"ok", 1 otherwise.
        """

    /// Runs the command for `arguments` (without the program name) and returns the exit status.
    static func run(arguments: [String], environment: [String: String]) async -> Int32 {
        switch arguments.first {
        case nil:
            return await serve(environment: environment)
        case "healthcheck":
            return healthcheck(arguments: Array(arguments.dropFirst()), environment: environment)
        case "-h", "--help", "help":
            print(usage)
            return 0
        case "--version":
            print("swiftdeploy-api \(environment["APP_VERSION"] ?? ServiceConfiguration.defaultVersion)")
            return 0
        case let other?:
            return usageError("unknown argument '\(other)'")
        }
    }

    static func serve(environment: [String: String]) async -> Int32 {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration.fromEnvironment(environment)
        } catch {
            printError("swiftdeploy-api: \(error.localizedDescription)")
            return 65
        }
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        var logger = Logger(label: "swiftdeploy-api")
        logger.logLevel = .info
        let services = APIServices(configuration: configuration, logger: logger)
        do {
            try await APIServer(services: services).run()
            return 0
        } catch {
            logger.critical(
                """
                server failed: \(error); check that \(configuration.host):\(configuration.port) is free and can \
                be bound
                """
            )
            printError(
                "swiftdeploy-api: cannot serve on \(configuration.host):\(configuration.port): \(error). "
                    + "Choose another APP_PORT or stop what is using it."
            )
            return 3
        }
    }

    static func healthcheck(arguments: [String], environment: [String: String]) -> Int32 {
        var url: String?
        var timeout = 3.0
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            func value() -> String? {
                index += 1
                return index < arguments.count ? arguments[index] : nil
            }
            switch argument {
            case "--url":
                guard let given = value() else {
                    return usageError("--url needs a value such as http://api:3000/healthz")
                }
                url = given
            case "--timeout":
                guard let given = value(), let seconds = Double(given), seconds > 0, seconds <= 300 else {
                    return usageError("--timeout needs a number of seconds between 0 and 300")
                }
                timeout = seconds
            default:
                return usageError("unknown healthcheck argument '\(argument)'")
            }
            index += 1
        }
        let resolved: String
        if let url {
            resolved = url
        } else {
            let port = environment["APP_PORT"].flatMap(Int.init) ?? ServiceConfiguration.defaultPort
            var host = environment["APP_HOST"] ?? "127.0.0.1"
            if host == "0.0.0.0" || host.isEmpty { host = "127.0.0.1" }
            if host == "::" { host = "::1" }
            resolved = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/healthz"
        }
        switch HealthProbe.parse(url: resolved) {
        case .failure(let error):
            return usageError(error.message)
        case .success(let target):
            switch HealthProbe(target: target, timeout: timeout).run() {
            case .healthy(let detail):
                print("healthy: \(detail)")
                return 0
            case .unhealthy(let reason):
                printError("unhealthy: \(reason)")
                return 1
            }
        }
    }

    private static func usageError(_ message: String) -> Int32 {
        printError("swiftdeploy-api: \(message)\n\n\(usage)")
        return 64
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
