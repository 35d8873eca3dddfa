import ChainClient
import Foundation
import HTTPKit
import NIOCore
import NIOPosix
import RedStuff
import WalrusAPI
import WalrusCore
import WalrusCrypto

/// A running storage node: the sliver store, the chain follower and the REST API.
public final class StorageNode: Sendable {
    let store: SliverStore
    let state: NodeState
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel

    /// Starts the node; returns once it serves. Fails when the chain cannot be reached or the key
    /// is not a registered storage node.
    public static func start(_ config: StorageConfig, log: @escaping @Sendable (String) -> Void) async throws(StorageNodeError) -> StorageNode {
        let key: Schnorr.PrivateKey
        do { key = try KeyFile.load(from: config.keyFile) } catch { throw StorageNodeError(error.message) }
        let genesis: GenesisFile
        let validators: ValidatorSetBox
        do {
            genesis = try GenesisFile.load(config.genesisFile)
            validators = ValidatorSetBox(try genesis.validatorSet())
        } catch { throw StorageNodeError(error.message) }
        let endpoints = config.chainRPC.compactMap(URL.init(string:))
        guard !endpoints.isEmpty else { throw StorageNodeError("chain_rpc lists no validator RPC URL") }
        let client = ChainClient(endpoints: endpoints, timeoutSeconds: Double(config.chainTimeoutMs) / 1000)
        let committee: CommitteeInfo
        do {
            let health = try await client.health()
            guard health.genesisHash == Hex.encode(genesis.hash) else {
                throw StorageNodeError("the chain at \(config.chainRPC[0]) runs another genesis (\(health.genesisHash)); check genesis_file and chain_rpc")
            }
            // A chain that has just started has no signed block to check the committee against
            // yet: wait (bounded) for its first one.
            var waited = 0
            while try await client.health().height == 0, waited < 300 {
                try await Task.sleep(nanoseconds: 100_000_000)
                waited += 1
            }
            committee = try await client.verifiedCommittee(chainID: genesis.chainID, validators: validators.set)
        } catch let error as StorageNodeError { throw error } catch let error as ChainClientError where error.code == .verification {
            throw StorageNodeError("refusing the chain at \(config.chainRPC.joined(separator: ", ")): \(error.message); its answers do not match what the validators signed, so use another RPC")
        } catch {
            throw StorageNodeError("cannot reach the chain at \(config.chainRPC.joined(separator: ", ")): \(error); is it running?")
        }
        let store: SliverStore
        do { store = try SliverStore(directory: config.dataDir, reserveBytes: config.minFreeBytes, log: log) } catch { throw StorageNodeError(error.message) }
        let follower = VerifiedEventFollower(client: client, chainID: genesis.chainID, validators: validators.set, cursor: store.cursor())
        let state = NodeState(
            client: client, follower: follower, store: store, key: key, committee: committee, chainID: genesis.chainID, validators: validators.set, log: log)
        let peerHTTP = HTTPClient()
        var invalidator: Invalidator?
        var operatorBuilder: TransactionBuilder?
        if let operatorKey = try? KeyFile.load(from: config.operatorKeyFile) {
            let builder = TransactionBuilder(key: operatorKey, chainID: genesis.chainID, client: client)
            operatorBuilder = builder
            invalidator = Invalidator(state: state, builder: builder, http: peerHTTP)
        } else {
            log("warning: no operator key at \(config.operatorKeyFile): this node cannot submit invalidations")
        }
        let recovery = RecoveryWorker(state: state, store: store, invalidator: invalidator, http: peerHTTP, log: log)
        let collector = Collector(state: state, store: store)
        let handOver = HandOver(state: state, store: store, recovery: recovery, builder: operatorBuilder, http: peerHTTP)
        await state.setOnEpochChange { next, previous in
            await recovery.retryParked()
            await handOver.epochChanged(to: next, previous: previous)
        }
        await state.setOnCertified { blobID in await recovery.enqueue(blobID, marked: true) }
        store.onDamage { blobID in Task { await recovery.enqueue(blobID) } }
        let api = StorageAPI(state: state, store: store, key: key, handOver: handOver, recovery: recovery)
        // The largest legal body: a primary sliver of the largest symbols at this shard count.
        let n = committee.shardCount
        let bodyMax = (try? EncodingConfig(shardCount: max(n, 4)).secondarySourceSymbols).map { $0 * Int(Limits.symbolBytesMax) + 64 } ?? (64 << 20)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let server = HTTPServer(
            group: group, bodyBytesMax: bodyMax, checksumsBodies: true, limits: config.httpLimits,
            tooLarge: { HTTPResponse(status: .payloadTooLarge, contentType: "text/plain; charset=utf-8", body: Array("the body exceeds this route's limit of \($0) bytes".utf8)) },
            errors: HTTPResponse.walrusErrors(domain: APIErrorDomain.storageNode),
            admit: { StorageAPI.admission($0, sliverBytesMax: bodyMax) },
            router: { await api.handle($0) })
        let channel: any Channel
        do {
            let parts = config.listen.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]) else { throw StorageNodeError("listen is host:port, not \(config.listen)") }
            channel = try await server.listen(host: String(parts[0]), port: port)
        } catch let error as StorageNodeError {
            try? await group.shutdownGracefully()
            store.close()
            throw error
        } catch {
            try? await group.shutdownGracefully()
            store.close()
            throw StorageNodeError("cannot listen on \(config.listen): \(error)")
        }
        await recovery.resumePending()
        Task { await recovery.run() }
        Task { await collector.run() }
        Task { await state.followLoop() }
        let me = await state.me
        log("storage node \(me?.name ?? "(not in the committee)") on http://\(config.listen): epoch \(committee.epoch.rawValue), \(me?.shards.count ?? 0) of \(n) shards, public key \(key.publicKey)")
        return StorageNode(store: store, state: state, recovery: recovery, collector: collector, group: group, channel: channel, server: server)
    }

    let recovery: RecoveryWorker
    let collector: Collector
    let server: HTTPServer

    private init(
        store: SliverStore, state: NodeState, recovery: RecoveryWorker, collector: Collector, group: MultiThreadedEventLoopGroup, channel: any Channel,
        server: HTTPServer
    ) {
        self.server = server
        self.store = store
        self.state = state
        self.recovery = recovery
        self.collector = collector
        self.group = group
        self.channel = channel
    }

    public func shutdown() async {
        await state.stop()
        await recovery.stop()
        await collector.stop()
        await server.stop()  // Answers the requests in flight (bounded), then closes.
        try? await channel.close()
        try? await group.shutdownGracefully()
        store.close()
    }
}

/// Carries a validator set across an `await` without a Sendable warning.
struct ValidatorSetBox: Sendable {
    let set: ChainTypesValidatorSet
    init(_ set: ChainTypesValidatorSet) { self.set = set }
}
