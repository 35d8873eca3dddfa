import ChainTypes
import ChainClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import RedStuff
import WalrusCore
import WalrusCrypto

/// `walrus-bench storage`: one release validator and five release storage nodes on loopback with
/// 100 shards (each node holds 1/5). Registers `blobs` blobs of `blobMiB` MiB, uploads node 0's
/// slivers (its ingest rate), then the others', certifies them all, wipes node 0 and times its
/// recovery of every sliver.
func runStorageBench(blobs: Int, blobMiB: Int, concurrency: Int) async {
    let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-storage-bench-\(UUID().uuidString)")
    let base = Int.random(in: 20_000...32_000)  // Below the ephemeral range (32768 and up on Linux).
    defer { try? FileManager.default.removeItem(at: dir) }
    var processes: [Process] = []
    defer { for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
    func launch(_ binary: String, _ arguments: [String], wait: Bool = false) -> Process {
        let process = Process()
        process.executableURL = products.appendingPathComponent(binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
        if wait { process.waitUntilExit() } else { processes.append(process) }
        return process
    }
    _ = launch("walrus-validator", ["genesis", "--dir", dir.path, "--validators", "1", "--storage-nodes", "5", "--shards", "100",
                                    "--base-port", "\(base)", "--chain-id", "bench"], wait: true)
    _ = launch("walrus-validator", ["run", "--config", dir.appendingPathComponent("validator-0/config.yaml").path])
    let rpc = URL(string: "http://127.0.0.1:\(base + 100)")!
    let client = ChainClient(endpoints: [rpc])
    func waitFor(_ what: String, seconds: Double = 60, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        print("timed out waiting for \(what)")
        return false
    }
    guard await waitFor("the chain", { ((try? await client.health().height) ?? 0) >= 1 }) else { return }
    var nodeProcesses: [Int: Process] = [:]
    func startNode(_ i: Int) {
        let home = dir.appendingPathComponent("storage-node-\(i)")
        if !FileManager.default.fileExists(atPath: home.appendingPathComponent("config.yaml").path) {
            _ = launch("walrus-node", ["init", "--dir", home.path, "--listen", "127.0.0.1:\(base + 200 + i)", "--chain-rpc", rpc.absoluteString], wait: true)
        }
        nodeProcesses[i] = launch("walrus-node", ["run", "--config", home.appendingPathComponent("config.yaml").path])
    }
    for i in 0..<5 { startNode(i) }
    let session = URLSession(configuration: .ephemeral)
    func call(_ url: URL, _ method: String = "GET", _ body: [UInt8]? = nil) async -> (Int, Data) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let body { request.httpBody = Data(body) }
        guard let (data, response) = try? await session.data(for: request) else { return (0, Data()) }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
    let nodeURL = (0..<5).map { URL(string: "http://127.0.0.1:\(base + 200 + $0)")! }
    for i in 0..<5 { guard await waitFor("node \(i)", { await call(nodeURL[i].appendingPathComponent("v1/health")).0 == 200 }) else { return } }

    // Encode and register the blobs.
    guard let config = try? EncodingConfig(shardCount: 100), let wallet = try? KeyFile.load(from: dir.appendingPathComponent("client/wallet.key").path),
        let committee = try? await client.committee()
    else { print("setup failed"); return }
    let keys = (0..<5).compactMap { try? KeyFile.load(from: dir.appendingPathComponent("storage-node-\($0)/node.key").path).publicKey }
    var rng = SeededGenerator(seed: 77)
    let encoded = (0..<blobs).compactMap { _ in try? BlobEncoder(config: config).encode(rng.bytes(blobMiB << 20)) }
    let builder = TransactionBuilder(key: wallet, chainID: "bench", client: client)
    var objects: [BlobID: ObjectID] = [:]
    for chunk in stride(from: 0, to: encoded.count, by: 25) {
        let operations = encoded[chunk..<min(chunk + 25, encoded.count)].map { e in
            LedgerOperation.registerBlob(storage: .reserve(epochs: 5), blobID: e.blobID, rootHash: e.metadata.metadata.rootHash.bytes,
                                   size: e.metadata.metadata.unencodedLength, encodingType: 1, deletable: false)
        }
        guard let outcome = try? await builder.execute(operations) else { print("registration failed"); return }
        for event in outcome.events { if case let .blobRegistered(_, id, _, _, _, _, object) = event { objects[id] = object } }
    }
    let last = encoded.last!.blobID
    for i in 0..<5 {
        guard await waitFor("registrations at node \(i)", { await call(nodeURL[i].appendingPathComponent("v1/blobs/\(last)/status")).1.count > 60 }) else { return }
    }
    func owner(_ blobID: BlobID, _ p: Int) -> Int {
        let shard = SliverPairIndex(UInt16(p)).shardIndex(rotationOffset: blobID.rotationOffset(shardCount: 100), shardCount: 100)
        return keys.firstIndex(of: committee.owner(of: shard)!.publicKey)!
    }
    /// Uploads metadata and every pair each of `nodes` owns, `concurrency` requests at a time.
    func upload(to nodes: Set<Int>) async -> (bytes: Int, slivers: Int, seconds: Double) {
        var jobs: [(URL, [UInt8])] = []
        for e in encoded {
            for node in nodes { jobs.append((nodeURL[node].appendingPathComponent("v1/blobs/\(e.blobID)/metadata"), e.metadata.metadata.bcsBytes)) }
        }
        let metadataJobs = jobs
        jobs = []
        for e in encoded {
            for p in 0..<100 where nodes.contains(owner(e.blobID, p)) {
                let pair = e.sliverPair(SliverPairIndex(UInt16(p)))
                let node = nodeURL[owner(e.blobID, p)]
                jobs.append((node.appendingPathComponent("v1/blobs/\(e.blobID)/slivers/\(p)/primary"), pair.primary.bcsBytes()))
                jobs.append((node.appendingPathComponent("v1/blobs/\(e.blobID)/slivers/\(p)/secondary"), pair.secondary.bcsBytes()))
            }
        }
        for (url, body) in metadataJobs { _ = await call(url, "PUT", body) }
        let start = Date()
        let sliverJobs = jobs
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for index in stride(from: worker, to: sliverJobs.count, by: concurrency) { _ = await call(sliverJobs[index].0, "PUT", sliverJobs[index].1) }
                }
            }
        }
        return (sliverJobs.reduce(0) { $0 + $1.1.count }, sliverJobs.count, Date().timeIntervalSince(start))
    }
    let ingest = await upload(to: [0])
    print(String(format: "ingest on one node: %d slivers, %.1f MB in %.2f s: %.1f MB/s, %.0f slivers/s (%d concurrent requests)",
                 ingest.slivers, Double(ingest.bytes) / 1e6, ingest.seconds, Double(ingest.bytes) / 1e6 / ingest.seconds,
                 Double(ingest.slivers) / ingest.seconds, concurrency))
    _ = await upload(to: [1, 2, 3, 4])

    // Certify every blob with confirmations from all five nodes.
    var operations: [LedgerOperation] = []
    for e in encoded {
        var signatures: [(member: Int, signature: Schnorr.Signature)] = []
        var message: [UInt8] = []
        for node in 0..<5 {
            let (_, data) = await call(nodeURL[node].appendingPathComponent("v1/blobs/\(e.blobID)/confirmation/permanent"))
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let signed = ((object["success"] as? [String: Any])?["data"] as? [String: Any])?["signed"] as? [String: Any],
                let m = (signed["serializedMessage"] as? String).flatMap({ Data(base64Encoded: $0) }),
                let s = (signed["signature"] as? String).flatMap({ Data(base64Encoded: $0) }), let signature = try? Schnorr.Signature(bytes: Array(s))
            else { continue }
            message = Array(m)
            signatures.append((committee.members.firstIndex { $0.publicKey == keys[node] }!, signature))
        }
        operations.append(.certifyBlob(blob: objects[e.blobID]!, certificate: CommitteeCertificate(message: message, signatures: signatures, memberCount: 5)))
    }
    for chunk in stride(from: 0, to: operations.count, by: 25) {
        guard (try? await builder.execute(Array(operations[chunk..<min(chunk + 25, operations.count)]))) != nil else { print("certification failed"); return }
    }

    // Wipe node 0 and time its recovery of everything it holds.
    let expected = ingest.slivers
    if let process = nodeProcesses[0] { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    try? FileManager.default.removeItem(at: dir.appendingPathComponent("storage-node-0/data"))
    let start = Date()
    startNode(0)
    func recovered() async -> Int {
        let (_, data) = await call(nodeURL[0].appendingPathComponent("metrics"))
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("walrus_node_recovered_slivers_total ") }
        return line.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
    }
    guard await waitFor("recovery", seconds: 600, { await recovered() >= expected }) else { return }
    let seconds = Date().timeIntervalSince(start)
    print(String(format: "recovery of a wiped node holding 1/5 of the shards of %d blobs of %d MiB: %d slivers in %.1f s (%.0f slivers/s), including restart and event replay",
                 blobs, blobMiB, expected, seconds, Double(expected) / seconds))
}
