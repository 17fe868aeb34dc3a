import Foundation
import TestSupport
import Testing

/// Every fuzz test takes its seed from `FuzzSeed`: printed first, with the command that replays it.
@Suite struct FuzzSeedTests {
    @Test func theVariableNamesTheSeedAndTheLineSaysHowToReplayIt() {
        let seed = FuzzSeed.resolve(
            test: "T", filter: "Target.T/", variable: "X_FUZZ_SEED", extra: "X_FUZZ_CASES=9",
            environment: ["X_FUZZ_SEED": "12345"], print: false)
        #expect(seed.value == 12345)
        #expect(
            seed.description == "seed 12345 (replay: X_FUZZ_SEED=12345 X_FUZZ_CASES=9 swift test --filter 'Target.T/')")
    }

    @Test func withoutTheVariableTheFallbackOrTheClockIsUsedAndStillPrinted() {
        let fixed = FuzzSeed.resolve(test: "T", filter: "T", variable: "X", fallback: 7, environment: [:], print: false)
        #expect(fixed.value == 7 && fixed.replayHint.hasPrefix("X=7 "))
        let clock = FuzzSeed.resolve(
            test: "T", filter: "T", variable: "X", environment: ["X": "not a number"], print: false)
        #expect(clock.value > 1_700_000_000_000, "a seed from the clock in milliseconds")
        #expect(clock.replayHint.hasPrefix("X=\(clock.value) "))
    }

    @Test func theSameSeedGivesTheSameSequence() {
        let seed = FuzzSeed.resolve(test: "T", filter: "T", environment: ["SWIFTDEPLOY_FUZZ_SEED": "42"], print: false)
        var a = seed.generator, b = seed.generator
        let first = (0..<100).map { _ in a.next() }
        #expect(first == (0..<100).map { _ in b.next() })
        var other = SplitMix64(state: 43)
        #expect(first != (0..<100).map { _ in other.next() })
    }
}
