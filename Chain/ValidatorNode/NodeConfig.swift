import Foundation
import Yams

/// A validator's configuration file (YAML, snake_case keys). Relative paths are relative to the
/// file's directory. Every key but the first four has a default.
public struct NodeConfig: Codable, Hashable, Sendable {
    /// The validator's key file (mode 0600).
    public var keyFile: String
    /// Where RocksDB keeps the chain.
    public var dataDir: String
    public var genesisFile: String
    /// host:port for validator-to-validator traffic.
    public var p2pListen: String
    /// host:port for the RPC (HTTP/JSON).
    public var rpcListen: String = "127.0.0.1:26700"
    public var proposeTimeoutMs: UInt64 = 1500
    public var prevoteTimeoutMs: UInt64 = 500
    public var precommitTimeoutMs: UInt64 = 500
    public var timeoutDeltaMs: UInt64 = 250
    public var commitDelayMs: UInt64 = 20
    public var emptyBlockWaitMs: UInt64 = 500
    /// The largest RPC request body (a signed transaction).
    public var rpcBodyBytesMax: Int = 1024 * 1024
    /// The signing guard (two slots, `.a` and `.b`): what the key last signed, kept outside the
    /// chain database so that wiping the chain data keeps it. Back it up with the key.
    public var signingGuardFile: String = "signing-guard"
    /// Requests one client address may make to the RPC per second (token bucket of two seconds'
    /// worth; 429 beyond it; 0 turns it off). Health is exempt.
    public var rpcRequestsPerClientPerSecond: Int = 2000
    /// Connections one client address may hold to the RPC (its longest-idle one makes room).
    public var rpcConnectionsPerClientMax: Int = 256
    /// Every this many blocks the validator keeps a snapshot of its state (a RocksDB checkpoint,
    /// hard links) that new nodes download to start from; 0 keeps none.
    public var snapshotInterval: UInt64 = 1000
    /// How many snapshots are kept (the oldest is removed).
    public var snapshotsKept: Int = 2
    /// Where snapshots are kept: on the same filesystem as `data_dir` (checkpoints are hard links).
    public var snapshotDir: String = "snapshots"
    /// RPC URLs to download a snapshot from when `data_dir` is new: the node starts from the most
    /// recent snapshot they offer, checked against a header the validator sets signed, instead of
    /// replaying every block since genesis. Empty: replay from genesis.
    public var stateSyncRPC: [String] = []
    /// Blocks kept: older blocks, commits, events and transaction records are deleted as new ones
    /// commit (the ledger state is kept whole); 0 keeps every block.
    public var retainBlocks: UInt64 = 0
    /// host:port of the admin endpoint (`/metrics`, `/v1/health`), apart from the RPC; unset: none.
    public var adminListen: String?
    /// Serve the RPC over HTTPS with this certificate chain (PEM, leaf first) and key; clients
    /// verify it against their system's roots (`chain_rpc: https://…`). SIGHUP rereads both.
    public var rpcTLSCertificateFile: String?
    public var rpcTLSKeyFile: String?
    /// Log lines: `text` or `json`; the lowest level written (SIGHUP rereads it).
    public var logFormat: String = "text"
    public var logLevel: String = "info"

    enum CodingKeys: String, CodingKey {
        case keyFile = "key_file"
        case dataDir = "data_dir"
        case genesisFile = "genesis_file"
        case p2pListen = "p2p_listen"
        case rpcListen = "rpc_listen"
        case proposeTimeoutMs = "propose_timeout_ms"
        case prevoteTimeoutMs = "prevote_timeout_ms"
        case precommitTimeoutMs = "precommit_timeout_ms"
        case timeoutDeltaMs = "timeout_delta_ms"
        case commitDelayMs = "commit_delay_ms"
        case emptyBlockWaitMs = "empty_block_wait_ms"
        case rpcBodyBytesMax = "rpc_body_bytes_max"
        case signingGuardFile = "signing_guard_file"
        case rpcRequestsPerClientPerSecond = "rpc_requests_per_client_per_second"
        case rpcConnectionsPerClientMax = "rpc_connections_per_client_max"
        case snapshotInterval = "snapshot_interval"
        case snapshotsKept = "snapshots_kept"
        case snapshotDir = "snapshot_dir"
        case stateSyncRPC = "state_sync_rpc"
        case retainBlocks = "retain_blocks"
        case adminListen = "admin_listen"
        case rpcTLSCertificateFile = "rpc_tls_certificate_file"
        case rpcTLSKeyFile = "rpc_tls_key_file"
        case logFormat = "log_format"
        case logLevel = "log_level"
    }

    public init(keyFile: String, dataDir: String, genesisFile: String, p2pListen: String, rpcListen: String) {
        self.keyFile = keyFile
        self.dataDir = dataDir
        self.genesisFile = genesisFile
        self.p2pListen = p2pListen
        self.rpcListen = rpcListen
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        keyFile = try c.decode(String.self, forKey: .keyFile)
        dataDir = try c.decode(String.self, forKey: .dataDir)
        genesisFile = try c.decode(String.self, forKey: .genesisFile)
        p2pListen = try c.decode(String.self, forKey: .p2pListen)
        rpcListen = try c.decodeIfPresent(String.self, forKey: .rpcListen) ?? rpcListen
        proposeTimeoutMs = try c.decodeIfPresent(UInt64.self, forKey: .proposeTimeoutMs) ?? proposeTimeoutMs
        prevoteTimeoutMs = try c.decodeIfPresent(UInt64.self, forKey: .prevoteTimeoutMs) ?? prevoteTimeoutMs
        precommitTimeoutMs = try c.decodeIfPresent(UInt64.self, forKey: .precommitTimeoutMs) ?? precommitTimeoutMs
        timeoutDeltaMs = try c.decodeIfPresent(UInt64.self, forKey: .timeoutDeltaMs) ?? timeoutDeltaMs
        commitDelayMs = try c.decodeIfPresent(UInt64.self, forKey: .commitDelayMs) ?? commitDelayMs
        emptyBlockWaitMs = try c.decodeIfPresent(UInt64.self, forKey: .emptyBlockWaitMs) ?? emptyBlockWaitMs
        signingGuardFile = try c.decodeIfPresent(String.self, forKey: .signingGuardFile) ?? signingGuardFile
        rpcBodyBytesMax = try c.decodeIfPresent(Int.self, forKey: .rpcBodyBytesMax) ?? rpcBodyBytesMax
        rpcRequestsPerClientPerSecond = try c.decodeIfPresent(Int.self, forKey: .rpcRequestsPerClientPerSecond) ?? rpcRequestsPerClientPerSecond
        rpcConnectionsPerClientMax = try c.decodeIfPresent(Int.self, forKey: .rpcConnectionsPerClientMax) ?? rpcConnectionsPerClientMax
        snapshotInterval = try c.decodeIfPresent(UInt64.self, forKey: .snapshotInterval) ?? snapshotInterval
        snapshotsKept = try c.decodeIfPresent(Int.self, forKey: .snapshotsKept) ?? snapshotsKept
        snapshotDir = try c.decodeIfPresent(String.self, forKey: .snapshotDir) ?? snapshotDir
        stateSyncRPC = try c.decodeIfPresent([String].self, forKey: .stateSyncRPC) ?? stateSyncRPC
        retainBlocks = try c.decodeIfPresent(UInt64.self, forKey: .retainBlocks) ?? retainBlocks
        adminListen = try c.decodeIfPresent(String.self, forKey: .adminListen)
        rpcTLSCertificateFile = try c.decodeIfPresent(String.self, forKey: .rpcTLSCertificateFile)
        rpcTLSKeyFile = try c.decodeIfPresent(String.self, forKey: .rpcTLSKeyFile)
        guard (rpcTLSCertificateFile == nil) == (rpcTLSKeyFile == nil) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "rpc_tls_certificate_file and rpc_tls_key_file go together"))
        }
        logFormat = try c.decodeIfPresent(String.self, forKey: .logFormat) ?? logFormat
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? logLevel
        guard snapshotsKept >= 1, retainBlocks == 0 || retainBlocks >= 100 else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "snapshots_kept is at least 1; retain_blocks is 0 (keep all) or at least 100"))
        }
        guard rpcRequestsPerClientPerSecond >= 0, rpcConnectionsPerClientMax > 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "rpc_requests_per_client_per_second is 0 (off) or positive; rpc_connections_per_client_max is positive"))
        }
    }

    /// Reads a config file; relative paths in it become absolute.
    public static func load(_ path: String) throws(NodeError) -> NodeConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw NodeError(.config, "cannot read config file \(path): \(error.localizedDescription); create one with `walrus-validator init`")
        }
        var config: NodeConfig
        do { config = try YAMLDecoder().decode(NodeConfig.self, from: text) } catch {
            throw NodeError(.config, "config file \(path) is not valid: \(error)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base.appendingPathComponent(p).path }
        config.keyFile = resolve(config.keyFile)
        config.dataDir = resolve(config.dataDir)
        config.signingGuardFile = resolve(config.signingGuardFile)
        config.genesisFile = resolve(config.genesisFile)
        config.snapshotDir = resolve(config.snapshotDir)
        config.rpcTLSCertificateFile = config.rpcTLSCertificateFile.map(resolve)
        config.rpcTLSKeyFile = config.rpcTLSKeyFile.map(resolve)
        return config
    }

    public func write(to path: String) throws(NodeError) {
        do { try ("# walrus-validator configuration\n" + YAMLEncoder().encode(self)).write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw NodeError(.config, "cannot write config file \(path): \(error)")
        }
    }

    var timing: ConsensusTiming {
        var timing = ConsensusTiming()
        timing.timeouts = .init(proposeMs: proposeTimeoutMs, prevoteMs: prevoteTimeoutMs, precommitMs: precommitTimeoutMs, deltaMs: timeoutDeltaMs)
        timing.commitDelayMs = commitDelayMs
        timing.emptyBlockWaitMs = emptyBlockWaitMs
        return timing
    }
}
