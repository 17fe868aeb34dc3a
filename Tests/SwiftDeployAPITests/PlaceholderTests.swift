import Testing

@Test func apiTargetBuilds() {
    #expect(1 + 1 == 2)
}
