import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The newcomer's path, as real processes: `walrus devnet up`, `store`, `read`, `devnet down`.
@Suite(.serialized) struct DevnetTests {
    static func freeBasePort() -> Int {
        // Ports base+i (p2p), base+100+i (RPC), base+200+i (storage): pick a base whose ports are free.
        for _ in 0..<50 {
            // Below the ephemeral range (32768 and up on Linux), where outgoing connections could take a port first.
            let base = Int.random(in: 20_000...32_000)
            if [0, 1, 2, 3, 100, 101, 102, 103, 200, 201, 202, 203, 204, 300].allSatisfy({ isFree(base + $0) }) { return base }
        }
        return 30_500
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

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
    }

    /// One HTTP request, with a time limit.
    static func http(_ method: String, _ url: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 120
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields[String(describing: name).lowercased()] = String(describing: value) }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    @Test func upStoreReadDown() async throws {
        let devnet = try TestDevnet(validators: 1, nodes: 3, shards: 40)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        let (dir, net, config) = (devnet.dir, devnet.net, devnet.config)

        var storedIDs: [String] = []
        // Files of 0 B, 1 B, 1 MiB and 20 MiB go in and come back byte for byte.
        for size in [0, 1, 1 << 20, 20 << 20] {
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
            let local = try ProcessRunner.run("walrus", ["blob-id", file.path, "--n-shards", "40"])
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

        // The devnet's gateway: the publisher stores bodies, the aggregator serves them.
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("devnet.json"))) as? [[String: Any]] ?? []
        let gatewayAddress = try #require(state.first { $0["kind"] as? String == "gateway" }?["address"] as? String)
        let gateway = "http://\(gatewayAddress)"
        for size in [0, 1, 1 << 20] {
            let bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            let put = try await Self.http("PUT", "\(gateway)/v1/blobs?epochs=2", body: bytes)
            #expect(put.status == 200, "PUT \(size) B: \(String(decoding: put.body, as: UTF8.self))")
            let result = try JSONSerialization.jsonObject(with: put.body) as? [String: Any]
            // The empty blob went in through the CLI already, from the same wallet: it is reused.
            let created = (result?["newlyCreated"] as? [String: Any])?["blobObject"] as? [String: Any] ?? result?["alreadyCertified"] as? [String: Any]
            #expect((result?["alreadyCertified"] != nil) == (size == 0))
            let blobID = try #require(created?["blobId"] as? String, "\(String(decoding: put.body, as: UTF8.self))")
            let file = dir.appendingPathComponent("gateway-\(size)")
            try bytes.write(to: file)
            let local = try ProcessRunner.run("walrus", ["blob-id", file.path, "--n-shards", "40"])
            #expect(local.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == blobID)

            let get = try await Self.http("GET", "\(gateway)/v1/blobs/\(blobID)")
            #expect(get.status == 200)
            #expect(get.body == bytes)
            #expect(get.headers["etag"] == blobID)
            #expect(get.headers["cache-control"] == "public, max-age=86400, stale-while-revalidate=3600")
            #expect(get.headers["access-control-allow-origin"] == "*")
            let cached = try await Self.http("GET", "\(gateway)/v1/blobs/\(blobID)", headers: ["If-None-Match": "\"\(blobID)\""])
            #expect(cached.status == 304)
            if size >= 20 {
                let range = try await Self.http("GET", "\(gateway)/v1/blobs/\(blobID)", headers: ["Range": "bytes=10-19"])
                #expect(range.status == 206)
                #expect(range.body == bytes[10..<20])
                #expect(range.headers["content-range"] == "bytes 10-19/\(size)")
            }
            let outside = try await Self.http("GET", "\(gateway)/v1/blobs/\(blobID)", headers: ["Range": "bytes=\(size + 5)-"])
            #expect(outside.status == 416)
            // HEAD answers the length from the metadata alone; a suffix range reads only its rows.
            let head = try await Self.http("HEAD", "\(gateway)/v1/blobs/\(blobID)")
            #expect(head.status == 200 && head.body.isEmpty && head.headers["content-length"] == String(size))
            if size > 0 {
                let tail = try await Self.http("GET", "\(gateway)/v1/blobs/\(blobID)", headers: ["Range": "bytes=-\(min(size, 700))"])
                #expect(tail.status == 206 && tail.body == bytes.suffix(min(size, 700)))
            }
        }
        #expect(try await Self.http("GET", "\(gateway)/v1/blobs/\(String(repeating: "A", count: 43))").status == 404)
        #expect(try await Self.http("GET", "\(gateway)/v1/blobs/not-a-blob-id").status == 400)
        #expect(try await Self.http("PUT", "\(gateway)/v1/blobs?epochs=zero", body: Data([1])).status == 400)
        #expect(try await Self.http("PUT", "\(gateway)/v1/blobs", body: Data(count: (10 << 20) + 1)).status == 413)
        #expect(try await Self.http("DELETE", "\(gateway)/v1/blobs").status == 405)
        let api = try await Self.http("GET", "\(gateway)/v1/api")
        #expect(api.status == 200)
        #expect(String(decoding: api.body, as: UTF8.self).contains("\"/v1/blobs/{blob_id}\""))

        // A publisher with a token refuses requests without it, and serves no reads.
        let tokenFile = dir.appendingPathComponent("token")
        try Data("s3cret\n".utf8).write(to: tokenFile)
        let publisherPort = Self.freeBasePort() + 300
        let publisher = Process()
        publisher.executableURL = ProcessRunner.productsDirectory.appendingPathComponent("walrus")
        publisher.arguments = ["publisher", "--bind-address", "127.0.0.1:\(publisherPort)", "--auth-token-file", tokenFile.path, "-q"] + config
        publisher.standardOutput = FileHandle.nullDevice
        publisher.standardError = FileHandle.nullDevice
        try publisher.run()
        defer { if publisher.isRunning { kill(publisher.processIdentifier, SIGKILL) } }
        let publisherURL = "http://127.0.0.1:\(publisherPort)"
        var listening = false
        for _ in 0..<100 where !listening {
            listening = (try? await Self.http("GET", "\(publisherURL)/status"))?.status == 200
            if !listening { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(listening)
        #expect(try await Self.http("PUT", "\(publisherURL)/v1/blobs", body: Data([7])).status == 401)
        #expect(try await Self.http("PUT", "\(publisherURL)/v1/blobs", body: Data([7]), headers: ["Authorization": "Bearer wrong"]).status == 401)
        #expect(try await Self.http("PUT", "\(publisherURL)/v1/blobs?epochs=1", body: Data([7]), headers: ["Authorization": "Bearer s3cret"]).status == 200)
        #expect(try await Self.http("GET", "\(publisherURL)/v1/blobs/\(storedIDs[1])").status == 404)
        publisher.terminate()
        publisher.waitUntilExit()
        #expect(publisher.terminationStatus == 0)

        // An aggregator with a 64 KiB read window streams the 20 MiB blob window by window (each
        // row verified before it goes out), and a range across many windows.
        let aggregator = Process()
        aggregator.executableURL = ProcessRunner.productsDirectory.appendingPathComponent("walrus")
        aggregator.arguments = ["aggregator", "--bind-address", "127.0.0.1:\(publisherPort + 1)", "--read-window-size", "64", "-q"] + config
        aggregator.standardOutput = FileHandle.nullDevice
        aggregator.standardError = FileHandle.nullDevice
        try aggregator.run()
        defer { if aggregator.isRunning { kill(aggregator.processIdentifier, SIGKILL) } }
        let aggregatorURL = "http://127.0.0.1:\(publisherPort + 1)"
        listening = false
        for _ in 0..<100 where !listening {
            listening = (try? await Self.http("GET", "\(aggregatorURL)/status"))?.status == 200
            if !listening { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(listening)
        let big = try Data(contentsOf: dir.appendingPathComponent("file-\(20 << 20)"))
        let streamed = try await Self.http("GET", "\(aggregatorURL)/v1/blobs/\(storedIDs[3])")
        #expect(streamed.status == 200 && streamed.body == big)
        let across = try await Self.http("GET", "\(aggregatorURL)/v1/blobs/\(storedIDs[3])", headers: ["Range": "bytes=1000000-9000000"])
        #expect(across.status == 206 && across.body == big[1_000_000...9_000_000])
        // With one node down its rows cannot be fetched: the stream falls back to decoding.
        if let first = state.first(where: { $0["kind"] as? String == "storage-node" }), let pid = first["pid"] as? Int { kill(Int32(pid), SIGKILL) }
        let degraded = try await Self.http("GET", "\(aggregatorURL)/v1/blobs/\(storedIDs[3])")
        #expect(degraded.status == 200 && degraded.body == big)
        aggregator.terminate()
        aggregator.waitUntilExit()

        // With every storage node gone, reads and stores fail as "unavailable" (exit 5), within the timeout.
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
        let unavailable = try await Self.http("GET", "\(gateway)/v1/blobs/\(storedIDs[0])")
        #expect(unavailable.status == 503)

        // A second `up` on a running network is refused without touching it.
        let twice = try ProcessRunner.run("walrus", ["devnet", "up"] + net, timeoutSeconds: 60)
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("already running"))

        let down = try ProcessRunner.run("walrus", ["devnet", "down"] + net)
        #expect(down.status == 0, "stderr: \(down.stderr)")
        let status = try ProcessRunner.run("walrus", ["devnet", "status", "--json"] + net)
        #expect(!status.stdout.contains("\"running\""), "stdout: \(status.stdout)")
    }

    /// A validator killed while a store runs does not make the store fail; `devnet kill` and
    /// `devnet restart` take one process down and bring it back with its data.
    /// A process that cannot start (here the gateway, whose port is taken) fails `up` at once with
    /// that process's own error, not after the start-up timeout.
    @Test func aProcessThatCannotStartFailsUpAtOnce() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-devnet-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = Self.freeBasePort()
        let blocker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(blocker) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(base + 300).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(blocker, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0 && listen(blocker, 1) == 0)
        let net = ["--dir", dir.path]
        let start = Date()
        let up = try ProcessRunner.run("walrus", ["devnet", "up", "--validators", "1", "--nodes", "3", "--shards", "10", "--base-port", "\(base)"] + net, timeoutSeconds: 120)
        defer { _ = try? ProcessRunner.run("walrus", ["devnet", "down"] + net) }
        #expect(up.status == 5)
        #expect(up.stderr.contains("gateway exited while starting") && up.stderr.contains("Address already in use"), "stderr: \(up.stderr)")
        #expect(up.stderr.contains("walrus devnet down --dir"))
        #expect(Date().timeIntervalSince(start) < 50, "failed fast, not after the 60 s start-up timeout")
    }

    /// A storage node whose disk is full refuses slivers with INSUFFICIENT_STORAGE (429), which the client takes as final
    /// (no retries until its timeout) and reports with the node's own message, while the store goes
    /// on with the other nodes' confirmations. The node's sliver directory is a 1 MiB tmpfs, which
    /// needs root (CI has it); elsewhere the test is skipped.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aNodeWithAFullDiskIsReportedAndNotWaitedFor() async throws {
        let devnet = try TestDevnet(validators: 1, nodes: 3, shards: 40)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        let (dir, config) = (devnet.dir, devnet.config)
        // The node with the fewest shards (at most f = 13 of 40): the others still make a quorum.
        let info = try ProcessRunner.run("walrus", ["info", "committee", "--json"] + config)
        let nodes = (try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])?["storageNodes"] as? [[String: Any]] ?? []
        let smallest = try #require(nodes.min { ($0["nShards"] as? Int ?? 0) < ($1["nShards"] as? Int ?? 0) })
        let victim = try #require(smallest["name"] as? String)
        let slivers = dir.appendingPathComponent("\(victim)/data/slivers").path
        #expect(mount("tmpfs", slivers, "tmpfs", 0, "size=1048576") == 0, "mount: errno \(errno)")
        defer { umount2(slivers, Int32(MNT_DETACH)) }

        // 20 MiB at 40 shards: primary slivers of 1.5 MB, more than the node's whole disk.
        let file = dir.appendingPathComponent("blob")
        try Data((0..<(20 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }).write(to: file)
        let store = try ProcessRunner.run("walrus", ["store", file.path, "--epochs", "2", "--timeout", "60"] + config, timeoutSeconds: 120)
        #expect(store.status == 0, "stderr: \(store.stderr)")
        #expect(store.stderr.contains("\(victim): not every sliver was accepted"), "stderr: \(store.stderr)")
        #expect(store.stderr.contains("the disk is full"), "stderr: \(store.stderr)")
        #expect(!store.stderr.contains("gave up retrying"), "a full disk is final, not retried: \(store.stderr)")
        let blobID = store.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let back = dir.appendingPathComponent("back")
        let read = try ProcessRunner.run("walrus", ["read", blobID, "--out", back.path] + config, timeoutSeconds: 120)
        #expect(read.status == 0, "stderr: \(read.stderr)")
        #expect(FileManager.default.contents(atPath: back.path) == (try Data(contentsOf: file)))
    }

    @Test func aValidatorKilledDuringAStore() async throws {
        let devnet = try TestDevnet(validators: 4, nodes: 3, shards: 10)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        let (dir, net, config) = (devnet.dir, devnet.net, devnet.config)
        let file = dir.appendingPathComponent("blob")
        try Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: file)

        // The first RPC endpoint the client tries dies as the store starts.
        let store = Process()
        store.executableURL = ProcessRunner.productsDirectory.appendingPathComponent("walrus")
        store.arguments = ["store", file.path, "--epochs", "2", "-q"] + config
        let out = Pipe()
        store.standardOutput = out
        store.standardError = FileHandle.nullDevice
        try store.run()
        let kill = try ProcessRunner.run("walrus", ["devnet", "kill", "validator-0"] + net)
        #expect(kill.status == 0, "stderr: \(kill.stderr)")
        let blobID = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        store.waitUntilExit()
        #expect(store.terminationStatus == 0)
        #expect(blobID.count == 43)

        let read = try ProcessRunner.run("walrus", ["read", blobID, "--out", dir.appendingPathComponent("back").path] + config, timeoutSeconds: 120)
        #expect(read.status == 0, "stderr: \(read.stderr)")
        #expect(FileManager.default.contents(atPath: dir.appendingPathComponent("back").path) == (try Data(contentsOf: file)))

        let status = try ProcessRunner.run("walrus", ["devnet", "status", "--json"] + net)
        #expect(status.stdout.contains("\"stopped\""), "stdout: \(status.stdout)")
        let restart = try ProcessRunner.run("walrus", ["devnet", "restart", "validator-0"] + net, timeoutSeconds: 90)
        #expect(restart.status == 0, "stderr: \(restart.stderr)")
        let after = try ProcessRunner.run("walrus", ["devnet", "status", "--json"] + net)
        #expect(!after.stdout.contains("\"stopped\""), "stdout: \(after.stdout)")

        // With the storage node holding the fewest shards (at most f = 3 of 10) down, stores and reads go on.
        let info = try ProcessRunner.run("walrus", ["info", "committee", "--json"] + config)
        let nodes = (try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])?["storageNodes"] as? [[String: Any]] ?? []
        let smallest = try #require(nodes.min { ($0["nShards"] as? Int ?? 0) < ($1["nShards"] as? Int ?? 0) })
        #expect((smallest["nShards"] as? Int ?? 99) <= 3)
        let victim = try #require(smallest["name"] as? String)
        #expect(try ProcessRunner.run("walrus", ["devnet", "kill", victim] + net).status == 0)
        let second = dir.appendingPathComponent("second")
        try Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }).write(to: second)
        let degradedStore = try ProcessRunner.run("walrus", ["store", second.path, "--epochs", "2", "--timeout", "30"] + config, timeoutSeconds: 90)
        #expect(degradedStore.status == 0, "stderr: \(degradedStore.stderr)")
        let secondID = degradedStore.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for id in [blobID, secondID] {
            let back = dir.appendingPathComponent("back-\(id)")
            let degradedRead = try ProcessRunner.run("walrus", ["read", id, "--out", back.path] + config, timeoutSeconds: 90)
            #expect(degradedRead.status == 0, "stderr: \(degradedRead.stderr)")
        }
        #expect(FileManager.default.contents(atPath: dir.appendingPathComponent("back-\(secondID)").path) == (try Data(contentsOf: second)))

        let unknown = try ProcessRunner.run("walrus", ["devnet", "kill", "validator-9"] + net)
        #expect(unknown.status == 3)
        #expect(unknown.stderr.contains("validator-0"))
    }
}

/// A devnet of real processes in a fresh directory, for one test: `down()` stops it and removes
/// the directory.
struct TestDevnet {
    let dir: URL
    /// What `walrus devnet up` answered.
    let up: ProcessRunner.Result
    var net: [String] { ["--dir", dir.path] }
    var config: [String] { ["--config", dir.appendingPathComponent("client_config.yaml").path] }

    /// `plainHTTP`: storage nodes without network keys, for tests that send nodes raw requests
    /// through URLSession (which cannot pin a key); the rest run TLS, as a devnet does by default.
    init(validators: Int, nodes: Int, shards: Int, plainHTTP: Bool = false) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("walrus-devnet-\(UUID().uuidString)")
        let arguments = ["devnet", "up", "--validators", "\(validators)", "--nodes", "\(nodes)", "--shards", "\(shards)",
                         "--base-port", "\(DevnetTests.freeBasePort())", "--dir", dir.path] + (plainHTTP ? ["--plain-http"] : [])
        up = try ProcessRunner.run("walrus", arguments, timeoutSeconds: 120)
    }

    func down() {
        _ = try? ProcessRunner.run("walrus", ["devnet", "down"] + net)
        try? FileManager.default.removeItem(at: dir)
    }
}
