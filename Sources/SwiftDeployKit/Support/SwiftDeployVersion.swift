/// The version of swiftdeploy, printed by `swiftdeploy --version` and recorded in history lines.
public enum SwiftDeployVersion {
    public static let current = "0.1.0-dev"
}
