import Foundation
import HTTPKit
import Yams

/// A storage node's configuration (YAML, snake_case keys, paths relative to the file).
public struct StorageConfig: Codable, Hashable, Sendable {
    /// The node's key (BIP340), registered on chain; signs confirmations.
    public var keyFile: String
    /// The operator's key: owns the node's stake and sends its transactions.
    public var operatorKeyFile: String
    public var dataDir: String
    /// The genesis file: pins the validator set whose commits the node checks.
    public var genesisFile: String
    /// host:port of the REST API.
    public var listen: String
    /// RPC URLs of validators.
    public var chainRPC: [String]
    public var chainTimeoutMs: UInt64 = 5000
    /// Free space the node keeps on its disks: a sliver or metadata write that would leave less is
    /// refused (507, like a full disk), so that the database always has room for the chain's
    /// events and its own compactions instead of failing on a full disk. 0 turns the check off.
    public var minFreeBytes: UInt64 = StorageConfig.minFreeBytesDefault
    public static let minFreeBytesDefault: UInt64 = 64 << 20
    /// Connections the REST API keeps open at once (the longest-idle one is closed for a new one).
    public var connectionsMax = 1024
    /// How long a connection may take to send a request head, or stay idle between requests.
    public var headTimeoutMs: Int64 = 15_000
    /// Requests handled at once; more get 503 with Retry-After (health is never refused).
    public var requestsInFlightMax = 256
    /// Connections one client address may hold (0: no per-client cap, only `connections_max`;
    /// clients behind one NAT share an address, so set it with care).
    public var connectionsPerClientMax = 0
    /// Requests one client address may make per second (0: off); 429 with Retry-After beyond it.
    public var requestsPerClientPerSecond = 0
    /// The node's network key (P-256; `secp256r1:<hex>` or PEM). When set, the REST API serves
    /// TLS with a certificate for this key, which must be the key registered on chain: clients
    /// and peers pin it. Unset: plain HTTP (only for a node registered without a network key).
    public var networkKeyFile: String?
    /// A certificate chain (PEM, leaf first) for the network key, such as one an authority
    /// issued; unset: a self-signed certificate made at start. SIGHUP reloads it.
    public var tlsCertificateFile: String?
    /// host:port of the admin endpoint (`/metrics`, `/v1/health`), apart from the public API;
    /// unset: none.
    public var adminListen: String?
    /// Log lines: `text` or `json`; and the lowest level written (trace, debug, info, notice,
    /// warning, error, critical). SIGHUP rereads the level.
    public var logFormat: String = "text"
    public var logLevel: String = "info"

    /// The REST API's bounds.
    var httpLimits: HTTPServerLimits {
        var limits = HTTPServerLimits()
        limits.connectionsMax = connectionsMax
        limits.headTimeoutMs = headTimeoutMs
        limits.inFlightMax = requestsInFlightMax
        limits.connectionsPerClientMax = connectionsPerClientMax > 0 ? connectionsPerClientMax : nil
        limits.requestsPerClientPerSecond = requestsPerClientPerSecond > 0 ? requestsPerClientPerSecond : nil
        return limits
    }

    enum CodingKeys: String, CodingKey {
        case keyFile = "key_file"
        case operatorKeyFile = "operator_key_file"
        case dataDir = "data_dir"
        case genesisFile = "genesis_file"
        case listen
        case chainRPC = "chain_rpc"
        case chainTimeoutMs = "chain_timeout_ms"
        case minFreeBytes = "min_free_bytes"
        case connectionsMax = "connections_max"
        case headTimeoutMs = "head_timeout_ms"
        case requestsInFlightMax = "requests_in_flight_max"
        case connectionsPerClientMax = "connections_per_client_max"
        case requestsPerClientPerSecond = "requests_per_client_per_second"
        case networkKeyFile = "network_key_file"
        case tlsCertificateFile = "tls_certificate_file"
        case adminListen = "admin_listen"
        case logFormat = "log_format"
        case logLevel = "log_level"
    }

    public init(keyFile: String, operatorKeyFile: String, dataDir: String, genesisFile: String, listen: String, chainRPC: [String]) {
        self.keyFile = keyFile
        self.operatorKeyFile = operatorKeyFile
        self.dataDir = dataDir
        self.genesisFile = genesisFile
        self.listen = listen
        self.chainRPC = chainRPC
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        keyFile = try c.decode(String.self, forKey: .keyFile)
        operatorKeyFile = try c.decode(String.self, forKey: .operatorKeyFile)
        dataDir = try c.decode(String.self, forKey: .dataDir)
        genesisFile = try c.decode(String.self, forKey: .genesisFile)
        listen = try c.decode(String.self, forKey: .listen)
        chainRPC = try c.decode([String].self, forKey: .chainRPC)
        chainTimeoutMs = try c.decodeIfPresent(UInt64.self, forKey: .chainTimeoutMs) ?? chainTimeoutMs
        minFreeBytes = try c.decodeIfPresent(UInt64.self, forKey: .minFreeBytes) ?? minFreeBytes
        connectionsMax = try c.decodeIfPresent(Int.self, forKey: .connectionsMax) ?? connectionsMax
        headTimeoutMs = try c.decodeIfPresent(Int64.self, forKey: .headTimeoutMs) ?? headTimeoutMs
        requestsInFlightMax = try c.decodeIfPresent(Int.self, forKey: .requestsInFlightMax) ?? requestsInFlightMax
        connectionsPerClientMax = try c.decodeIfPresent(Int.self, forKey: .connectionsPerClientMax) ?? connectionsPerClientMax
        requestsPerClientPerSecond = try c.decodeIfPresent(Int.self, forKey: .requestsPerClientPerSecond) ?? requestsPerClientPerSecond
        networkKeyFile = try c.decodeIfPresent(String.self, forKey: .networkKeyFile)
        tlsCertificateFile = try c.decodeIfPresent(String.self, forKey: .tlsCertificateFile)
        adminListen = try c.decodeIfPresent(String.self, forKey: .adminListen)
        logFormat = try c.decodeIfPresent(String.self, forKey: .logFormat) ?? logFormat
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? logLevel
        guard connectionsMax > 0, headTimeoutMs > 0, requestsInFlightMax > 0, connectionsPerClientMax >= 0, requestsPerClientPerSecond >= 0 else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: [], debugDescription: "connections_max, head_timeout_ms and requests_in_flight_max are positive; the per-client limits are 0 (off) or positive"))
        }
    }

    public static func load(_ path: String) throws(StorageNodeError) -> StorageConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw StorageNodeError("cannot read config file \(path): \(error.localizedDescription); create one with `walrus-node init`")
        }
        var config: StorageConfig
        do { config = try YAMLDecoder().decode(StorageConfig.self, from: text) } catch { throw StorageNodeError("config file \(path) is not valid: \(error)") }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base.appendingPathComponent(p).path }
        config.keyFile = resolve(config.keyFile)
        config.operatorKeyFile = resolve(config.operatorKeyFile)
        config.dataDir = resolve(config.dataDir)
        config.genesisFile = resolve(config.genesisFile)
        config.networkKeyFile = config.networkKeyFile.map(resolve)
        config.tlsCertificateFile = config.tlsCertificateFile.map(resolve)
        return config
    }

    public func write(to path: String) throws(StorageNodeError) {
        do { try ("# walrus-node configuration\n" + YAMLEncoder().encode(self)).write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw StorageNodeError("cannot write \(path): \(error)")
        }
    }
}

/// A storage node that cannot start, with the reason and what to do.
public struct StorageNodeError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
