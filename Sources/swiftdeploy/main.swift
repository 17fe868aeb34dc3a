import SwiftDeployCLI

await SwiftDeployCommand.entryPoint()
