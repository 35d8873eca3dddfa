import ChainTypes
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Synchronization
import WalrusCore
import WalrusCrypto

/// `walrus-bench chain`: four release-built validators on loopback; `senders` accounts submit
/// `transactions` transfers in total over RPC; reports committed transfers per second and the
/// latency from submission to the block that holds each transfer being seen committed.
func runChainBench(transactions: Int, senders: Int, rate: Int, json: Bool) async {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("walrus-validator")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-chain-bench-\(UUID().uuidString)")
    let base = Int.random(in: 20_000...32_000)  // Below the ephemeral range (32768 and up on Linux).
    defer { try? FileManager.default.removeItem(at: dir) }
    func run(_ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
        return process
    }
    let genesis = run(["genesis", "--dir", dir.path, "--validators", "4", "--storage-nodes", "4", "--shards", "40", "--base-port", "\(base)", "--chain-id", "bench"])
    genesis.waitUntilExit()
    // One client makes the whole load here and queries every transaction's status afterwards:
    // the RPC's per-client rate limit (a defence against one client, not what is measured) is off.
    for i in 0..<4 {
        let config = dir.appendingPathComponent("validator-\(i)/config.yaml")
        if let text = try? String(contentsOf: config, encoding: .utf8) {
            try? (text + (text.hasSuffix("\n") ? "" : "\n") + "rpc_requests_per_client_per_second: 0\n").write(to: config, atomically: true, encoding: .utf8)
        }
    }
    let validators = (0..<4).map { run(["run", "--config", dir.appendingPathComponent("validator-\($0)/config.yaml").path]) }
    defer { for process in validators { kill(process.processIdentifier, SIGKILL) } }
    let rpc = (0..<4).map { URL(string: "http://127.0.0.1:\(base + 100 + $0)")! }

    func get(_ url: URL) async -> [String: Any]? {
        guard let (data, _) = try? await URLSession.shared.data(from: url) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }
    func post(_ url: URL, _ tx: SignedTransaction) async -> Bool {
        var request = URLRequest(url: url.appendingPathComponent("v1/transactions"))
        request.httpMethod = "POST"
        request.httpBody = Data(tx.bcsBytes)
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return false }
        return (response as? HTTPURLResponse)?.statusCode == 202
    }
    func postBatch(_ url: URL, _ txs: [SignedTransaction]) async -> Bool {
        var writer = BCSWriter()
        writer.writeSequence(txs)
        var request = URLRequest(url: url.appendingPathComponent("v1/transactions/batch"))
        request.httpMethod = "POST"
        request.httpBody = Data(writer.bytes)
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return false }
        return (response as? HTTPURLResponse)?.statusCode == 202
    }
    func height() async -> UInt64 { (await get(rpc[0].appendingPathComponent("v1/health")))?["height"] as? UInt64 ?? 0 }

    let deadline = Date().addingTimeInterval(30)
    while await height() < 2 {
        guard Date() < deadline else { print("the validators did not start"); return }
        try? await Task.sleep(nanoseconds: 100_000_000)
    }
    // Fund the senders from the genesis wallet in one transaction.
    guard let wallet = try? KeyFile.load(from: dir.appendingPathComponent("client/wallet.key").path) else { print("no wallet"); return }
    let keys = (0..<senders).map { _ in Schnorr.PrivateKey.generate() }
    let funding = SignedTransaction(
        Transaction(chainID: "bench", sender: wallet.publicKey, nonce: 0,
                    operations: keys.map { .transfer(to: $0.publicKey.address, amount: FROST(1_000_000_000)) }), signedBy: wallet)
    guard await post(rpc[0], funding) else { print("funding was refused"); return }
    while (await get(rpc[0].appendingPathComponent("v1/accounts/\(keys.last!.publicKey.address)")))?["balance"] as? UInt64 ?? 0 == 0 {
        try? await Task.sleep(nanoseconds: 50_000_000)
    }

    // Watch heights: the first time each height is seen committed.
    let seen = HeightLog()
    // Stopped with a flag, not by cancelling the task: cancelling a task inside URLSession's
    // `data(from:)` can deadlock FoundationNetworking on Linux (the cancellation handler waits on
    // the session's queue while the task's status lock is held), which hung some runs.
    let watching = Atomic<Bool>(true)
    let watcher = Task {
        while watching.load(ordering: .relaxed) {
            seen.observe(await height(), at: Date())
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }
    let perSender = transactions / senders
    let recipient = Schnorr.PrivateKey.generate().publicKey.address
    let started = Date()
    let submissions = await withTaskGroup(of: [([UInt8], Date)].self) { group in
        for (s, key) in keys.enumerated() {
            group.addTask {
                var sent: [([UInt8], Date)] = []
                // With a rate, each sender paces its batches to rate / senders transfers per second.
                let batch = rate > 0 ? max(1, min(50, rate / senders / 20)) : 50
                let interval = rate > 0 ? Double(batch * senders) / Double(rate) : 0
                let begin = Date()
                for (n, start) in stride(from: 0, to: perSender, by: batch).enumerated() {
                    if interval > 0 {
                        let due = begin.addingTimeInterval(Double(n) * interval + Double(s) * interval / Double(senders))
                        let wait = due.timeIntervalSinceNow
                        if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
                    }
                    let txs = (start..<min(perSender, start + batch)).map { nonce in
                        SignedTransaction(
                            Transaction(chainID: "bench", sender: key.publicKey, nonce: UInt64(nonce), operations: [.transfer(to: recipient, amount: FROST(1))]),
                            signedBy: key)
                    }
                    let at = Date()
                    if await postBatch(rpc[s % 4], txs) { sent += txs.map { ($0.digest, at) } }
                }
                return sent
            }
        }
        var all: [([UInt8], Date)] = []
        for await part in group { all += part }
        return all
    }
    let submitted = Date()
    // Wait for the last transfers to commit.
    let total = UInt64(submissions.count)
    while ((await get(rpc[0].appendingPathComponent("v1/accounts/\(recipient)")))?["balance"] as? UInt64 ?? 0) < total {
        guard Date().timeIntervalSince(submitted) < 60 else { break }
        try? await Task.sleep(nanoseconds: 10_000_000)
    }
    let finished = Date()
    let committed = (await get(rpc[0].appendingPathComponent("v1/accounts/\(recipient)")))?["balance"] as? UInt64 ?? 0
    try? await Task.sleep(nanoseconds: 50_000_000)
    watching.store(false, ordering: .relaxed)
    await watcher.value
    var latencies: [Double] = []
    for (digest, at) in submissions {
        guard let info = await get(rpc[0].appendingPathComponent("v1/transactions/\(Hex.encode(digest))")),
            let h = info["height"] as? UInt64, let committed = seen.firstSeen(h)
        else { continue }
        latencies.append(committed.timeIntervalSince(at) * 1000)
    }
    latencies.sort()
    let tps = Double(committed) / finished.timeIntervalSince(started)
    let p50 = latencies.isEmpty ? 0 : latencies[latencies.count / 2]
    let p99 = latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
    let offered = rate > 0 ? "offered \(rate)/s" : "as fast as possible"
    let line = String(format: "chain (%@): %d transfers from %d senders, %d committed (%d timed); %.0f transfers/s; commit latency p50 %.0f ms, p99 %.0f ms; submit phase %.2f s",
                      offered, transactions, senders, Int(committed), latencies.count, tps, p50, p99, submitted.timeIntervalSince(started))
    if json {
        print(#"{"offeredPerSecond":\#(rate),"transfers":\#(transactions),"committed":\#(committed),"timed":\#(latencies.count),"senders":\#(senders),"transfersPerSecond":\#(Int(tps)),"p50Ms":\#(Int(p50)),"p99Ms":\#(Int(p99))}"#)
    } else {
        print(line)
    }
}

/// The first time each height was seen committed.
final class HeightLog: @unchecked Sendable {
    private let lock = NSLock()
    private var first: [UInt64: Date] = [:]
    private var last: UInt64 = 0

    func observe(_ height: UInt64, at date: Date) {
        lock.lock()
        defer { lock.unlock() }
        guard height > last else { return }
        for h in last + 1...height { first[h] = date }
        last = height
    }

    func firstSeen(_ height: UInt64) -> Date? {
        lock.lock()
        defer { lock.unlock() }
        return first[height]
    }
}
