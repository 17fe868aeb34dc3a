// swiftdeploy-api: the demo service that swiftdeploy deploys, scrapes and gates.
// Everything lives in APICommandLine so tests can drive it in-process.
import Foundation

let status = await APICommandLine.run(
    arguments: Array(CommandLine.arguments.dropFirst()),
    environment: ProcessInfo.processInfo.environment
)
exit(status)
