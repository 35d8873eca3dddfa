import ChainTypes
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import WalrusCore

/// A new node starts from a validator's snapshot instead of block 1: it checks the snapshot's
/// header like a light client and the downloaded state against the header's state hash, then
/// follows the chain; a snapshot altered in transit is refused and nothing of it kept.
@Suite(.serialized) struct StateSyncTests {
    /// Validators that keep a snapshot every 10 blocks and propose empty blocks quickly.
    static func chain() throws -> LocalChain {
        let chain = try LocalChain(validators: 4)
        for i in 0..<4 {
            let config = chain.directory.appendingPathComponent("validator-\(i)/config.yaml")
            let text = try String(contentsOf: config, encoding: .utf8)
            try (text + "\nsnapshot_interval: 10\nempty_block_wait_ms: 100\n").write(to: config, atomically: true, encoding: .utf8)
        }
        try chain.startAll()
        return chain
    }

    /// A fresh node whose config syncs state from `rpc`, started; returns the process and its RPC.
    static func newNode(_ chain: LocalChain, name: String, port: Int, stateSyncFrom rpc: String) throws -> (Process, URL, URL) {
        let home = chain.directory.appendingPathComponent(name)
        let initialize = Process()
        initialize.executableURL = LocalChain.binary
        initialize.arguments = ["init", "--dir", home.path, "--genesis-file", "../genesis.yaml", "--p2p-listen", "127.0.0.1:\(port)", "--rpc-listen", "127.0.0.1:\(port + 1)"]
        initialize.standardOutput = FileHandle.nullDevice
        try initialize.run()
        initialize.waitUntilExit()
        let config = home.appendingPathComponent("config.yaml")
        let text = try String(contentsOf: config, encoding: .utf8)
        try (text + "\nstate_sync_rpc: [\"\(rpc)\"]\n").write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = LocalChain.binary
        process.arguments = ["run", "--config", config.path]
        let log = home.appendingPathComponent("node.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, URL(string: "http://127.0.0.1:\(port + 1)")!, log)
    }

    static func get(_ url: URL, _ path: String) async -> (Int, [String: Any]?) {
        var request = URLRequest(url: url.appendingPathComponent(path))
        request.timeoutInterval = 2
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return (0, nil) }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test(.timeLimit(.minutes(3))) func aNewNodeStartsFromAVerifiedSnapshot() async throws {
        let chain = try Self.chain()
        try await chain.waitUntil("a snapshot", timeoutSeconds: 60) {
            let (_, list) = await Self.get(chain.rpc(0), "v1/snapshots")
            return !((list?["snapshots"] as? [[String: Any]]) ?? []).isEmpty
        }
        let (node, rpc, log) = try Self.newNode(chain, name: "fresh", port: chain.basePort + 50, stateSyncFrom: chain.rpc(0).absoluteString)
        defer {
            kill(node.processIdentifier, SIGKILL)
            node.waitUntilExit()
        }
        // It reaches the validators' height and follows, without the blocks before its snapshot.
        try await chain.waitUntil("the new node at the validators' height", timeoutSeconds: 60) {
            guard let target = await chain.height(0), target > 10 else { return false }
            let (_, health) = await Self.get(rpc, "v1/health")
            return (health?["height"] as? UInt64 ?? 0) >= target
        }
        let (_, health) = await Self.get(rpc, "v1/health")
        let earliest = try #require(health?["earliestHeight"] as? UInt64)
        #expect(earliest >= 10 && earliest % 10 == 0, "started from snapshot \(earliest)")
        #expect(await Self.get(rpc, "v1/blocks/1").0 == 404)
        let logText = try String(contentsOf: log, encoding: .utf8)
        #expect(logText.contains("state sync: snapshot header verified; downloading the state height=\(earliest)"), "\(logText.suffix(500))")
        // Its blocks are the chain's, and its state agrees: the same account balance.
        let height = (health?["height"] as? UInt64 ?? 0)
        let mine = await Self.get(rpc, "v1/blocks/\(height)").1?["hash"] as? String
        let theirs = await Self.get(chain.rpc(1), "v1/blocks/\(height)").1?["hash"] as? String
        #expect(mine != nil && mine == theirs)
        let wallet = try chain.walletKey().publicKey.address.description
        #expect(await Self.get(rpc, "v1/accounts/\(wallet)").1?["balance"] as? UInt64 == (await Self.get(chain.rpc(2), "v1/accounts/\(wallet)")).1?["balance"] as? UInt64)
        // A restart resumes from its own store.
        kill(node.processIdentifier, SIGTERM)
        node.waitUntilExit()
        let restarted = Process()
        restarted.executableURL = LocalChain.binary
        restarted.arguments = ["run", "--config", chain.directory.appendingPathComponent("fresh/config.yaml").path]
        restarted.standardError = try FileHandle(forWritingTo: log)
        restarted.standardOutput = FileHandle.nullDevice
        try restarted.run()
        defer {
            kill(restarted.processIdentifier, SIGKILL)
            restarted.waitUntilExit()
        }
        try await chain.waitUntil("the restarted node following", timeoutSeconds: 30) {
            let (_, again) = await Self.get(rpc, "v1/health")
            return (again?["height"] as? UInt64 ?? 0) > height && again?["earliestHeight"] as? UInt64 == earliest
        }
    }

    /// A proxy that flips one byte of the last page of a snapshot (inside the last entry's value).
    static let proxySource = """
        import sys, urllib.request, urllib.error, http.server
        port, upstream = int(sys.argv[1]), sys.argv[2]
        class Proxy(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                try:
                    with urllib.request.urlopen(upstream + self.path, timeout=10) as r:
                        status, body, kind = r.status, r.read(), r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:
                    status, body, kind = e.code, e.read(), e.headers.get("Content-Type", "")
                if "/state" in self.path and len(body) > 2 and body[-1] == 0:
                    body = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.HTTPServer(("127.0.0.1", port), Proxy).serve_forever()
        """

    @Test(.timeLimit(.minutes(3))) func anAlteredSnapshotIsRefused() async throws {
        let chain = try Self.chain()
        try await chain.waitUntil("a snapshot", timeoutSeconds: 60) {
            let (_, list) = await Self.get(chain.rpc(0), "v1/snapshots")
            return !((list?["snapshots"] as? [[String: Any]]) ?? []).isEmpty
        }
        let script = chain.directory.appendingPathComponent("proxy.py")
        try Data(Self.proxySource.utf8).write(to: script)
        let proxyPort = chain.basePort + 60
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proxy.arguments = ["python3", script.path, "\(proxyPort)", chain.rpc(0).absoluteString]
        proxy.standardOutput = FileHandle.nullDevice
        proxy.standardError = FileHandle.nullDevice
        proxy.standardInput = FileHandle.nullDevice
        try proxy.run()
        defer {
            kill(proxy.processIdentifier, SIGKILL)
            proxy.waitUntilExit()
        }
        try await chain.waitUntil("the proxy", timeoutSeconds: 20) { await Self.get(URL(string: "http://127.0.0.1:\(proxyPort)")!, "v1/health").0 == 200 }
        let (node, _, log) = try Self.newNode(chain, name: "fooled", port: chain.basePort + 70, stateSyncFrom: "http://127.0.0.1:\(proxyPort)")
        let deadline = Date().addingTimeInterval(60)
        while node.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
        if node.isRunning { kill(node.processIdentifier, SIGKILL) }
        node.waitUntilExit()
        #expect(node.terminationStatus != 0)
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("does not hash to the state hash"), "\(text.suffix(600))")
    }
}
