import SwiftDeployCLI

SwiftDeployCommand.start()
