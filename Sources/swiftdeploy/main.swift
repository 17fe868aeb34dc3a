import SwiftDeployCLI

await SwiftDeployCommand.main()
