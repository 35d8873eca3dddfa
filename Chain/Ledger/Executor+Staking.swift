import ChainTypes
import WalrusCore
import WalrusCrypto

extension Executor {
    mutating func registerNode(
        name: String, networkAddress: String, publicKey: Schnorr.PublicKey, commission: UInt16, storagePrice: FROST,
        writePrice: FROST, capacity: UInt64, proof: Schnorr.Signature, networkPublicKey: [UInt8]
    ) throws(LedgerError) {
        try Executor.checkNetworkKey(networkPublicKey)
        guard !name.isEmpty, name.utf8.count <= StoragePool.nameBytesMax else {
            throw LedgerError(.invalidArgument, "a node name has 1 to \(StoragePool.nameBytesMax) bytes")
        }
        try Executor.checkNetworkAddress(networkAddress)
        guard commission <= 10_000 else { throw LedgerError(.invalidArgument, "commission is at most 10000 basis points") }
        guard publicKey.isValidSignature(proof, for: NodeRegistration.signBytes(chainID: parameters.chainID, publicKey: publicKey, operator: sender)) else {
            throw LedgerError(.badSignature, "the node key's registration proof does not verify for operator \(sender) on \(parameters.chainID)")
        }
        // A key signs confirmations; two members with one key would count one signature twice.
        if let holder = try view.get(NodeIDRecord.self, Keys.poolKey(publicKey)) {
            throw LedgerError(.duplicate, "storage node \(holder.nodeID) is already registered with key \(publicKey)")
        }
        let pool = StoragePool(
            nodeID: NodeID(unchecked: newObjectID().bytes), name: name, networkAddress: networkAddress, publicKey: publicKey,
            operatorAddress: sender, commissionBasisPoints: commission, storagePriceVote: storagePrice, writePriceVote: writePrice,
            capacityVote: capacity, networkPublicKey: networkPublicKey)
        view.put(Keys.pool(pool.nodeID), pool)
        view.put(Keys.poolKey(publicKey), NodeIDRecord(nodeID: pool.nodeID))
    }

    static func checkNetworkAddress(_ address: String) throws(LedgerError) {
        do { _ = try NetworkAddress(parsing: address) } catch {
            throw LedgerError(.invalidArgument, "invalid network address: \(error.message)")
        }
    }

    /// A network key is a compressed P-256 point, or empty (plain HTTP).
    static func checkNetworkKey(_ key: [UInt8]) throws(LedgerError) {
        guard !key.isEmpty else { return }
        do { _ = try NetworkPublicKey(bytes: key) } catch { throw LedgerError(.invalidArgument, "invalid network public key: \(error.message)") }
    }

    mutating func updateNode(_ node: NodeID, _ update: NodeUpdate) throws(LedgerError) {
        guard var pool = try view.get(StoragePool.self, Keys.pool(node)) else { throw LedgerError(.notFound, "no storage node \(node)") }
        guard pool.operatorAddress == sender else { throw LedgerError(.notOwner, "only the operator of \(node) (\(pool.operatorAddress)) updates it") }
        guard !update.isEmpty else { throw LedgerError(.invalidArgument, "the update changes nothing") }
        if let address = update.networkAddress {
            try Executor.checkNetworkAddress(address)
            pool.networkAddress = address
        }
        if let commission = update.commissionBasisPoints {
            guard commission <= 10_000 else { throw LedgerError(.invalidArgument, "commission is at most 10000 basis points") }
            pool.commissionBasisPoints = commission
        }
        if let price = update.storagePrice { pool.storagePriceVote = price }
        if let price = update.writePrice { pool.writePriceVote = price }
        if let capacity = update.capacity { pool.capacityVote = capacity }
        if let key = update.networkPublicKey {
            try Executor.checkNetworkKey(key)
            pool.networkPublicKey = key
        }
        view.put(Keys.pool(node), pool)
    }

    /// The epoch from which a change made now takes effect: stake added before the midpoint counts
    /// for the next committee, stake added later for the one after (PROTOCOL.md §4.3).
    var nextEffectiveEpoch: Epoch {
        if case .changeDone = system.epochState { return Epoch(epoch.rawValue + 1) }
        return Epoch(epoch.rawValue + 2)
    }

    mutating func stake(_ node: NodeID, amount: FROST) throws(LedgerError) {
        guard try view.get(StoragePool.self, Keys.pool(node)) != nil else { throw LedgerError(.notFound, "no storage node \(node)") }
        guard amount > .zero else { throw LedgerError(.invalidArgument, "stake a positive amount") }
        try debit(sender, amount)
        let record = StakeRecord(id: newObjectID(), owner: sender, nodeID: node, amount: amount, activationEpoch: nextEffectiveEpoch, withdrawEpoch: nil)
        view.put(Keys.stake(record.id), record)
        setOwned(sender, Keys.ownedStake, record.id)
    }

    /// A stake of the sender, with a storage node or a validator, and the key it is stored under
    /// and its owned-index kind.
    func ownedStake(_ id: ObjectID) throws(LedgerError) -> (record: StakeRecord, key: [UInt8], kind: UInt8) {
        var found: (StakeRecord, [UInt8], UInt8)?
        if let record = try view.get(StakeRecord.self, Keys.stake(id)) {
            found = (record, Keys.stake(id), Keys.ownedStake)
        } else if let record = try view.get(StakeRecord.self, Keys.validatorStake(id)) {
            found = (record, Keys.validatorStake(id), Keys.ownedValidatorStake)
        }
        guard let (record, key, kind) = found else { throw LedgerError(.notFound, "no stake \(id)") }
        guard record.owner == sender else { throw LedgerError(.notOwner, "stake \(id) belongs to \(record.owner)") }
        return (record, key, kind)
    }

    mutating func requestWithdrawal(_ id: ObjectID) throws(LedgerError) {
        var (record, key, _) = try ownedStake(id)
        guard record.withdrawEpoch == nil else { throw LedgerError(.duplicate, "withdrawal of stake \(id) was already requested") }
        record.withdrawEpoch = max(nextEffectiveEpoch, record.activationEpoch)
        view.put(key, record)
    }

    mutating func withdraw(_ id: ObjectID) throws(LedgerError) {
        let (record, key, kind) = try ownedStake(id)
        guard let withdrawEpoch = record.withdrawEpoch else {
            throw LedgerError(.withdrawNotReady, "request the withdrawal of stake \(id) first")
        }
        guard epoch >= withdrawEpoch else {
            throw LedgerError(.withdrawNotReady, "stake \(id) can be withdrawn from epoch \(withdrawEpoch.rawValue); this is epoch \(epoch.rawValue)")
        }
        view.delete(key)
        clearOwned(sender, kind, id)
        try credit(sender, record.amount)
    }

    /// The operator of a node of the new committee reports its shards synced (PROTOCOL.md §4.2);
    /// at a quorum of weight the epoch change is done.
    mutating func epochSyncDone(_ node: NodeID, epoch reported: Epoch) throws(LedgerError) {
        guard let pool = try view.get(StoragePool.self, Keys.pool(node)) else { throw LedgerError(.notFound, "no storage node \(node)") }
        guard pool.operatorAddress == sender else { throw LedgerError(.notOwner, "only the operator of \(node) reports for it") }
        guard reported == epoch else { throw LedgerError(.wrongEpoch, "the report is for epoch \(reported.rawValue), this is epoch \(epoch.rawValue)") }
        guard case .changeSync(let weight, let reportedNodes) = system.epochState else {
            throw LedgerError(.wrongEpochState, "epoch \(epoch.rawValue) is not changing committees")
        }
        guard let member = system.committee.member(node) else { throw LedgerError(.notInCommittee, "\(node) is not in the committee of epoch \(epoch.rawValue)") }
        guard !reportedNodes.contains(node) else { throw LedgerError(.duplicate, "\(node) already reported epoch \(epoch.rawValue)") }
        let total = weight + member.weight
        events.append(.shardsReceived(epoch: epoch, shards: member.shards))
        if BFT.isQuorum(weight: total, totalWeight: UInt64(parameters.shardCount)) {
            system.epochState = .changeDone(timeMs: context.timeMs)
            events.append(.epochChangeDone(epoch: epoch))
        } else {
            system.epochState = .changeSync(weight: total, reported: reportedNodes + [node])
        }
    }
}
