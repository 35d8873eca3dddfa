import Foundation
import Yams

/// The client configuration (`client_config.yaml`): contexts naming a network's validator RPC
/// URLs, its pinned genesis hash, a wallet key and the default storage epochs.
public struct ClientConfig: Codable, Hashable, Sendable {
    public struct Context: Codable, Hashable, Sendable {
        public var chainRPC: [String]
        /// The genesis hash the network must have: a reset network is detected, not silently used.
        public var genesisHash: String
        public var walletKeyFile: String
        public var defaultEpochs: UInt32

        enum CodingKeys: String, CodingKey {
            case chainRPC = "chain_rpc"
            case genesisHash = "genesis_hash"
            case walletKeyFile = "wallet_key_file"
            case defaultEpochs = "default_epochs"
        }

        public init(chainRPC: [String], genesisHash: String, walletKeyFile: String, defaultEpochs: UInt32 = 1) {
            self.chainRPC = chainRPC
            self.genesisHash = genesisHash
            self.walletKeyFile = walletKeyFile
            self.defaultEpochs = defaultEpochs
        }
    }

    public var defaultContext: String
    public var contexts: [String: Context]

    enum CodingKeys: String, CodingKey {
        case defaultContext = "default_context"
        case contexts
    }

    public init(defaultContext: String, contexts: [String: Context]) {
        self.defaultContext = defaultContext
        self.contexts = contexts
    }

    /// Where the config is looked for: `--config`, `$WALRUS_CONFIG`, `./client_config.yaml`,
    /// `~/.config/walrus/client_config.yaml`.
    public static func searchPaths(explicit: String?) -> [String] {
        var paths: [String] = []
        if let explicit { return [explicit] }
        if let env = ProcessInfo.processInfo.environment["WALRUS_CONFIG"] { paths.append(env) }
        paths.append("client_config.yaml")
        if let home = ProcessInfo.processInfo.environment["HOME"] { paths.append("\(home)/.config/walrus/client_config.yaml") }
        return paths
    }

    /// Loads the first config found; relative key paths are relative to the file.
    public static func load(explicit: String?) throws(ClientError) -> (ClientConfig, path: String) {
        for path in searchPaths(explicit: explicit) where FileManager.default.fileExists(atPath: path) {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw ClientError(.config, "cannot read \(path): \(error.localizedDescription)") }
            var config: ClientConfig
            do { config = try YAMLDecoder().decode(ClientConfig.self, from: text) } catch { throw ClientError(.config, "\(path) is not a valid client config: \(error)") }
            let base = URL(fileURLWithPath: path).deletingLastPathComponent()
            for (name, context) in config.contexts where !context.walletKeyFile.hasPrefix("/") {
                config.contexts[name]!.walletKeyFile = base.appendingPathComponent(context.walletKeyFile).path
            }
            return (config, path)
        }
        throw ClientError(.config, "no client config found (looked at \(searchPaths(explicit: explicit).joined(separator: ", "))); start a local network with `walrus devnet up` or pass --config")
    }

    public func context(_ name: String?) throws(ClientError) -> Context {
        let chosen = name ?? defaultContext
        guard let context = contexts[chosen] else {
            throw ClientError(.config, "no context '\(chosen)' in the client config (it has \(contexts.keys.sorted().joined(separator: ", ")))")
        }
        return context
    }

    public func write(to path: String) throws(ClientError) {
        do { try ("# walrus client configuration\n" + YAMLEncoder().encode(self)).write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw ClientError(.config, "cannot write \(path): \(error)")
        }
    }
}
