import Testing

@testable import SwiftDeployKit

/// The exit codes are a contract with every CI pipeline: pin them.
@Test func exitCodesMatchTheDocumentedContract() {
    #expect(ExitStatus.success.rawValue == 0)
    #expect(ExitStatus.failed.rawValue == 1)
    #expect(ExitStatus.inconclusive.rawValue == 2)
    #expect(ExitStatus.operationFailed.rawValue == 3)
    #expect(ExitStatus.usage.rawValue == 64)
    #expect(ExitStatus.invalidInput.rawValue == 65)
}
