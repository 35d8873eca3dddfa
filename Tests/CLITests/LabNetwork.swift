import Foundation
import Testing

/// A Walrus network on `NetworkLab` hosts: validators `v0…`, storage nodes `n0…` and a `client`
/// host, each process on its own host with the same ports (validator p2p 26600, RPC 26700, storage
/// node 26800), as on separate machines.
final class LabNetwork: @unchecked Sendable {
    let lab: NetworkLab
    let dir: URL
    let validators: [String]
    let nodes: [String]
    private(set) var processes: [String: Process] = [:]
    private let lock = NSLock()

    static let p2pPort = 26600, rpcPort = 26700, nodePort = 26800

    /// Creates the hosts (plus `extraHosts`, for processes that join later), the genesis, the
    /// configs, and starts every validator and storage node; returns once all answer.
    init(validators: Int, nodes: Int, extraHosts: [String] = [], shards: Int, epochSeconds: Int, snapshotInterval: Int = 20) async throws {
        self.validators = (0..<validators).map { "v\($0)" }
        self.nodes = (0..<nodes).map { "n\($0)" }
        lab = try NetworkLab(hosts: self.validators + self.nodes + extraHosts + ["client"])
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-lab-\(lab.id)")
        do {
            try await setUp(shards: shards, epochSeconds: epochSeconds, snapshotInterval: snapshotInterval)
        } catch {
            keepLogs()
            lab.shutdown()
            throw error
        }
    }

    private func setUp(shards: Int, epochSeconds: Int, snapshotInterval: Int) async throws {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("logs"), withIntermediateDirectories: true)
        let genesis = try ProcessRunner.run("walrus-validator", [
            "genesis", "--dir", dir.path, "--validators", "\(validators.count)", "--storage-nodes", "\(nodes.count)", "--shards", "\(shards)",
            "--epoch-duration-ms", "\(epochSeconds * 1000)", "--base-port", "\(Self.p2pPort)",
            "--validator-hosts", validators.map(lab.address).joined(separator: ","),
            "--storage-node-hosts", nodes.map(lab.address).joined(separator: ","),
        ])
        guard genesis.status == 0, let hash = genesis.stdout.split(separator: "(hash ").dropFirst().first?.prefix(64) else {
            throw NetworkLab.CommandFailed(description: "genesis failed: \(genesis.stderr)")
        }
        for (i, host) in validators.enumerated() {
            let config = dir.appendingPathComponent("validator-\(i)/config.yaml")
            let text = try String(contentsOf: config, encoding: .utf8)
            try (text + "\nsnapshot_interval: \(snapshotInterval)\n").write(to: config, atomically: true, encoding: .utf8)
            try startValidator(host, config: config.path)
        }
        let rpcs = validators.map(rpc)
        try await waitUntil("the chain's first blocks", seconds: 60) { self.height(from: "client", at: self.validators[0]) ?? 0 >= 2 }
        for (i, host) in nodes.enumerated() {
            let home = dir.appendingPathComponent("storage-node-\(i)").path
            let initialize = try ProcessRunner.run("walrus-node", [
                "init", "--dir", home, "--listen", "\(lab.address(host)):\(Self.nodePort)",
            ] + rpcs.flatMap { ["--chain-rpc", $0] })
            guard initialize.status == 0 else { throw NetworkLab.CommandFailed(description: "walrus-node init: \(initialize.stderr)") }
            try startNode(host, config: "\(home)/config.yaml")
        }
        let client = """
            default_context: lab
            contexts:
              lab:
                chain_rpc: [\(rpcs.map { "\"\($0)\"" }.joined(separator: ", "))]
                genesis_hash: "\(hash)"
                wallet_key_file: client/wallet.key
                default_epochs: 5

            """
        try client.write(to: dir.appendingPathComponent("client_config.yaml"), atomically: true, encoding: .utf8)
        for host in nodes {
            try await waitUntil("storage node \(host)", seconds: 90) { self.lab.get("client", self.nodeURL(host) + "/v1/health") != nil }
        }
    }

    func rpc(_ validator: String) -> String { "http://\(lab.address(validator)):\(Self.rpcPort)" }
    /// TLS (the genesis gives every node a network key); the lab probes with `curl -k`.
    func nodeURL(_ node: String) -> String { "https://\(lab.address(node)):\(Self.nodePort)" }
    var clientConfig: String { dir.appendingPathComponent("client_config.yaml").path }
    var wallet: String { dir.appendingPathComponent("client/wallet.key").path }

    func startValidator(_ host: String, config: String) throws {
        let process = try lab.start(host, "walrus-validator", ["run", "--config", config], log: dir.appendingPathComponent("logs/\(host).log").path)
        lock.withLock { processes[host] = process }
    }

    func startNode(_ host: String, config: String) throws {
        let process = try lab.start(host, "walrus-node", ["run", "--config", config], log: dir.appendingPathComponent("logs/\(host).log").path)
        lock.withLock { processes[host] = process }
    }

    func stop(_ host: String) {
        guard let process = lock.withLock({ processes.removeValue(forKey: host) }) else { return }
        lab.stop(process)
    }

    /// `walrus` on the client host with this network's config.
    func walrus(_ arguments: [String], stdin: Data? = nil, timeoutSeconds: Double = 120) throws -> ProcessRunner.Result {
        try lab.run("client", "walrus", arguments + ["--config", clientConfig], stdin: stdin, timeoutSeconds: timeoutSeconds)
    }

    /// The committed height a validator reports, asked from `host`.
    func height(from host: String, at validator: String) -> Int? {
        lab.getJSON(host, rpc(validator) + "/v1/health")?["height"] as? Int
    }

    func waitUntil(_ what: String, seconds: Double, _ condition: @escaping () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(nanoseconds: 500_000_000)
        }
        Issue.record("timed out after \(Int(seconds)) s waiting for \(what); logs in \(dir.path)/logs")
        throw NetworkLab.CommandFailed(description: "timed out waiting for \(what)")
    }

    /// Keeps the logs of the last run next to the build (`.build/lab-logs`), to read after a failure.
    func keepLogs() {
        let target = URL(fileURLWithPath: ".build/lab-logs")
        try? FileManager.default.removeItem(at: target)
        try? FileManager.default.copyItem(at: dir.appendingPathComponent("logs"), to: target)
    }

    func shutdown() {
        keepLogs()
        lab.shutdown()
        try? FileManager.default.removeItem(at: dir)
    }
}

/// A client that stores a new blob and reads blobs back, in a loop, until stopped: what a user of
/// the network does while operators come and go. Records every failure.
final class ClientLoad: @unchecked Sendable {
    private let network: LabNetwork
    private let lock = NSLock()
    private var running = true
    private(set) var stored: [(id: String, bytes: Data)] = []
    private(set) var storeFailures: [String] = []
    private(set) var readFailures: [String] = []
    private(set) var reads = 0
    private let done = DispatchSemaphore(value: 0)
    /// A wallet of its own, so that its transactions never race the operators' for a nonce.
    private let wallet: String

    init(_ network: LabNetwork) throws {
        self.network = network
        wallet = network.dir.appendingPathComponent("load.key").path
        let created = try network.walrus(["wallet", "new", "--out", wallet, "--json"])
        let address = ((try? JSONSerialization.jsonObject(with: Data(created.stdout.utf8))) as? [String: Any])?["address"] as? String ?? ""
        let funded = try network.walrus(["transfer", address, "100000WAL"])
        guard created.status == 0, funded.status == 0 else { throw NetworkLab.CommandFailed(description: "the load's wallet: \(created.stderr) \(funded.stderr)") }
        Thread { [self] in loop() }.start()
        Thread { [self] in readLoop() }.start()
    }

    var snapshot: (stored: [(id: String, bytes: Data)], storeFailures: [String], readFailures: [String], reads: Int) {
        lock.withLock { (stored, storeFailures, readFailures, reads) }
    }

    /// Stores a fresh blob after another. Reads run beside it (`readLoop`), as two users of one
    /// network would: a read never holds a store up.
    private func loop() {
        var round = 0
        while lock.withLock({ running }) {
            round += 1
            let bytes = Data((0..<(20_000 + round * 997 % 40_000)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round &* 7) })
            let file = network.dir.appendingPathComponent("load-\(round)")
            if (try? bytes.write(to: file)) != nil, let result = try? network.walrus(["store", file.path, "--epochs", "20", "--permanent", "--wallet", wallet]) {
                let id = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                log("store round \(round) exit \(result.status) at \(Date()): \(id)\n\(result.stderr)")
                lock.withLock {
                    if result.status == 0, id.count == 43 { stored.append((id, bytes)) } else { storeFailures.append("round \(round): \(result.stderr.suffix(400))") }
                }
            }
            try? FileManager.default.removeItem(at: file)
        }
        done.signal()
    }

    /// Reads back the newest blob and one older one, over and over, while stores go on.
    private func readLoop() {
        var round = 0
        while lock.withLock({ running }) {
            round += 1
            let known = lock.withLock { stored }
            if known.isEmpty { Thread.sleep(forTimeInterval: 0.2) }
            for pick in [known.last, known.randomElement()].compactMap({ $0 }) {
                let out = network.dir.appendingPathComponent("read-\(round)")
                guard let read = try? network.walrus(["read", "-v", pick.id, "--out", out.path]) else { continue }
                let back = try? Data(contentsOf: out)
                log("read \(pick.id) exit \(read.status) at \(Date())\n\(read.stderr)")
                lock.withLock {
                    reads += 1
                    if read.status != 0 || back != pick.bytes { readFailures.append("round \(round) \(pick.id): \(read.stderr.suffix(400))") }
                }
                try? FileManager.default.removeItem(at: out)
            }
        }
        done.signal()
    }

    /// What the client printed, in `logs/client.log`.
    private let logLock = NSLock()

    private func log(_ text: String) {
        logLock.lock()
        defer { logLock.unlock() }
        let path = network.dir.appendingPathComponent("logs/client.log").path
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        handle.seekToEndOfFile()
        handle.write(Data((text + "\n").utf8))
        try? handle.close()
    }

    func stop() {
        lock.withLock { running = false }
        done.wait()  // the store loop
        done.wait()  // the read loop
    }
}
