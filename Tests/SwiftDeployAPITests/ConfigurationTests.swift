import Testing

@testable import SwiftDeployAPI

@Suite struct ConfigurationTests {
    @Test func defaultsWhenNothingIsSet() throws {
        let configuration = try ServiceConfiguration.fromEnvironment(["PATH": "/usr/bin"])
        #expect(configuration == ServiceConfiguration(mode: .stable, version: "0.1.0", port: 3000, host: "0.0.0.0"))
    }

    @Test func readsEveryVariable() throws {
        let configuration = try ServiceConfiguration.fromEnvironment([
            "MODE": "canary", "APP_VERSION": "1.4.0-rc.2", "APP_PORT": "8081", "APP_HOST": "127.0.0.1",
        ])
        #expect(
            configuration == ServiceConfiguration(mode: .canary, version: "1.4.0-rc.2", port: 8081, host: "127.0.0.1"))
    }

    @Test(arguments: [
        (
            "MODE", "Canary",
            """
            invalid configuration: MODE='Canary' must be 'stable' or 'canary'; set MODE=stable or MODE=canary, or \
            unset it for the default (stable)
            """
        ),
        (
            "MODE", "",
            """
            invalid configuration: MODE='' must be 'stable' or 'canary'; set MODE=stable or MODE=canary, or unset \
            it for the default (stable)
            """
        ),
        (
            "APP_PORT", "0",
            """
            invalid configuration: APP_PORT='0' must be a whole number from 1 to 65535; set APP_PORT to a free \
            TCP port such as 3000, or unset it for the default (3000)
            """
        ),
        (
            "APP_PORT", "70000",
            """
            invalid configuration: APP_PORT='70000' must be a whole number from 1 to 65535; set APP_PORT to a \
            free TCP port such as 3000, or unset it for the default (3000)
            """
        ),
        (
            "APP_PORT", "+80",
            """
            invalid configuration: APP_PORT='+80' must be a whole number from 1 to 65535; set APP_PORT to a free \
            TCP port such as 3000, or unset it for the default (3000)
            """
        ),
        (
            "APP_PORT", "http",
            """
            invalid configuration: APP_PORT='http' must be a whole number from 1 to 65535; set APP_PORT to a free \
            TCP port such as 3000, or unset it for the default (3000)
            """
        ),
        (
            "APP_VERSION", "",
            """
            invalid configuration: APP_VERSION='' is set but empty; use a version such as 0.1.0 or 1.2.0-rc.1, or \
            unset it for the default (0.1.0)
            """
        ),
        (
            "APP_VERSION", "1.0 beta",
            """
            invalid configuration: APP_VERSION='1.0 beta' may contain only letters, digits and . _ + -; use a \
            version such as 0.1.0 or 1.2.0-rc.1, or unset it for the default (0.1.0)
            """
        ),
        (
            "APP_HOST", "",
            """
            invalid configuration: APP_HOST='' must be an IP address or host name without spaces; set \
            APP_HOST=127.0.0.1 to listen on loopback only, or unset it for the default (0.0.0.0)
            """
        ),
    ])
    func rejectsBadValuesWithAClearMessage(variable: String, value: String, message: String) {
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration.fromEnvironment([variable: value]) }
        do {
            _ = try ServiceConfiguration.fromEnvironment([variable: value])
        } catch {
            #expect(error.localizedDescription == message)
        }
    }

    @Test func reportsAllProblemsAtOnce() {
        do {
            _ = try ServiceConfiguration.fromEnvironment([
                "MODE": "blue", "APP_PORT": "-1", "APP_VERSION": String(repeating: "9", count: 65),
            ])
            Issue.record("expected a ConfigurationError")
        } catch let error as ConfigurationError {
            #expect(error.problems.map(\.variable) == ["MODE", "APP_VERSION", "APP_PORT"])
            #expect(error.localizedDescription.hasPrefix("invalid configuration (3 problems):\n  - MODE='blue'"))
            #expect(error.localizedDescription.contains("is 65 characters long; at most 64 are allowed"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
