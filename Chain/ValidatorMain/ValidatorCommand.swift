import ChainTypes
import ChainClient
import ArgumentParser
import HTTPKit
import Ledger
import Foundation
import Logging
import Operations
import ValidatorNode
import WalrusCore
import WalrusCrypto

/// `walrus-validator`: run a validator of the coordination chain.
@main
struct WalrusValidator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "walrus-validator",
        abstract: "Run a validator of the Walrus-compatible coordination chain.",
        subcommands: [Genesis.self, Init.self, Run.self, Join.self, Leave.self, Delegate.self])
}

func log(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

func fail(_ message: String, code: Int32 = 2) -> Never {
    log("error: \(message)")
    exit(code)
}

/// Creates a directory (and parents).
func makeDirectory(_ path: String) {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        fail("cannot create \(path): \(error.localizedDescription)")
    }
}

func newKey(at path: String) -> Schnorr.PrivateKey {
    let key = Schnorr.PrivateKey.generate()
    do { try KeyFile.write(key, to: path) } catch { fail(error.message) }
    return key
}

extension WalrusValidator {
    /// `genesis`: a local network's genesis with fresh keys for every validator, storage node and a
    /// funded client wallet.
    struct Genesis: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a genesis file and fresh keys and configs for a local network.")

        @Option(help: "The directory to create the network's files in.") var dir: String
        @Option(help: "Number of validators.") var validators = 4
        @Option(name: .customLong("storage-nodes"), help: "Number of storage nodes in the first committee.") var storageNodes = 5
        @Option(help: "Number of shards.") var shards: UInt16 = 100
        @Option(name: .customLong("epoch-duration-ms"), help: "Epoch length in milliseconds.") var epochDurationMs: UInt64 = 60_000
        @Option(name: .customLong("max-epochs-ahead"), help: "How many epochs ahead storage can be bought.") var maxEpochsAhead: UInt32 = 53
        @Option(name: .customLong("base-port"), help: "First port: validators p2p at +i, rpc at +100+i, storage nodes at +200+i.") var basePort = 26600
        @Option(name: .customLong("chain-id"), help: "The chain ID.") var chainID = "walrus-devnet"
        @Option(name: .customLong("validator-hosts"), help: "Comma-separated hosts (IP or name), one per validator, for a network across machines: each listens on the same ports, p2p at base-port and rpc at base-port+100 (default: 127.0.0.1 with a port per validator).")
        var validatorHosts: String?
        @Option(name: .customLong("storage-node-hosts"), help: "Comma-separated hosts, one per storage node: each listens on base-port+200 (default: 127.0.0.1 with a port per node).")
        var storageNodeHosts: String?
        @Flag(name: .customLong("plain-http"), help: "Give storage nodes no network key: they serve plain HTTP instead of TLS pinned to the key (for comparisons only).")
        var plainHTTP = false

        /// `host:port` of each of `count` processes: on one host, consecutive ports from `port`; on
        /// separate hosts, `port` on each.
        static func addresses(_ hosts: String?, count: Int, port: Int, option: String) -> [String] {
            guard let hosts else { return (0..<count).map { "127.0.0.1:\(port + $0)" } }
            let list = hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard list.count == count, list.allSatisfy({ !$0.isEmpty }) else { fail("\(option) names \(list.count) hosts for \(count) processes") }
            let addresses = list.map { $0.contains(":") && !$0.hasPrefix("[") ? "[\($0)]:\(port)" : "\($0):\(port)" }
            for address in addresses {
                do { _ = try NetworkAddress(parsing: address) } catch { fail("\(option): \(error.message)") }
            }
            guard Set(addresses).count == addresses.count else { fail("\(option) names a host twice") }
            return addresses
        }

        func run() throws {
            guard (1...100).contains(validators), (1...100).contains(storageNodes) else { fail("use 1 to 100 validators and storage nodes") }
            let p2ps = Self.addresses(validatorHosts, count: validators, port: basePort, option: "--validator-hosts")
            let rpcs = Self.addresses(validatorHosts, count: validators, port: basePort + 100, option: "--validator-hosts")
            let nodeAddresses = Self.addresses(storageNodeHosts, count: storageNodes, port: basePort + 200, option: "--storage-node-hosts")
            if FileManager.default.fileExists(atPath: "\(dir)/genesis.yaml") {
                fail("\(dir)/genesis.yaml exists; remove the directory or choose another one")
            }
            makeDirectory(dir)
            var validatorEntries: [GenesisFile.ValidatorEntry] = []
            for i in 0..<validators {
                let home = "\(dir)/validator-\(i)"
                makeDirectory(home)
                let key = newKey(at: "\(home)/validator.key")
                let p2p = p2ps[i], rpc = rpcs[i]
                validatorEntries.append(.init(
                    name: "validator-\(i)", publicKey: Hex.encode(key.publicKey.bytes), power: 1, p2pAddress: p2p, rpcAddress: rpc, bondFrost: 10_000 * FROST.perWAL))
                var config = NodeConfig(keyFile: "validator.key", dataDir: "data", genesisFile: "../genesis.yaml", p2pListen: p2p, rpcListen: rpc)
                // The admin endpoint (metrics) stays on loopback.
                config.adminListen = "127.0.0.1:\(basePort + 500 + (validatorHosts == nil ? i : 0))"
                do { try config.write(to: "\(home)/config.yaml") } catch { fail(error.message) }
            }
            let wal = FROST.perWAL
            var balances: [GenesisFile.BalanceEntry] = []
            var nodes: [GenesisFile.StorageNodeEntry] = []
            for i in 0..<storageNodes {
                let home = "\(dir)/storage-node-\(i)"
                makeDirectory(home)
                let nodeKey = newKey(at: "\(home)/node.key")
                let operatorKey = newKey(at: "\(home)/operator.key")
                var networkKey: String?
                if !plainHTTP {
                    let key = NetworkPrivateKey.generate()
                    do { try KeyFile.write(key, to: "\(home)/network.key") } catch { fail(error.message) }
                    networkKey = Hex.encode(key.publicKey.bytes)
                }
                balances.append(.init(address: operatorKey.publicKey.address.description, amountFrost: 1_000 * wal))
                nodes.append(.init(
                    name: "storage-node-\(i)", networkAddress: nodeAddresses[i], publicKey: Hex.encode(nodeKey.publicKey.bytes),
                    operatorAddress: operatorKey.publicKey.address.description, commissionBps: 1000, storagePriceFrost: 100_000,
                    writePriceFrost: 20_000, capacityBytes: 1 << 40, stakeFrost: 10_000 * wal, networkPublicKey: networkKey))
            }
            makeDirectory("\(dir)/client")
            let wallet = newKey(at: "\(dir)/client/wallet.key")
            balances.append(.init(address: wallet.publicKey.address.description, amountFrost: 1_000_000 * wal))
            var genesis = GenesisFile(
                chainID: chainID, genesisTimeMs: UInt64(Date().timeIntervalSince1970 * 1000), shardCount: shards, epochDurationMs: epochDurationMs,
                maxEpochsAhead: maxEpochsAhead, validators: validatorEntries, balances: balances, storageNodes: nodes)
            genesis.feeBaseFrost = FeeSchedule.standard.baseFrost
            genesis.feePerByteFrost = FeeSchedule.standard.perByteFrost
            genesis.feePerOperationFrost = FeeSchedule.standard.perOperationFrost
            do {
                try genesis.write(to: "\(dir)/genesis.yaml")
                _ = try GenesisFile.load("\(dir)/genesis.yaml")
            } catch { fail(error.message) }
            print("genesis \(dir)/genesis.yaml (hash \(Hex.encode(genesis.hash)))")
            for i in 0..<validators { print("validator-\(i): walrus-validator run --config \(dir)/validator-\(i)/config.yaml") }
            print("client wallet: \(dir)/client/wallet.key (address \(wallet.publicKey.address))")
        }
    }

    /// `init`: a key and config for one validator.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a validator key and config; prints the public key for the genesis.")

        @Option(help: "The validator's directory.") var dir: String
        @Option(name: .customLong("genesis-file"), help: "The genesis file, relative to the directory.") var genesisFile = "genesis.yaml"
        @Option(name: .customLong("p2p-listen"), help: "host:port for validator traffic.") var p2pListen = "127.0.0.1:26600"
        @Option(name: .customLong("rpc-listen"), help: "host:port for the RPC.") var rpcListen = "127.0.0.1:26700"

        func run() throws {
            makeDirectory(dir)
            if FileManager.default.fileExists(atPath: "\(dir)/config.yaml") { fail("\(dir)/config.yaml exists; choose another directory") }
            let key = newKey(at: "\(dir)/validator.key")
            let config = NodeConfig(keyFile: "validator.key", dataDir: "data", genesisFile: genesisFile, p2pListen: p2pListen, rpcListen: rpcListen)
            do { try config.write(to: "\(dir)/config.yaml") } catch { fail(error.message) }
            print("public key: \(Hex.encode(key.publicKey.bytes))")
            print("address: \(key.publicKey.address)")
            print("config: \(dir)/config.yaml")
        }
    }

    /// `run`: the validator, until SIGINT or SIGTERM.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the validator until interrupted.")

        @Option(help: "The validator's config file.") var config: String

        func run() async throws {
            let loaded: NodeConfig
            do { loaded = try NodeConfig.load(config) } catch { fail(error.message) }
            if let problem = ProcessLifecycle.bootstrap(logFormat: loaded.logFormat, logLevel: loaded.logLevel) { fail(problem) }
            let logger = Logger(label: "validator")
            let node: ValidatorNode
            do { node = try await ValidatorNode.start(loaded, logger: logger) } catch { fail(error.message, code: error.code == .network ? 5 : 2) }
            let configPath = config
            do {
                try await ProcessLifecycle.serve(
                    logger: logger, adminListen: loaded.adminListen, isServing: { node.isServing },
                    logLevel: { (try? NodeConfig.load(configPath))?.logLevel },
                    reload: {
                        do { try node.reloadCertificate() } catch { logger.error("cannot reload the RPC certificate; serving the previous one", metadata: ["reason": "\(error)"]) }
                    },
                    stopping: "consensus, then the listeners, then the store", shutdown: { await node.shutdown() })
            } catch { fail("\(error)", code: 5) }
        }
    }
}


