import Foundation
import Testing

@testable import SwiftDeployKit

/// A policy saved with Windows line endings ("\r\n") is the same policy: its package is found (before, a module of
/// one "line" had none, and `gate all` dropped its domain and allowed), and its threshold contract reads the same.
@Suite struct WindowsLineEndingTests {
    static let module = """
        # Checks made before a promote.

        # METADATA
        # title: Canary promotion gate
        # custom:
        #   thresholds:
        #     max_error_rate: {type: number, minimum: 0, maximum: 1}
        package swiftdeploy.canary

        deny contains "too many errors" if input.metrics.error_rate > data.thresholds.canary.max_error_rate

        """

    @Test func theLinesOfAWindowsFileAreItsLines() {
        #expect(TextLines.split("a\r\nb\r\n\r\nc").map(String.init) == ["a", "b", "", "c"])
        #expect(TextLines.split("a\nb\r\n").map(String.init) == ["a", "b", ""])
        #expect(TextLines.split("").map(String.init) == [""])
    }

    @Test func thePackageOfAWindowsModuleIsFound() {
        let windows = Self.module.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(PolicyBundle.packageName(in: Self.module) == "swiftdeploy.canary")
        #expect(PolicyBundle.packageName(in: windows) == "swiftdeploy.canary")
    }

    @Test func theThresholdContractOfAWindowsModuleReadsTheSame() {
        let windows = Self.module.replacingOccurrences(of: "\n", with: "\r\n")
        let unix = ThresholdContract.declaration(in: Self.module, file: "canary.rego")
        guard case .success(let keys) = unix else {
            Issue.record("the LF module's contract did not read: \(unix)")
            return
        }
        #expect(!keys.isEmpty)
        #expect(
            String(describing: ThresholdContract.declaration(in: windows, file: "canary.rego"))
                == String(describing: unix))
    }
}
