// Placeholder entry point, replaced by the demo service (issue 3).
import Foundation
FileHandle.standardError.write(Data("swiftdeploy-api: not yet implemented\n".utf8))
exit(1)
