import Metrics
import Logging
import ChainClient
import Dispatch
import Foundation
import HTTPKit
import KVStore
import RedStuff
import WalrusCore
import WalrusCrypto

/// Rebuilds the slivers a node should hold for certified blobs but lacks (it missed the upload, or
/// its data directory was wiped): secondary slivers first (they need only n_P symbols), then primary
/// ones, from recovery symbols of its own slivers and of other committee members, each verified
/// against the blob's metadata.
///
/// Bounded everywhere: a few blobs at a time; peers asked in waves just large enough to give the
/// symbols needed (in random order, so that recovering nodes spread their load), each request
/// small enough for the peer's answer cap; a failed blob waits a backoff with jitter and, after
/// `attemptsMax` failures, is parked and reported instead of retried for ever (parked blobs are
/// tried again at the next epoch change and after a restart, since their durable mark stays).
/// Coding and decoding run on the recovery pool, never on the threads that answer requests.
actor RecoveryWorker {
    let state: NodeState
    let store: SliverStore
    let invalidator: Invalidator?
    private let http: HTTPClient
    private var queue: [BlobID] = []
    private var queued: Set<BlobID> = []
    private var attempts: [BlobID: Int] = [:]
    /// When a failed blob may be tried again (uptime nanoseconds).
    private var notBefore: [BlobID: UInt64] = [:]
    private(set) var parked: Set<BlobID> = []
    private var running = true
    private(set) var recovered: UInt64 = 0
    static let recoveredCounter = Counter(label: "walrus_storage_recovered_slivers_total")
    private(set) var inconsistent: [BlobID: InconsistencyProof] = [:]
    let logger: Logger

    /// Blobs recovered at once (their network waits overlap).
    static let concurrentBlobsMax = 4
    /// Peers asked at once for one blob.
    static let concurrentPeersMax = 4
    /// Failed attempts before a blob is parked.
    static let attemptsMax = 8
    /// Timeout of one request to a peer.
    static let requestTimeoutSeconds = 10.0

    init(state: NodeState, store: SliverStore, invalidator: Invalidator?, http: HTTPClient, logger: Logger) {
        self.state = state
        self.store = store
        self.invalidator = invalidator
        self.http = http
        self.logger = logger
    }

    func stop() { running = false }

    /// Queues the blob's recovery. Unless `marked` (the caller already recorded it durably), it is
    /// recorded first, so that it survives a restart; it is cleared when the blob is complete.
    func enqueue(_ blobID: BlobID, marked: Bool = false) {
        if parked.remove(blobID) != nil { attempts[blobID] = 0 }
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

    /// Gives parked blobs another round of attempts (at an epoch change: peers and shards moved).
    func retryParked() {
        for blobID in parked { enqueue(blobID, marked: true) }
    }

    /// Blobs queued or being recovered, parked ones not included.
    var pending: Int { queued.count }

    func run() async {
        while running {
            let now = DispatchTime.now().uptimeNanoseconds
            var batch: [BlobID] = []
            var rest: [BlobID] = []
            for blobID in queue {
                if batch.count < Self.concurrentBlobsMax, notBefore[blobID].map({ $0 <= now }) ?? true { batch.append(blobID) } else { rest.append(blobID) }
            }
            guard !batch.isEmpty else {
                try? await Task.sleep(nanoseconds: 100_000_000)
                continue
            }
            queue = rest
            let outcomes = await withTaskGroup(of: (BlobID, Bool).self) { group in
                for blobID in batch { group.addTask { (blobID, await self.recover(blobID)) } }
                var results: [(BlobID, Bool)] = []
                for await result in group { results.append(result) }
                return results
            }
            for (blobID, done) in outcomes { finish(blobID, done: done) }
        }
    }

    private func finish(_ blobID: BlobID, done: Bool) {
        if done {
            queued.remove(blobID)
            attempts[blobID] = nil
            notBefore[blobID] = nil
            do { try store.recoveryDone(blobID) } catch { reportStoreFailure(error) }
            return
        }
        let failures = (attempts[blobID] ?? 0) + 1
        attempts[blobID] = failures
        if failures >= Self.attemptsMax {
            // Not recoverable now (too few peers hold it, or they refuse): reported, not retried
            // for ever. Its durable mark stays, so a restart or the next epoch tries again.
            queued.remove(blobID)
            notBefore[blobID] = nil
            parked.insert(blobID)
            logger.warning("cannot recover the blob; parked until the next epoch change or restart", metadata: ["blob_id": "\(blobID)", "attempts": "\(failures)"])
            return
        }
        // 200 ms doubling to 10 s, with ±50 % jitter so that nodes do not retry in step.
        let base = min(200 * (UInt64(1) << UInt64(min(failures - 1, 6))), 10_000)
        let jittered = base / 2 + UInt64.random(in: 0...base)
        notBefore[blobID] = DispatchTime.now().uptimeNanoseconds + jittered * 1_000_000
        queue.append(blobID)
    }

    /// Whether everything this node should hold of the blob is there (or no longer needed).
    private func recover(_ blobID: BlobID) async -> Bool {
        let epoch = await state.epoch
        guard let info = store.blobInfo(blobID), info.isCertified(at: epoch) else { return true }
        let n = await state.shardCount
        guard let config = try? EncodingConfig(shardCount: n) else { return true }
        guard let metadata = await metadata(blobID, n: n) else { return false }
        let offset = blobID.rotationOffset(shardCount: n)
        let owned = await state.ownShards
        var complete = true
        for axis in [SliverAxis.secondary, .primary] {
            let missing = owned.filter { !store.hasSliver(axis, shard: $0, blobID: blobID) }.map { shard -> (ShardIndex, SliverIndex) in
                let pair = shard.pairIndex(rotationOffset: offset, shardCount: n)
                return (shard, axis == .primary ? pair.primarySliverIndex : pair.secondarySliverIndex(shardCount: n))
            }
            guard !missing.isEmpty else { continue }
            switch await recoverAxis(blobID, axis: axis, missing: missing, config: config, metadata: metadata) {
            case .done: continue
            case .incomplete: complete = false
            case .invalid(let result): return result
            }
        }
        return complete
    }

    private enum AxisOutcome {
        case done
        case incomplete
        /// The blob is inconsistent; whether its invalidation is done.
        case invalid(Bool)
    }

    /// Rebuilds the missing slivers of one axis: the node's own symbols first, then peers' in waves
    /// until every target has enough symbols or no peer is left.
    private func recoverAxis(
        _ blobID: BlobID, axis: SliverAxis, missing: [(ShardIndex, SliverIndex)], config: EncodingConfig, metadata: BlobMetadata
    ) async -> AxisOutcome {
        let needed = config.symbolsForRecovery(axis)
        let symbolSize = (try? config.symbolSize(forLength: metadata.unencodedLength)) ?? 1
        var symbols = await localSymbols(blobID, targets: missing.map(\.1), axis: axis, config: config)
        var left = missing
        var peers = await peerList()
        while !left.isEmpty {
            // Decode the targets that have enough symbols; keep the rest for the next wave.
            let byTarget = Dictionary(grouping: symbols, by: \.targetIndex)
            var still: [(ShardIndex, SliverIndex)] = []
            for (shard, target) in left {
                let candidates = byTarget[target] ?? []
                guard Set(candidates.map(\.sourceIndex)).count >= needed else {
                    still.append((shard, target))
                    continue
                }
                switch await rebuild(blobID, axis: axis, shard: shard, target: target, candidates: candidates, config: config, metadata: metadata) {
                case .done: continue
                case .incomplete: still.append((shard, target))
                case .invalid(let result): return .invalid(result)
                }
            }
            left = still
            guard !left.isEmpty else { return .done }
            guard !peers.isEmpty, running else { return .incomplete }
            // The next wave: peers whose shards cover what the neediest target lacks, plus one.
            let have = left.map { target in Set((byTarget[target.1] ?? []).map(\.sourceIndex)).count }.min() ?? 0
            var covered = 0
            var wave: [CommitteeMember] = []
            while let peer = peers.first, covered < needed - have + 1 || wave.count < 1, wave.count < Self.concurrentPeersMax {
                peers.removeFirst()
                wave.append(peer)
                covered += peer.shards.count
            }
            symbols += await remoteSymbols(blobID, targets: left.map(\.1), axis: axis, from: wave, symbolSize: symbolSize, n: config.n)
        }
        return .done
    }

    /// Decodes one target on the recovery pool and stores it.
    private func rebuild(
        _ blobID: BlobID, axis: SliverAxis, shard: ShardIndex, target: SliverIndex, candidates: [RecoverySymbol], config: EncodingConfig,
        metadata: BlobMetadata
    ) async -> AxisOutcome {
        let outcome = await RecoveryCPU.pool.runWaiting {
            try? SliverRecovery(config: config, metadata: metadata).recover(axis, target: target, from: candidates)
        }
        switch outcome {
        case .recovered(let sliver)?:
            do {
                let (store, bytes) = (self.store, sliver.bcsBytes())
                try await BlockingIO.run { () throws(KVError) in try store.putSliver(axis, shard: shard, blobID: blobID, bytes: bytes) }
                recovered += 1
                RecoveryWorker.recoveredCounter.increment()
                return .done
            } catch {
                reportStoreFailure(error)
                return .incomplete
            }
        case .inconsistent(let proof)?:
            // The writer encoded the blob inconsistently: prove it to the committee and
            // invalidate it on chain; retried until that succeeds.
            inconsistent[blobID] = proof
            return .invalid(await invalidator?.invalidate(blobID, proof: proof) ?? true)
        case nil:
            return .incomplete  // Too few of the symbols verified.
        }
    }

    private var storeFailureLogged: (code: KVError.Code, at: Date)?

    /// Logs that a rebuilt sliver could not be stored (a full disk, most likely): once per kind of
    /// failure a minute, not once per sliver and retry.
    private func reportStoreFailure(_ error: KVError) {
        if let last = storeFailureLogged, last.code == error.code, Date().timeIntervalSince(last.at) < 60 { return }
        storeFailureLogged = (error.code, Date())
        store.logger.warning("recovery cannot store rebuilt slivers; retrying with backoff", metadata: ["reason": "\(error.message)"])
    }

    /// Symbols from this node's own slivers of the orthogonal axis, for every target, coded on the
    /// recovery pool.
    private func localSymbols(_ blobID: BlobID, targets: [SliverIndex], axis: SliverAxis, config: EncodingConfig) async -> [RecoverySymbol] {
        let shards = await state.readableShards
        let store = self.store
        return await RecoveryCPU.pool.runWaiting { store.recoverySymbols(blobID, for: targets, axis: axis, from: shards, config: config) }
    }

    /// The other committee members with a valid address, in random order.
    private func peerList() async -> [CommitteeMember] {
        let me = state.key.publicKey
        return await state.committee.members.filter { $0.publicKey != me && $0.httpBase != nil }.shuffled()
    }

    /// Symbols from the peers of one wave, asked in parallel, each in requests whose answers fit the
    /// peers' cap (`StorageAPI.recoverySymbolsBytesMax`).
    private func remoteSymbols(
        _ blobID: BlobID, targets: [SliverIndex], axis: SliverAxis, from peers: [CommitteeMember], symbolSize: Int, n: Int
    ) async -> [RecoverySymbol] {
        let http = self.http
        let perSymbol = StorageAPI.recoverySymbolBytes(symbolSize: symbolSize, n: n)
        return await withTaskGroup(of: [RecoverySymbol].self) { group in
            for peer in peers {
                guard let base = peer.httpBase else { continue }
                // The peer may also serve shards it held last epoch: leave room for twice its own.
                let perRequest = max(1, StorageAPI.recoverySymbolsBytesMax / max(1, 2 * peer.shards.count * perSymbol))
                group.addTask {
                    var symbols: [RecoverySymbol] = []
                    var start = 0
                    while start < targets.count {
                        let chunk = targets[start..<min(start + perRequest, targets.count)]
                        start += chunk.count
                        let list = chunk.map { String($0.rawValue) }.joined(separator: ",")
                        let url = "\(base)/v1/blobs/\(blobID)/recoverySymbols?targetSlivers=\(list)&targetType=\(axis)"
                        guard let response = try? await http.request(
                            .GET, url, timeoutSeconds: Self.requestTimeoutSeconds, responseBytesMax: StorageAPI.recoverySymbolsBytesMax + 4096),
                            response.status == 200
                        else { break }  // Down, busy or without the blob: the next wave asks others.
                        let part = response.withUnsafeBody { body -> [RecoverySymbol]? in
                            var reader = BCSReader(Array(body))
                            return try? reader.readSequence(of: RecoverySymbol.self, max: Int(Limits.shardCountMax) * chunk.count, minElementBytes: 8)
                        }
                        // Only symbols for what was asked count; the rest of a lying answer is dropped.
                        let asked = Set(chunk)
                        symbols += (part ?? []).filter { $0.targetAxis == axis && asked.contains($0.targetIndex) }
                    }
                    return symbols
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
        for peer in await peerList() {
            guard let base = peer.httpBase,
                let response = try? await http.request(.GET, "\(base)/v1/blobs/\(blobID)/metadata", timeoutSeconds: Self.requestTimeoutSeconds, responseBytesMax: 4 << 20),
                response.status == 200, let withID = try? BlobMetadataWithID.decode(bcs: response.body),
                withID.blobID == blobID, (try? withID.metadata.verify(against: blobID, shardCount: n)) != nil
            else { continue }
            let store = self.store
            _ = try? await BlockingIO.run { () throws(KVError) in try store.putMetadata(blobID, withID.metadata) }
            return withID.metadata
        }
        return nil
    }
}
