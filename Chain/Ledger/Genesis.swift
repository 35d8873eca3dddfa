public import ChainTypes
public import KVStore
import WalrusCore
import WalrusCrypto

extension Ledger {
    /// Writes the genesis state into an empty store: accounts, node pools with their operators'
    /// stake, the first committee (D'Hondt, shards handed out sequentially by node ID), prices and
    /// capacity from the nodes' votes. Epoch 1 starts at the genesis time.
    public static func writeGenesis(_ genesis: LedgerGenesis, to store: any KVStore) throws(LedgerError) {
        let view = StateView(store: store)
        guard try view.get(SystemState.self, Keys.system) == nil else { throw LedgerError(.duplicate, "the store already has a genesis state") }
        guard !genesis.nodes.isEmpty else { throw LedgerError(.invalidArgument, "genesis needs at least one storage node") }
        let first = Epoch(1)
        var counter: UInt64 = 0
        func objectID() -> ObjectID {
            counter += 1
            var w = BCSWriter()
            w.writeString("walrus-genesis-object")
            w.writeString(genesis.parameters.chainID)
            w.write(counter)
            return ObjectID(unchecked: Blake2b256.hash(w.bytes))
        }
        for (address, amount) in genesis.balances {
            var account = try view.get(Account.self, Keys.account(address)) ?? Account()
            do { account.balance = try account.balance.adding(amount) } catch { throw LedgerError(error) }
            view.put(Keys.account(address), account)
        }
        var stakes: [NodeID: UInt64] = [:]
        var pools: [NodeID: StoragePool] = [:]
        for node in genesis.nodes {
            var pool = StoragePool(
                nodeID: NodeID(unchecked: objectID().bytes), name: node.name, networkAddress: node.networkAddress, publicKey: node.publicKey,
                operatorAddress: node.operatorAddress, commissionBasisPoints: node.commissionBasisPoints, storagePriceVote: node.storagePrice,
                writePriceVote: node.writePrice, capacityVote: node.capacity)
            try Executor.checkNetworkKey(node.networkPublicKey)
            pool.networkPublicKey = node.networkPublicKey
            guard try view.get(NodeIDRecord.self, Keys.poolKey(node.publicKey)) == nil else {
                throw LedgerError(.duplicate, "two genesis storage nodes share the key \(node.publicKey)")
            }
            view.put(Keys.pool(pool.nodeID), pool)
            view.put(Keys.poolKey(node.publicKey), NodeIDRecord(nodeID: pool.nodeID))
            pools[pool.nodeID] = pool
            if node.stake > .zero {
                let record = StakeRecord(id: objectID(), owner: node.operatorAddress, nodeID: pool.nodeID, amount: node.stake, activationEpoch: first, withdrawEpoch: nil)
                view.put(Keys.stake(record.id), record)
                view.put(Keys.owned(node.operatorAddress, Keys.ownedStake, record.id), Marker())
                stakes[pool.nodeID, default: 0] += node.stake.rawValue
            }
        }
        let counts = Apportionment.dHondt(stakes: Executor.activeSet(stakes, limit: genesis.parameters.activeSetMax), shards: Int(genesis.parameters.shardCount))
        guard !counts.isEmpty else { throw LedgerError(.invalidArgument, "genesis needs staked storage nodes to form the first committee") }
        let committee = Apportionment.transition(from: nil, counts: counts, epoch: first)
        let total = committee.shardCount
        let votes = { (value: (StoragePool) -> UInt64) in committee.members.map { (value: value(pools[$0.nodeID]!), weight: $0.weight) } }
        let capacityVotes = committee.members.map { member -> (value: UInt64, weight: UInt64) in
            let scaled = pools[member.nodeID]!.capacityVote.multipliedReportingOverflow(by: UInt64(genesis.parameters.shardCount))
            return (scaled.overflow ? UInt64.max : scaled.partialValue / member.weight, member.weight)
        }
        var system = SystemState(
            parameters: genesis.parameters, epoch: first, epochState: .changeDone(timeMs: genesis.timeMs), committee: committee,
            storagePrice: FROST(Apportionment.quorumBelow(votes { $0.storagePriceVote.rawValue }, totalWeight: total) ?? 0),
            writePrice: FROST(Apportionment.quorumBelow(votes { $0.writePriceVote.rawValue }, totalWeight: total) ?? 0),
            totalCapacity: Apportionment.quorumAbove(capacityVotes, totalWeight: total) ?? 0)
        system.objectCounter = 0
        view.put(Keys.system, system)
        view.put(Keys.validators, ValidatorRecords(genesis.validators))
        if !genesis.validators.isEmpty {
            let set = genesis.validators.map { Validator(publicKey: $0.publicKey, power: $0.power, address: $0.p2pAddress) }
            view.put(Keys.consensusSets, ConsensusSets([.init(fromHeight: 1, validators: set)]))
        }
        view.put(Keys.committee(first), committee)
        view.commitTransaction()
        view.putRaw(Keys.stateHash, try view.updating(LtHash()).bytes)
        view.commitTransaction()
        do { try store.write(view.batch(), durability: .durable) } catch { throw LedgerError(.notFound, "writing genesis failed: \(error.message)") }
    }
}
