import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hostile input against the real processes of a devnet: every storage-node route with garbage,
/// truncated, oversized and duplicated input, thousands of half-open connections, the
/// recovery-symbol amplifier, the publisher's epoch overflow and cross-origin writes, and a chain
/// RPC that lies about the committee. Nothing crashes, and every process keeps answering health
/// within a second.
@Suite(.serialized) struct HostileInputTests {
    /// A connection that sends raw bytes: heads and bodies no well-behaved client would send.
    final class Connection {
        let fd: Int32

        init?(_ address: String) {
            let parts = address.split(separator: ":")
            guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = in_port_t(port.bigEndian)
            socketAddress.sin_addr.s_addr = inet_addr(String(parts[0]))
            let connected = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(fd)
                return nil
            }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

        /// Whether the server closed the connection: reading finds the end (after any answer it
        /// sent, such as a 408) or a reset, within the receive timeout.
        func isClosedByPeer() -> Bool {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 { return true }
                if n < 0 { return errno == ECONNRESET }
            }
        }

        /// The status line's code of the answer, or nil when the server closed without one.
        func status() -> Int? {
            var out: [UInt8] = []
            var byte: UInt8 = 0
            while out.count < 64, recv(fd, &byte, 1, 0) == 1 {
                out.append(byte)
                if byte == 0x0A { break }
            }
            let line = String(decoding: out, as: UTF8.self).split(separator: " ")
            return line.count >= 2 ? Int(line[1]) : nil
        }
    }

    /// One request with a raw head and body; the status code, or nil when the connection closed.
    static func raw(_ address: String, _ head: String, body: [UInt8] = []) -> Int? {
        guard let connection = Connection(address) else { return nil }
        connection.send(Array(head.utf8) + body)
        return connection.status()
    }

    /// Whether `address` answers `GET /v1/health` with 200 within one second.
    static func healthy(_ address: String) async -> Bool {
        var request = URLRequest(url: URL(string: "http://\(address)/v1/health")!)
        request.timeoutInterval = 1
        let started = Date()
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return false }
        return (response as? HTTPURLResponse)?.statusCode == 200 && Date().timeIntervalSince(started) < 1
    }

    static func processes(_ dir: URL) throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("devnet.json"))) as? [[String: Any]] ?? []
    }

    @Test(.timeLimit(.minutes(5))) func nodesAndGatewaySurviveHostileInput() async throws {
        let devnet = try TestDevnet(validators: 1, nodes: 3, shards: 30, plainHTTP: true)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        let state = try Self.processes(devnet.dir)
        let nodes = state.filter { $0["kind"] as? String == "storage-node" }.compactMap { $0["address"] as? String }
        let gateway = try #require(state.first { $0["kind"] as? String == "gateway" }?["address"] as? String)
        let node = try #require(nodes.first)
        let file = devnet.dir.appendingPathComponent("blob")
        try Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: file)
        let store = try ProcessRunner.run("walrus", ["store", file.path, "--epochs", "2"] + devnet.config, timeoutSeconds: 120)
        #expect(store.status == 0, "stderr: \(store.stderr)")
        let blobID = store.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // Garbage, truncated and oversized bodies on every route: refused with 4xx, never a crash.
        let garbage = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        let routes = [
            ("PUT", "/v1/blobs/\(blobID)/metadata"), ("PUT", "/v1/blobs/\(blobID)/slivers/0/primary"),
            ("PUT", "/v1/blobs/\(blobID)/slivers/1/secondary"), ("POST", "/v1/blobs/\(blobID)/inconsistencyProof/primary"),
            ("POST", "/v1/migrate/sync_shard"), ("PUT", "/v1/blobs/\(String(repeating: "A", count: 43))/metadata"),
            ("PUT", "/v1/blobs/not-a-blob/slivers/0/primary"), ("PUT", "/v1/blobs/\(blobID)/slivers/65535/primary"),
            ("PUT", "/v1/blobs/\(blobID)/slivers/-1/tertiary"), ("POST", "/v1/blobs/\(blobID)/confirmation/permanent"),
        ]
        for (method, path) in routes {
            for body in [[], garbage, Array(garbage.prefix(7)), [UInt8](repeating: 0xFF, count: 64)] {
                let status = Self.raw(node, "\(method) \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n", body: body)
                // 4xx, or 200 where the sliver is already stored (an idempotent upload); never 5xx.
                #expect(status.map { (200..<500).contains($0) } == true, "\(method) \(path) with \(body.count) bytes: \(status.map(String.init) ?? "closed")")
            }
        }
        // A body over a route's limit is refused from its head; a GET may carry no body at all.
        #expect(Self.raw(node, "PUT /v1/blobs/\(blobID)/metadata HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n") == 413)
        #expect(Self.raw(node, "GET /v1/blobs/\(blobID)/metadata HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789") == 413)
        #expect(Self.raw(node, "POST /v1/migrate/sync_shard HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n") == 413)
        // Malformed heads, query strings and paths.
        for head in [
            "GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET /v1/blobs/\(blobID)/recoverySymbols?targetSlivers=,,,&targetType=primary HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /v1/blobs/\(blobID)/recoverySymbols?targetSlivers=99999999999999999999&targetType=primary HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /v1/blobs/\(blobID)/recoverySymbols?targetSliver=1&targetType=tertiary HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /v1/blobs/%00%ff%zz/status HTTP/1.1\r\nHost: x\r\n\r\n", "GET /\(String(repeating: "a/", count: 2000)) HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            let status = Self.raw(node, head)
            #expect(status == nil || (400..<500).contains(status!), "\(head.prefix(60)): \(status.map(String.init) ?? "closed")")
        }
        #expect(await Self.healthy(node))

        // The amplifier: the same target a hundred times costs what one target costs.
        func symbols(_ targets: String) async throws -> (Int, Int) {
            var request = URLRequest(url: URL(string: "http://\(node)/v1/blobs/\(blobID)/recoverySymbols?targetSlivers=\(targets)&targetType=primary")!)
            request.timeoutInterval = 10
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data.count)
        }
        let one = try await symbols("3")
        #expect(one.0 == 200 && one.1 > 0)
        let repeated = try await symbols(Array(repeating: "3", count: 30).joined(separator: ","))
        #expect(repeated == one)
        #expect(try await symbols(Array(repeating: "3", count: 31).joined(separator: ",")).0 == 400)

        // 2,000 half-open connections (no request, or half a head) do not stop the node answering.
        var idle: [Connection] = []
        for i in 0..<2000 {
            guard let connection = Connection(node) else { continue }
            if i % 2 == 1 { connection.send(Array("GET /v1/health HTTP/1.1\r\nHost".utf8)) }
            idle.append(connection)
        }
        #expect(idle.count >= 1900)
        #expect(await Self.healthy(node))
        let read = try ProcessRunner.run("walrus", ["read", blobID, "--out", devnet.dir.appendingPathComponent("back").path] + devnet.config, timeoutSeconds: 60)
        #expect(read.status == 0, "stderr: \(read.stderr)")
        idle.removeAll()

        // The publisher: epochs that overflow or pass the chain's limit are a 400, and the process lives.
        for epochs in ["4294967295", "4294967296", "1001", "-1", "0", "1e3"] {
            #expect(Self.raw(gateway, "PUT /v1/blobs?epochs=\(epochs) HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", body: [1, 2, 3]) == 400, "epochs=\(epochs)")
        }
        #expect(await Self.healthy(gateway))
        // Cross-origin writes are not allowed: no CORS header on a PUT, no PUT in the preflight.
        var put = URLRequest(url: URL(string: "http://\(gateway)/v1/blobs?epochs=1")!)
        put.httpMethod = "PUT"
        put.httpBody = Data([9, 9, 9])
        put.setValue("https://evil.example", forHTTPHeaderField: "Origin")
        let (_, putResponse) = try await URLSession.shared.data(for: put)
        #expect((putResponse as? HTTPURLResponse)?.value(forHTTPHeaderField: "access-control-allow-origin") == nil)
        var preflight = URLRequest(url: URL(string: "http://\(gateway)/v1/blobs")!)
        preflight.httpMethod = "OPTIONS"
        let (_, preflightResponse) = try await URLSession.shared.data(for: preflight)
        #expect((preflightResponse as? HTTPURLResponse)?.value(forHTTPHeaderField: "access-control-allow-methods")?.contains("PUT") == false)

        // Duplicated and conflicting heads: two lengths, a length with chunking, repeated query keys.
        for head in [
            "PUT /v1/blobs/\(blobID)/metadata HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
            "PUT /v1/blobs/\(blobID)/metadata HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "GET /v1/blobs/\(blobID)/recoverySymbols?targetSlivers=1&targetSlivers=2&targetType=primary&targetType=secondary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ] {
            let status = Self.raw(node, head)
            #expect(status == nil || (200..<500).contains(status!), "\(head.prefix(60)): \(status.map(String.init) ?? "closed")")
        }

        // Slow input on every server: a head that never ends, and on each body route a head then one
        // byte a second. Each is cut off once the head timeout (15 s) passes, and every process
        // answers health within a second throughout.
        let validator = try #require(state.first { $0["kind"] as? String == "validator" }?["address"] as? String)
        let bodyRoutes = routes.prefix(5).map { (node, $0.0, $0.1) } + [(gateway, "PUT", "/v1/blobs?epochs=1"), (validator, "POST", "/v1/transactions")]
        var slow: [(String, Connection)] = []
        for (address, method, path) in bodyRoutes {
            guard let connection = Connection(address) else { continue }
            connection.send(Array("\(method) \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".utf8))
            slow.append(("\(method) \(path)", connection))
        }
        for address in [node, gateway, validator] {
            guard let connection = Connection(address) else { continue }
            connection.send(Array("GET /v1/health HTTP/1.1\r\nHo".utf8))
            slow.append(("a head to \(address) that never ends", connection))
        }
        #expect(slow.count == bodyRoutes.count + 3)
        let trickleStarted = Date()
        var unhealthy: [String] = []
        while Date().timeIntervalSince(trickleStarted) < 21 {
            for (_, connection) in slow { connection.send([0x41]) }
            for address in [node, gateway, validator] where !(await Self.healthy(address)) { unhealthy.append(address) }
            try await Task.sleep(nanoseconds: 1_000_000_000)
        }
        #expect(unhealthy.isEmpty, "health not answered within 1 s during slow input: \(unhealthy)")
        for (what, connection) in slow { #expect(connection.isClosedByPeer(), "\(what) was not cut off") }

        for address in nodes + [gateway, validator] { #expect(await Self.healthy(address), "\(address) stopped answering health") }
        for process in try Self.processes(devnet.dir) {
            if let pid = process["pid"] as? Int { #expect(kill(Int32(pid), 0) == 0, "\(process["name"] ?? "?") died") }
        }
    }

    /// A proxy in front of the validator RPC that rewrites the committee: `epoch` moves it to a
    /// far-future epoch, `evict` takes every shard from the first member and gives it to the
    /// second. A storage node started against it refuses to act and says why.
    static let lyingRPC = """
        import sys, json, urllib.request, urllib.error, http.server
        port, upstream, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        class Proxy(http.server.BaseHTTPRequestHandler):
            def forward(self, body=None):
                request = urllib.request.Request(upstream + self.path, data=body, method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=10) as r:
                        status, data, kind = r.status, r.read(), r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:
                    status, data, kind = e.code, e.read(), e.headers.get("Content-Type", "")
                if self.path.startswith("/v1/committee/current"):
                    committee = json.loads(data)
                    if mode == "epoch":
                        committee["epoch"] = 1000
                    else:
                        members = committee["members"]
                        members[1]["shards"] = sorted(members[0]["shards"] + members[1]["shards"])
                        members[0]["shards"] = []
                    data = json.dumps(committee).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            def do_GET(self):
                self.forward()
            def do_POST(self):
                self.forward(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            def log_message(self, *args):
                pass
        http.server.HTTPServer(("127.0.0.1", port), Proxy).serve_forever()
        """

    @Test(.timeLimit(.minutes(3))) func aNodeRefusesALyingChainRPC() async throws {
        let devnet = try TestDevnet(validators: 1, nodes: 2, shards: 10)
        defer { devnet.down() }
        #expect(devnet.up.status == 0, "stderr: \(devnet.up.stderr)")
        let state = try Self.processes(devnet.dir)
        let rpc = try #require(state.first { $0["kind"] as? String == "validator" }?["address"] as? String)
        let home = devnet.dir.appendingPathComponent("storage-node-0")
        let original = try String(contentsOf: home.appendingPathComponent("config.yaml"), encoding: .utf8)
        #expect(try ProcessRunner.run("walrus", ["devnet", "kill", "storage-node-0"] + devnet.net).status == 0)
        let script = devnet.dir.appendingPathComponent("lying_rpc.py")
        try Self.lyingRPC.write(to: script, atomically: true, encoding: .utf8)
        for mode in ["epoch", "evict"] {
            let port = DevnetTests.freeBasePort() + 50
            let proxy = Process()
            proxy.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            proxy.arguments = [script.path, "\(port)", rpc.hasPrefix("http") ? rpc : "http://\(rpc)", mode]
            try proxy.run()
            defer { kill(proxy.processIdentifier, SIGKILL) }
            // Wait for the proxy to listen.
            for _ in 0..<100 where Self.raw("127.0.0.1:\(port)", "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == nil {
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let lying = original.split(separator: "\n").filter { !$0.hasPrefix("chain_rpc") && !$0.hasPrefix("- http") }.joined(separator: "\n")
                + "\nchain_rpc:\n- http://127.0.0.1:\(port)\n"
            let config = home.appendingPathComponent("lying.yaml")
            try lying.write(to: config, atomically: true, encoding: .utf8)
            let run = try ProcessRunner.run("walrus-node", ["run", "--config", config.path], timeoutSeconds: 30)
            #expect(run.status != 0, "mode \(mode): the node ran on a lying RPC")
            #expect(run.stderr.contains("refusing the chain"), "mode \(mode): \(run.stderr)")
        }
        // With the honest RPC it starts again and its blobs are still there.
        #expect(try ProcessRunner.run("walrus", ["devnet", "restart", "storage-node-0"] + devnet.net, timeoutSeconds: 90).status == 0)
    }
}
