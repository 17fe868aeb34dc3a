import Foundation
import TestSupport
import Testing

@testable import SwiftDeployKit

/// The U test against SciPy's `mannwhitneyu` on fixed samples (Tests/Fixtures/mannwhitney: cases.json and the
/// script that computed it).
@Suite struct MannWhitneyUTests {
    struct Case: Decodable, CustomTestStringConvertible {
        let name: String
        let x: [Double]
        let y: [Double]
        let u: Double
        let p_value: Double
        let method: String
        var testDescription: String { name }
    }

    struct File: Decodable {
        let scipy: String
        let cases: [Case]
    }

    static let cases: [Case] = {
        let url = RepositoryPaths.fixtures.appendingPathComponent("mannwhitney/cases.json")
        guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data) else {
            return []
        }
        return file.cases
    }()

    @Test func fixturesArePresent() {
        #expect(Self.cases.count >= 10, "Tests/Fixtures/mannwhitney/cases.json is missing or unreadable")
        #expect(Set(Self.cases.map(\.method)) == ["exact", "asymptotic"])
    }

    @Test(arguments: cases) func matchesSciPy(_ reference: Case) throws {
        let result = try #require(MannWhitneyU.test(reference.x, reference.y))
        #expect(result.method.rawValue == reference.method)
        #expect(abs(result.u - reference.u) < 1e-9, "U \(result.u) vs scipy \(reference.u)")
        #expect(
            abs(result.pValue - reference.p_value) <= 1e-9 * max(1, reference.p_value),
            "p \(result.pValue) vs scipy \(reference.p_value)")
    }

    @Test func effectSizes() throws {
        let r = try #require(MannWhitneyU.test([10, 12, 14], [5, 6, 7]))
        #expect(r.commonLanguageEffect == 1)
        #expect(r.meanRatio == 2)
        #expect(r.hodgesLehmann == 6)  // differences 3…9, median of 9 values (5,4,3,7,6,5,9,8,7) = 6
        let same = try #require(MannWhitneyU.test([0, 0], [0, 0, 0]))
        #expect(same.pValue == 1)
        #expect(same.meanRatio == 1)
        #expect(same.commonLanguageEffect == 0.5)
    }

    @Test func refusesEmptyAndNonFinite() {
        #expect(MannWhitneyU.test([], [1]) == nil)
        #expect(MannWhitneyU.test([1], []) == nil)
        #expect(MannWhitneyU.test([1, .nan], [1, 2]) == nil)
        #expect(MannWhitneyU.test([1, 2], [.infinity]) == nil)
    }
}
