import Foundation
import Testing

/// The newcomer's path, as real processes: `walrus devnet up`, `store`, `read`, `devnet down`.
@Suite(.serialized) struct DevnetTests {
    static func freeBasePort() -> Int {
        // Ports base+i (p2p), base+100+i (RPC), base+200+i (storage): pick a base whose ports are free.
        for _ in 0..<50 {
            let base = Int.random(in: 31_000...39_000)
            if [0, 100, 200, 201, 202].allSatisfy({ isFree(base + $0) }) { return base }
        }
        return 39_500
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    @Test func upStoreReadDown() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-devnet-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let net = ["--dir", dir.path]
        let up = try ProcessRunner.run("walrus", ["devnet", "up", "--validators", "1", "--nodes", "3", "--shards", "10",
                                                  "--base-port", "\(Self.freeBasePort())"] + net, timeoutSeconds: 120)
        defer { _ = try? ProcessRunner.run("walrus", ["devnet", "down"] + net) }
        #expect(up.status == 0, "stderr: \(up.stderr)")
        let config = ["--config", dir.appendingPathComponent("client_config.yaml").path]

        var storedIDs: [String] = []
        // Files of 0 B, 1 B and 1 MiB go in and come back byte for byte.
        for size in [0, 1, 1 << 20] {
            var generator = SystemRandomNumberGenerator()
            let bytes = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let file = dir.appendingPathComponent("file-\(size)")
            try bytes.write(to: file)
            let store = try ProcessRunner.run("walrus", ["store", file.path, "--epochs", "2"] + config, timeoutSeconds: 120)
            #expect(store.status == 0, "store \(size) B: \(store.stderr)")
            let blobID = store.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            storedIDs.append(blobID)
            #expect(blobID.count == 43, "stdout: \(store.stdout)")

            // The ID the network took is the one computed locally.
            let local = try ProcessRunner.run("walrus", ["blob-id", file.path, "--n-shards", "10"])
            #expect(local.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == blobID)

            let out = dir.appendingPathComponent("read-\(size)")
            let read = try ProcessRunner.run("walrus", ["read", blobID, "--out", out.path] + config, timeoutSeconds: 120)
            #expect(read.status == 0, "read \(size) B: \(read.stderr)")
            #expect(FileManager.default.contents(atPath: out.path) == bytes)

            // Storing the same file again for no longer is recognised and costs nothing new.
            let again = try ProcessRunner.run("walrus", ["store", file.path, "--epochs", "2", "--json"] + config, timeoutSeconds: 120)
            #expect(again.status == 0)
            #expect(again.stdout.contains("alreadyCertified"), "stdout: \(again.stdout)")
        }

        // An unknown blob is "not found" (exit 3) with a message saying so, and nothing on stdout.
        let unknown = try ProcessRunner.run("walrus", ["read", String(repeating: "A", count: 43)] + config, timeoutSeconds: 120)
        #expect(unknown.status == 3, "stderr: \(unknown.stderr)")
        #expect(unknown.stdout.isEmpty)

        // With every storage node gone, reads and stores fail as "unavailable" (exit 5), within the timeout.
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("devnet.json"))) as? [[String: Any]] ?? []
        for process in state where process["kind"] as? String == "storage-node" {
            if let pid = process["pid"] as? Int { kill(Int32(pid), SIGKILL) }
        }
        let started = Date()
        let lost = try ProcessRunner.run("walrus", ["read", storedIDs[0], "--timeout", "10"] + config, timeoutSeconds: 60)
        #expect(lost.status == 5, "stderr: \(lost.stderr)")
        let refused = try ProcessRunner.run("walrus", ["store", dir.appendingPathComponent("file-1").path, "--epochs", "3", "--timeout", "10"] + config, timeoutSeconds: 60)
        #expect(refused.status == 5, "stderr: \(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        #expect(Date().timeIntervalSince(started) < 40)

        // A second `up` on a running network is refused without touching it.
        let twice = try ProcessRunner.run("walrus", ["devnet", "up"] + net, timeoutSeconds: 60)
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("already running"))

        let down = try ProcessRunner.run("walrus", ["devnet", "down"] + net)
        #expect(down.status == 0, "stderr: \(down.stderr)")
        let status = try ProcessRunner.run("walrus", ["devnet", "status", "--json"] + net)
        #expect(!status.stdout.contains("\"running\""), "stdout: \(status.stdout)")
    }
}
