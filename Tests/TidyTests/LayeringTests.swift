import Foundation
import Testing

/// The layering of Docs/ARCHITECTURE.md, checked on the sources: a target imports only targets of
/// lower levels and the external modules its level allows, and the pure cores use no networking,
/// wall clock or system randomness.
@Suite struct LayeringTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyTargetImportsOnlyDownward() throws {
        var violations: [String] = []
        var checked = 0
        for target in Layering.targets {
            let directory = Self.repository.appendingPathComponent(target.path)
            for file in try Layering.swiftFiles(in: directory) {
                let text = try String(contentsOf: file, encoding: .utf8)
                violations += Layering.importViolations(in: text, of: target).map { "\(target.path)/\(file.lastPathComponent): \($0)" }
                if target.isPureCore {
                    violations += Layering.purityViolations(in: text).map { "\(target.path)/\(file.lastPathComponent): \($0)" }
                }
                checked += 1
            }
        }
        #expect(checked > 10, "the check read the sources")
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
    }

    @Test func everySourceFolderIsInTheLayeringTable() throws {
        let known = Set(Layering.targets.map(\.path))
        var unknown: [String] = []
        for group in ["Shared", "Chain", "Storage", "Benchmarks"] {
            let groupURL = Self.repository.appendingPathComponent(group)
            let children = (try? FileManager.default.contentsOfDirectory(atPath: groupURL.path)) ?? []
            for child in children where !known.contains("\(group)/\(child)") {
                let files = try Layering.swiftFiles(in: groupURL.appendingPathComponent(child))
                if !files.isEmpty { unknown.append("\(group)/\(child)") }
            }
        }
        #expect(unknown.isEmpty, "add these targets to Layering.targets and ARCHITECTURE.md: \(unknown)")
    }

    // The checker itself must be able to fail.

    @Test func upwardImportIsReported() {
        let core = Layering.targets.first { $0.name == "WalrusCore" }!
        let violations = Layering.importViolations(in: "import Foundation\n@testable import KVStore\nimport NIOCore\n", of: core)
        #expect(violations.count == 2)
    }

    @Test func storageImportingTheLedgerIsReported() {
        let node = Layering.targets.first { $0.name == "StorageNode" }!
        #expect(Layering.importViolations(in: "import ChainClient\nimport ChainTypes\nimport Ledger\n", of: node).count == 1)
    }

    @Test func impureCoreCodeIsReported() {
        let source = """
            import Foundation
            let now = Date()
            var rng = SystemRandomNumberGenerator()
            let x = Int.random(in: 0..<10)
            let y = Int.random(in: 0..<10, using: &seeded)
            let clock = ContinuousClock.now
            """
        #expect(Layering.purityViolations(in: source).count == 4)
    }
}

/// A target of the architecture, its level and what it may import besides lower targets.
struct LayeredTarget {
    let name: String
    let path: String
    let level: Int
    var isPureCore = false
    /// Targets of the same level this one is built on (named in ARCHITECTURE.md).
    var sameLevelBase: Set<String> = []
    /// Lower targets this one may not import even so: the storage side reaches the chain only
    /// through ChainClient and ChainTypes, never the ledger's own code.
    var forbidden: Set<String> = []
}

enum Layering {
    static let targets: [LayeredTarget] = [
        LayeredTarget(name: "CRocksDB", path: "Shared/CRocksDB", level: 0),
        LayeredTarget(name: "CSecp256k1", path: "Shared/CSecp256k1", level: 0),
        LayeredTarget(name: "CBlake2b", path: "Shared/CBlake2b", level: 0),
        LayeredTarget(name: "CReedSolomon", path: "Shared/CReedSolomon", level: 0),
        LayeredTarget(name: "CFileIO", path: "Shared/CFileIO", level: 0),
        LayeredTarget(name: "CLibCrypto", path: "Shared/CLibCrypto", level: 0),
        LayeredTarget(name: "WalrusCore", path: "Shared/WalrusCore", level: 0),
        LayeredTarget(name: "WalrusCrypto", path: "Shared/WalrusCrypto", level: 1),
        LayeredTarget(name: "KVStore", path: "Shared/KVStore", level: 1),
        LayeredTarget(name: "WalrusAPI", path: "Shared/WalrusAPI", level: 1),
        LayeredTarget(name: "RedStuff", path: "Shared/RedStuff", level: 2, isPureCore: true),
        LayeredTarget(name: "LightClient", path: "Shared/LightClient", level: 2, sameLevelBase: ["ChainTypes"]),
        LayeredTarget(name: "ChainTypes", path: "Shared/ChainTypes", level: 2),
        LayeredTarget(name: "Consensus", path: "Chain/Consensus", level: 3, isPureCore: true),
        LayeredTarget(name: "Ledger", path: "Chain/Ledger", level: 3, isPureCore: true),
        LayeredTarget(name: "ChainClient", path: "Chain/ChainClient", level: 4, sameLevelBase: ["HTTPKit", "Transport"], forbidden: storageForbidden),
        LayeredTarget(name: "WalrusClient", path: "Storage/WalrusClient", level: 4, sameLevelBase: ["ChainClient", "HTTPKit", "Transport"], forbidden: storageForbidden),
        LayeredTarget(name: "HTTPKit", path: "Shared/HTTPKit", level: 4),
        LayeredTarget(name: "Transport", path: "Shared/Transport", level: 4, sameLevelBase: ["HTTPKit"]),
        LayeredTarget(name: "Operations", path: "Shared/Operations", level: 5),
        LayeredTarget(name: "ValidatorNode", path: "Chain/ValidatorNode", level: 5, sameLevelBase: ["Operations"]),
        LayeredTarget(name: "StorageNode", path: "Storage/StorageNode", level: 5, sameLevelBase: ["Operations"], forbidden: storageForbidden),
        LayeredTarget(name: "Gateway", path: "Storage/Gateway", level: 5, forbidden: storageForbidden),
        LayeredTarget(name: "walrus-validator", path: "Chain/ValidatorMain", level: 6),
        LayeredTarget(name: "walrus-node", path: "Storage/NodeMain", level: 6, forbidden: storageForbidden),
        LayeredTarget(name: "walrus", path: "Storage/CLI", level: 6, forbidden: storageForbidden),
        LayeredTarget(name: "walrus-bench", path: "Benchmarks/WalrusBench", level: 6),
    ]

    /// What the storage side may not import: the chain's implementation (its types are in ChainTypes).
    static let storageForbidden: Set<String> = ["Ledger", "Consensus", "ValidatorNode"]

    /// Modules every level may import: the standard library's companions.
    static let system: Set<String> = [
        "Foundation", "FoundationEssentials", "Glibc", "Musl", "Darwin", "Synchronization", "Dispatch", "_Concurrency",
    ]

    /// External packages by the lowest level that may use them.
    static let external: [String: Int] = [
        "Collections": 0, "DequeModule": 0, "OrderedCollections": 0, "HeapModule": 0,
        "Crypto": 1,
        "Logging": 3, "Metrics": 4,
        "AsyncHTTPClient": 4, "FoundationNetworking": 4, "NIOCore": 4, "NIOPosix": 4, "NIOHTTP1": 4, "NIOFoundationCompat": 4,
        "NIOConcurrencyHelpers": 4, "Yams": 4, "NIOSSL": 4,
        "Hummingbird": 5, "HummingbirdCore": 5, "ServiceLifecycle": 5, "UnixSignals": 5, "Prometheus": 5, "NIOExtras": 5,
        "ArgumentParser": 6,
    ]

    /// Modules a pure core may never import.
    static let networking: Set<String> = [
        "NIOCore", "NIOPosix", "NIOHTTP1", "AsyncHTTPClient", "Hummingbird", "FoundationNetworking",
    ]

    static func swiftFiles(in directory: URL) throws -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        return enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    static func importedModules(in source: String) -> [String] {
        let pattern = #/^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)/#
        return source.split(separator: "\n").compactMap { line in
            (try? pattern.firstMatch(in: String(line))).flatMap { $0.map { String($0.output.1) } }
        }
    }

    static func importViolations(in source: String, of target: LayeredTarget) -> [String] {
        let levels = Dictionary(uniqueKeysWithValues: targets.map { ($0.name, $0) })
        var violations: [String] = []
        for module in importedModules(in: source) {
            if system.contains(module) { continue }
            if target.forbidden.contains(module) {
                violations.append("\(target.name) imports \(module); it reaches the chain only through ChainClient and ChainTypes")
                continue
            }
            if let other = levels[module] {
                let isCLibrary = other.name.hasPrefix("C") && other.level == 0
                if other.level < target.level || (isCLibrary && other.name != target.name) || target.sameLevelBase.contains(module) { continue }
                violations.append("\(target.name) (level \(target.level)) imports \(module) (level \(other.level))")
            } else if let level = external[module] {
                if level > target.level { violations.append("\(target.name) (level \(target.level)) imports \(module), allowed from level \(level)") }
            } else {
                violations.append("\(target.name) imports \(module), which the layering table does not know")
            }
            if target.isPureCore && networking.contains(module) {
                violations.append("pure core \(target.name) imports \(module)")
            }
        }
        return violations
    }

    /// Wall-clock and system-randomness uses in a pure core.
    static func purityViolations(in source: String) -> [String] {
        let forbidden: [(Regex<Substring>, String)] = [
            (#/\bDate\(\)/#, "reads the wall clock (Date())"),
            (#/\b(?:ContinuousClock|SuspendingClock)(?![A-Za-z0-9_])/#, "reads a system clock"),
            (#/\b(?:DispatchTime|DispatchWallTime)\.now/#, "reads the wall clock"),
            (#/\b(?:clock_gettime|gettimeofday|mach_absolute_time)(?![A-Za-z0-9_])/#, "reads the wall clock"),
            (#/\bSystemRandomNumberGenerator(?![A-Za-z0-9_])/#, "uses system randomness"),
            (#/\b(?:arc4random|getrandom|UUID\(\))/#, "uses system randomness"),
            (#/\.random(?:Element)?\((?![^)]*using:)[^)]*\)/#, "uses system randomness (pass a seeded generator with using:)"),
            (#/\.shuffled?\(\)/#, "uses system randomness (pass a seeded generator with using:)"),
        ]
        var violations: [String] = []
        for (lineNumber, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for (pattern, reason) in forbidden where code.contains(pattern) {
                violations.append("line \(lineNumber + 1) \(reason)")
            }
        }
        return violations
    }
}
