import ChainTypes
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import WalrusCore
import WalrusCrypto

/// A local network of walrus-validator processes on 127.0.0.1, in a temporary directory, stopped
/// (SIGKILL) when the test is done.
final class LocalChain {
    let directory: URL
    let basePort: Int
    let count: Int
    private var processes: [Int: Process] = [:]
    private var storageProcesses: [Int: Process] = [:]

    static var products: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while url.pathExtension == "xctest" { url.deleteLastPathComponent() }
        return url
    }

    static var binary: URL { products.appendingPathComponent("walrus-validator") }

    init(validators: Int, storageNodes: Int = 4, shards: Int = 40, epochDurationMs: Int = 60_000) throws {
        count = validators
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-chain-\(UUID().uuidString)")
        basePort = LocalChain.freeBasePort()
        let genesis = Process()
        genesis.executableURL = LocalChain.binary
        genesis.arguments = ["genesis", "--dir", directory.path, "--validators", "\(validators)", "--storage-nodes", "\(storageNodes)", "--shards", "\(shards)",
                             "--base-port", "\(basePort)", "--chain-id", "walrus-test", "--epoch-duration-ms", "\(epochDurationMs)",
                             // Plain HTTP: these tests send storage nodes raw requests through URLSession.
                             "--plain-http"]
        genesis.standardOutput = FileHandle.nullDevice
        try genesis.run()
        genesis.waitUntilExit()
        guard genesis.terminationStatus == 0 else { throw TestFailure("walrus-validator genesis failed") }
    }

    deinit {
        for process in processes.values where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for process in storageProcesses.values where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// A base port whose p2p (+i), rpc (+100+i) and storage (+200+i) ports are free now.
    static func freeBasePort() -> Int {
        for _ in 0..<50 {
            // Below the ephemeral range (32768 and up on Linux), where outgoing connections could take a port first.
            let base = Int.random(in: 20_000...32_000)
            if (0..<8).allSatisfy({ isFree(base + $0) && isFree(base + 100 + $0) }) { return base }
        }
        return 31_000
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// Starts validator `i`: `walrus-validator`, or with `byzantine` the test binary that signs
    /// conflicting prevotes.
    func start(_ i: Int, byzantine: Bool = false) throws {
        let process = Process()
        let config = directory.appendingPathComponent("validator-\(i)/config.yaml").path
        if byzantine {
            process.executableURL = LocalChain.products.appendingPathComponent("walrus-byzantine-validator")
            process.arguments = [config]
        } else {
            process.executableURL = LocalChain.binary
            process.arguments = ["run", "--config", config]
        }
        let log = directory.appendingPathComponent("validator-\(i).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        processes[i] = process
    }

    func startAll() throws { for i in 0..<count { try start(i) } }

    /// The REST URL of storage node `i`.
    func storageURL(_ i: Int) -> URL { URL(string: "http://127.0.0.1:\(basePort + 200 + i)")! }
    /// The admin endpoints (`/metrics`, `/v1/health`) of storage node `i` and validator `i`.
    func storageAdminURL(_ i: Int) -> URL { URL(string: "http://127.0.0.1:\(basePort + 400 + i)")! }
    func validatorAdminURL(_ i: Int) -> URL { URL(string: "http://127.0.0.1:\(basePort + 500 + i)")! }

    /// Turns off the free-space reserve of the storage node whose directory is `home`, for tests
    /// that fill a disk for real (`min_free_bytes: 0` in its config).
    static func disableFreeSpaceReserve(home: URL) throws {
        let config = home.appendingPathComponent("config.yaml")
        let text = try String(contentsOf: config, encoding: .utf8)
        try (text + (text.hasSuffix("\n") ? "" : "\n") + "min_free_bytes: 0\n").write(to: config, atomically: true, encoding: .utf8)
    }

    /// Starts storage node `i` of the genesis (configured on first start with `walrus-node init`).
    /// Starts storage node `i`, initialising its directory the first time; `prepare` runs on the
    /// initialised directory just before the node starts.
    func startStorageNode(_ i: Int, prepare: ((URL) throws -> Void)? = nil) throws {
        let home = directory.appendingPathComponent("storage-node-\(i)")
        if !FileManager.default.fileExists(atPath: home.appendingPathComponent("config.yaml").path) {
            let initialize = Process()
            initialize.executableURL = LocalChain.products.appendingPathComponent("walrus-node")
            initialize.arguments = ["init", "--dir", home.path, "--listen", "127.0.0.1:\(basePort + 200 + i)", "--plain-http", "--admin-listen", "127.0.0.1:\(basePort + 400 + i)"]
                + (0..<count).flatMap { ["--chain-rpc", "http://127.0.0.1:\(basePort + 100 + $0)"] }
            initialize.standardOutput = FileHandle.nullDevice
            try initialize.run()
            initialize.waitUntilExit()
        }
        try prepare?(home)
        let process = Process()
        process.executableURL = LocalChain.products.appendingPathComponent("walrus-node")
        process.arguments = ["run", "--config", home.appendingPathComponent("config.yaml").path]
        let log = directory.appendingPathComponent("storage-node-\(i).log")
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        storageProcesses[i] = process
    }

    func killStorageNode(_ i: Int) {
        guard let process = storageProcesses[i], process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Storage node `i`'s process ID while it runs.
    func storagePID(_ i: Int) -> Int32? { storageProcesses[i].flatMap { $0.isRunning ? $0.processIdentifier : nil } }

    /// Waits for storage node `i` to exit; its exit status, or nil when it still runs after `seconds`.
    func waitForStorageNodeExit(_ i: Int, seconds: Double = 20) -> Int32? {
        guard let process = storageProcesses[i] else { return nil }
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func storageNodeKey(_ i: Int) throws -> Schnorr.PrivateKey {
        try KeyFile.load(from: directory.appendingPathComponent("storage-node-\(i)/node.key").path)
    }

    func kill9(_ i: Int) {
        guard let process = processes[i], process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait: a clean stop.
    func stop(_ i: Int) {
        guard let process = processes[i], process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill9(i) }
    }

    func wipe(_ i: Int) throws { try FileManager.default.removeItem(at: directory.appendingPathComponent("validator-\(i)/data")) }

    func rpc(_ i: Int) -> URL { URL(string: "http://127.0.0.1:\(basePort + 100 + i)")! }

    func get(_ i: Int, _ path: String) async -> [String: Any]? {
        var request = URLRequest(url: rpc(i).appendingPathComponent(path))
        request.timeoutInterval = 2
        guard let (data, _) = try? await URLSession.shared.data(for: request) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    func height(_ i: Int) async -> UInt64? { (await get(i, "v1/health"))?["height"] as? UInt64 }

    func submit(_ i: Int, _ tx: SignedTransaction) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: rpc(i).appendingPathComponent("v1/transactions"))
        request.httpMethod = "POST"
        request.httpBody = Data(tx.bcsBytes)
        request.timeoutInterval = 5
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    /// Waits (bounded) until `condition` holds.
    func waitUntil(_ what: String, timeoutSeconds: Double = 30, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if await condition() { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let logs = (0..<count).map { i in
            "validator-\(i): " + ((try? String(contentsOf: directory.appendingPathComponent("validator-\(i).log"), encoding: .utf8)) ?? "").suffix(600)
        }
        throw TestFailure("timed out after \(timeoutSeconds) s waiting for \(what)\n" + logs.joined(separator: "\n"))
    }

    func walletKey() throws -> Schnorr.PrivateKey { try KeyFile.load(from: directory.appendingPathComponent("client/wallet.key").path) }

    func validatorKey(_ i: Int) throws -> Schnorr.PrivateKey {
        try KeyFile.load(from: directory.appendingPathComponent("validator-\(i)/validator.key").path)
    }

    /// A commit of `block` signed by every validator of this chain (for tests that drive the
    /// application without consensus), with precommit times `timeMs`.
    func commit(of block: Block, timeMs: UInt64) throws -> Commit {
        let precommits = try (0..<count).map { i in
            var vote = Vote(kind: .precommit, height: block.header.height, round: 0, valueID: block.valueID, validator: UInt16(i), timeMs: timeMs)
            vote.signature = try validatorKey(i).sign(vote.signBytes(chainID: block.header.chainID)).bytes
            return vote
        }
        return Commit(height: block.header.height, round: 0, valueID: block.valueID, precommits: precommits)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
