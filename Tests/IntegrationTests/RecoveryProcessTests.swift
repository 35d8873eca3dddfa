import ChainClient
import Foundation
import Ledger
import RedStuff
@testable import StorageNode
import Testing
import WalrusCore
import WalrusCrypto

/// Self-healing: a storage node that missed the upload, and one whose data directory was wiped,
/// recover all their slivers after certification from the other nodes' recovery symbols.
@Suite(.serialized) struct RecoveryProcessTests {
    typealias R = StorageNodeTests

    /// One validator and three running storage nodes sharing ten shards (4, 3, 3): the chain, a
    /// client, the committee, the nodes' keys and weights in node order.
    static func threeNodes() async throws -> (LocalChain, ChainClient, CommitteeInfo, [Schnorr.PublicKey], [UInt64]) {
        let chain = try LocalChain(validators: 1, storageNodes: 3, shards: 10)
        try chain.start(0)
        try await chain.waitUntil("the chain") { (await chain.height(0) ?? 0) >= 1 }
        for i in 0..<3 { try chain.startStorageNode(i) }
        for i in 0..<3 {
            try await chain.waitUntil("storage node \(i)") { (try? await R.request(chain.storageURL(i).appendingPathComponent("v1/health")))?.status == 200 }
        }
        let client = ChainClient(endpoints: [chain.rpc(0)])
        let committee = try await client.committee()
        let keys = try (0..<3).map { try chain.storageNodeKey($0).publicKey }
        let weights = keys.map { key in committee.members.first { $0.publicKey == key }!.weight }
        return (chain, client, committee, keys, weights)
    }

    /// Registers a 1 MB blob (slivers of 150-260 KB, so that nodes keep them in sliver files),
    /// uploads it to every node but `left`, and certifies it with their confirmations. Returns the
    /// encoding and which node owns each sliver pair.
    static func certifyWithout(
        _ left: Int, _ chain: LocalChain, _ client: ChainClient, _ committee: CommitteeInfo, _ keys: [Schnorr.PublicKey]
    ) async throws -> (EncodedBlob, (Int) -> Int) {
        let config = try EncodingConfig(shardCount: 10)
        let encoded = try BlobEncoder(config: config).encode((0..<1_000_000).map { UInt8(($0 * 7) % 256) })
        let blobID = encoded.blobID
        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        let registered = try await builder.execute([.registerBlob(
            storage: .reserve(epochs: 3), blobID: blobID, rootHash: encoded.metadata.metadata.rootHash.bytes,
            size: encoded.metadata.metadata.unencodedLength, encodingType: 1, deletable: false)])
        guard case .blobRegistered(_, _, _, _, _, _, let objectID)? = registered.events.first else { throw NotRegistered() }

        let offset = blobID.rotationOffset(shardCount: 10)
        @Sendable func owner(_ p: Int) -> Int {
            let shard = SliverPairIndex(UInt16(p)).shardIndex(rotationOffset: offset, shardCount: 10)
            return keys.firstIndex(of: committee.owner(of: shard)!.publicKey)!
        }
        func url(_ node: Int, _ path: String) -> URL { chain.storageURL(node).appendingPathComponent("v1/blobs/\(blobID)/\(path)") }
        let uploaders = (0..<3).filter { $0 != left }
        for node in uploaders {
            try await chain.waitUntil("registration seen by \(node)") { ((try? await R.request(url(node, "status")))?.data as? [String: Any]) != nil }
            #expect(try await R.request(url(node, "metadata"), "PUT", body: encoded.metadata.metadata.bcsBytes).status == 201)
        }
        for p in 0..<10 where owner(p) != left {
            let pair = encoded.sliverPair(SliverPairIndex(UInt16(p)))
            #expect(try await R.request(url(owner(p), "slivers/\(p)/primary"), "PUT", body: pair.primary.bcsBytes()).status == 201)
            #expect(try await R.request(url(owner(p), "slivers/\(p)/secondary"), "PUT", body: pair.secondary.bcsBytes()).status == 201)
        }
        var signatures: [(member: Int, signature: Schnorr.Signature)] = []
        var message: [UInt8] = []
        for node in uploaders {
            let signed = ((try await R.request(url(node, "confirmation/permanent"))).data as? [String: Any])?["signed"] as? [String: Any]
            message = Array(Data(base64Encoded: signed?["serializedMessage"] as? String ?? "") ?? Data())
            let signature = try Schnorr.Signature(bytes: Array(Data(base64Encoded: signed?["signature"] as? String ?? "") ?? Data()))
            signatures.append((committee.members.firstIndex { $0.publicKey == keys[node] }!, signature))
        }
        _ = try await builder.execute([.certifyBlob(blob: objectID, certificate: CommitteeCertificate(message: message, signatures: signatures, memberCount: 3))])
        return (encoded, owner)
    }

    struct NotRegistered: Error {}

    /// Whether `node` serves both slivers of every pair in `pairs` of `blobID`.
    static func holdsEverything(_ chain: LocalChain, _ node: Int, _ blobID: BlobID, _ pairs: [Int]) async -> Bool {
        for p in pairs {
            for axis in ["primary", "secondary"] {
                let url = chain.storageURL(node).appendingPathComponent("v1/blobs/\(blobID)/slivers/\(p)/\(axis)")
                guard let answer = try? await R.request(url), answer.status == 200 else { return false }
            }
        }
        return true
    }

    @Test(.timeLimit(.minutes(3))) func missedAndWipedNodesRecover() async throws {
        let (chain, client, committee, keys, weights) = try await Self.threeNodes()
        // Upload to the two heaviest nodes (a quorum), leave the lightest out.
        let left = weights.firstIndex(of: weights.min()!)!
        let uploaders = (0..<3).filter { $0 != left }
        #expect(uploaders.reduce(UInt64(0)) { $0 + weights[$1] } >= 7)

        let (encoded, owner) = try await Self.certifyWithout(left, chain, client, committee, keys)
        let blobID = encoded.blobID
        let offset = blobID.rotationOffset(shardCount: 10)
        func url(_ node: Int, _ path: String) -> URL { chain.storageURL(node).appendingPathComponent("v1/blobs/\(blobID)/\(path)") }

        // The node that missed the upload rebuilds its pairs after the certification.
        let mine = (0..<10).filter { owner($0) == left }
        #expect(!mine.isEmpty)
        func holdsEverything(_ node: Int, _ pairs: [Int]) async -> Bool { await Self.holdsEverything(chain, node, blobID, pairs) }
        try await chain.waitUntil("the missed node to recover", timeoutSeconds: 60) { await holdsEverything(left, mine) }
        for p in mine {
            let answer = try await R.request(url(left, "slivers/\(p)/primary"))
            #expect(try SliverData(bcs: Array(answer.body), axis: .primary) == encoded.sliverPair(SliverPairIndex(UInt16(p))).primary)
        }
        // It now confirms too.
        #expect(try await R.request(url(left, "confirmation/permanent")).status == 200)

        // A sliver file damaged on disk (one flipped bit) is not served: the next read finds it
        // fails its checksum, the node drops it and rebuilds it by recovery.
        let victim = uploaders[1]
        let victimPair = try #require((0..<10).first { owner($0) == victim })
        let victimShard = SliverPairIndex(UInt16(victimPair)).shardIndex(rotationOffset: offset, shardCount: 10)
        let file = chain.directory.appendingPathComponent("storage-node-\(victim)/data/slivers/" + SliverStore.fileName(.primary, victimShard, blobID))
        var bytes = try Data(contentsOf: file)
        bytes[5_000] ^= 0x04
        try bytes.write(to: file)
        #expect(try await R.request(url(victim, "slivers/\(victimPair)/primary")).status == 404)
        try await chain.waitUntil("the damaged sliver to be rebuilt", timeoutSeconds: 60) {
            (try? await R.request(url(victim, "slivers/\(victimPair)/primary")))?.status == 200
        }
        let rebuilt = try await R.request(url(victim, "slivers/\(victimPair)/primary"))
        #expect(try SliverData(bcs: Array(rebuilt.body), axis: .primary) == encoded.sliverPair(SliverPairIndex(UInt16(victimPair))).primary)

        // A node whose data directory is wiped replays the chain's events and recovers everything.
        let wiped = uploaders[0]
        chain.killStorageNode(wiped)
        try FileManager.default.removeItem(at: chain.directory.appendingPathComponent("storage-node-\(wiped)/data"))
        try chain.startStorageNode(wiped)
        let wipedPairs = (0..<10).filter { owner($0) == wiped }
        try await chain.waitUntil("the wiped node to recover", timeoutSeconds: 60) { await holdsEverything(wiped, wipedPairs) }
        for p in wipedPairs {
            let answer = try await R.request(url(wiped, "slivers/\(p)/secondary"))
            #expect(try SliverData(bcs: Array(answer.body), axis: .secondary) == encoded.sliverPair(SliverPairIndex(UInt16(p))).secondary)
        }
    }

    /// The left-out node's disk is full when the blob is certified: its recovery cannot store what
    /// it rebuilds, and says so in its log. It is restarted (it will not see the certification
    /// again) and given space: the recovery it had pending resumes and completes.
    @Test(.timeLimit(.minutes(3)), .enabled(if: TinyFilesystem.available, "mounting a tmpfs needs root"))
    func recoveryStoppedByAFullDiskResumesAfterARestart() async throws {
        let (chain, client, committee, keys, weights) = try await Self.threeNodes()
        let left = weights.firstIndex(of: weights.min()!)!
        chain.killStorageNode(left)
        let disk = try TinyFilesystem(at: chain.directory.appendingPathComponent("storage-node-\(left)/data/slivers").path, bytes: 128 << 10)
        defer { disk.unmount() }
        try LocalChain.disableFreeSpaceReserve(home: chain.directory.appendingPathComponent("storage-node-\(left)"))
        try chain.startStorageNode(left)
        try await chain.waitUntil("node \(left) restarted") { (try? await R.request(chain.storageURL(left).appendingPathComponent("v1/health")))?.status == 200 }

        let (encoded, owner) = try await Self.certifyWithout(left, chain, client, committee, keys)
        let log = chain.directory.appendingPathComponent("storage-node-\(left).log")
        try await chain.waitUntil("the full disk in node \(left)'s log", timeoutSeconds: 60) {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("recovery cannot store rebuilt slivers")
        }
        let mine = (0..<10).filter { owner($0) == left }
        #expect(await !Self.holdsEverything(chain, left, encoded.blobID, mine))

        chain.killStorageNode(left)
        try chain.startStorageNode(left)
        try disk.resize(bytes: 16 << 20)
        try await chain.waitUntil("the resumed recovery", timeoutSeconds: 60) { await Self.holdsEverything(chain, left, encoded.blobID, mine) }
        for p in mine {
            let answer = try await R.request(chain.storageURL(left).appendingPathComponent("v1/blobs/\(encoded.blobID)/slivers/\(p)/secondary"))
            #expect(try SliverData(bcs: Array(answer.body), axis: .secondary) == encoded.sliverPair(SliverPairIndex(UInt16(p))).secondary)
        }
    }

    @Test(.timeLimit(.minutes(3))) func aMaliciouslyEncodedBlobEndsUpInvalidEverywhere() async throws {
        let (chain, client, committee, keys, weights) = try await Self.threeNodes()
        let left = weights.firstIndex(of: weights.min()!)!
        let uploaders = (0..<3).filter { $0 != left }

        // An honest encoding, then one secondary sliver of a pair the left-out node holds is
        // altered and the metadata commits to the altered sliver's own expansion.
        let config = try EncodingConfig(shardCount: 10)
        let honest = try BlobEncoder(config: config).encode((0..<20_000).map { UInt8(($0 * 13) % 256) })
        var hashes = honest.metadata.metadata.hashes
        // The blob ID decides the placement, so pick the altered pair after trying the candidates.
        var chosen: (pair: Int, metadata: BlobMetadata)?
        for p in 0..<10 where chosen == nil {
            let original = honest.secondarySliver(SliverIndex(UInt16(9 - p)))
            var symbols = original.symbols
            symbols[0] ^= 0x5a
            let altered = SliverData(axis: .secondary, index: original.index, symbolSize: original.symbolSize, symbols: symbols)
            hashes = honest.metadata.metadata.hashes
            hashes[p] = SliverPairMetadata(primaryHash: hashes[p].primaryHash, secondaryHash: altered.merkleRoot(config: config))
            let metadata = BlobMetadata(unencodedLength: honest.metadata.metadata.unencodedLength, hashes: hashes)
            let shard = SliverPairIndex(UInt16(p)).shardIndex(rotationOffset: metadata.blobID.rotationOffset(shardCount: 10), shardCount: 10)
            if committee.owner(of: shard)!.publicKey == keys[left] { chosen = (p, metadata) }
        }
        guard let (alteredPair, metadata) = chosen else { Issue.record("no pair of the left-out node could be altered"); return }
        let blobID = metadata.blobID
        let offset = blobID.rotationOffset(shardCount: 10)
        func owner(_ p: Int) -> Int {
            keys.firstIndex(of: committee.owner(of: SliverPairIndex(UInt16(p)).shardIndex(rotationOffset: offset, shardCount: 10))!.publicKey)!
        }
        func url(_ node: Int, _ path: String) -> URL { chain.storageURL(node).appendingPathComponent("v1/blobs/\(blobID)/\(path)") }

        let builder = TransactionBuilder(key: try chain.walletKey(), chainID: "walrus-test", client: client)
        let registered = try await builder.execute([.registerBlob(
            storage: .reserve(epochs: 3), blobID: blobID, rootHash: metadata.rootHash.bytes, size: metadata.unencodedLength, encodingType: 1, deletable: false)])
        guard case .blobRegistered(_, _, _, _, _, _, let objectID)? = registered.events.first else { Issue.record("not registered"); return }
        for node in uploaders {
            try await chain.waitUntil("registration seen") { ((try? await R.request(url(node, "status")))?.data as? [String: Any]) != nil }
            #expect(try await R.request(url(node, "metadata"), "PUT", body: metadata.bcsBytes).status == 201)
        }
        for p in 0..<10 where owner(p) != left {
            #expect(p != alteredPair)
            let pair = honest.sliverPair(SliverPairIndex(UInt16(p)))
            #expect(try await R.request(url(owner(p), "slivers/\(p)/primary"), "PUT", body: pair.primary.bcsBytes()).status == 201)
            #expect(try await R.request(url(owner(p), "slivers/\(p)/secondary"), "PUT", body: pair.secondary.bcsBytes()).status == 201)
        }
        var signatures: [(member: Int, signature: Schnorr.Signature)] = []
        var message: [UInt8] = []
        for node in uploaders {
            let signed = ((try await R.request(url(node, "confirmation/permanent"))).data as? [String: Any])?["signed"] as? [String: Any]
            message = Array(Data(base64Encoded: signed?["serializedMessage"] as? String ?? "") ?? Data())
            signatures.append((committee.members.firstIndex { $0.publicKey == keys[node] }!,
                               try Schnorr.Signature(bytes: Array(Data(base64Encoded: signed?["signature"] as? String ?? "") ?? Data()))))
        }
        _ = try await builder.execute([.certifyBlob(blob: objectID, certificate: CommitteeCertificate(message: message, signatures: signatures, memberCount: 3))])

        // The left-out node's recovery finds the inconsistency; the blob becomes invalid on chain.
        try await chain.waitUntil("the blob to be invalid on chain", timeoutSeconds: 60) {
            (await chain.get(0, "v1/blobs/\(blobID)"))?["invalid"] as? Bool == true
        }
        // Every node marks it invalid and deletes its slivers.
        for node in 0..<3 {
            try await chain.waitUntil("node \(node) to mark it invalid") {
                ((try? await R.request(url(node, "status")))?.data as? [String: Any])?["invalid"] != nil
            }
        }
        for node in uploaders {
            let p = (0..<10).first { owner($0) == node }!
            try await chain.waitUntil("node \(node) to delete the slivers") {
                (try? await R.request(url(node, "metadata/status")))?.data as? String == "nonexistent"
            }
            #expect(try await R.request(url(node, "slivers/\(p)/primary")).reason == "BLOB_INVALID")
        }
    }
}
