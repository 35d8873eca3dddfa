import ChainTypes
import ChainClient
import Foundation
import Synchronization
import Ledger
import RedStuff
import Testing
import WalrusCore
import WalrusCrypto

/// An epoch change that moves shards: the node gaining them pulls slivers from a live previous
/// owner and recovers those of a previous owner that is down, reports its shards synced, and every
/// certified blob stays readable from the new committee.
@Suite(.serialized) struct EpochHandOverTests {
    typealias R = StorageNodeTests

    /// One validator and three running storage nodes sharing ten shards, with a large stake for the
    /// lightest node made before the midpoint of epoch 1, so that shards move to it at epoch 2.
    static func shardsAboutToMove(epochDurationMs: Int) async throws -> (
        LocalChain, ChainClient, CommitteeInfo, [Schnorr.PublicKey], [UInt64], Int, TransactionBuilder
    ) {
        let chain = try LocalChain(validators: 1, storageNodes: 3, shards: 10, epochDurationMs: epochDurationMs)
        try chain.start(0)
        let client = ChainClient(endpoints: [chain.rpc(0)])
        try await chain.waitUntil("the chain") { (await chain.height(0) ?? 0) >= 1 }
        let committee = try await client.committee()
        let keys = try (0..<3).map { try chain.storageNodeKey($0).publicKey }
        let weights = keys.map { key in committee.members.first { $0.publicKey == key }!.weight }
        let gainer = weights.firstIndex(of: weights.min()!)!
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        let gainerID = committee.members.first { $0.publicKey == keys[gainer] }!.nodeID
        _ = try await builder.execute([.stake(node: gainerID, amount: FROST(100_000 * FROST.perWAL))])
        #expect(try await client.epochInfo().state == "changeDone")
        for i in 0..<3 { try chain.startStorageNode(i) }
        for i in 0..<3 {
            try await chain.waitUntil("storage node \(i)") { (try? await R.request(chain.storageURL(i).appendingPathComponent("v1/health")))?.status == 200 }
        }
        return (chain, client, committee, keys, weights, gainer, builder)
    }

    @Test(.timeLimit(.minutes(3))) func shardsMoveAtTheEpochChange() async throws {
        let (chain, client, committee, keys, weights, gainer, builder) = try await Self.shardsAboutToMove(epochDurationMs: 12_000)
        // Store and certify a blob in epoch 1 on all three nodes.
        let config = try EncodingConfig(shardCount: 10)
        let encoded = try BlobEncoder(config: config).encode((0..<40_000).map { UInt8(($0 * 31) % 256) })
        let blobID = encoded.blobID
        let registered = try await builder.execute([.registerBlob(
            storage: .reserve(epochs: 5), blobID: blobID, rootHash: encoded.metadata.metadata.rootHash.bytes,
            size: encoded.metadata.metadata.unencodedLength, encodingType: 1, deletable: false)])
        guard case .blobRegistered(_, _, _, _, _, _, let objectID)? = registered.events.first else { Issue.record("not registered"); return }
        let offset = blobID.rotationOffset(shardCount: 10)
        func owner(_ c: CommitteeInfo, _ p: Int) -> Int {
            keys.firstIndex(of: c.owner(of: SliverPairIndex(UInt16(p)).shardIndex(rotationOffset: offset, shardCount: 10))!.publicKey)!
        }
        func url(_ node: Int, _ path: String) -> URL { chain.storageURL(node).appendingPathComponent("v1/blobs/\(blobID)/\(path)") }
        for node in 0..<3 {
            try await chain.waitUntil("registration seen") { ((try? await R.request(url(node, "status")))?.data as? [String: Any]) != nil }
            #expect(try await R.request(url(node, "metadata"), "PUT", body: encoded.metadata.metadata.bcsBytes).status == 201)
        }
        for p in 0..<10 {
            let pair = encoded.sliverPair(SliverPairIndex(UInt16(p)))
            #expect(try await R.request(url(owner(committee, p), "slivers/\(p)/primary"), "PUT", body: pair.primary.bcsBytes()).status == 201)
            #expect(try await R.request(url(owner(committee, p), "slivers/\(p)/secondary"), "PUT", body: pair.secondary.bcsBytes()).status == 201)
        }
        var signatures: [(member: Int, signature: Schnorr.Signature)] = []
        var message: [UInt8] = []
        for node in 0..<3 {
            let signed = ((try await R.request(url(node, "confirmation/permanent"))).data as? [String: Any])?["signed"] as? [String: Any]
            message = Array(Data(base64Encoded: signed?["serializedMessage"] as? String ?? "") ?? Data())
            signatures.append((committee.members.firstIndex { $0.publicKey == keys[node] }!,
                               try Schnorr.Signature(bytes: Array(Data(base64Encoded: signed?["signature"] as? String ?? "") ?? Data()))))
        }
        _ = try await builder.execute([.certifyBlob(blob: objectID, certificate: CommitteeCertificate(message: message, signatures: signatures, memberCount: 3))])

        // The node losing the most shards goes down before the change: its shards must be recovered.
        let others = (0..<3).filter { $0 != gainer }
        let down = others.max { weights[$0] < weights[$1] }!
        let alive = others.first { $0 != down }!
        chain.killStorageNode(down)

        try await chain.waitUntil("epoch 2 to start", timeoutSeconds: 40) { (try? await client.epochInfo().epoch) == Epoch(2) }
        try await chain.waitUntil("the epoch change to finish", timeoutSeconds: 60) { (try? await client.epochInfo().state) == "changeDone" }
        let next = try await client.committee()
        #expect(next.epoch == Epoch(2))
        let gained = next.members.first { $0.publicKey == keys[gainer] }!.weight
        #expect(gained > weights[gainer])

        // Every pair is readable from its new owner (the node that is down excepted), byte for byte.
        for p in 0..<10 where owner(next, p) != down {
            let node = owner(next, p)
            try await chain.waitUntil("pair \(p) on node \(node)") { (try? await R.request(url(node, "slivers/\(p)/secondary")))?.status == 200 }
            let primary = try await R.request(url(node, "slivers/\(p)/primary"))
            #expect(try SliverData(bcs: Array(primary.body), axis: .primary) == encoded.sliverPair(SliverPairIndex(UInt16(p))).primary)
        }
        // The live previous owner still serves the shards it gave up (read-only).
        let givenUp = (0..<10).filter { owner(committee, $0) == alive && owner(next, $0) != alive }
        for p in givenUp { #expect(try await R.request(url(alive, "slivers/\(p)/primary")).status == 200) }
        // A write to a shard given up is refused.
        if let p = givenUp.first {
            #expect(try await R.request(url(alive, "slivers/\(p)/primary"), "PUT", body: encoded.sliverPair(SliverPairIndex(UInt16(p))).primary.bcsBytes()).reason == "SHARD_NOT_ASSIGNED")
        }
    }

    /// Runs `body` on every item with at most `width` running at once.
    static func concurrently<T: Sendable>(_ items: [T], width: Int = 12, _ body: @escaping @Sendable (T) async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            var iterator = items.makeIterator()
            for _ in 0..<width {
                if let item = iterator.next() { group.addTask { await body(item) } }
            }
            while await group.next() != nil {
                if let item = iterator.next() { group.addTask { await body(item) } }
            }
        }
    }

    /// A hand-over of 1,000 blobs: 600 certified permanent ones, 100 certified and then marked
    /// invalid by the committee, 150 registered and uploaded but never certified, and 150
    /// deletable ones certified and then deleted. After the epoch change, the node that gained
    /// shards (from a live owner and from one that is down) holds both slivers of every valid
    /// certified blob on every pair of its new shards, nothing of the invalid, deleted or
    /// uncertified ones there, and the change completes only once it does.
    @Test(.timeLimit(.minutes(5))) func aThousandBlobsChangeHands() async throws {
        let (chain, client, committee, keys, weights, gainer, builder) = try await Self.shardsAboutToMove(epochDurationMs: 45_000)
        let config = try EncodingConfig(shardCount: 10)
        let blobs = try (0..<1000).map { i in try BlobEncoder(config: config).encode(Array("blob \(i) of the hand-over".utf8)) }
        let deletable = Set(850..<1000), uncertified = Set(700..<850), invalid = Array(600..<700)
        // Register: 32 a transaction.
        var objects: [ObjectID] = []
        for start in stride(from: 0, to: blobs.count, by: 32) {
            let operations: [LedgerOperation] = (start..<min(start + 32, blobs.count)).map { i in
                .registerBlob(
                    storage: .reserve(epochs: 5), blobID: blobs[i].blobID, rootHash: blobs[i].metadata.metadata.rootHash.bytes,
                    size: blobs[i].metadata.metadata.unencodedLength, encodingType: 1, deletable: deletable.contains(i))
            }
            let outcome = try await builder.execute(operations)
            for case let .blobRegistered(_, _, _, _, _, _, objectID) in outcome.events { objects.append(objectID) }
        }
        #expect(objects.count == blobs.count)
        let registrations = objects
        @Sendable func owner(_ c: CommitteeInfo, _ blob: EncodedBlob, _ p: Int) -> Int {
            let shard = SliverPairIndex(UInt16(p)).shardIndex(rotationOffset: blob.blobID.rotationOffset(shardCount: 10), shardCount: 10)
            return keys.firstIndex(of: c.owner(of: shard)!.publicKey)!
        }
        let last = blobs[blobs.count - 1].blobID
        for node in 0..<3 {
            try await chain.waitUntil("node \(node) to see the registrations") {
                ((try? await R.request(chain.storageURL(node).appendingPathComponent("v1/blobs/\(last)/status")))?.data as? [String: Any]) != nil
            }
        }
        // Upload metadata to every node and each pair to its owner.
        let urls = (0..<3).map { chain.storageURL($0) }
        await Self.concurrently(Array(0..<blobs.count)) { i in
            let blob = blobs[i]
            for node in 0..<3 {
                _ = try? await R.request(urls[node].appendingPathComponent("v1/blobs/\(blob.blobID)/metadata"), "PUT", body: blob.metadata.metadata.bcsBytes)
            }
            for p in 0..<10 {
                let pair = blob.sliverPair(SliverPairIndex(UInt16(p)))
                let base = urls[owner(committee, blob, p)].appendingPathComponent("v1/blobs/\(blob.blobID)/slivers/\(p)")
                _ = try? await R.request(base.appendingPathComponent("primary"), "PUT", body: pair.primary.bcsBytes())
                _ = try? await R.request(base.appendingPathComponent("secondary"), "PUT", body: pair.secondary.bcsBytes())
            }
        }
        // Certify all but the uncertified: confirmations from every node, 32 certifications a transaction.
        let toCertify = (0..<blobs.count).filter { !uncertified.contains($0) }
        let certificates = Mutex<[Int: CommitteeCertificate]>([:])
        let indices = keys.map { key in committee.members.firstIndex { $0.publicKey == key }! }
        await Self.concurrently(toCertify) { i in
            var signatures: [(member: Int, signature: Schnorr.Signature)] = []
            var message: [UInt8] = []
            for node in 0..<3 {
                let path = deletable.contains(i) ? "confirmation/deletable/\(registrations[i])" : "confirmation/permanent"
                guard let answer = try? await R.request(urls[node].appendingPathComponent("v1/blobs/\(blobs[i].blobID)/\(path)")),
                    let signed = (answer.data as? [String: Any])?["signed"] as? [String: Any],
                    let serialized = Data(base64Encoded: signed["serializedMessage"] as? String ?? ""),
                    let signature = try? Schnorr.Signature(bytes: Array(Data(base64Encoded: signed["signature"] as? String ?? "") ?? Data()))
                else { continue }
                message = Array(serialized)
                signatures.append((indices[node], signature))
            }
            certificates.withLock { $0[i] = CommitteeCertificate(message: message, signatures: signatures, memberCount: 3) }
        }
        let certified = certificates.withLock { $0 }
        #expect(certified.count == toCertify.count)
        for start in stride(from: 0, to: toCertify.count, by: 32) {
            let batch = toCertify[start..<min(start + 32, toCertify.count)]
            _ = try await builder.execute(batch.map { .certifyBlob(blob: objects[$0], certificate: certified[$0]!) })
        }
        let deleted = Array(deletable)
        for start in stride(from: 0, to: deleted.count, by: 32) {
            _ = try await builder.execute(deleted[start..<min(start + 32, deleted.count)].map { .deleteBlob(blob: objects[$0]) })
        }
        // The committee (all three nodes) signs that 100 certified blobs are invalid.
        let nodeKeys = try (0..<3).map { try chain.storageNodeKey($0) }
        for start in stride(from: 0, to: invalid.count, by: 25) {
            _ = try await builder.execute(invalid[start..<min(start + 25, invalid.count)].map { i in
                let message = InvalidBlobIDMessage(epoch: Epoch(1), blobID: blobs[i].blobID).intentMessage.serialized
                return .invalidateBlob(certificate: CommitteeCertificate(
                    message: message, signatures: (0..<3).map { (indices[$0], nodeKeys[$0].sign(message)) }, memberCount: committee.members.count))
            })
        }
        for i in invalid.prefix(3) { #expect(try await client.registrations(blobs[i].blobID).invalid) }

        // The node losing the most shards goes down; the epoch changes.
        let others = (0..<3).filter { $0 != gainer }
        let down = others.max { weights[$0] < weights[$1] }!
        chain.killStorageNode(down)
        try await chain.waitUntil("epoch 2 to start", timeoutSeconds: 90) { (try? await client.epochInfo().epoch) == Epoch(2) }
        try await chain.waitUntil("the epoch change to finish", timeoutSeconds: 120) { (try? await client.epochInfo().state) == "changeDone" }
        let next = try await client.committee()
        let gained = Set(next.members.first { $0.publicKey == keys[gainer] }!.shards).subtracting(committee.members.first { $0.publicKey == keys[gainer] }!.shards)
        #expect(!gained.isEmpty)

        // Every certified, undeleted, valid blob: both slivers on every gained pair. Invalid, deleted
        // and uncertified ones: nothing there.
        let permanentCount = 600
        let missing = Mutex(0), unexpected = Mutex(0)
        await Self.concurrently(Array(0..<blobs.count)) { i in
            let blob = blobs[i]
            let offset = blob.blobID.rotationOffset(shardCount: 10)
            for shard in gained {
                let p = shard.pairIndex(rotationOffset: offset, shardCount: 10).rawValue
                for axis in ["primary", "secondary"] {
                    let answer = try? await R.request(urls[gainer].appendingPathComponent("v1/blobs/\(blob.blobID)/slivers/\(p)/\(axis)/status"))
                    let stored = answer?.data as? String == "stored"
                    if i < permanentCount && !stored { missing.withLock { $0 += 1 } }
                    if i >= permanentCount && stored { unexpected.withLock { $0 += 1 } }
                }
            }
        }
        #expect(missing.withLock { $0 } == 0, "\(missing.withLock { $0 }) slivers of certified blobs are missing on the gained shards")
        #expect(unexpected.withLock { $0 } == 0, "\(unexpected.withLock { $0 }) slivers of invalid, deleted or uncertified blobs were handed over")
    }
}
