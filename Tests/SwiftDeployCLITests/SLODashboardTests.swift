import Foundation
import SwiftDeployKit
import Testing

@testable import SwiftDeployCLI

/// `status` shows each objective's budget remaining and burn rates, from the slo decision's input; a figure
/// Prometheus did not give shows as "-", never as a made-up zero. (On a real stack: `SLOEndToEndTests`.)
@Suite struct SLODashboardTests {
    @Test func oneLinePerObjectiveWithBudgetAndBurnRates() {
        let input: JSONValue = [
            "slo": [
                "objectives": [
                    "availability": [
                        "error_budget_remaining": 0.812,
                        "burn_rate": ["5m": 0.2, "30m": 0.3, "1h": 0.4, "2h": 0.5, "6h": 0.3, "1d": 0.2, "3d": 0.2],
                    ],
                    "latency": ["error_budget_remaining": -0.25, "burn_rate": ["5m": 20.3, "1h": 15]],
                ]
            ]
        ]
        #expect(
            DashboardRenderer.objectives(input) == [
                "slo       availability   budget 81.2% left   burn 5m 0.2x  1h 0.4x  6h 0.3x  1d 0.2x  3d 0.2x",
                "          latency        budget -25.0% left   burn 5m 20.3x  1h 15.0x  6h -  1d -  3d -",
            ])
    }

    @Test func noSLOInputShowsNothing() {
        #expect(DashboardRenderer.objectives(.null).isEmpty)
        #expect(DashboardRenderer.objectives(["slo": ["objectives": []]]).isEmpty)
    }
}
