import ChainClient
import Foundation
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

    func enqueue(_ blobID: BlobID) {
        guard queued.insert(blobID).inserted else { return }
        queue.append(blobID)
    }

    var pending: Int { queue.count }

    func run() async {
        var backoffMs: UInt64 = 200
        while running {
            guard !queue.isEmpty else {
                try? await Task.sleep(nanoseconds: 100_000_000)
                continue
            }
            let blobID = queue.removeFirst()
            if await recover(blobID) {
                queued.remove(blobID)
                backoffMs = 200
            } else {
                queue.append(blobID)  // Not yet possible (peers lack data or are down): later.
                try? await Task.sleep(nanoseconds: backoffMs * 1_000_000)
                backoffMs = min(backoffMs * 2, 5000)
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
            for shard in await state.ownShards where !store.hasSliver(axis, shard: shard, blobID: blobID) {
                let pair = shard.pairIndex(rotationOffset: offset, shardCount: n)
                let target = axis == .primary ? pair.primarySliverIndex : pair.secondarySliverIndex(shardCount: n)
                let symbols = await localSymbols(blobID, target: target, axis: axis, n: n, config: config)
                    + (await remoteSymbols(blobID, target: target, axis: axis))
                switch try? SliverRecovery(config: config, metadata: metadata).recover(axis, target: target, from: symbols) {
                case .recovered(let sliver)?:
                    do {
                        try store.putSliver(axis, shard: shard, blobID: blobID, bytes: sliver.bcsBytes())
                        recovered += 1
                    } catch { complete = false }
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

    /// Symbols from this node's own slivers of the orthogonal axis.
    private func localSymbols(_ blobID: BlobID, target: SliverIndex, axis: SliverAxis, n: UInt16, config: EncodingConfig) async -> [RecoverySymbol] {
        var symbols: [RecoverySymbol] = []
        for shard in await state.ownShards {
            guard let bytes = store.sliver(axis.orthogonal, shard: shard, blobID: blobID),
                let sliver = try? SliverData(bcs: bytes, axis: axis.orthogonal)
            else { continue }
            symbols.append(RecoverySymbolSource(sliver: sliver, config: config).symbol(for: target))
        }
        return symbols
    }

    private func peers() async -> [URL] {
        let me = state.key.publicKey
        return await state.committee.members.filter { $0.publicKey != me }.compactMap { URL(string: "http://\($0.networkAddress)") }
    }

    private func remoteSymbols(_ blobID: BlobID, target: SliverIndex, axis: SliverAxis) async -> [RecoverySymbol] {
        var symbols: [RecoverySymbol] = []
        for peer in await peers() {
            let url = peer.appendingPathComponent("v1/blobs/\(blobID)/recoverySymbols")
            guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { continue }
            components.queryItems = [URLQueryItem(name: "targetSliver", value: String(target.rawValue)), URLQueryItem(name: "targetType", value: "\(axis)")]
            guard let (data, response) = try? await session.data(from: components.url!), (response as? HTTPURLResponse)?.statusCode == 200 else { continue }
            var reader = BCSReader(Array(data))
            if let list = try? reader.readSequence(of: RecoverySymbol.self, max: Int(Limits.shardCountMax), minElementBytes: 8) { symbols += list }
        }
        return symbols
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
