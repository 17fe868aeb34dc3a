import Foundation
import TestSupport
import Testing

@testable import SwiftDeployCLI

@Suite("Fixed-point text as String(format:) writes it")
struct FixedPointTests {
    @Test func everyKindOfNumberIsWrittenAsStringFormatWritesIt() {
        var values: [Double] = [
            0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.125, 0.005, 0.015, 1.005, 99.995, 0.049999, 1e-9, -1e-9, 123_456.789,
            1e15, 1e21, 1e300, -1e300, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .nan, -.nan, .infinity,
            -.infinity, 80.6, 0.39, 1.9, 5.0 / 3.0,
        ]
        let seed = FuzzSeed.resolve(
            test: "FixedPointTests.everyKindOfNumberIsWrittenAsStringFormatWritesIt",
            filter: "SwiftDeployCLITests.FixedPointTests")
        var rng = seed.generator
        for _ in 0..<5_000 {
            values.append(Double(bitPattern: rng.next()))
            values.append(Double.random(in: -1_000...1_000, using: &rng))
            values.append(Double(Int.random(in: -100_000...100_000, using: &rng)) / 1_000)  // many ties at 2 digits
        }
        for value in values {
            for digits in 0...3 {
                #expect(
                    FixedPoint.text(value, digits: digits) == String(format: "%.\(digits)f", value),
                    "\(value.bitPattern) at \(digits) digits (\(seed))")
            }
        }
    }
}
