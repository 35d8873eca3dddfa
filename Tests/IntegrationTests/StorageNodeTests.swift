import ChainClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import RedStuff
import Synchronization
import Testing
import WalrusCore
import WalrusCrypto

/// A storage node as a real process against a real chain: the REST API's successes and refusals,
/// the store path up to certification on chain, and durability across SIGKILL.
@Suite(.serialized) struct StorageNodeTests {
    struct Answer {
        let status: Int
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
        var reason: String? { (((json["error"] as? [String: Any])?["details"] as? [[String: Any]])?.first)?["reason"] as? String }
        var data: Any? { (json["success"] as? [String: Any])?["data"] }
    }

    static func request(_ url: URL, _ method: String = "GET", body: [UInt8]? = nil) async throws -> Answer {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 10
        if let body { request.httpBody = Data(body) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }

    /// A chain with one validator and two storage nodes sharing ten shards, both nodes running.
    /// `prepareNode0` runs on node 0's initialised directory before it starts.
    static func network(prepareNode0: ((URL) throws -> Void)? = nil) async throws -> (LocalChain, ChainClient, EncodingConfig) {
        let chain = try LocalChain(validators: 1, storageNodes: 2, shards: 10)
        try chain.start(0)
        try await chain.waitUntil("the chain") { (await chain.height(0) ?? 0) >= 1 }
        try chain.startStorageNode(0, prepare: prepareNode0)
        try chain.startStorageNode(1)
        for i in 0..<2 {
            try await chain.waitUntil("storage node \(i)") {
                (try? await request(chain.storageURL(i).appendingPathComponent("v1/health")))?.status == 200
            }
        }
        return (chain, ChainClient(endpoints: [chain.rpc(0)]), try EncodingConfig(shardCount: 10))
    }

    /// Registers `encoded` on chain, waits for node 0 to see it, stores its metadata there;
    /// the sliver pairs node 0 holds.
    static func registerWithMetadataOnNode0(_ encoded: EncodedBlob, _ chain: LocalChain, _ client: ChainClient) async throws -> [Int] {
        let blobID = encoded.blobID
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        _ = try await builder.execute([.registerBlob(
            storage: .reserve(epochs: 2), blobID: blobID, rootHash: encoded.metadata.metadata.rootHash.bytes,
            size: encoded.metadata.metadata.unencodedLength, encodingType: 1, deletable: false)])
        let node = chain.storageURL(0)
        try await chain.waitUntil("registration") {
            ((try? await Self.request(node.appendingPathComponent("v1/blobs/\(blobID)/status")))?.data as? [String: Any]) != nil
        }
        #expect(try await Self.request(node.appendingPathComponent("v1/blobs/\(blobID)/metadata"), "PUT", body: encoded.metadata.metadata.bcsBytes).status == 201)
        return try await Self.placement(client, chain, blobID).enumerated().filter { $0.element == 0 }.map(\.offset)
    }

    /// The node (0 or 1) storing each sliver pair of a blob.
    static func placement(_ client: ChainClient, _ chain: LocalChain, _ blobID: BlobID) async throws -> [Int] {
        let committee = try await client.committee()
        let keys = try (0..<2).map { try chain.storageNodeKey($0).publicKey }
        return (0..<10).map { p -> Int in
            let shard = SliverPairIndex(UInt16(p)).shardIndex(rotationOffset: blobID.rotationOffset(shardCount: 10), shardCount: 10)
            return keys.firstIndex(of: committee.owner(of: shard)!.publicKey)!
        }
    }

    /// The store path against a real node and chain, its refusals, and at the end the admin
    /// endpoints of the node and the validator scraped and parsed as Prometheus would: per-route
    /// request counts and latencies, bytes stored, shards, chain height and event lag, consensus
    /// rounds, the mempool.
    @Test(.timeLimit(.minutes(2))) func storeCertifyAndRefuse() async throws {
        let (chain, client, config) = try await Self.network()
        let node0 = chain.storageURL(0), node1 = chain.storageURL(1)
        let encoded = try BlobEncoder(config: config).encode(Array("a blob stored on two storage nodes".utf8))
        let blobID = encoded.blobID
        let blobURL = { (node: URL, path: String) in node.appendingPathComponent("v1/blobs/\(blobID)/\(path)") }
        let metadataBytes = encoded.metadata.metadata.bcsBytes

        // Before registration: refused, nothing stored.
        #expect(try await Self.request(blobURL(node0, "metadata"), "PUT", body: metadataBytes).reason == "NOT_REGISTERED")
        #expect(try await Self.request(blobURL(node0, "metadata/status")).data as? String == "nonexistent")
        #expect(try await Self.request(blobURL(node0, "status")).data as? String == "nonexistent")

        // Register on chain, wait for the nodes to see it.
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        let outcome = try await builder.execute([.registerBlob(
            storage: .reserve(epochs: 3), blobID: blobID, rootHash: encoded.metadata.metadata.rootHash.bytes,
            size: encoded.metadata.metadata.unencodedLength, encodingType: 1, deletable: false)])
        guard case .blobRegistered(_, _, _, _, _, _, let objectID)? = outcome.events.first else { Issue.record("not registered"); return }
        for node in [node0, node1] {
            try await chain.waitUntil("the node to see the registration") {
                ((try? await Self.request(blobURL(node, "status")))?.data as? [String: Any])?["permanent"] != nil
            }
        }

        // Metadata whose blob ID does not recompute, then the real one.
        let forged = BlobMetadata(unencodedLength: encoded.metadata.metadata.unencodedLength + 1, hashes: encoded.metadata.metadata.hashes)
        #expect(try await Self.request(blobURL(node0, "metadata"), "PUT", body: forged.bcsBytes).reason == "INVALID_METADATA")
        #expect(try await Self.request(blobURL(node0, "metadata"), "PUT", body: [1, 2, 3]).reason == "INVALID_METADATA")
        #expect(try await Self.request(blobURL(node0, "metadata/status")).data as? String == "nonexistent")
        for node in [node0, node1] { #expect(try await Self.request(blobURL(node, "metadata"), "PUT", body: metadataBytes).status == 201) }
        #expect(try await Self.request(blobURL(node0, "metadata"), "PUT", body: metadataBytes).status == 200)
        let fetched = try await Self.request(blobURL(node1, "metadata"))
        #expect(try BlobMetadataWithID.decode(bcs: Array(fetched.body)) == encoded.metadata)

        // Slivers: refusals first.
        let placement = try await Self.placement(client, chain, blobID)
        let mine = placement.firstIndex(of: 0)!, theirs = placement.firstIndex(of: 1)!
        let pair = encoded.sliverPair(SliverPairIndex(UInt16(mine)))
        #expect(try await Self.request(blobURL(node0, "confirmation/permanent")).reason == "MISSING_SLIVERS")
        #expect(try await Self.request(blobURL(node0, "slivers/\(theirs)/primary"), "PUT",
                                       body: encoded.sliverPair(SliverPairIndex(UInt16(theirs))).primary.bcsBytes()).reason == "SHARD_NOT_ASSIGNED")
        var tampered = pair.primary.symbols
        tampered[0] ^= 1
        let bad = SliverData(axis: .primary, index: pair.primary.index, symbolSize: pair.primary.symbolSize, symbols: tampered)
        #expect(try await Self.request(blobURL(node0, "slivers/\(mine)/primary"), "PUT", body: bad.bcsBytes()).reason == "INVALID_SLIVER")
        let other = encoded.sliverPair(SliverPairIndex(UInt16(theirs))).primary
        #expect(try await Self.request(blobURL(node0, "slivers/\(mine)/primary"), "PUT", body: other.bcsBytes()).reason == "SLIVER_INDEX_MISMATCH")
        #expect(try await Self.request(blobURL(node0, "slivers/99/primary"), "PUT", body: pair.primary.bcsBytes()).status == 400)
        #expect(try await Self.request(blobURL(node0, "slivers/\(mine)/primary/status")).data as? String == "nonexistent")
        #expect(try await Self.request(blobURL(node0, "slivers/\(mine)/primary")).reason == "SLIVER_NOT_FOUND")

        // Every pair to its node; then each node confirms.
        for p in 0..<10 {
            let node = placement[p] == 0 ? node0 : node1
            let pairP = encoded.sliverPair(SliverPairIndex(UInt16(p)))
            #expect(try await Self.request(blobURL(node, "slivers/\(p)/primary"), "PUT", body: pairP.primary.bcsBytes()).status == 201)
            #expect(try await Self.request(blobURL(node, "slivers/\(p)/secondary"), "PUT", body: pairP.secondary.bcsBytes()).status == 201)
        }
        let back = try await Self.request(blobURL(node0, "slivers/\(mine)/secondary"))
        #expect(try SliverData(bcs: Array(back.body), axis: .secondary) == pair.secondary)

        var signatures: [(member: Int, signature: Schnorr.Signature)] = []
        let committee = try await client.committee()
        var message: [UInt8] = []
        for i in 0..<2 {
            let answer = try await Self.request(blobURL(i == 0 ? node0 : node1, "confirmation/permanent"))
            let signed = (answer.data as? [String: Any])?["signed"] as? [String: Any]
            message = Array(Data(base64Encoded: signed?["serializedMessage"] as? String ?? "") ?? Data())
            let signature = try Schnorr.Signature(bytes: Array(Data(base64Encoded: signed?["signature"] as? String ?? "") ?? Data()))
            let key = try chain.storageNodeKey(i).publicKey
            try key.verify(signature, serializedMessage: message, expecting: .blobCertification)
            signatures.append((committee.members.firstIndex { $0.publicKey == key }!, signature))
        }
        #expect(try ConfirmationMessage(serialized: message) == ConfirmationMessage(epoch: Epoch(1), blobID: blobID, persistence: .permanent))
        // A deletable confirmation for a permanent registration is refused.
        #expect(try await Self.request(blobURL(node0, "confirmation/deletable/\(objectID)")).reason == "NOT_REGISTERED")

        // The confirmations make a certificate the chain accepts: the blob is available.
        let certificate = CommitteeCertificate(message: message, signatures: signatures, memberCount: committee.members.count)
        let certified = try await builder.execute([.certifyBlob(blob: objectID, certificate: certificate)])
        #expect(certified.events.first == .blobCertified(epoch: Epoch(1), blobID: blobID, endEpoch: Epoch(4), deletable: false, objectID: objectID, isExtension: false))
        try await chain.waitUntil("the node to see the certification") {
            (((try? await Self.request(blobURL(node1, "status")))?.data as? [String: Any])?["permanent"] as? [String: Any])?["isCertified"] as? Bool == true
        }

        // The other endpoints: health, recovery symbols, proofs and shard sync refusals.
        let health = try await Self.request(node0.appendingPathComponent("v1/health"))
        let summary = (health.data as? [String: Any])?["shardSummary"] as? [String: Any]
        #expect(summary?["owned"] as? Int == 5 && (summary?["ownedShardStatus"] as? [String: Any])?["ready"] as? Int == 5)
        let symbols = try await Self.request(URL(string: "\(node0.absoluteString)/v1/blobs/\(blobID)/recoverySymbols?targetSliver=\(theirs)&targetType=primary")!)
        var reader = BCSReader(Array(symbols.body))
        let list = try reader.readSequence(of: RecoverySymbol.self, max: 100)
        #expect(list.count == 5)
        for symbol in list { try symbol.verify(against: encoded.metadata.metadata, config: config) }
        #expect(try await Self.request(URL(string: "\(node0.absoluteString)/v1/blobs/\(blobID)/recoverySymbols?targetSliver=99&targetType=primary")!).reason == "INVALID_ARGUMENT")
        // A proof made of valid symbols of a consistent blob proves nothing.
        let honestSymbols = (0..<config.primarySourceSymbols).map {
            RecoverySymbolSource(sliver: encoded.primarySliver(SliverIndex(UInt16($0))), config: config).symbol(for: SliverIndex(2))
        }
        let bogus = InconsistencyProof(axis: .secondary, targetIndex: SliverIndex(2), symbols: honestSymbols)
        #expect(try await Self.request(blobURL(node0, "inconsistencyProof/secondary"), "POST", body: bogus.bcsBytes).reason == "INVALID_PROOF")
        #expect(try await Self.request(blobURL(node0, "inconsistencyProof/secondary"), "POST", body: [9, 9]).reason == "INVALID_PROOF")
        #expect(try await Self.request(node0.appendingPathComponent("v1/migrate/sync_shard"), "POST", body: [1, 2, 3]).reason == "REQUEST_UNAUTHORIZED")
        let unknown = try BlobID(parsing: "M4hsZGQ1oCktdzegB6HnI6Mi28S2nqOPHxK-W7_4BUk")
        #expect(try await Self.request(node0.appendingPathComponent("v1/blobs/\(unknown)/metadata")).reason == "METADATA_NOT_FOUND")
        #expect(try await Self.request(node0.appendingPathComponent("v1/blobs/\(unknown)/confirmation/permanent")).reason == "NOT_REGISTERED")

        // A 2 GiB body is refused from its Content-Length, before anything is read.
        #expect(Self.rawStatus(port: chain.basePort + 200, path: "/v1/blobs/\(blobID)/slivers/\(mine)/primary", contentLength: 2 << 30) == 413)

        // The admin endpoints: scraped and parsed as Prometheus would, with what was just done.
        try await chain.waitUntil("the node's gauges") {
            let text = String(decoding: (try? await Self.request(chain.storageAdminURL(0).appendingPathComponent("metrics")))?.body ?? Data(), as: UTF8.self)
            return ((try? PrometheusText(text))?.value("walrus_storage_slivers_held") ?? 0) >= 1
        }
        let nodeText = String(decoding: try await Self.request(chain.storageAdminURL(0).appendingPathComponent("metrics")).body, as: UTF8.self)
        let scraped = try PrometheusText(nodeText)
        let puts = ["server": "storage", "route": "/v1/blobs/{id}/slivers/{n}/primary", "method": "PUT", "status": "2xx"]
        #expect((scraped.value("walrus_http_requests_total", puts) ?? 0) >= 1, "\(nodeText.prefix(3000))")
        #expect(scraped.types["walrus_http_request_duration_seconds"] == "histogram")
        #expect((scraped.value("walrus_http_request_duration_seconds_count", ["route": "/v1/blobs/{id}/slivers/{n}/primary", "method": "PUT"]) ?? 0) >= 1)
        #expect((scraped.value("walrus_storage_sliver_bytes_stored_total") ?? 0) > 0)
        #expect(scraped.value("walrus_storage_owned_shards").map { $0 > 0 } == true)
        #expect(scraped.value("walrus_storage_recovery_pending") != nil && scraped.value("walrus_storage_event_lag") != nil)
        #expect((scraped.value("walrus_storage_chain_height") ?? 0) > 0)
        // No label carries an ID: the routes are templates.
        #expect(!scraped.samples.contains { $0.labels["route"]?.contains("\(blobID)") == true })
        let validatorText = String(decoding: try await Self.request(chain.validatorAdminURL(0).appendingPathComponent("metrics")).body, as: UTF8.self)
        let validator = try PrometheusText(validatorText)
        #expect((validator.value("walrus_chain_height") ?? 0) > 0, "\(validatorText.prefix(2000))")
        #expect((validator.value("walrus_consensus_rounds_total") ?? 0) >= (validator.value("walrus_chain_blocks_total") ?? 1))
        #expect(validator.value("walrus_mempool_transactions") != nil)
        #expect((validator.value("walrus_http_requests_total", ["server": "rpc", "route": "/v1/transactions", "method": "POST", "status": "2xx"]) ?? 0) >= 1)
        #expect(try await Self.request(chain.storageAdminURL(0).appendingPathComponent("v1/health")).status == 200)
        // The parser is strict: a broken exposition is refused.
        #expect(throws: PrometheusText.Invalid.self) { try PrometheusText("walrus_x{a=\"1\"} 1\nwalrus_x{a=\"1\"} 2\n") }
        #expect(throws: PrometheusText.Invalid.self) { try PrometheusText("# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n") }
        #expect(throws: PrometheusText.Invalid.self) { try PrometheusText("1bad 3\n") }
    }

    /// A signed sync-shard request is good for the node it names, for a minute, once: a replay
    /// of the same bytes, a request for another node, a stale one and Walrus's unbound version 1
    /// are refused.
    @Test(.timeLimit(.minutes(2))) func aReplayedSyncShardRequestIsRefused() async throws {
        let (chain, client, _) = try await Self.network()
        let node0 = chain.storageURL(0).appendingPathComponent("v1/migrate/sync_shard")
        let asker = try chain.storageNodeKey(1), recipient = try chain.storageNodeKey(0).publicKey
        let committee = try await client.committee()
        let shard = try #require(committee.members.first { $0.publicKey == asker.publicKey }?.shards.first)
        let auth = Data(asker.publicKey.bytes).base64EncodedString()
        func post(_ body: [UInt8]) async throws -> Answer {
            var request = URLRequest(url: node0)
            request.httpMethod = "POST"
            request.httpBody = Data(body)
            request.setValue(auth, forHTTPHeaderField: "Authorization")
            let (data, response) = try await URLSession.shared.data(for: request)
            return Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
        }
        func signed(_ sync: SyncShardRequest) -> [UInt8] {
            let message = IntentMessage(type: .syncShard, epoch: committee.epoch, body: sync)
            return SignedRequest(serializedMessage: message.serialized, signature: asker.sign(message)).bcsBytes
        }
        let now = UInt64(Date().timeIntervalSince1970 * 1000), zero = BlobID(unchecked: [UInt8](repeating: 0, count: 32))
        func request(to key: Schnorr.PublicKey = recipient, at time: UInt64 = now) -> SyncShardRequest {
            SyncShardRequest(shard: shard, axis: .primary, startingBlobID: zero, count: 10, epoch: committee.epoch, recipient: key, timestampMs: time)
        }
        let fresh = signed(request())
        #expect(try await post(fresh).status == 200, "a fresh request for this node is answered")
        let replay = try await post(fresh)
        #expect(replay.status == 403 && replay.reason == "REQUEST_UNAUTHORIZED", "the same signed bytes again are a replay: \(replay.status)")
        #expect(try await post(signed(request(to: asker.publicKey))).reason == "REQUEST_UNAUTHORIZED", "addressed to another node")
        #expect(try await post(signed(request(at: now - 120_000))).reason == "REQUEST_UNAUTHORIZED", "two minutes old")
        #expect(try await post(signed(request(at: now + 120_000))).reason == "REQUEST_UNAUTHORIZED", "two minutes ahead")
        let v1 = SyncShardRequest(shard: shard, axis: .primary, startingBlobID: zero, count: 10, epoch: committee.epoch)
        #expect(try await post(signed(v1)).reason == "INVALID_REQUEST", "version 1 binds no recipient or time")
        #expect(try await post(signed(request())).status == 200, "a new request (new nonce) is answered")
    }

    @Test(.timeLimit(.minutes(2))) func acknowledgedSliversSurviveAKill() async throws {
        let (chain, client, config) = try await Self.network()
        let encoded = try BlobEncoder(config: config).encode((0..<5000).map { UInt8($0 % 251) })
        let blobID = encoded.blobID, node = chain.storageURL(0)
        let mine = try await Self.registerWithMetadataOnNode0(encoded, chain, client)
        for p in mine {
            let pair = encoded.sliverPair(SliverPairIndex(UInt16(p)))
            #expect(try await Self.request(node.appendingPathComponent("v1/blobs/\(blobID)/slivers/\(p)/primary"), "PUT", body: pair.primary.bcsBytes()).status == 201)
        }
        // Killed right after the acknowledgements: everything acknowledged is there after restart.
        chain.killStorageNode(0)
        try chain.startStorageNode(0)
        try await chain.waitUntil("the restarted node") { (try? await Self.request(node.appendingPathComponent("v1/health")))?.status == 200 }
        for p in mine {
            let answer = try await Self.request(node.appendingPathComponent("v1/blobs/\(blobID)/slivers/\(p)/primary"))
            #expect(answer.status == 200)
            #expect(try SliverData(bcs: Array(answer.body), axis: .primary) == encoded.sliverPair(SliverPairIndex(UInt16(p))).primary)
        }
        #expect(try await Self.request(node.appendingPathComponent("v1/blobs/\(blobID)/metadata/status")).data as? String == "stored")
    }

    /// SIGTERM while slivers are being uploaded: the node stops taking connections, answers the
    /// uploads in flight, flushes and exits 0; after a restart every sliver it acknowledged is
    /// there, byte for byte.
    @Test(.timeLimit(.minutes(2))) func sigtermDuringAnUploadLosesNothingAcknowledged() async throws {
        let (chain, client, config) = try await Self.network()
        let encoded = try BlobEncoder(config: config).encode((0..<1_800_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) })
        let blobID = encoded.blobID, node = chain.storageURL(0)
        let mine = try await Self.registerWithMetadataOnNode0(encoded, chain, client)
        let uploads = mine.flatMap { p in [(p, SliverAxis.primary), (p, SliverAxis.secondary)] }
        let requests: [(index: Int, url: URL, body: [UInt8])] = uploads.enumerated().map { i, upload in
            let (p, axis) = upload
            let pair = encoded.sliverPair(SliverPairIndex(UInt16(p)))
            let url = node.appendingPathComponent("v1/blobs/\(blobID)/slivers/\(p)/\(axis == .primary ? "primary" : "secondary")")
            return (i, url, axis == .primary ? pair.primary.bcsBytes() : pair.secondary.bcsBytes())
        }
        let acknowledged = Acknowledged()
        let pid = try #require(chain.storagePID(0))
        await withTaskGroup(of: Void.self) { group in
            for (index, url, body) in requests {
                group.addTask {
                    if let answer = try? await Self.request(url, "PUT", body: body), answer.status == 201 { acknowledged.indices.withLock { $0.append(index) } }
                }
            }
            // SIGTERM as soon as the first upload is acknowledged, with the rest in flight.
            group.addTask {
                while acknowledged.indices.withLock({ $0.isEmpty }) { try? await Task.sleep(nanoseconds: 1_000_000) }
                kill(pid, SIGTERM)
            }
        }
        #expect(chain.waitForStorageNodeExit(0) == 0, "the node exits 0 after SIGTERM")
        let log = (try? String(contentsOf: chain.directory.appendingPathComponent("storage-node-0.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("draining requests in flight") && log.contains("stopped"), "\(log.suffix(2000))")
        let saved = acknowledged.indices.withLock { $0 }.map { uploads[$0] }
        #expect(!saved.isEmpty)
        try chain.startStorageNode(0)
        try await chain.waitUntil("the restarted node") { (try? await Self.request(node.appendingPathComponent("v1/health")))?.status == 200 }
        for (p, axis) in saved {
            let name = axis == .primary ? "primary" : "secondary"
            let answer = try await Self.request(node.appendingPathComponent("v1/blobs/\(blobID)/slivers/\(p)/\(name)"))
            #expect(answer.status == 200, "acknowledged \(name) sliver \(p) is there after the restart")
            let pair = encoded.sliverPair(SliverPairIndex(UInt16(p)))
            #expect(try SliverData(bcs: Array(answer.body), axis: axis) == (axis == .primary ? pair.primary : pair.secondary))
        }
    }

    /// Node 0 keeps its sliver files on a 1 MiB file system. Slivers are accepted until it is full;
    /// the one that does not fit is answered 429 RESOURCE_EXHAUSTED with the reason INSUFFICIENT_STORAGE (which the client does not
    /// retry) and not stored; those acknowledged before read back; with space again it is accepted.
    @Test(.timeLimit(.minutes(2)), .enabled(if: TinyFilesystem.available, "mounting a tmpfs needs root"))
    func aFullDiskIsRefusedAsResourceExhausted() async throws {
        var disk: TinyFilesystem?
        let (chain, client, config) = try await Self.network { home in
            disk = try TinyFilesystem(at: home.appendingPathComponent("data/slivers").path, bytes: 1 << 20)
            try LocalChain.disableFreeSpaceReserve(home: home)
        }
        defer { disk?.unmount() }
        let encoded = try BlobEncoder(config: config).encode((0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
        let blobID = encoded.blobID
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        _ = try await builder.execute([.registerBlob(
            storage: .reserve(epochs: 2), blobID: blobID, rootHash: encoded.metadata.metadata.rootHash.bytes,
            size: encoded.metadata.metadata.unencodedLength, encodingType: 1, deletable: false)])
        let node = chain.storageURL(0).appendingPathComponent("v1/blobs/\(blobID)")
        try await chain.waitUntil("registration") { ((try? await Self.request(node.appendingPathComponent("status")))?.data as? [String: Any]) != nil }
        #expect(try await Self.request(node.appendingPathComponent("metadata"), "PUT", body: encoded.metadata.metadata.bcsBytes).status == 201)

        let mine = try await Self.placement(client, chain, blobID).enumerated().filter { $0.element == 0 }.map(\.offset)
        var accepted: [Int] = []
        var refused: (Int, Answer)?
        for p in mine {
            let answer = try await Self.request(node.appendingPathComponent("slivers/\(p)/primary"), "PUT",
                                                body: encoded.sliverPair(SliverPairIndex(UInt16(p))).primary.bcsBytes())
            if answer.status == 201 { accepted.append(p) } else { refused = (p, answer); break }
        }
        guard let (pair, answer) = refused else { Issue.record("\(mine.count) slivers of 375 kB fit in 1 MiB"); return }
        #expect(answer.status == 429 && answer.reason == "INSUFFICIENT_STORAGE")
        #expect(answer.reason == "INSUFFICIENT_STORAGE")
        #expect(((answer.json["error"] as? [String: Any])?["message"] as? String)?.contains("the disk is full") == true, "\(answer.json)")
        #expect(!accepted.isEmpty)
        #expect(try await Self.request(node.appendingPathComponent("slivers/\(pair)/primary")).reason == "SLIVER_NOT_FOUND")
        for p in accepted {
            let stored = try await Self.request(node.appendingPathComponent("slivers/\(p)/primary"))
            #expect(try SliverData(bcs: Array(stored.body), axis: .primary) == encoded.sliverPair(SliverPairIndex(UInt16(p))).primary)
        }

        try disk?.resize(bytes: 16 << 20)
        let again = try await Self.request(node.appendingPathComponent("slivers/\(pair)/primary"), "PUT",
                                           body: encoded.sliverPair(SliverPairIndex(UInt16(pair))).primary.bcsBytes())
        #expect(again.status == 201)
        let stored = try await Self.request(node.appendingPathComponent("slivers/\(pair)/primary"))
        #expect(try SliverData(bcs: Array(stored.body), axis: .primary) == encoded.sliverPair(SliverPairIndex(UInt16(pair))).primary)
    }

    /// Sends only a request head with a huge Content-Length and returns the status the server answers.
    static func rawStatus(port: Int, path: String, contentLength: Int) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { return -1 }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let head = "PUT \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: \(contentLength)\r\n\r\n"
        _ = head.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 12 else { return -2 }
        return Int(String(decoding: buffer[9..<12], as: UTF8.self)) ?? -3
    }
}

/// Uploads a node acknowledged, by index, shared by the tasks that make them.
final class Acknowledged: Sendable {
    let indices = Mutex<[Int]>([])
}
