import Foundation

/// The seed of a fuzz test, printed and replayable.
///
/// `FuzzSeed.resolve(test:variable:)` reads the seed from the environment variable `variable` when it is set (a
/// replay), otherwise uses `fallback` (a fixed seed, for a deterministic default) or the clock, and prints it FIRST,
/// with the command that replays it, so even a crash or a hang leaves the seed in the log:
///
/// ExpositionParserTests.neverTrapsOnArbitraryBytes: seed 1795695704 (replay: SWIFTDEPLOY_FUZZ_SEED=1795695704 swift
/// test --filter ExpositionParserTests)
///
/// Every failure message of a fuzz test should carry the same `replayHint`.
public struct FuzzSeed: Sendable, CustomStringConvertible {
    public let value: UInt64
    /// `VARIABLE=<seed> swift test --filter <suite>`: what a reader pastes to run the same inputs again.
    public let replayHint: String

    public var description: String { "seed \(value) (replay: \(replayHint))" }

    /// A fresh generator over this seed; the same seed gives the same sequence.
    public var generator: SplitMix64 { SplitMix64(state: value) }

    /// Reads `variable` from `environment` (a decimal UInt64), else `fallback`, else the clock; prints the seed line.
    /// `extra` is added to the replay command (e.g. other variables that size the run).
    public static func resolve(
        test: String, filter: String, variable: String = "SWIFTDEPLOY_FUZZ_SEED",
        fallback: UInt64? = nil, extra: String = "",
        environment: [String: String] = ProcessInfo.processInfo.environment,
        print printLine: Bool = true
    ) -> FuzzSeed {
        let value =
            environment[variable].flatMap { UInt64($0) } ?? fallback
            ?? UInt64(Date().timeIntervalSince1970 * 1000)
        let settings = (["\(variable)=\(value)"] + (extra.isEmpty ? [] : [extra])).joined(separator: " ")
        let seed = FuzzSeed(value: value, replayHint: "\(settings) swift test --filter '\(filter)'")
        if printLine { print("\(test): \(seed)") }
        return seed
    }
}

/// SplitMix64: a small, fast generator whose whole state is the seed, so a seed replays a run exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
