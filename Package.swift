// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: swiftdeploy → SwiftDeployCLI → SwiftDeployKit → Rego.
// SwiftDeployKit never imports ArgumentParser; Rego knows nothing of deployments.
let package = Package(
    name: "swiftdeploy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "swiftdeploy", targets: ["swiftdeploy"]),
        .executable(name: "swiftdeploy-api", targets: ["SwiftDeployAPI"]),
        .library(name: "Rego", targets: ["Rego"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        // Already in the graph through Hummingbird; declared because the demo service imports them directly.
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "swiftdeploy",
            dependencies: ["SwiftDeployCLI"]
        ),
        .target(
            name: "SwiftDeployCLI",
            dependencies: [
                "SwiftDeployKit",
                "Rego",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
        ),
        .target(
            name: "SwiftDeployKit",
            dependencies: [
                "Rego",
                "SwiftDeployHTTP",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                "CSHA256Lanes",
            ]
        ),
        // SHA-256 of eight history lines at once in AVX2 lanes (C: per-function target attributes and a run-time
        // CPUID check, which Swift cannot express), for `audit` over large histories.
        .target(
            name: "CSHA256Lanes"
        ),
        // The one HTTP client (POSIX sockets, timeouts, body cap), shared by the library and the demo service.
        .target(
            name: "SwiftDeployHTTP"
        ),
        .target(
            name: "Rego",
            dependencies: [
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "SwiftDeployAPI",
            dependencies: [
                "SwiftDeployHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: ["SwiftDeployKit"]
        ),
        .testTarget(
            name: "SwiftDeployKitTests",
            dependencies: ["SwiftDeployKit", "TestSupport"]
        ),
        .testTarget(
            name: "SwiftDeployCLITests",
            dependencies: ["SwiftDeployCLI", "SwiftDeployKit", "TestSupport"]
        ),
        .testTarget(
            name: "RegoTests",
            dependencies: ["Rego", "TestSupport"]
        ),
        .testTarget(
            name: "SwiftDeployAPITests",
            dependencies: [
                "SwiftDeployAPI",
                "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
