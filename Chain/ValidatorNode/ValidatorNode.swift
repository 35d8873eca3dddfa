import Synchronization
import Transport
import Operations
import Metrics
public import Logging
import ChainClient
import ChainTypes
import Foundation
import HTTPKit
import NIOCore
import NIOPosix
import WalrusCore
import WalrusCrypto

/// How a test validator misbehaves.
@_spi(Byzantine)
public enum Misbehaviour: Sendable {
    case none
    /// Signs, next to each prevote, a conflicting prevote (for nil instead of a value, or for a
    /// made-up value instead of nil) and sends it to every peer, bypassing the signing guard.
    case equivocate
    /// Sends, next to each of its proposals, the same signed header with other transactions (one
    /// dropped, or a garbage one added): only the body-against-header check stops it.
    case alterBodies
    /// Stamps every vote an hour ahead of its clock, to pull block times forward: the median of a
    /// commit keeps block time between the clocks of correct validators.
    case lieAboutTime
}

/// A running validator: chain store, consensus driver, P2P and RPC.
public final class ValidatorNode: Sendable {
    public let config: NodeConfig
    let store: ChainStore
    let driver: ConsensusDriver
    let p2p: P2P
    let group: MultiThreadedEventLoopGroup
    let channels: [any Channel]

    /// Starts a validator from its config; returns once it listens.
    public static func start(_ config: NodeConfig, logger: Logger) async throws(NodeError) -> ValidatorNode {
        try await start(config, misbehaviour: .none, logger: logger)
    }

    /// Starts a validator that misbehaves as told: for tests of the other validators' defences
    /// only (the `walrus-byzantine-validator` test binary); `walrus-validator` never does.
    @_spi(Byzantine)
    public static func start(
        _ config: NodeConfig, misbehaviour: Misbehaviour, logger: Logger
    ) async throws(NodeError) -> ValidatorNode {
        let genesis: GenesisFile
        let validators: ValidatorSet
        do {
            genesis = try GenesisFile.load(config.genesisFile)
            validators = try genesis.validatorSet()
        } catch { throw NodeError(.config, error.message) }
        let key: Schnorr.PrivateKey
        do { key = try KeyFile.load(from: config.keyFile) } catch { throw NodeError(.config, error.message) }
        let store = try ChainStore(directory: config.dataDir, genesis: genesis)
        let guardFile: GuardFile
        do { guardFile = try GuardFile(path: config.signingGuardFile, chainHeight: store.height(), legacy: store.legacySigningGuard()) } catch {
            store.close()
            throw error
        }
        store.retainBlocks = config.retainBlocks
        if config.snapshotInterval > 0 {
            do { store.snapshots = try SnapshotStore(directory: config.snapshotDir, interval: config.snapshotInterval, kept: config.snapshotsKept) } catch {
                store.close()
                throw error
            }
        }
        // A new node may start from a verified snapshot instead of block 1.
        if store.stateSyncInterrupted && config.stateSyncRPC.isEmpty {
            store.close()
            throw NodeError(.config, "a state sync into \(config.dataDir) did not finish and left a partial state: set state_sync_rpc to finish it, or remove the directory to start from genesis")
        }
        if store.height() == 0 || store.stateSyncInterrupted, !config.stateSyncRPC.isEmpty {
            let urls = config.stateSyncRPC.compactMap(URL.init(string:))
            guard !urls.isEmpty else {
                store.close()
                throw NodeError(.config, "state_sync_rpc holds no valid URL")
            }
            do { try await StateSync.run(store: store, genesis: genesis, client: ChainClient(endpoints: urls), logger: logger) } catch {
                store.close()
                throw error
            }
        }
        let metrics = NodeMetrics()
        let mempool = Mempool()
        let app = Application(store: store, chainID: genesis.chainID, validators: validators, mempool: mempool)
        let driver = ConsensusDriver(
            chainID: genesis.chainID, key: key, validators: validators, app: app, store: store, guardFile: guardFile,
            mempool: mempool, timing: config.timing, metrics: metrics, misbehaviour: misbehaviour)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let p2p = P2P(chainID: genesis.chainID, key: key, group: group) { sender, message in
            Task { await driver.receive(from: sender, message) }
        }
        await driver.attach(p2p)
        let rpc = RPC(
            store: store, driver: driver, metrics: metrics, genesis: genesis, genesisHash: genesis.hash, chainID: genesis.chainID,
            mempool: mempool, peers: { p2p.connectedPeers.count }, ownKey: key.publicKey.bytes)
        var limits = HTTPServerLimits()
        limits.requestsPerClientPerSecond = config.rpcRequestsPerClientPerSecond > 0 ? config.rpcRequestsPerClientPerSecond : nil
        limits.connectionsPerClientMax = config.rpcConnectionsPerClientMax
        var rpcTLS: TLSServer?
        if let certificate = config.rpcTLSCertificateFile, let keyFile = config.rpcTLSKeyFile {
            do {
                let (chain, key) = try ValidatorNode.readTLS(certificate, keyFile)
                rpcTLS = try TLSServer(certificatePEM: chain, keyPEM: key)
            } catch {
                store.close()
                throw NodeError(.config, "rpc_tls_certificate_file / rpc_tls_key_file: \(error)")
            }
        }
        let server = HTTPServer(
            group: group, bodyBytesMax: config.rpcBodyBytesMax, limits: limits, security: rpcTLS,
            observer: HTTPMetrics(server: "rpc") { _, path in HTTPMetrics.template(path) }) { await rpc.handle($0) }
        var channels: [any Channel] = []
        do {
            guard let (p2pHost, p2pPort) = P2P.split(config.p2pListen), let (rpcHost, rpcPort) = P2P.split(config.rpcListen) else {
                throw NodeError(.config, "listen addresses are host:port")
            }
            channels.append(try await p2p.listen(host: p2pHost, port: p2pPort))
            channels.append(try await server.listen(host: rpcHost, port: rpcPort))
        } catch let error as NodeError {
            try? await group.shutdownGracefully()
            store.close()
            throw error
        } catch {
            try? await group.shutdownGracefully()
            store.close()
            throw NodeError(.network, "cannot listen on \(config.p2pListen) / \(config.rpcListen): \(error)")
        }
        await driver.start()
        let role = await driver.ownIndex.map { "validator \($0)" } ?? "a follower (this key is not in the current set)"
        logger.info(
            "\(role) serving",
            metadata: [
                "chain_id": "\(genesis.chainID)", "genesis": "\(Hex.encode(genesis.hash))", "p2p": "\(config.p2pListen)", "rpc": "http://\(config.rpcListen)",
                "height": "\(store.height())",
            ])
        let node = ValidatorNode(config: config, store: store, driver: driver, p2p: p2p, group: group, channels: channels, rpcTLS: rpcTLS)
        node.sampler.withLock { $0 = Task { await ValidatorNode.sampleMetrics(mempool: mempool, p2p: p2p, server: server) } }
        return node
    }

    let sampler = Mutex<Task<Void, Never>?>(nil)

    static func readTLS(_ certificate: String, _ key: String) throws -> (String, String) {
        (try String(contentsOfFile: certificate, encoding: .utf8), try String(contentsOfFile: key, encoding: .utf8))
    }

    /// SIGHUP: a renewed RPC certificate is served from the next connection on.
    public func reloadCertificate() throws {
        guard let rpcTLS, let certificate = config.rpcTLSCertificateFile, let key = config.rpcTLSKeyFile else { return }
        let (chain, keyPEM) = try ValidatorNode.readTLS(certificate, key)
        try rpcTLS.reload(certificatePEM: chain, keyPEM: keyPEM)
    }

    /// Whether the node serves (for the admin endpoint's health).
    public var isServing: Bool { channels.allSatisfy(\.isActive) }

    /// Gauges sampled every two seconds: the mempool, peers connected, RPC load.
    static func sampleMetrics(mempool: Mempool, p2p: P2P, server: HTTPServer) async {
        while !Task.isCancelled {
            Gauge(label: "walrus_mempool_transactions").record(mempool.count)
            Gauge(label: "walrus_p2p_peers_connected").record(p2p.connectedPeers.count)
            Gauge(label: "walrus_rpc_requests_in_flight").record(server.requestsInFlight)
            try? await Task.sleep(nanoseconds: 2_000_000_000)
        }
    }

    let rpcTLS: TLSServer?

    private init(
        config: NodeConfig, store: ChainStore, driver: ConsensusDriver, p2p: P2P, group: MultiThreadedEventLoopGroup, channels: [any Channel], rpcTLS: TLSServer?
    ) {
        self.rpcTLS = rpcTLS
        self.config = config
        self.store = store
        self.driver = driver
        self.p2p = p2p
        self.group = group
        self.channels = channels
    }

    /// Stops consensus and the listeners, then closes the store.
    public func shutdown() async {
        sampler.withLock { $0 }?.cancel()
        await driver.stop()
        p2p.shutdown()
        for channel in channels { try? await channel.close() }
        try? await group.shutdownGracefully()
        store.snapshots?.close()
        store.close()
    }
}
