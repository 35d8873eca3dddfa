import ChainClient
import Foundation
import HTTPKit
public import Logging
import Metrics
import Operations
import NIOCore
import NIOPosix
import RedStuff
import Transport
import WalrusAPI
import WalrusCore
import WalrusCrypto
import Synchronization

/// A running storage node: the sliver store, the chain follower and the REST API.
public final class StorageNode: Sendable {
    let store: SliverStore
    let state: NodeState
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel

    /// Starts the node; returns once it serves. Fails when the chain cannot be reached or the key
    /// is not a registered storage node.
    public static func start(_ config: StorageConfig, logger: Logger) async throws(StorageNodeError) -> StorageNode {
        let key: Schnorr.PrivateKey
        do { key = try KeyFile.load(from: config.keyFile) } catch { throw StorageNodeError(error.message) }
        let tls = try tlsServer(config)
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
        do { store = try SliverStore(directory: config.dataDir, reserveBytes: config.minFreeBytes, logger: logger) } catch { throw StorageNodeError(error.message) }
        let follower = VerifiedEventFollower(client: client, chainID: genesis.chainID, validators: validators.set, cursor: store.cursor())
        let state = NodeState(
            client: client, follower: follower, store: store, key: key, committee: committee, chainID: genesis.chainID, validators: validators.set, logger: logger)
        // Peers are reached over TLS pinned to their registered network keys.
        let peerHTTP = HTTPClient(security: TLSClient.shared)
        var invalidator: Invalidator?
        var operatorBuilder: TransactionBuilder?
        if let operatorKey = try? KeyFile.load(from: config.operatorKeyFile) {
            let builder = TransactionBuilder(key: operatorKey, chainID: genesis.chainID, client: client)
            operatorBuilder = builder
            invalidator = Invalidator(state: state, builder: builder, http: peerHTTP)
        } else {
            logger.warning("no operator key: this node cannot submit invalidations", metadata: ["path": "\(config.operatorKeyFile)"])
        }
        let recovery = RecoveryWorker(state: state, store: store, invalidator: invalidator, http: peerHTTP, logger: logger)
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
            security: tls,
            observer: HTTPMetrics(server: "storage") { _, path in HTTPMetrics.template(path) },
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
        if let me, me.networkPublicKey != tls?.networkKey {
            logger.warning(
                "the chain registers another network key for this node than it serves: clients will refuse it; register the key with `walrus-node update --network-key`",
                metadata: ["registered": "\(me.networkPublicKey.map(\.description) ?? "none")", "served": "\(tls.flatMap { $0.networkKey?.description } ?? "none (plain HTTP)")"])
        }
        logger.info(
            "storage node serving",
            metadata: [
                "name": "\(me?.name ?? "(not in the committee)")", "url": "\(tls == nil ? "http" : "https")://\(config.listen)", "epoch": "\(committee.epoch.rawValue)",
                "shards": "\(me?.shards.count ?? 0)", "shard_count": "\(n)", "public_key": "\(key.publicKey)",
            ])
        let node = StorageNode(store: store, state: state, recovery: recovery, collector: collector, group: group, channel: channel, server: server, tls: tls, config: config)
        node.sampler.withLock { $0 = Task { await node.sampleMetrics() } }
        return node
    }

    /// The TLS side of the REST API: a certificate for the network key (the configured chain, or a
    /// self-signed one), or nil for plain HTTP when no network key is configured.
    static func tlsServer(_ config: StorageConfig) throws(StorageNodeError) -> TLSServer? {
        guard let keyFile = config.networkKeyFile else { return nil }
        let networkKey: NetworkPrivateKey
        do { networkKey = try KeyFile.loadNetworkKey(from: keyFile) } catch { throw StorageNodeError(error.message) }
        do {
            if let certificateFile = config.tlsCertificateFile {
                let chain: String
                do { chain = try String(contentsOfFile: certificateFile, encoding: .utf8) } catch {
                    throw StorageNodeError("cannot read tls_certificate_file \(certificateFile): \(error.localizedDescription)")
                }
                return try TLSServer(certificatePEM: chain, keyPEM: try networkKey.pem, expectedKey: networkKey.publicKey)
            }
            let host = (try? NetworkAddress(parsing: config.listen))?.host ?? ""
            return try TLSServer(selfSigned: networkKey, hosts: [host, "localhost"])
        } catch let error as StorageNodeError { throw error } catch { throw StorageNodeError("\(error)") }
    }

    /// SIGHUP: a renewed certificate (`tls_certificate_file`) is served from the next connection.
    public func reloadCertificate() throws(StorageNodeError) {
        guard let tls, let keyFile = config.networkKeyFile, let certificateFile = config.tlsCertificateFile else { return }
        do {
            let key = try KeyFile.loadNetworkKey(from: keyFile)
            try tls.reload(certificatePEM: try String(contentsOfFile: certificateFile, encoding: .utf8), keyPEM: try key.pem)
        } catch let error as TransportError { throw StorageNodeError(error.message) } catch let error as CryptoError { throw StorageNodeError(error.message) } catch {
            throw StorageNodeError("cannot read \(certificateFile): \(error.localizedDescription)")
        }
    }

    /// Whether the node serves: for the admin endpoint's health.
    public var isServing: Bool { channel.isActive }

    /// Gauges sampled every second off the request path: shards owned, the recovery backlog, how
    /// far the node is behind the chain, slivers held (RocksDB's estimate of the index).
    /// Counters (slivers recovered, events applied, bytes) count where the work happens.
    func sampleMetrics() async {
        while !Task.isCancelled {
            Gauge(label: "walrus_storage_recovery_pending").record(await recovery.pending)
            Gauge(label: "walrus_storage_recovery_parked").record(await recovery.parked.count)
            Gauge(label: "walrus_storage_owned_shards").record(await state.ownShards.count)
            Gauge(label: "walrus_storage_epoch").record(Int(await state.committee.epoch.rawValue))
            if let progress = await state.chainProgress() {
                Gauge(label: "walrus_storage_chain_height").record(Int(clamping: progress.height))
                Gauge(label: "walrus_storage_event_lag").record(Int(clamping: progress.lag))
            }
            Gauge(label: "walrus_storage_requests_in_flight").record(server.requestsInFlight)
            Gauge(label: "walrus_storage_connections").record(server.connectionCount)
            Gauge(label: "walrus_storage_slivers_held").record(store.sliverCount())
            try? await Task.sleep(nanoseconds: 1_000_000_000)
        }
    }

    let recovery: RecoveryWorker
    let collector: Collector
    let server: HTTPServer
    let tls: TLSServer?
    let config: StorageConfig
    let sampler = Mutex<Task<Void, Never>?>(nil)

    private init(
        store: SliverStore, state: NodeState, recovery: RecoveryWorker, collector: Collector, group: MultiThreadedEventLoopGroup, channel: any Channel,
        server: HTTPServer, tls: TLSServer?, config: StorageConfig
    ) {
        self.server = server
        self.tls = tls
        self.config = config
        self.store = store
        self.state = state
        self.recovery = recovery
        self.collector = collector
        self.group = group
        self.channel = channel
    }

    public func shutdown() async {
        sampler.withLock { $0 }?.cancel()
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
