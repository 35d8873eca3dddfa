import ChainClient
import Foundation
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

    @Test(.timeLimit(.minutes(3))) func shardsMoveAtTheEpochChange() async throws {
        let chain = try LocalChain(validators: 1, storageNodes: 3, shards: 10, epochDurationMs: 12_000)
        try chain.start(0)
        let client = ChainClient(endpoints: [chain.rpc(0)])
        try await chain.waitUntil("the chain") { (await chain.height(0) ?? 0) >= 1 }
        // Before the midpoint of epoch 1: a large stake for the lightest node moves shards to it.
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
}
