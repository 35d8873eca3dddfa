import Logging
import ChainClient
import Foundation
import HTTPKit
import KVStore
import ChainTypes
import RedStuff
import WalrusCore
import WalrusCrypto

/// What a node does at an epoch change: pull the shards it gained from their previous owners (or
/// recover them when an owner is unreachable), check every gained shard against every blob
/// certified on chain (anything still missing goes to recovery), and report its shards synced on
/// chain only once they are complete.
actor HandOver {
    let state: NodeState
    let store: SliverStore
    let recovery: RecoveryWorker
    let builder: TransactionBuilder?
    private let http: HTTPClient
    private(set) var inTransfer: Set<ShardIndex> = []
    private(set) var inRecovery: Set<ShardIndex> = []
    private var reported: Set<Epoch> = []

    init(state: NodeState, store: SliverStore, recovery: RecoveryWorker, builder: TransactionBuilder?, http: HTTPClient) {
        self.state = state
        self.store = store
        self.recovery = recovery
        self.builder = builder
        self.http = http
    }

    func epochChanged(to committee: CommitteeInfo, previous: CommitteeInfo) async {
        let me = state.key.publicKey
        let now = Set(committee.members.first { $0.publicKey == me }?.shards ?? [])
        let before = Set(previous.members.first { $0.publicKey == me }?.shards ?? [])
        let gained = now.subtracting(before).sorted()
        inTransfer = Set(gained)
        for shard in gained {
            if let owner = previous.owner(of: shard), owner.publicKey != me {
                var synced = false
                for attempt in 0..<3 where !synced {
                    synced = await pull(shard, from: owner, epoch: committee.epoch)
                    if !synced { try? await Task.sleep(nanoseconds: UInt64(200 << attempt) * 1_000_000) }
                }
            }
            inTransfer.remove(shard)
        }
        // Whatever the pull gave, the gained shards must hold both slivers of every blob certified
        // for this epoch; recovery rebuilds the rest (a previous owner that was down, a page that
        // failed, a sliver that did not verify).
        while await state.epoch == committee.epoch {
            let missing = missingBlobs(in: gained, epoch: committee.epoch)
            inRecovery = Set(missing.flatMap(\.shards))
            guard !missing.isEmpty else { break }
            for entry in missing { await recovery.enqueue(entry.blobID) }
            // Wait for those recoveries to finish or park, then check again.
            while await recovery.pending > 0, await state.epoch == committee.epoch { try? await Task.sleep(nanoseconds: 200_000_000) }
            if !missingBlobs(in: gained, epoch: committee.epoch).isEmpty {
                store.logger.warning("blobs of the shards gained are not recovered yet; retrying in 30 s before reporting the shards synced", metadata: ["blobs": "\(missing.count)", "epoch": "\(committee.epoch.rawValue)"])
                try? await Task.sleep(nanoseconds: 30_000_000_000)
                await recovery.retryParked()
            }
        }
        inRecovery = []
        guard await state.epoch == committee.epoch else { return }
        await reportSynced(committee)
    }

    /// Blobs certified at `epoch` for which some of `shards` lacks a sliver, with those shards.
    private func missingBlobs(in shards: [ShardIndex], epoch: Epoch) -> [(blobID: BlobID, shards: [ShardIndex])] {
        guard !shards.isEmpty else { return [] }
        return store.allBlobInfos().compactMap { blobID, info in
            guard info.isCertified(at: epoch) else { return nil }
            let lacking = shards.filter { !store.hasSliver(.primary, shard: $0, blobID: blobID) || !store.hasSliver(.secondary, shard: $0, blobID: blobID) }
            return lacking.isEmpty ? nil : (blobID, lacking)
        }
    }

    /// Pulls one shard's primary and secondary slivers of blobs certified before the new epoch,
    /// page after page until an empty one.
    private func pull(_ shard: ShardIndex, from owner: CommitteeMember, epoch: Epoch) async -> Bool {
        guard let base = owner.httpBase else { return false }
        for axis in [SliverAxis.primary, .secondary] {
            var start = BlobID(unchecked: [UInt8](repeating: 0, count: 32))
            while true {
                let request = SyncShardRequest(
                    shard: shard, axis: axis, startingBlobID: start, count: SyncShardRequest.countMax, epoch: epoch, recipient: owner.publicKey,
                    timestampMs: UInt64(Date().timeIntervalSince1970 * 1000))
                let message = IntentMessage(type: .syncShard, epoch: epoch, body: request)
                let signed = SignedRequest(serializedMessage: message.serialized, signature: state.key.sign(message))
                guard let response = try? await http.request(
                    .POST, "\(base)/v1/migrate/sync_shard", body: .bytes(signed.bcsBytes),
                    headers: [("authorization", Data(state.key.publicKey.bytes).base64EncodedString())],
                    timeoutSeconds: 60, responseBytesMax: SyncShardRequest.pageBytesMax),
                    response.status == 200
                else { return false }
                var reader = BCSReader(response.body)
                guard let count = try? reader.readLength(max: Int(SyncShardRequest.countMax)) else { return false }
                var last: BlobID?
                for _ in 0..<count {
                    guard let blobID = try? reader.read(BlobID.self), let bytes = try? reader.readBytes(max: SyncShardRequest.pageBytesMax),
                        blobID.bytes.lexicographicallyPrecedes(start.bytes) == false
                    else { return false }
                    last = blobID
                    guard await verifyAndStore(bytes, axis: axis, shard: shard, blobID: blobID) else { return false }
                }
                guard let last, last != BlobID.successor(of: last) else { break }
                start = BlobID.successor(of: last)
            }
        }
        return true
    }

    private func verifyAndStore(_ bytes: [UInt8], axis: SliverAxis, shard: ShardIndex, blobID: BlobID) async -> Bool {
        let n = await state.shardCount
        guard let metadata = store.metadata(blobID), let config = try? EncodingConfig(shardCount: n),
            let sliver = try? SliverData(bcs: bytes, axis: axis), (try? sliver.verify(against: metadata, config: config)) != nil
        else {
            // Without metadata or with a bad sliver, recovery rebuilds it instead.
            await recovery.enqueue(blobID)
            return true
        }
        let store = self.store
        return (try? await BlockingIO.run { () throws(KVError) in try store.putSliver(axis, shard: shard, blobID: blobID, bytes: bytes) }) != nil
    }

    private func reportSynced(_ committee: CommitteeInfo) async {
        guard let builder, !reported.contains(committee.epoch),
            let me = committee.members.first(where: { $0.publicKey == state.key.publicKey })
        else { return }
        for attempt in 0..<10 {
            do {
                _ = try await builder.execute([.epochSyncDone(node: me.nodeID, epoch: committee.epoch)])
                reported.insert(committee.epoch)
                return
            } catch {
                if error.ledgerCode == .duplicate || error.ledgerCode == .wrongEpochState {
                    reported.insert(committee.epoch)
                    return
                }
                try? await Task.sleep(nanoseconds: UInt64(200 << min(attempt, 5)) * 1_000_000)
            }
        }
    }
}

extension BlobID {
    /// The next blob ID in byte order (for paging), or the same one at the maximum.
    static func successor(of id: BlobID) -> BlobID {
        var bytes = id.bytes
        for i in stride(from: 31, through: 0, by: -1) {
            if bytes[i] < 0xff {
                bytes[i] += 1
                return BlobID(unchecked: bytes)
            }
            bytes[i] = 0
        }
        return id
    }
}
