import ChainClient
import Foundation
import KVStore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RedStuff
import WalrusCore
import WalrusCrypto

/// Rebuilds the slivers a node should hold for certified blobs but lacks (it missed the upload, or
/// its data directory was wiped): secondary slivers first (they need only n_P symbols), then primary
/// ones, from recovery symbols of its own slivers and of other committee members, each verified
/// against the blob's metadata. Retries with backoff; bounded concurrency.
actor RecoveryWorker {
    let state: NodeState
    let store: SliverStore
    private var queue: [BlobID] = []
    private var queued: Set<BlobID> = []
    private var running = true
    private let session: URLSession
    private(set) var recovered: UInt64 = 0
    private(set) var inconsistent: [BlobID: InconsistencyProof] = [:]

    let invalidator: Invalidator?

    init(state: NodeState, store: SliverStore, invalidator: Invalidator?) {
        self.state = state
        self.store = store
        self.invalidator = invalidator
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        session = URLSession(configuration: configuration)
    }

    func stop() { running = false }

    /// Queues the blob's recovery. Unless `marked` (the caller already recorded it durably), it is
    /// recorded first, so that it survives a restart; it is cleared when the blob is complete.
    func enqueue(_ blobID: BlobID, marked: Bool = false) {
        guard queued.insert(blobID).inserted else { return }
        if !marked {
            do { try store.markRecovery(blobID) } catch { reportStoreFailure(error) }
        }
        queue.append(blobID)
    }

    /// Queues every recovery that was pending when the node last stopped.
    func resumePending() {
        for blobID in store.pendingRecoveries() { enqueue(blobID, marked: true) }
    }

    var pending: Int { queue.count }

    /// Blobs recovered at once (their network waits overlap).
    static let concurrentBlobsMax = 8

    func run() async {
        var backoffMs: UInt64 = 200
        while running {
            guard !queue.isEmpty else {
                try? await Task.sleep(nanoseconds: 100_000_000)
                continue
            }
            let batch = Array(queue.prefix(RecoveryWorker.concurrentBlobsMax))
            queue.removeFirst(batch.count)
            let outcomes = await withTaskGroup(of: (BlobID, Bool).self) { group in
                for blobID in batch { group.addTask { (blobID, await self.recover(blobID)) } }
                var results: [(BlobID, Bool)] = []
                for await result in group { results.append(result) }
                return results
            }
            var failed = false
            for (blobID, done) in outcomes {
                if done {
                    queued.remove(blobID)
                    do { try store.recoveryDone(blobID) } catch { reportStoreFailure(error) }
                } else {
                    queue.append(blobID)  // Not yet possible (peers lack data or are down): later.
                    failed = true
                }
            }
            if failed {
                try? await Task.sleep(nanoseconds: backoffMs * 1_000_000)
                backoffMs = min(backoffMs * 2, 5000)
            } else {
                backoffMs = 200
            }
        }
    }

    /// Whether everything this node should hold of the blob is there (or no longer needed).
    private func recover(_ blobID: BlobID) async -> Bool {
        let epoch = await state.epoch
        guard let info = store.blobInfo(blobID), info.isCertified(at: epoch) else { return true }
        let n = await state.shardCount
        guard let config = try? EncodingConfig(shardCount: n) else { return true }
        guard let metadata = await metadata(blobID, n: n) else { return false }
        let offset = blobID.rotationOffset(shardCount: n)
        var complete = true
        for axis in [SliverAxis.secondary, .primary] {
            let missing = await state.ownShards.filter { !store.hasSliver(axis, shard: $0, blobID: blobID) }.map { shard -> (ShardIndex, SliverIndex) in
                let pair = shard.pairIndex(rotationOffset: offset, shardCount: n)
                return (shard, axis == .primary ? pair.primarySliverIndex : pair.secondarySliverIndex(shardCount: n))
            }
            guard !missing.isEmpty else { continue }
            // All targets of this axis at once: each source sliver is expanded once.
            let targets = missing.map(\.1)
            let all = await localSymbols(blobID, targets: targets, axis: axis, config: config) + (await remoteSymbols(blobID, targets: targets, axis: axis))
            let byTarget = Dictionary(grouping: all, by: \.targetIndex)
            for (shard, target) in missing {
                let symbols = byTarget[target] ?? []
                switch try? SliverRecovery(config: config, metadata: metadata).recover(axis, target: target, from: symbols) {
                case .recovered(let sliver)?:
                    do {
                        let (store, bytes) = (self.store, sliver.bcsBytes())
                        try await BlockingIO.run { () throws(KVError) in try store.putSliver(axis, shard: shard, blobID: blobID, bytes: bytes) }
                        recovered += 1
                    } catch {
                        reportStoreFailure(error)
                        complete = false
                    }
                case .inconsistent(let proof)?:
                    // The writer encoded the blob inconsistently: prove it to the committee and
                    // invalidate it on chain; retried until that succeeds.
                    inconsistent[blobID] = proof
                    return await invalidator?.invalidate(blobID, proof: proof) ?? true
                case nil:
                    complete = false
                }
            }
        }
        return complete
    }

    private var storeFailureLogged: (code: KVError.Code, at: Date)?

    /// Logs that a rebuilt sliver could not be stored (a full disk, most likely): once per kind of
    /// failure a minute, not once per sliver and retry.
    private func reportStoreFailure(_ error: KVError) {
        if let last = storeFailureLogged, last.code == error.code, Date().timeIntervalSince(last.at) < 60 { return }
        storeFailureLogged = (error.code, Date())
        store.log("warning: recovery cannot store rebuilt slivers: \(error.message); retrying with backoff")
    }

    /// Symbols from this node's own slivers of the orthogonal axis, for every target.
    private func localSymbols(_ blobID: BlobID, targets: [SliverIndex], axis: SliverAxis, config: EncodingConfig) async -> [RecoverySymbol] {
        var symbols: [RecoverySymbol] = []
        for shard in await state.readableShards {
            guard let bytes = store.sliver(axis.orthogonal, shard: shard, blobID: blobID),
                let sliver = try? SliverData(bcs: bytes, axis: axis.orthogonal)
            else { continue }
            let source = RecoverySymbolSource(sliver: sliver, config: config)
            for target in targets { symbols.append(source.symbol(for: target)) }
        }
        return symbols
    }

    private func peers() async -> [URL] {
        let me = state.key.publicKey
        return await state.committee.members.filter { $0.publicKey != me }.compactMap { URL(string: "http://\($0.networkAddress)") }
    }

    /// Symbols from every peer, asked in parallel.
    private func remoteSymbols(_ blobID: BlobID, targets: [SliverIndex], axis: SliverAxis) async -> [RecoverySymbol] {
        let session = self.session
        let list = targets.map { String($0.rawValue) }.joined(separator: ",")
        let urls: [URL] = await peers().compactMap { peer in
            var components = URLComponents(url: peer.appendingPathComponent("v1/blobs/\(blobID)/recoverySymbols"), resolvingAgainstBaseURL: false)
            components?.queryItems = [URLQueryItem(name: "targetSlivers", value: list), URLQueryItem(name: "targetType", value: "\(axis)")]
            return components?.url
        }
        return await withTaskGroup(of: [RecoverySymbol].self) { group in
            for url in urls {
                group.addTask {
                    guard let (data, response) = try? await session.data(from: url), (response as? HTTPURLResponse)?.statusCode == 200 else { return [] }
                    var reader = BCSReader(Array(data))
                    return (try? reader.readSequence(of: RecoverySymbol.self, max: Int(Limits.shardCountMax), minElementBytes: 8)) ?? []
                }
            }
            var symbols: [RecoverySymbol] = []
            for await part in group { symbols += part }
            return symbols
        }
    }

    /// The blob's metadata: stored, or fetched from a peer and checked against the blob ID.
    private func metadata(_ blobID: BlobID, n: UInt16) async -> BlobMetadata? {
        if let stored = store.metadata(blobID) { return stored }
        for peer in await peers() {
            guard let (data, response) = try? await session.data(from: peer.appendingPathComponent("v1/blobs/\(blobID)/metadata")),
                (response as? HTTPURLResponse)?.statusCode == 200, let withID = try? BlobMetadataWithID.decode(bcs: Array(data)),
                withID.blobID == blobID, (try? withID.metadata.verify(against: blobID, shardCount: n)) != nil
            else { continue }
            try? store.putMetadata(blobID, withID.metadata)
            return withID.metadata
        }
        return nil
    }
}
