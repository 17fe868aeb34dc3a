import Testing
import Rego

@Test func implementsRegoV1() {
    #expect(Rego.languageVersion == "v1")
}
