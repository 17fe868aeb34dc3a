import Foundation
import TestSupport
import Testing

/// The one "required under CI, skipped locally" rule every test with an outside part goes through.
@Suite struct TestRequirementTests {
    static let absent = TestRequirement("a tool that is not here") { .missing("not installed; run scripts/bootstrap") }
    static let present = TestRequirement("a tool that is here") { .met("/usr/bin/true") }

    @Test func aMissingRequirementUnderCIIsAFailureNamingItAndWhy() {
        let error = #expect(throws: TestRequirementError.self) {
            try TestRequirement.evaluate([Self.present, Self.absent], ci: true)
        }
        #expect(
            error?.description
                == "CI=true requires a tool that is not here, and it is missing: not installed; run scripts/bootstrap")
        #expect(throws: TestRequirementError.self) { try Self.absent.isAvailable(for: "the comparison", ci: true) }
        #expect(throws: TestRequirementError.self) { try Self.absent.value() }
    }

    @Test func aMissingRequirementLocallyIsASkipNotAPass() throws {
        #expect(try TestRequirement.evaluate([Self.present, Self.absent], ci: false) == false)
        #expect(try Self.absent.isAvailable(for: "the comparison", ci: false) == false)
    }

    @Test func aMetRequirementRuns() throws {
        #expect(try TestRequirement.evaluate([Self.present], ci: true))
        #expect(try TestRequirement.evaluate([], ci: true))
        #expect(try Self.present.value() == "/usr/bin/true")
        #expect(try Self.present.isAvailable(for: "x", ci: true))
    }

    @Test func aToolThatIsNotInstalledIsMissingWithWhatToDo() {
        let tool = TestRequirement.tool("swiftdeploy-no-such-tool-\(UUID().uuidString.prefix(8))")
        #expect(
            tool.missingReason?.hasSuffix("is not installed; run scripts/bootstrap to install the test dependencies")
                == true)
    }
}
