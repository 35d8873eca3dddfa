public import ChainTypes
import WalrusCore
import WalrusCrypto
import Foundation
import Yams

/// The genesis file (YAML, snake_case keys): the chain's parameters, its validators, initial
/// balances and storage nodes. Its hash is over the parsed content in BCS, so formatting and
/// comments do not change it.
public struct GenesisFile: Codable, Hashable, Sendable {
    public struct ValidatorEntry: Codable, Hashable, Sendable {
        public var name: String
        public var publicKey: String
        public var power: UInt64
        public var p2pAddress: String
        public var rpcAddress: String
        /// WAL (in FROST) the validator bonds: what slashing takes half of when it is proved to
        /// have signed conflicting messages. Absent: nothing bonded (slashing only jails).
        public var bondFrost: UInt64?

        enum CodingKeys: String, CodingKey {
            case name, power
            case publicKey = "public_key"
            case p2pAddress = "p2p_address"
            case rpcAddress = "rpc_address"
            case bondFrost = "bond_frost"
        }

        public init(name: String, publicKey: String, power: UInt64, p2pAddress: String, rpcAddress: String, bondFrost: UInt64? = nil) {
            self.name = name
            self.publicKey = publicKey
            self.power = power
            self.p2pAddress = p2pAddress
            self.rpcAddress = rpcAddress
            self.bondFrost = bondFrost
        }
    }

    public struct BalanceEntry: Codable, Hashable, Sendable {
        public var address: String
        public var amountFrost: UInt64
        enum CodingKeys: String, CodingKey {
            case address
            case amountFrost = "amount_frost"
        }
        public init(address: String, amountFrost: UInt64) {
            self.address = address
            self.amountFrost = amountFrost
        }
    }

    public struct StorageNodeEntry: Codable, Hashable, Sendable {
        public var name: String
        public var networkAddress: String
        public var publicKey: String
        public var operatorAddress: String
        public var commissionBps: UInt16
        public var storagePriceFrost: UInt64
        public var writePriceFrost: UInt64
        public var capacityBytes: UInt64
        public var stakeFrost: UInt64
        /// The node's network key (hex, compressed P-256); absent: it serves plain HTTP.
        public var networkPublicKey: String?

        enum CodingKeys: String, CodingKey {
            case name
            case networkAddress = "network_address"
            case publicKey = "public_key"
            case operatorAddress = "operator"
            case commissionBps = "commission_bps"
            case storagePriceFrost = "storage_price_frost"
            case writePriceFrost = "write_price_frost"
            case capacityBytes = "capacity_bytes"
            case stakeFrost = "stake_frost"
            case networkPublicKey = "network_public_key"
        }

        public init(
            name: String, networkAddress: String, publicKey: String, operatorAddress: String, commissionBps: UInt16,
            storagePriceFrost: UInt64, writePriceFrost: UInt64, capacityBytes: UInt64, stakeFrost: UInt64, networkPublicKey: String? = nil
        ) {
            self.networkPublicKey = networkPublicKey
            self.name = name
            self.networkAddress = networkAddress
            self.publicKey = publicKey
            self.operatorAddress = operatorAddress
            self.commissionBps = commissionBps
            self.storagePriceFrost = storagePriceFrost
            self.writePriceFrost = writePriceFrost
            self.capacityBytes = capacityBytes
            self.stakeFrost = stakeFrost
        }
    }

    public var chainID: String
    public var genesisTimeMs: UInt64
    public var shardCount: UInt16
    public var epochDurationMs: UInt64
    public var maxEpochsAhead: UInt32
    public var validators: [ValidatorEntry]
    public var balances: [BalanceEntry]
    public var storageNodes: [StorageNodeEntry]
    /// Transaction fees (`fee_base_frost`, `fee_per_byte_frost`, `fee_per_operation_frost`);
    /// absent in a file written before fees existed, which then has none.
    public var feeBaseFrost: UInt64?
    public var feePerByteFrost: UInt64?
    public var feePerOperationFrost: UInt64?
    /// The most consensus validators a set has (`validator_count_max`, 1 to 1024; absent: 100).
    /// From the first epoch change on, the candidates with the most stake form the set.
    public var validatorCountMax: Int?

    /// The fee schedule the file names.
    public var fees: FeeSchedule {
        guard feeBaseFrost != nil || feePerByteFrost != nil || feePerOperationFrost != nil else { return .none }
        return FeeSchedule(baseFrost: feeBaseFrost ?? 0, perByteFrost: feePerByteFrost ?? 0, perOperationFrost: feePerOperationFrost ?? 0)
    }

    enum CodingKeys: String, CodingKey {
        case validators, balances
        case feeBaseFrost = "fee_base_frost"
        case feePerByteFrost = "fee_per_byte_frost"
        case feePerOperationFrost = "fee_per_operation_frost"
        case chainID = "chain_id"
        case genesisTimeMs = "genesis_time_ms"
        case shardCount = "shard_count"
        case epochDurationMs = "epoch_duration_ms"
        case maxEpochsAhead = "max_epochs_ahead"
        case storageNodes = "storage_nodes"
        case validatorCountMax = "validator_count_max"
    }

    public init(
        chainID: String, genesisTimeMs: UInt64, shardCount: UInt16, epochDurationMs: UInt64, maxEpochsAhead: UInt32,
        validators: [ValidatorEntry], balances: [BalanceEntry], storageNodes: [StorageNodeEntry]
    ) {
        self.chainID = chainID
        self.genesisTimeMs = genesisTimeMs
        self.shardCount = shardCount
        self.epochDurationMs = epochDurationMs
        self.maxEpochsAhead = maxEpochsAhead
        self.validators = validators
        self.balances = balances
        self.storageNodes = storageNodes
    }

    /// Reads and checks a genesis file.
    public static func load(_ path: String) throws(ChainClientError) -> GenesisFile {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ChainClientError(.config, "cannot read genesis file \(path): \(error.localizedDescription)")
        }
        let genesis: GenesisFile
        do { genesis = try YAMLDecoder().decode(GenesisFile.self, from: text) } catch {
            throw ChainClientError(.config, "genesis file \(path) is not valid: \(error)")
        }
        _ = try genesis.validatorSet()
        _ = try genesis.ledgerGenesis()
        return genesis
    }

    /// Writes the file as YAML.
    public func write(to path: String) throws(ChainClientError) {
        do {
            let text = "# Walrus-swift genesis. Its hash pins the network: clients refuse another.\n" + (try YAMLEncoder().encode(self))
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch { throw ChainClientError(.config, "cannot write genesis file \(path): \(error)") }
    }

    /// The validators in genesis order, with Tendermint priorities at height 0.
    public func validatorSet() throws(ChainClientError) -> ValidatorSet {
        guard !validators.isEmpty else { throw ChainClientError(.config, "genesis has no validators") }
        var list: [Validator] = []
        for entry in validators {
            let key: Schnorr.PublicKey
            do { key = try Schnorr.PublicKey(hex: entry.publicKey) } catch {
                throw ChainClientError(.config, "validator \(entry.name) has an invalid public key: \(error.message)")
            }
            guard entry.power > 0 else { throw ChainClientError(.config, "validator \(entry.name) has zero power") }
            list.append(Validator(publicKey: key.bytes, power: entry.power, address: entry.p2pAddress))
        }
        return ValidatorSet(list)
    }

    /// The ledger's view of genesis.
    public func ledgerGenesis() throws(ChainClientError) -> LedgerGenesis {
        var balances: [(address: Address, amount: FROST)] = []
        for entry in self.balances {
            do { balances.append((try Address(parsing: entry.address), FROST(entry.amountFrost))) } catch {
                throw ChainClientError(.config, "genesis balance: \(error.message)")
            }
        }
        var nodes: [LedgerGenesis.Node] = []
        for entry in storageNodes {
            do {
                _ = try NetworkAddress(parsing: entry.networkAddress)
                let networkKey = try entry.networkPublicKey.map { try NetworkPublicKey(bytes: try Hex.decode($0)).bytes } ?? []
                nodes.append(LedgerGenesis.Node(
                    name: entry.name, networkAddress: entry.networkAddress, publicKey: try Schnorr.PublicKey(hex: entry.publicKey),
                    operatorAddress: try Address(parsing: entry.operatorAddress), commissionBasisPoints: entry.commissionBps,
                    storagePrice: FROST(entry.storagePriceFrost), writePrice: FROST(entry.writePriceFrost), capacity: entry.capacityBytes,
                    stake: FROST(entry.stakeFrost), networkPublicKey: networkKey))
            } catch let error as CoreError {
                throw ChainClientError(.config, "genesis storage node \(entry.name): \(error.message)")
            } catch let error as CryptoError {
                throw ChainClientError(.config, "genesis storage node \(entry.name): \(error.message)")
            } catch { throw ChainClientError(.config, "genesis storage node \(entry.name): \(error)") }
        }
        let set = try validatorSet()
        let validators = zip(set.validators, self.validators).map {
            ValidatorRecord(publicKey: $0.publicKey, power: $0.power, bond: FROST($1.bondFrost ?? 0), p2pAddress: $0.address)
        }
        if let count = validatorCountMax, !(1...1024).contains(count) {
            throw ChainClientError(.config, "genesis validator_count_max is \(count); it must be 1 to 1024")
        }
        return LedgerGenesis(
            parameters: ChainParameters(
                chainID: chainID, shardCount: shardCount, epochDurationMs: epochDurationMs, maxEpochsAhead: maxEpochsAhead, fees: fees,
                validatorCountMax: validatorCountMax ?? 100),
            timeMs: genesisTimeMs, balances: balances, nodes: nodes, validators: validators)
    }

    /// BLAKE2b-256 of the genesis content in a canonical encoding.
    public var hash: [UInt8] {
        var w = BCSWriter()
        w.writeString(chainID)
        w.write(genesisTimeMs)
        w.write(shardCount)
        w.write(epochDurationMs)
        w.write(maxEpochsAhead)
        w.writeLength(validators.count)
        for v in validators { w.writeString(v.name); w.writeString(v.publicKey.lowercased()); w.write(v.power); w.writeString(v.p2pAddress); w.writeString(v.rpcAddress) }
        w.writeLength(balances.count)
        for b in balances { w.writeString(b.address.lowercased()); w.write(b.amountFrost) }
        w.writeLength(storageNodes.count)
        for n in storageNodes {
            w.writeString(n.name); w.writeString(n.networkAddress); w.writeString(n.publicKey.lowercased()); w.writeString(n.operatorAddress.lowercased())
            w.write(n.commissionBps); w.write(n.storagePriceFrost); w.write(n.writePriceFrost); w.write(n.capacityBytes); w.write(n.stakeFrost)
        }
        // Only a file that names fees (bonds) hashes them: an older file keeps its hash.
        if fees != .none { w.write(fees) }
        if validators.contains(where: { $0.bondFrost != nil }) { for v in validators { w.write(v.bondFrost ?? 0) } }
        if let count = validatorCountMax { w.write(UInt64(count)) }
        if storageNodes.contains(where: { $0.networkPublicKey != nil }) { for n in storageNodes { w.writeString(n.networkPublicKey?.lowercased() ?? "") } }
        return Blake2b256.hash(w.bytes)
    }
}
