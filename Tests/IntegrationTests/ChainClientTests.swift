import ChainClient
import ChainTypes
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import RedStuff
import Testing
import ValidatorNode
import WalrusAPI
import WalrusCore
import WalrusCrypto

@Suite(.serialized) struct ChainClientTests {
    @Test(.timeLimit(.minutes(2))) func registerABlobAndFollowVerifiedEvents() async throws {
        let chain = try LocalChain(validators: 4)
        try chain.startAll()
        let client = ChainClient(endpoints: (0..<4).map { chain.rpc($0) }, timeoutSeconds: 5)
        try await chain.waitUntil("the chain to run") { (try? await client.health().height) ?? 0 >= 2 }
        let health = try await client.health()
        let genesis = try GenesisFile.load(chain.directory.appendingPathComponent("genesis.yaml").path)
        #expect(health.genesisHash == Hex.encode(genesis.hash))

        // Reserve and register a real blob in one transaction.
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        let metadata = try BlobEncoder(config: EncodingConfig(shardCount: 40)).computeMetadata(Array("hello chain".utf8))
        let outcome = try await builder.execute([.registerBlob(
            storage: .reserve(epochs: 2), blobID: metadata.blobID, rootHash: metadata.metadata.rootHash.bytes, size: 11, encodingType: 1,
            deletable: false)])
        guard case .blobRegistered(_, let blobID, let size, _, _, _, _)? = outcome.events.first else {
            Issue.record("no BlobRegistered event: \(outcome.events)")
            return
        }
        #expect(blobID == metadata.blobID && size == 11)
        guard case .blobRegistered(_, _, _, _, _, _, let objectID)? = outcome.events.first else { return }
        // The transaction was committed by the validator the client asked; others apply the block
        // a moment later.
        for v in [1, 2] {
            try await chain.waitUntil("validator \(v) to apply the registration") {
                ((await chain.get(v, "v1/blobs/\(metadata.blobID)"))?["registrations"] as? [[String: Any]])?.isEmpty == false
            }
        }
        let object = await chain.get(1, "v1/objects/\(objectID)")
        #expect((object?["blobObject"] as? [String: Any])?["blobId"] as? String == metadata.blobID.description && object?["kind"] as? String == "blob")
        let byBlobID = await chain.get(2, "v1/blobs/\(metadata.blobID)")
        #expect(((byBlobID?["registrations"] as? [[String: Any]])?.first?["blobObject"] as? [String: Any])?["id"] as? String == objectID.description)

        // Two events of one transaction: one digest, sequences 0 and 1, both in the events pages
        // and in the registrations' event IDs (Walrus's EventID).
        let second = try BlobEncoder(config: EncodingConfig(shardCount: 40)).computeMetadata(Array("second".utf8))
        let third = try BlobEncoder(config: EncodingConfig(shardCount: 40)).computeMetadata(Array("third!".utf8))
        let pair = try await builder.execute([
            .registerBlob(storage: .reserve(epochs: 2), blobID: second.blobID, rootHash: second.metadata.rootHash.bytes, size: 6, encodingType: 1, deletable: true),
            .registerBlob(storage: .reserve(epochs: 2), blobID: third.blobID, rootHash: third.metadata.rootHash.bytes, size: 6, encodingType: 1, deletable: true),
        ])
        let page = try await client.events(after: EventCursor(height: pair.height - 1, index: UInt32.max), limit: 50).events.filter { $0.cursor.height == pair.height }
        let ids = page.compactMap { event -> EventID? in
            if case .blobRegistered(_, let id, _, _, _, _, _) = event.event, id == second.blobID || id == third.blobID { return event.id }
            return nil
        }
        #expect(ids.count == 2 && ids[0].txDigest == ids[1].txDigest && ids.map(\.eventSeq) == ["0", "1"], "\(ids)")
        let thirdRegistration = try await client.registrations(third.blobID).registrations.first
        #expect(thirdRegistration?.registrationEvent == ids.last, "\(String(describing: thirdRegistration))")
        // A page that starts inside the block still counts from the block's start.
        let secondCursor = try #require(page.first { if case .blobRegistered(_, second.blobID, _, _, _, _, _) = $0.event { true } else { false } }?.cursor)
        let tail = try await client.events(after: secondCursor, limit: 1).events.first
        #expect(tail?.id == ids.last && tail?.id?.eventSeq == "1", "\(String(describing: tail?.id))")

        // A bad registration fails with the ledger's reason.
        do {
            _ = try await builder.execute([.registerBlob(storage: .reserve(epochs: 2), blobID: metadata.blobID, rootHash: metadata.metadata.rootHash.bytes, size: 12, encodingType: 1, deletable: false)])
            Issue.record("a wrong blob ID was accepted")
        } catch {
            #expect(error.code == .failed && error.message.contains("E_INVALID_BLOB_ID"))
        }

        // The follower finds the event, verified against commits and events roots.
        let follower = VerifiedEventFollower(client: client, chainID: "walrus-test", validators: try genesis.validatorSet())
        var found = false
        for _ in 0..<50 where !found {
            let events = try await follower.next(limit: 50, waitMs: 200)
            found = events.contains { if case .blobRegistered(_, metadata.blobID, _, _, _, _, _) = $0.event { true } else { false } }
            // Until acknowledged, the same events come again: a failed apply loses nothing.
            if let last = events.last {
                #expect(try await follower.next(limit: 50, waitMs: 0).first?.cursor == events.first?.cursor)
                await follower.acknowledge(through: last.cursor)
            }
        }
        #expect(found)

        // The committee is taken only as a signed block commits to it.
        let verified = try await client.verifiedCommittee(chainID: "walrus-test", validators: try genesis.validatorSet())
        #expect(verified == (try await client.committee()))
        await #expect(throws: ChainClientError.self) {
            _ = try await client.verifiedCommittee(
                chainID: "walrus-test",
                validators: ValidatorSet((0..<4).map { _ in Validator(publicKey: Schnorr.PrivateKey.generate().publicKey.bytes, power: 1, address: "x") }))
        }

        // Tampering is caught: a precommit signature changed, or another validator set.
        let height = outcome.height
        let block = try await client.block(height)
        let commit = try await client.commit(height)
        try VerifiedEventFollower.check(block: block, commit: commit, validators: genesis.validatorSet(), chainID: "walrus-test")
        var votes = commit.precommits
        votes[0].signature[5] ^= 1
        let forged = Commit(height: commit.height, round: commit.round, valueID: commit.valueID, precommits: votes)
        #expect(throws: ChainClientError.self) { try VerifiedEventFollower.check(block: block, commit: forged, validators: genesis.validatorSet(), chainID: "walrus-test") }
        let strangers = ValidatorSet((0..<4).map { _ in Validator(publicKey: Schnorr.PrivateKey.generate().publicKey.bytes, power: 1, address: "x") })
        #expect(throws: ChainClientError.self) { try VerifiedEventFollower.check(block: block, commit: commit, validators: strangers, chainID: "walrus-test") }
        for i in 0..<4 { chain.stop(i) }
    }

    /// GET on a validator's RPC, without the shared session's path escaping (queries pass as is).
    static func fetch(_ base: URL, _ pathAndQuery: String) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: URL(string: base.absoluteString + "/" + pathAndQuery)!)
        request.timeoutInterval = 30
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    /// A proxy for the validator RPC that leaves out every event of the block at height `argv[3]`.
    static let omittingRPC = """
        import sys, json, urllib.request, urllib.error, http.server
        port, upstream, height = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
        class Proxy(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                try:
                    with urllib.request.urlopen(upstream + self.path, timeout=30) as r:
                        status, data, kind = r.status, r.read(), r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:
                    status, data, kind = e.code, e.read(), e.headers.get("Content-Type", "")
                if self.path.startswith("/v1/events"):
                    page = json.loads(data)
                    page["events"] = [e for e in page["events"] if e["height"] != height]
                    data = json.dumps(page).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            def log_message(self, *args):
                pass
        http.server.HTTPServer(("127.0.0.1", port), Proxy).serve_forever()
        """

    /// A follower behind an RPC that leaves out a whole block's events notices: the next block
    /// with events counts more events before it than the follower saw, or (when nothing follows)
    /// a recent block counts events the RPC does not serve.
    /// A validator whose host drops packets (down, or cut off) costs a client one connect timeout
    /// (3 s), not one per call: it is asked last for a while, and a transaction's commit is
    /// awaited from the validators that answer. On loopback, a listener whose accept queue is
    /// full drops the SYNs of further connects.
    @Test(.timeLimit(.minutes(2))) func aValidatorThatDropsPacketsIsAskedLast() async throws {
        let chain = try LocalChain(validators: 1)
        try chain.startAll()
        defer { chain.stop(0) }
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(listen(listener, 0) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        for _ in 0..<4 {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            _ = fcntl(s, F_SETFL, O_NONBLOCK)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            fillers.append(s)
        }
        let silent = URL(string: "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))")!
        let client = ChainClient(endpoints: [silent, chain.rpc(0)], timeoutSeconds: 20)
        try await chain.waitUntil("the chain to run") { (try? await ChainClient(endpoints: [chain.rpc(0)]).health().height) ?? 0 >= 2 }
        var start = Date()
        _ = try await client.health()
        let first = Date().timeIntervalSince(start)
        #expect(first >= 1.2 && first < 4, "the first call took \(first) s: one connect timeout (1.5 s) expected")
        start = Date()
        for _ in 0..<5 { _ = try await client.health() }
        #expect(Date().timeIntervalSince(start) < 2, "later calls still waited on the silent endpoint")
        // A transaction's commit is awaited from the validator that answers.
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        start = Date()
        _ = try await builder.execute([.transfer(to: Schnorr.PrivateKey.generate().publicKey.address, amount: FROST(1))])
        #expect(Date().timeIntervalSince(start) < 2.5, "the transaction took \(Date().timeIntervalSince(start)) s")
    }

    @Test(.timeLimit(.minutes(2))) func omittedEventsAreDetected() async throws {
        let chain = try LocalChain(validators: 1)
        try chain.startAll()
        defer { chain.stop(0) }
        let client = ChainClient(endpoints: [chain.rpc(0)], timeoutSeconds: 5)
        try await chain.waitUntil("the chain to run") { (try? await client.health().height) ?? 0 >= 2 }
        let genesis = try GenesisFile.load(chain.directory.appendingPathComponent("genesis.yaml").path)
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        var heights: [UInt64] = []
        for text in ["first", "second"] {
            let metadata = try BlobEncoder(config: EncodingConfig(shardCount: 40)).computeMetadata(Array(text.utf8))
            let outcome = try await builder.execute([.registerBlob(
                storage: .reserve(epochs: 2), blobID: metadata.blobID, rootHash: metadata.metadata.rootHash.bytes, size: UInt64(text.utf8.count),
                encodingType: 1, deletable: false)])
            heights.append(outcome.height)
        }
        // Honest: every event comes, verified.
        let honest = VerifiedEventFollower(client: client, chainID: "walrus-test", validators: try genesis.validatorSet())
        var seen = 0
        for _ in 0..<20 {
            let events = try await honest.next(limit: 100, waitMs: 0)
            seen += events.count
            if let last = events.last { await honest.acknowledge(through: last.cursor) } else { break }
        }
        #expect(seen >= 2)
        // Leaving out the first registration's block is caught (by the second's count), and
        // leaving out the last one is caught by the check after empty pages.
        for omitted in heights {
            let script = chain.directory.appendingPathComponent("omitting_rpc.py")
            try Self.omittingRPC.write(to: script, atomically: true, encoding: .utf8)
            // A port nothing listens on: a leftover honest RPC there would make the lie invisible.
            var port = LocalChain.freeBasePort() + 50
            while !LocalChain.isFree(port) { port = LocalChain.freeBasePort() + 50 }
            let proxy = Process()
            proxy.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            proxy.arguments = [script.path, "\(port)", chain.rpc(0).absoluteString, "\(omitted)"]
            try proxy.run()
            defer { kill(proxy.processIdentifier, SIGKILL) }
            let lying = ChainClient(endpoints: [URL(string: "http://127.0.0.1:\(port)")!], timeoutSeconds: 5)
            try await chain.waitUntil("the proxy") { (try? await lying.health()) != nil }
            #expect(proxy.isRunning, "the omitting proxy on port \(port) did not start")
            let follower = VerifiedEventFollower(client: lying, chainID: "walrus-test", validators: try genesis.validatorSet())
            var caught: ChainClientError?
            for _ in 0..<40 where caught == nil {
                do {
                    let events = try await follower.next(limit: 100, waitMs: 0)
                    if let last = events.last { await follower.acknowledge(through: last.cursor) }
                } catch { caught = error }
            }
            #expect(caught?.code == .verification, "omitting block \(omitted): \(caught.map { $0.message } ?? "not caught")")
        }
    }

    /// A transaction-status request with `wait_ms` and an events request with `timeout_ms`, both
    /// made before the commit, answer when it happens, not when their wait runs out; an unknown
    /// transaction is waited for and then not found.
    @Test(.timeLimit(.minutes(2))) func longPollsAnswerAtTheCommit() async throws {
        let chain = try LocalChain(validators: 4)
        try chain.startAll()
        defer { for i in 0..<4 { chain.stop(i) } }
        let client = ChainClient(endpoints: (0..<4).map { chain.rpc($0) }, timeoutSeconds: 5)
        try await chain.waitUntil("the chain to run") { (try? await client.health().height) ?? 0 >= 2 }

        let unknown = String(repeating: "ab", count: 32)
        let started = Date()
        let (missing, _) = try await Self.fetch(chain.rpc(0), "v1/transactions/\(unknown)?wait_ms=400")
        #expect(missing == 404)
        #expect(Date().timeIntervalSince(started) >= 0.35, "the request waited for the commit it asked about")

        let (_, page) = try await Self.fetch(chain.rpc(2), "v1/events?limit=1000")
        let cursor = page["next"] as? String ?? ""
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        let metadata = try BlobEncoder(config: EncodingConfig(shardCount: 40)).computeMetadata(Array("long polls".utf8))
        let tx = try await builder.build([.registerBlob(
            storage: .reserve(epochs: 2), blobID: metadata.blobID, rootHash: metadata.metadata.rootHash.bytes, size: 10, encodingType: 1,
            deletable: false)])
        let digest = Hex.encode(tx.digest)
        let asked = Date()
        let (statusRPC, eventsRPC) = (chain.rpc(1), chain.rpc(2))
        async let status = Self.fetch(statusRPC, "v1/transactions/\(digest)?wait_ms=20000")
        async let events = Self.fetch(eventsRPC, "v1/events?after=\(cursor)&timeout_ms=20000")
        try await Task.sleep(nanoseconds: 100_000_000)
        let (submitted, _) = try await chain.submit(0, tx)
        #expect(submitted == 200 || submitted == 202)
        let (code, body) = try await status
        #expect(code == 200 && body["status"] as? String == "success")
        let (_, newEvents) = try await events
        let registered = (newEvents["events"] as? [[String: Any]] ?? []).contains {
            ($0["fields"] as? [String: Any])?["blobId"] as? String == metadata.blobID.description
        }
        #expect(registered, "\(newEvents)")
        #expect(Date().timeIntervalSince(asked) < 10, "both answered at the commit, not at the end of their 20 s wait")
    }
}
