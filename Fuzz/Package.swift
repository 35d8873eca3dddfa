// swift-tools-version:6.0
// libFuzzer targets for the decoders that read bytes from the network and for the HTTP request
// path. Built and run by scripts/fuzz (swift build -Xswiftc -sanitize=fuzzer,address); each
// target is an executable whose main is libFuzzer's.
import PackageDescription

let fuzzFlags: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "walrus-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "walrus-swift", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: fuzzFlags),
        .executableTarget(
            name: "FuzzMetadata", dependencies: ["FuzzSupport", .product(name: "RedStuff", package: "walrus-swift"), .product(name: "WalrusCore", package: "walrus-swift")],
            swiftSettings: fuzzFlags),
        .executableTarget(
            name: "FuzzSliver", dependencies: ["FuzzSupport", .product(name: "RedStuff", package: "walrus-swift"), .product(name: "WalrusCore", package: "walrus-swift")],
            swiftSettings: fuzzFlags),
        .executableTarget(
            name: "FuzzRecoverySymbol", dependencies: ["FuzzSupport", .product(name: "RedStuff", package: "walrus-swift"), .product(name: "WalrusCore", package: "walrus-swift")],
            swiftSettings: fuzzFlags),
        .executableTarget(
            name: "FuzzInconsistencyProof", dependencies: ["FuzzSupport", .product(name: "RedStuff", package: "walrus-swift"), .product(name: "WalrusCore", package: "walrus-swift")],
            swiftSettings: fuzzFlags),
        .executableTarget(
            name: "FuzzSyncShard", dependencies: ["FuzzSupport", .product(name: "WalrusCrypto", package: "walrus-swift"), .product(name: "WalrusCore", package: "walrus-swift")],
            swiftSettings: fuzzFlags),
        .executableTarget(
            name: "FuzzChainMessages",
            dependencies: [
                "FuzzSupport", .product(name: "ChainTypes", package: "walrus-swift"), .product(name: "WalrusCrypto", package: "walrus-swift"),
                .product(name: "WalrusCore", package: "walrus-swift"),
            ],
            swiftSettings: fuzzFlags),
        .executableTarget(
            name: "FuzzWalrusJSON", dependencies: ["FuzzSupport", .product(name: "WalrusAPI", package: "walrus-swift"), .product(name: "WalrusCore", package: "walrus-swift")],
            swiftSettings: fuzzFlags),
        .executableTarget(
            name: "FuzzHTTP",
            dependencies: [
                "FuzzSupport", .product(name: "HTTPKit", package: "walrus-swift"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: fuzzFlags),
    ]
)
