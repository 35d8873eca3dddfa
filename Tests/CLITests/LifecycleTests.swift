import Foundation
import Testing

/// The rest of a blob's life on a real devnet: dry runs, the light-client check (and its refusal of
/// an unknown blob and of tampered answers), extend, delete, list-blobs, wallets, transfers, stakes, stores that span an
/// epoch change, and a store refused before it spends anything.
@Suite(.serialized) struct LifecycleTests {
    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    static func balance(_ config: [String]) throws -> Int {
        json(try ProcessRunner.run("walrus", ["wallet", "balance", "--json"] + config).stdout)["balanceFrost"] as? Int ?? -1
    }

    /// A small forwarding proxy for the validator RPC that corrupts one kind of answer: `proof`
    /// flips the last bit of certification proofs (the committee's last shard), `genesis` doubles a
    /// validator's power in the served genesis. It serves until killed.
    static let proxySource = """
        import sys, urllib.request, urllib.error, http.server
        port, upstream, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        class Proxy(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                try:
                    with urllib.request.urlopen(upstream + self.path, timeout=10) as r:
                        status, body, kind = r.status, r.read(), r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:
                    status, body, kind = e.code, e.read(), e.headers.get("Content-Type", "")
                if mode == "proof" and self.path.startswith("/v1/proofs/"):
                    body = body[:-1] + bytes([body[-1] ^ 1])
                if mode == "genesis" and self.path == "/v1/genesis":
                    body = body.replace(b'"power":1', b'"power":2', 1)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.HTTPServer(("127.0.0.1", port), Proxy).serve_forever()
        """

    @Test func aBlobsLife() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-life-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let net = ["--dir", dir.path]
        let base = DevnetTests.freeBasePort()
        let up = try ProcessRunner.run("walrus", ["devnet", "up", "--validators", "1", "--nodes", "3", "--shards", "10",
                                                  "--epoch-duration", "6s", "--base-port", "\(base)"] + net, timeoutSeconds: 120)
        defer { _ = try? ProcessRunner.run("walrus", ["devnet", "down"] + net) }
        #expect(up.status == 0, "stderr: \(up.stderr)")
        let configPath = dir.appendingPathComponent("client_config.yaml")
        let config = ["--config", configPath.path]

        // A dry run prices the blob and spends nothing.
        let fileA = dir.appendingPathComponent("a")
        try Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 3) }).write(to: fileA)
        let start = try Self.balance(config)
        let dry = try ProcessRunner.run("walrus", ["store", fileA.path, "--dry-run", "--epochs", "20", "--json"] + config)
        #expect(dry.status == 0, "stderr: \(dry.stderr)")
        let estimate = (try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [[String: Any]])?.first ?? [:]
        #expect((estimate["encodedSize"] as? Int ?? 0) > 200_000)
        #expect((estimate["storageCost"] as? Int ?? 0) > 0)
        #expect(try Self.balance(config) == start)

        // Stored permanently, the certification verifies from the pinned genesis alone.
        let store = try ProcessRunner.run("walrus", ["store", fileA.path, "--epochs", "20", "--permanent"] + config, timeoutSeconds: 120)
        #expect(store.status == 0, "stderr: \(store.stderr)")
        let idA = store.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(idA == estimate["blobId"] as? String)
        let verify = try ProcessRunner.run("walrus", ["verify", idA, "--json"] + config)
        #expect(verify.status == 0, "stderr: \(verify.stderr)")
        let report = Self.json(verify.stdout)
        #expect(report["verified"] as? Bool == true)
        #expect((report["signersWeight"] as? Int ?? 0) >= 7)
        #expect(report["deletable"] as? Bool == false)
        #expect(try ProcessRunner.run("walrus", ["verify", String(repeating: "A", count: 43)] + config).status == 3)

        // Through a proxy that flips one bit of the proof, or changes the served genesis, verify
        // fails with exit 6 and prints nothing on stdout.
        let script = dir.appendingPathComponent("proxy.py")
        try Data(Self.proxySource.utf8).write(to: script)
        for (offset, mode) in [(310, "proof"), (311, "genesis")] {
            let port = base + offset
            let proxy = Process()
            proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            proxy.arguments = ["python3", script.path, "\(port)", "http://127.0.0.1:\(base + 100)", mode]
            // The proxy must not hold the test's output pipes, or the test runner waits for it.
            proxy.standardOutput = FileHandle.nullDevice
            proxy.standardError = FileHandle.nullDevice
            proxy.standardInput = FileHandle.nullDevice
            try proxy.run()
            defer {
                kill(proxy.processIdentifier, SIGKILL)
                proxy.waitUntilExit()
            }
            let tampered = dir.appendingPathComponent("tampered-\(mode).yaml")
            let text = try String(contentsOf: configPath, encoding: .utf8)
                .replacingOccurrences(of: "http://127.0.0.1:\(base + 100)", with: "http://127.0.0.1:\(port)")
            try text.write(to: tampered, atomically: true, encoding: .utf8)
            var result = ProcessRunner.Result(status: -1, stdout: "", stderr: "")
            for _ in 0..<50 {
                result = try ProcessRunner.run("walrus", ["verify", idA, "--config", tampered.path])
                if result.status != 5 { break }
                try await Task.sleep(nanoseconds: 100_000_000)  // The proxy is still starting.
            }
            #expect(result.status == 6, "\(mode): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }

        // list-blobs shows it; extend moves its end; a permanent blob cannot be deleted.
        let list = try ProcessRunner.run("walrus", ["list-blobs", "--json"] + config)
        let listed = (try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]) ?? []
        let entry = try #require(listed.first { $0["blobId"] as? String == idA })
        let end = (entry["storage"] as? [String: Any])?["endEpoch"] as? Int ?? 0
        #expect(end > 0 && entry["encodingType"] as? String == "RS2", "list-blobs prints Walrus's Blob objects: \(entry)")
        let extend = try ProcessRunner.run("walrus", ["extend", idA, "--epochs-extended", "3", "--json"] + config, timeoutSeconds: 60)
        #expect(extend.status == 0, "stderr: \(extend.stderr)")
        #expect(Self.json(extend.stdout)["endEpoch"] as? Int == end + 3)
        #expect(try ProcessRunner.run("walrus", ["delete", idA, "--yes"] + config).status == 3)

        // A deletable blob is deleted and then reads as not found.
        let fileB = dir.appendingPathComponent("b")
        try Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 5) }).write(to: fileB)
        let storeB = try ProcessRunner.run("walrus", ["store", fileB.path, "--epochs", "5"] + config, timeoutSeconds: 120)
        #expect(storeB.status == 0, "stderr: \(storeB.stderr)")
        let idB = storeB.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let delete = try ProcessRunner.run("walrus", ["delete", idB, "--yes"] + config, timeoutSeconds: 60)
        #expect(delete.status == 0, "stderr: \(delete.stderr)")
        #expect(try ProcessRunner.run("walrus", ["read", idB] + config).status == 3)

        // A new wallet, funded by a transfer; a stake with a committee member.
        let keyFile = dir.appendingPathComponent("second.key")
        let wallet = try ProcessRunner.run("walrus", ["wallet", "new", "--out", keyFile.path])
        #expect(wallet.status == 0, "stderr: \(wallet.stderr)")
        let address = wallet.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try ProcessRunner.run("walrus", ["wallet", "new", "--out", keyFile.path]).status == 2)
        let before = try Self.balance(config)
        let transfer = try ProcessRunner.run("walrus", ["transfer", address, "1.5WAL"] + config, timeoutSeconds: 60)
        #expect(transfer.status == 0, "stderr: \(transfer.stderr)")
        // The amount, and the transaction's fee (burned: 5,000 + 10 a byte + 5,000 an operation).
        let spent = before - (try Self.balance(config))
        #expect(spent > 1_500_000_000 && spent < 1_500_000_000 + 20_000, "spent \(spent)")
        #expect(try ProcessRunner.run("walrus", ["transfer", address, "1.5"] + config).status == 2)
        let info = Self.json(try ProcessRunner.run("walrus", ["info", "committee", "--json"] + config).stdout)
        let nodes = info["storageNodes"] as? [[String: Any]] ?? []
        let node = try #require(nodes.first?["nodeId"] as? String)
        let stake = try ProcessRunner.run("walrus", ["stake", node, "2WAL", "--json"] + config, timeoutSeconds: 60)
        #expect(stake.status == 0, "stderr: \(stake.stderr)")
        #expect(Self.json(stake.stdout)["amountFrost"] as? Int == 2_000_000_000)

        // Stores started just before an epoch boundary span the change: they upload to the new
        // committee and succeed. Epochs last 6 s; each try waits for a boundary, then stores ten
        // files in one command (two to three seconds of work: each takes about a quarter second,
        // more than half of it between registration and certification) starting a little before
        // the next boundary.
        var retried = false
        var tries = 0
        // The window a store must straddle is the part of one file's store between reading the
        // committee and the check after the uploads (about a tenth of a second), so a try misses
        // it now and then: up to twelve tries, the boundary at different points of the batch.
        for lead in [1.0, 0.6, 1.4, 0.8, 1.2, 1.0, 0.4, 1.8, 0.7, 1.6, 0.9, 2.2] where !retried {
            tries += 1
            // Written before the wait: writing them takes seconds in a debug build.
            var generator = SystemRandomNumberGenerator()
            let files = try (0..<10).map { i in
                let file = dir.appendingPathComponent("e-\(tries)-\(i)")
                try Data((0..<1_500_000).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: file)
                return file.path
            }
            let first = Self.json(try ProcessRunner.run("walrus", ["info", "epoch", "--json"] + config).stdout)["currentEpoch"] as? Int ?? -1
            let waitUntil = Date().addingTimeInterval(15)
            var boundary = Date()
            while Date() < waitUntil {
                if (Self.json(try ProcessRunner.run("walrus", ["info", "epoch", "--json"] + config).stdout)["currentEpoch"] as? Int ?? -1) != first { break }
                boundary = Date()
                try await Task.sleep(nanoseconds: 30_000_000)
            }
            let startAt = boundary.addingTimeInterval(6 - lead)
            if startAt > Date() { try await Task.sleep(nanoseconds: UInt64(startAt.timeIntervalSinceNow * 1e9)) }
            let result = try ProcessRunner.run("walrus", ["store"] + files + ["--epochs", "3"] + config, timeoutSeconds: 180)
            #expect(result.status == 0, "store \(tries): \(result.stderr)")
            retried = result.stderr.contains("changed")
        }
        #expect(retried, "none of \(tries) stores started before an epoch boundary spanned the change")

        // A hung storage node (stopped, so it accepts connections and never answers) holds neither a
        // store nor a read up for the 30 s request timeout: once a quorum confirmed, the store stops
        // waiting; a read asks other nodes after a short grace.
        // The committee as it is now (the stake above moved shards at the epoch changes since).
        let current = Self.json(try ProcessRunner.run("walrus", ["info", "committee", "--json"] + config).stdout)["storageNodes"] as? [[String: Any]] ?? []
        let smallest = try #require(current.min { ($0["nShards"] as? Int ?? 0) < ($1["nShards"] as? Int ?? 0) }?["name"] as? String)
        let status = Self.json(try ProcessRunner.run("walrus", ["devnet", "status", "--json"] + net).stdout)
        let hungPID = try #require((status["processes"] as? [[String: Any]])?.first { $0["name"] as? String == smallest }?["pid"] as? Int)
        kill(Int32(hungPID), SIGSTOP)
        do {
            defer { kill(Int32(hungPID), SIGCONT) }
            let fileH = dir.appendingPathComponent("h")
            try Data((0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }).write(to: fileH)
            var start = Date()
            let stored = try ProcessRunner.run("walrus", ["store", fileH.path, "--epochs", "3", "-q"] + config, timeoutSeconds: 120)
            #expect(stored.status == 0, "stderr: \(stored.stderr)")
            #expect(Date().timeIntervalSince(start) < 25, "a store with \(smallest) hung took \(Date().timeIntervalSince(start)) s")
            start = Date()
            let readBack = try ProcessRunner.run("walrus", ["read", stored.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "--out", dir.appendingPathComponent("h.out").path] + config, timeoutSeconds: 120)
            #expect(readBack.status == 0, "stderr: \(readBack.stderr)")
            #expect(Date().timeIntervalSince(start) < 15, "a read with \(smallest) hung took \(Date().timeIntervalSince(start)) s")
            #expect(FileManager.default.contents(atPath: dir.appendingPathComponent("h.out").path) == FileManager.default.contents(atPath: fileH.path))
        }

        // With the two largest storage nodes down, fewer than a quorum of shards answer: the store
        // fails as unavailable before it spends anything.
        let sorted = current.sorted { ($0["nShards"] as? Int ?? 0) > ($1["nShards"] as? Int ?? 0) }
        for victim in sorted.prefix(2) {
            #expect(try ProcessRunner.run("walrus", ["devnet", "kill", victim["name"] as? String ?? ""] + net).status == 0)
        }
        let poor = try Self.balance(config)
        let refused = try ProcessRunner.run("walrus", ["store", fileB.path, "--epochs", "2", "--force", "--timeout", "10"] + config, timeoutSeconds: 60)
        #expect(refused.status == 5, "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("Nothing was spent"))
        #expect(try Self.balance(config) == poor)
    }
}
