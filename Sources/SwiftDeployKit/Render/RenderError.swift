import Foundation

/// Why generated files could not be rendered or written.
public enum RenderError: SwiftDeployFailure, Equatable {
    case templateMissing(path: String)
    case templateInvalid(path: String, reason: String)
    /// A value reached the escaper that its context cannot hold (the grammar should have stopped it first).
    case unsafeValue(field: String, value: String, context: String)
    /// A generated file could not be written (``FileWriteError``, as the render layer reports it).
    case writeFailed(path: String, reason: String)

    public var exitStatus: ExitStatus {
        switch self {
        case .templateMissing, .templateInvalid, .unsafeValue: return .invalidInput
        case .writeFailed: return .operationFailed
        }
    }

    public var errorDescription: String? {
        switch self {
        case .templateMissing(let path):
            return
                """
                template not found at \(path); restore it, or remove the manifest's 'templates' key to use the \
                built-in templates
                """
        case .templateInvalid(let path, let reason):
            return "template \(path) is not valid Mustache: \(reason); fix the template or use the built-in one"
        case .unsafeValue(let field, let value, let context):
            return "\(field) value \(value) cannot be written safely into \(context); change it in the manifest"
        case .writeFailed(let path, let reason):
            return FileWriteError(path: path, reason: reason).errorDescription
        }
    }
}
