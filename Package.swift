// swift-tools-version:6.0
// The Walrus-compatible blob store: one package, folders by architecture layer (Docs/ARCHITECTURE.md).
import PackageDescription

/// Strict settings for every Swift target: Swift 6 language mode (complete concurrency checking) is
/// the tools-version default; library and executable code also treats warnings as errors.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]
let strictNoWarnings = strict + [.unsafeFlags(["-warnings-as-errors"])]

let package = Package(
    name: "walrus-swift",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "walrus", targets: ["walrus"]),
        .executable(name: "walrus-bench", targets: ["walrus-bench"]),
        .library(name: "WalrusCore", targets: ["WalrusCore"]),
        .library(name: "WalrusCrypto", targets: ["WalrusCrypto"]),
        .library(name: "KVStore", targets: ["KVStore"]),
        .library(name: "WalrusAPI", targets: ["WalrusAPI"]),
        .library(name: "RedStuff", targets: ["RedStuff"]),
        .library(name: "ChainTypes", targets: ["ChainTypes"]),
        // For the fuzz targets (Fuzz/), which build this package's decoders and HTTP server.
        .library(name: "HTTPKit", targets: ["HTTPKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Level 0: native libraries and the core types.
        .systemLibrary(name: "CRocksDB", path: "Shared/CRocksDB"),
        .systemLibrary(name: "CSecp256k1", path: "Shared/CSecp256k1"),
        .target(
            name: "CBlake2b", path: "Shared/CBlake2b", exclude: ["README.md"],
            cSettings: [.unsafeFlags(["-O3"])]),
        .target(
            name: "CReedSolomon", path: "Shared/CReedSolomon", exclude: ["README.md"],
            cSettings: [.unsafeFlags(["-O3"])]),
        .target(
            name: "CFileIO", path: "Shared/CFileIO", exclude: ["README.md"],
            cSettings: [.unsafeFlags(["-O3"])]),
        // X25519, ChaCha20-Poly1305 and P-256 certificates from the system's OpenSSL (libssl-dev).
        .target(name: "CLibCrypto", path: "Shared/CLibCrypto", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "WalrusCore", path: "Shared/WalrusCore", exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 1: crypto and storage.
        .target(
            name: "WalrusCrypto", dependencies: ["WalrusCore", "CBlake2b", "CSecp256k1", "CLibCrypto"],
            path: "Shared/WalrusCrypto", exclude: ["README.md"], swiftSettings: strictNoWarnings),
        .target(
            name: "KVStore", dependencies: ["WalrusCore", "CRocksDB", "CFileIO"],
            path: "Shared/KVStore", exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 1: the JSON wire types of the HTTP and CLI surface, shared by servers and clients.
        .target(name: "WalrusAPI", dependencies: ["WalrusCore"], path: "Shared/WalrusAPI", exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 2: the Red Stuff encoding (a pure core).
        .target(
            name: "RedStuff", dependencies: ["WalrusCore", "WalrusCrypto", "CBlake2b", "CReedSolomon"],
            path: "Shared/RedStuff", exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 6: executables.
        .executableTarget(
            name: "walrus",
            dependencies: [
                "RedStuff", "WalrusAPI", "WalrusCore", "WalrusCrypto", "WalrusClient", "ChainClient", "Gateway", "HTTPKit", "CFileIO", "Operations", "Transport",
                .product(name: "Logging", package: "swift-log"), .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Storage/CLI", swiftSettings: strictNoWarnings),

        .executableTarget(
            name: "walrus-bench",
            dependencies: [
                "RedStuff", "WalrusCore", "WalrusCrypto", "Ledger", "ChainClient", "KVStore", "CReedSolomon", "CBlake2b", "HTTPKit",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/WalrusBench", swiftSettings: strictNoWarnings),

        .target(
            name: "ChainTypes", dependencies: ["WalrusCore", "WalrusCrypto"], path: "Shared/ChainTypes",
            exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 2: the light client's checks over the chain's wire types.
        .target(
            name: "LightClient", dependencies: ["ChainTypes", "WalrusCore", "WalrusCrypto"], path: "Shared/LightClient",
            exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 3: the chain's pure cores.
        .target(
            name: "Consensus", dependencies: ["ChainTypes", "WalrusCore", "WalrusCrypto"], path: "Chain/Consensus",
            exclude: ["README.md"], swiftSettings: strictNoWarnings),

        .target(
            name: "Ledger", dependencies: ["WalrusCore", "WalrusCrypto", "KVStore", "RedStuff", "ChainTypes"], path: "Chain/Ledger",
            exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 4: the chain's client side.
        .target(
            name: "ChainClient",
            dependencies: ["ChainTypes", "LightClient", "WalrusAPI", "WalrusCore", "WalrusCrypto", "HTTPKit", "Transport", .product(name: "Yams", package: "Yams")],
            path: "Chain/ChainClient",
            exclude: ["README.md"], swiftSettings: strictNoWarnings),

        .target(
            name: "HTTPKit",
            dependencies: [
                "CFileIO", "WalrusAPI", "WalrusCore", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/HTTPKit", exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 4: TLS pinned to on-chain network keys (swift-nio-ssl), for HTTPKit's servers and clients.
        .target(
            name: "Transport",
            dependencies: [
                "HTTPKit", "WalrusCore", "WalrusCrypto", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Shared/Transport", exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 5: what every long-running process shares: swift-log (text or JSON), swift-metrics
        // with a Prometheus admin endpoint, and swift-service-lifecycle's signal handling.
        .target(
            name: "Operations",
            dependencies: [
                "HTTPKit", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Operations", exclude: ["README.md"], swiftSettings: strictNoWarnings),

        .target(
            name: "WalrusClient",
            dependencies: [
                "ChainClient", "ChainTypes", "HTTPKit", "LightClient", "RedStuff", "WalrusCore", "WalrusCrypto", "Transport",
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Yams", package: "Yams"),
            ],
            path: "Storage/WalrusClient", exclude: ["README.md"], swiftSettings: strictNoWarnings),

        // Level 5: the validator node.
        .target(
            name: "ValidatorNode",
            dependencies: [
                "Consensus", "Ledger", "ChainTypes", "ChainClient", "LightClient", "KVStore", "WalrusAPI", "WalrusCore", "WalrusCrypto", "HTTPKit", "Operations", "Transport",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Yams", package: "Yams"),
            ],
            path: "Chain/ValidatorNode", exclude: ["README.md"], swiftSettings: strictNoWarnings),
        .target(
            name: "StorageNode",
            dependencies: [
                "ChainClient", "ChainTypes", "RedStuff", "KVStore", "WalrusAPI", "WalrusCore", "WalrusCrypto", "HTTPKit", "Transport", "Operations",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Yams", package: "Yams"),
            ],
            path: "Storage/StorageNode", exclude: ["README.md"], swiftSettings: strictNoWarnings),
        .target(
            name: "Gateway",
            dependencies: ["WalrusClient", "ChainClient", "HTTPKit", "RedStuff", "WalrusAPI", "WalrusCore", "Transport", "Operations", .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Storage/Gateway", exclude: ["README.md"], swiftSettings: strictNoWarnings),
        .executableTarget(
            name: "walrus-node",
            dependencies: [
                "StorageNode", "ChainClient", "ChainTypes", "HTTPKit", "WalrusCore", "WalrusCrypto", "CFileIO", "Operations",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Storage/NodeMain", swiftSettings: strictNoWarnings),
        .executableTarget(
            name: "walrus-validator",
            dependencies: [
                "ValidatorNode", "ChainClient", "HTTPKit", "Ledger", "ChainTypes", "WalrusCore", "WalrusCrypto", "Operations",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Chain/ValidatorMain", swiftSettings: strictNoWarnings),
        // A validator that equivocates, for the tests of evidence and slashing only.
        .executableTarget(name: "walrus-byzantine-validator", dependencies: ["ValidatorNode", .product(name: "Logging", package: "swift-log")], path: "Tests/ByzantineValidator", swiftSettings: strict),

        // Tests: one target per library, plus the layering check.
        .testTarget(
            name: "WalrusCoreTests", dependencies: ["WalrusCore"], path: "Tests/WalrusCoreTests",
            swiftSettings: strict),
        .testTarget(
            name: "WalrusCryptoTests", dependencies: ["WalrusCrypto", "WalrusCore", "CBlake2b"],
            path: "Tests/WalrusCryptoTests", swiftSettings: strict),
        .testTarget(name: "WalrusAPITests", dependencies: ["WalrusAPI", "WalrusCore"], path: "Tests/WalrusAPITests", swiftSettings: strict),
        .testTarget(
            name: "KVStoreTests", dependencies: ["KVStore", "WalrusCore", "CFileIO"], path: "Tests/KVStoreTests",
            swiftSettings: strict),
        .testTarget(
            name: "RedStuffTests", dependencies: ["RedStuff", "WalrusCore", "WalrusCrypto", "CReedSolomon"],
            path: "Tests/RedStuffTests", swiftSettings: strict),
        .testTarget(
            name: "ConsensusTests", dependencies: ["Consensus", "ChainTypes", "WalrusCore", "WalrusCrypto"], path: "Tests/ConsensusTests",
            swiftSettings: strict),
        .testTarget(
            name: "LightClientTests", dependencies: ["LightClient", "ChainTypes", "WalrusCore", "WalrusCrypto"],
            path: "Tests/LightClientTests", swiftSettings: strict),
        .testTarget(
            name: "LedgerTests",
            dependencies: [
                "Ledger", "ChainTypes", "KVStore", "RedStuff", "WalrusCore", "WalrusCrypto", .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            path: "Tests/LedgerTests", swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "walrus-validator", "walrus-byzantine-validator", "walrus-node", "ChainClient", "ChainTypes", "Consensus", "KVStore", "Ledger", "RedStuff", "WalrusAPI", "WalrusCore", "WalrusCrypto",
                "ValidatorNode", "StorageNode", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/IntegrationTests", swiftSettings: strict),
        .testTarget(
            name: "DriverSimulationTests",
            dependencies: ["ValidatorNode", "ChainClient", "ChainTypes", "Consensus", "KVStore", "Ledger", "WalrusCore", "WalrusCrypto"],
            path: "Tests/DriverSimulationTests", swiftSettings: strict),
        .testTarget(
            name: "HTTPKitTests",
            dependencies: ["HTTPKit", "CFileIO", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Tests/HTTPKitTests", swiftSettings: strict),
        .testTarget(name: "WalrusClientTests", dependencies: ["WalrusClient", "Gateway", "HTTPKit", "RedStuff", "WalrusCore", "WalrusCrypto", "Transport", .product(name: "NIOPosix", package: "swift-nio")], path: "Tests/WalrusClientTests", swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["walrus", "WalrusCore"], path: "Tests/CLITests", swiftSettings: strict),
        .testTarget(name: "TidyTests", path: "Tests/TidyTests", swiftSettings: strict),
    ]
)
