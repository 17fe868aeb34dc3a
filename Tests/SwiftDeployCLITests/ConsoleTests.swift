import Testing

@testable import SwiftDeployCLI

@Test func noColorEnvironmentDisablesColour() {
    let console = Console(environment: ["NO_COLOR": "1", "TERM": "xterm"])
    #expect(console.colored("x", .red) == "x")
}
