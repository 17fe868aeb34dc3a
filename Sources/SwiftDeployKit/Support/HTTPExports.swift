// The HTTP client lives in its own target (shared with the demo service); the library's users see it as before.
@_exported import SwiftDeployHTTP
