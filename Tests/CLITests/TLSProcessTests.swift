import Foundation
import Testing

/// TLS on a devnet (its default): clients and peers pin each storage node's network key from the
/// committee, and a node that serves a certificate for another key is refused by every client,
/// while the others carry stores and reads.
@Suite(.serialized) struct TLSProcessTests {
    static func health(_ devnet: TestDevnet) throws -> [[String: Any]] {
        let run = try ProcessRunner.run("walrus", ["health", "--json"] + devnet.config, timeoutSeconds: 60)
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        return object?["healthInfo"] as? [[String: Any]] ?? []
    }

    @Test(.timeLimit(.minutes(4))) func aNodeWhoseCertificateKeyIsNotTheCommitteesIsRefused() async throws {
        let devnet = try TestDevnet(validators: 1, nodes: 4, shards: 40)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        #expect(devnet.up.stdout.contains("https://127.0.0.1:"), "storage nodes serve TLS by default: \(devnet.up.stdout)")

        // Every node answers over TLS pinned to its registered key.
        var answers = try Self.health(devnet)
        #expect(answers.count == 4 && answers.allSatisfy { $0["healthInfo"].flatMap { ($0 as? [String: Any])?["Ok"] } != nil }, "\(answers)")

        // Node 0 gets a network key the chain does not know, and serves a certificate for it.
        let home = devnet.dir.appendingPathComponent("storage-node-0")
        let keyFile = home.appendingPathComponent("network.key").path
        try FileManager.default.removeItem(atPath: keyFile)
        let generated = try ProcessRunner.run("walrus-node", ["init", "--dir", devnet.dir.appendingPathComponent("spare").path])
        #expect(generated.status == 0, "\(generated.stderr)")
        try FileManager.default.moveItem(atPath: devnet.dir.appendingPathComponent("spare/network.key").path, toPath: keyFile)
        let restart = try ProcessRunner.run("walrus", ["devnet", "restart", "storage-node-0"] + devnet.net, timeoutSeconds: 90)
        #expect(restart.status == 0, "\(restart.stderr)")
        let log = try String(contentsOf: devnet.dir.appendingPathComponent("logs/storage-node-0.log"), encoding: .utf8)
        #expect(log.contains("the chain registers another network key"), "the node warns its operator")

        // Clients refuse it: its health is an error, the others answer.
        answers = try Self.health(devnet)
        let refused = answers.first { $0["nodeName"] as? String == "storage-node-0" }
        let outcome = refused?["healthInfo"] as? [String: Any]
        #expect(outcome?["Err"] != nil && outcome?["Ok"] == nil, "node 0 is refused: \(String(describing: refused))")
        #expect(answers.filter { ($0["healthInfo"] as? [String: Any])?["Ok"] != nil }.count == 3)

        // A store goes to the three others (30 of 40 shards, a quorum) and is read back; nothing
        // reaches node 0.
        let file = devnet.dir.appendingPathComponent("blob")
        let bytes = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try bytes.write(to: file)
        let store = try ProcessRunner.run("walrus", ["store", file.path, "--epochs", "2"] + devnet.config, timeoutSeconds: 120)
        #expect(store.status == 0, "\(store.stderr)")
        #expect(store.stderr.contains("confirmations of 30 of 40 shards"), "the three other nodes confirm: \(store.stderr)")
        let blobID = store.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let out = devnet.dir.appendingPathComponent("read")
        let read = try ProcessRunner.run("walrus", ["read", blobID, "--out", out.path] + devnet.config, timeoutSeconds: 120)
        #expect(read.status == 0 && FileManager.default.contents(atPath: out.path) == bytes, "\(read.stderr)")
        let served = (try? String(contentsOf: devnet.dir.appendingPathComponent("logs/storage-node-0.log"), encoding: .utf8)) ?? ""
        #expect(!served.contains(blobID))
    }
}
