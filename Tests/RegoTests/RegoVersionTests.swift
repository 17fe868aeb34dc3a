import Rego
import Testing

@Test func implementsRegoV1() {
    #expect(Rego.languageVersion == "v1")
}
