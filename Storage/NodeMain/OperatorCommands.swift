import ArgumentParser
import ChainClient
import ChainTypes
import Foundation
import StorageNode
import WalrusCore
import WalrusCrypto

/// What the operator commands share: the node's config (its keys, genesis and chain RPC).
struct NodeOperatorOptions: ParsableArguments {
    @Option(help: "The node's config file (its keys, genesis and chain RPC come from it).") var config: String
    @Option(help: "The wallet that pays fees and stake (default: the config's operator key, which owns the node).") var wallet: String?
    @Flag(help: "Print the result as JSON.") var json = false

    struct Loaded {
        let config: StorageConfig
        let nodeKey: Schnorr.PrivateKey
        let operatorKey: Schnorr.PrivateKey
        let payer: Schnorr.PrivateKey
        let genesis: GenesisFile
        let client: ChainClient
    }

    func load() -> Loaded {
        let loaded: StorageConfig
        do { loaded = try StorageConfig.load(config) } catch { fail(error.message) }
        let nodeKey: Schnorr.PrivateKey, operatorKey: Schnorr.PrivateKey, payer: Schnorr.PrivateKey
        do {
            nodeKey = try KeyFile.load(from: loaded.keyFile)
            operatorKey = try KeyFile.load(from: loaded.operatorKeyFile)
            payer = try wallet.map { path throws(CryptoError) in try KeyFile.load(from: path) } ?? operatorKey
        } catch { fail(error.message) }
        let genesis: GenesisFile
        do { genesis = try GenesisFile.load(loaded.genesisFile) } catch { fail(error.message) }
        let urls = loaded.chainRPC.compactMap(URL.init(string:))
        guard !urls.isEmpty else { fail("the config names no chain_rpc URL") }
        return Loaded(config: loaded, nodeKey: nodeKey, operatorKey: operatorKey, payer: payer, genesis: genesis, client: ChainClient(endpoints: urls))
    }

    /// The public key of the config's `network_key_file` (33 bytes), or empty without one.
    static func networkPublicKey(_ config: StorageConfig) -> [UInt8] {
        guard let file = config.networkKeyFile else { return [] }
        do { return try KeyFile.loadNetworkKey(from: file).publicKey.bytes } catch { fail(error.message) }
    }

    func report(_ object: [String: Any], _ text: String) {
        if json {
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                print(String(decoding: data, as: UTF8.self))
            }
        } else {
            print(text)
        }
    }

    static func json(_ node: StorageNodeInfo) -> [String: Any] {
        ["nodeId": node.nodeID.description, "name": node.name, "networkAddress": node.networkAddress, "publicKey": node.publicKey, "networkPublicKey": node.networkPublicKey,
         "operator": node.operatorAddress.description, "commissionBasisPoints": Int(node.commissionBasisPoints),
         "storagePriceVoteFrost": node.storagePriceVote.rawValue, "writePriceVoteFrost": node.writePriceVote.rawValue, "capacityVote": node.capacityVote,
         "shards": node.shards, "nextShards": node.nextShards.map { $0 as Any } ?? NSNull()]
    }
}

/// Parses `1.5WAL` / `2 WAL` (in WAL) or a whole number of FROST.
func parseFrost(_ text: String, _ option: String) -> FROST {
    do { return try FROST(parsing: text) } catch { fail("\(option): \(error.message)") }
}

/// Parses a capacity: bytes, or with a K/M/G/T/P suffix (binary units, `4TiB` or `4T`).
func parseCapacity(_ text: String) -> UInt64 {
    var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
    for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
        digits.removeLast(suffix.count)
        break
    }
    let units: [Character: Int] = ["K": 10, "M": 20, "G": 30, "T": 40, "P": 50]
    var shift = 0
    if let last = digits.last, let bits = units[last] {
        shift = bits
        digits.removeLast()
    }
    guard let value = UInt64(digits), value <= UInt64.max >> shift else { fail("--capacity '\(text)' is not a size: write bytes, or 500G, 4TiB") }
    return value << shift
}

extension WalrusNode {
    /// `register`: registers this node on the chain (and stakes with it), so that it can enter the
    /// committee at the next selection.
    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register this storage node on the chain, with its address, key, commission and votes, and stake with it.",
            discussion: """
                The node key signs its consent; the operator key (the config's operator_key_file) owns the node and can \
                update it. With --stake, the wallet stakes that much with the new node. A node enters the committee when the \
                next committee is selected (at an epoch's midpoint) if its stake ranks; it then receives its shards from \
                their previous owners at the epoch change. Run the node (`run`) before that: it follows the chain until then.
                """)

        @OptionGroup var options: NodeOperatorOptions
        @Option(help: "The node's name (default: the config directory's name).") var name: String?
        @Option(name: .customLong("network-address"), help: "host:port clients and peers reach the node at (default: the config's listen).")
        var networkAddress: String?
        @Option(help: "Commission on rewards, in basis points (100 = 1 %).") var commission: UInt16 = 1000
        @Option(name: .customLong("storage-price"), help: "Storage price vote per MiB per epoch: 1.5WAL or FROST.") var storagePrice = "100000"
        @Option(name: .customLong("write-price"), help: "Write price vote per MiB: 1.5WAL or FROST.") var writePrice = "20000"
        @Option(help: "Capacity vote: bytes, or 500G, 4TiB.") var capacity = "1T"
        @Option(help: "WAL to stake with the node after registering: 1.5WAL or FROST (none by default).") var stake: String?

        func run() async throws {
            let loaded = options.load()
            let address = networkAddress ?? loaded.config.listen
            do { _ = try NetworkAddress(parsing: address) } catch { fail("--network-address: \(error.message)") }
            if address.hasPrefix("0.0.0.0:") || address.hasPrefix("[::]:") {
                fail("the config listens on \(address), which peers cannot dial; pass --network-address HOST:PORT")
            }
            let nodeName = name ?? URL(fileURLWithPath: options.config).deletingLastPathComponent().standardizedFileURL.lastPathComponent
            let storage = parseFrost(storagePrice, "--storage-price"), write = parseFrost(writePrice, "--write-price")
            let bytes = parseCapacity(capacity)
            let amount = stake.map { parseFrost($0, "--stake") }
            let key = loaded.nodeKey.publicKey
            let chainID = loaded.genesis.chainID
            let proof = loaded.nodeKey.sign(NodeRegistration.signBytes(chainID: chainID, publicKey: key, operator: loaded.operatorKey.publicKey.address))
            let builder = TransactionBuilder(key: loaded.operatorKey, chainID: chainID, client: loaded.client)
            log("registering storage node \(nodeName) (key \(Hex.encode(key.bytes).prefix(16))…) at \(address)")
            let registered: StorageNodeInfo
            do {
                _ = try await builder.execute([.registerNode(
                    name: nodeName, networkAddress: address, publicKey: key, commissionBasisPoints: commission, storagePrice: storage,
                    writePrice: write, capacity: bytes, proof: proof, networkPublicKey: NodeOperatorOptions.networkPublicKey(loaded.config))])
                guard let found = try await loaded.client.storageNode(Hex.encode(key.bytes)) else {
                    fail("the registration succeeded but the chain lists no node with key \(Hex.encode(key.bytes))", code: 1)
                }
                registered = found
            } catch { fail(error.message, code: 1) }
            var height: UInt64?
            if let amount, amount > .zero {
                let payer = loaded.payer.publicKey == loaded.operatorKey.publicKey ? builder : TransactionBuilder(key: loaded.payer, chainID: chainID, client: loaded.client)
                do { height = try await payer.execute([.stake(node: registered.nodeID, amount: amount)]).height } catch {
                    fail("registered as \(registered.nodeID), but staking failed: \(error.message); stake with `walrus stake \(registered.nodeID) AMOUNT`", code: 1)
                }
            }
            var object = NodeOperatorOptions.json(registered)
            object["stakeFrost"] = amount?.rawValue ?? 0
            object["stakeHeight"] = height.map { $0 as Any } ?? NSNull()
            options.report(object, """
                registered storage node \(registered.nodeID) (\(nodeName)) at \(address)\(amount.map { ", staked \($0)" } ?? "")
                it enters the committee at the next selection if its stake ranks; keep `walrus-node run --config \(options.config)` running
                """)
        }
    }

    /// `update`: changes this node's address, commission or votes.
    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change this node's network address, commission or votes (prices and capacity count at the next epoch change).")

        @OptionGroup var options: NodeOperatorOptions
        @Option(name: .customLong("network-address"), help: "New host:port.") var networkAddress: String?
        @Option(help: "New commission, in basis points.") var commission: UInt16?
        @Option(name: .customLong("storage-price"), help: "New storage price vote: 1.5WAL or FROST.") var storagePrice: String?
        @Option(name: .customLong("write-price"), help: "New write price vote: 1.5WAL or FROST.") var writePrice: String?
        @Option(help: "New capacity vote: bytes, or 500G, 4TiB.") var capacity: String?
        @Flag(name: .customLong("network-key"), help: "Register the key of the config's network_key_file (after replacing it; restart the node with it).")
        var networkKey = false

        func run() async throws {
            let loaded = options.load()
            var networkPublicKey: [UInt8]?
            if networkKey {
                networkPublicKey = NodeOperatorOptions.networkPublicKey(loaded.config)
                if networkPublicKey?.isEmpty == true { fail("the config names no network_key_file") }
            }
            let update = NodeUpdate(
                networkAddress: networkAddress, commissionBasisPoints: commission, storagePrice: storagePrice.map { parseFrost($0, "--storage-price") },
                writePrice: writePrice.map { parseFrost($0, "--write-price") }, capacity: capacity.map(parseCapacity), networkPublicKey: networkPublicKey)
            guard !update.isEmpty else { fail("pass at least one of --network-address, --commission, --storage-price, --write-price, --capacity, --network-key") }
            let key = Hex.encode(loaded.nodeKey.publicKey.bytes)
            let node: StorageNodeInfo
            do {
                guard let found = try await loaded.client.storageNode(key) else {
                    fail("no storage node is registered with this node's key (\(key)); register it with `walrus-node register --config \(options.config)`", code: 1)
                }
                let builder = TransactionBuilder(key: loaded.operatorKey, chainID: loaded.genesis.chainID, client: loaded.client)
                _ = try await builder.execute([.updateNode(node: found.nodeID, update: update)])
                guard let after = try await loaded.client.storageNode(key) else { fail("the node vanished from the chain after the update", code: 1) }
                node = after
            } catch { fail(error.message, code: 1) }
            options.report(NodeOperatorOptions.json(node), "updated storage node \(node.nodeID): \(node.networkAddress), commission \(node.commissionBasisPoints) bp, storage price \(node.storagePriceVote), write price \(node.writePriceVote), capacity \(node.capacityVote) B")
        }
    }

    /// `show`: this node's registration as the chain holds it.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show this node's registration, votes and shards as the chain holds them.")

        @OptionGroup var options: NodeOperatorOptions

        func run() async throws {
            let loaded = options.load()
            let key = Hex.encode(loaded.nodeKey.publicKey.bytes)
            let found: StorageNodeInfo?
            do { found = try await loaded.client.storageNode(key) } catch { fail(error.message, code: 1) }
            guard let node = found else { fail("this node (key \(key)) is not registered; `walrus-node register --config \(options.config)` registers it", code: 3) }
            options.report(NodeOperatorOptions.json(node), """
                node \(node.nodeID) (\(node.name)) at \(node.networkAddress)
                  operator \(node.operatorAddress), commission \(node.commissionBasisPoints) bp
                  votes: storage price \(node.storagePriceVote), write price \(node.writePriceVote), capacity \(node.capacityVote) B
                  shards: \(node.shards) now\(node.nextShards.map { ", \($0) in the next committee" } ?? "")
                """)
        }
    }
}
