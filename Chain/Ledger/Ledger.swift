public import ChainTypes
public import KVStore
public import WalrusCore
public import WalrusCrypto

/// The context a block executes in.
public struct BlockContext: Hashable, Sendable {
    public let height: UInt64
    /// Block time in milliseconds since the Unix epoch (chosen by the proposer, checked by consensus).
    public let timeMs: UInt64
    public init(height: UInt64, timeMs: UInt64) {
        self.height = height
        self.timeMs = timeMs
    }
}

/// What happened to one transaction of a block.
public struct TransactionResult: Hashable, Sendable, BCSCodable {
    public enum Status: Hashable, Sendable {
        /// Applied; its events were emitted.
        case success
        /// Executed but failed: nothing but the nonce changed.
        case failure(code: String, message: String)
        /// Not admissible (bad signature, wrong chain or nonce): a block containing it is invalid.
        case rejected(code: String, message: String)
    }

    public let digest: [UInt8]
    public let status: Status
    public let events: [LedgerEvent]

    public init(digest: [UInt8], status: Status, events: [LedgerEvent]) {
        self.digest = digest
        self.status = status
        self.events = events
    }

    public func encode(to w: inout BCSWriter) {
        w.writeFixed(digest)
        switch status {
        case .success: w.writeVariant(0)
        case let .failure(code, message): w.writeVariant(1); w.writeString(code); w.writeString(message)
        case let .rejected(code, message): w.writeVariant(2); w.writeString(code); w.writeString(message)
        }
        w.writeSequence(events)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        digest = try r.readFixed(32)
        switch try r.readVariant(count: 3) {
        case 0: status = .success
        case 1: status = .failure(code: try r.readString(max: 64), message: try r.readString(max: 1024))
        default: status = .rejected(code: try r.readString(max: 64), message: try r.readString(max: 1024))
        }
        events = try r.readSequence(of: LedgerEvent.self, max: 1024)
    }
}

/// The outcome of executing a block: per-transaction results, every event in order (the block's
/// own epoch events first), and the state writes as one batch, not yet applied.
public struct BlockExecution: Sendable {
    public let context: BlockContext
    public let results: [TransactionResult]
    public let events: [LedgerEvent]
    public let batch: WriteBatch
    public let system: SystemState
    /// The consensus set from the next height on, when the block changes it.
    public let nextValidators: [Validator]?
    /// BLAKE2b-256 of the state hash after the block (`Ledger.stateHash`): what a header commits to.
    public let stateHash: [UInt8]

    /// Whether every transaction was admissible.
    public var isValid: Bool {
        results.allSatisfy { if case .rejected = $0.status { false } else { true } }
    }
}

/// The ledger: a deterministic state machine over a KVStore that does what the reference's Move
/// contracts do: accounts and transfers, storage resources, blob registration and certification,
/// staking, epochs and committees, prices and rewards.
public final class Ledger: @unchecked Sendable {
    /// The column family of the state.
    public static let stateFamily = ColumnFamily("state")

    public let store: any KVStore

    /// A ledger over `store`, which must have been initialised with `writeGenesis`.
    public init(store: any KVStore) { self.store = store }

    /// The system object.
    public func system() throws(LedgerError) -> SystemState {
        guard let system = try StateView(store: store).get(SystemState.self, Keys.system) else {
            throw LedgerError(.notFound, "the ledger has no genesis state")
        }
        return system
    }

    /// The validator candidates with their bonds, powers and whether they were slashed, in
    /// registration order.
    public func validators() throws(LedgerError) -> [ValidatorRecord] {
        try StateView(store: store).get(ValidatorRecords.self, Keys.validators)?.validators ?? []
    }

    /// The hash of the whole committed state (every entry but the hash itself).
    public func stateHash() throws(LedgerError) -> LtHash {
        let bytes: [UInt8]?
        do { bytes = try store.get(Ledger.stateFamily, Keys.stateHash) } catch { throw LedgerError(.notFound, "state read failed: \(error.message)") }
        guard let bytes, let hash = LtHash(bytes: bytes) else { throw LedgerError(.notFound, "the ledger has no state hash (a store from before state hashes)") }
        return hash
    }

    /// The key the state hash is kept under; a state snapshot leaves it out and the receiver
    /// computes it again from the entries.
    public static var stateHashKey: [UInt8] { Keys.stateHash }

    /// What the state hash holds for one entry of the state.
    public static func stateHashElement(key: [UInt8], value: [UInt8]) -> [UInt8] { StateView.element(key, value) }

    /// The consensus sets kept, the current one last.
    public func consensusSets() throws(LedgerError) -> ConsensusSets {
        try StateView(store: store).get(ConsensusSets.self, Keys.consensusSets) ?? ConsensusSets([])
    }

    /// Stakes `owner` delegated to validators.
    public func validatorStakes(ownedBy owner: Address) throws(LedgerError) -> [StakeRecord] {
        try owned(owner, Keys.ownedValidatorStake, StakeRecord.self, Keys.validatorStake)
    }

    /// Whether `evidence` would be accepted in a block at `height` on the committed state (a
    /// proposer's check before it includes evidence).
    public func checkEvidence(_ evidence: Evidence, height: UInt64) throws(LedgerError) {
        var executor = try Executor(view: StateView(store: store), context: BlockContext(height: height, timeMs: 0))
        _ = try executor.applyEvidence(evidence)
    }

    public func account(_ address: Address) throws(LedgerError) -> Account {
        try StateView(store: store).get(Account.self, Keys.account(address)) ?? Account()
    }

    public func blob(_ id: ObjectID) throws(LedgerError) -> BlobRecord? { try StateView(store: store).get(BlobRecord.self, Keys.blob(id)) }

    /// The shared blob with object ID `id`, if there is one.
    public func sharedBlob(_ id: ObjectID) throws(LedgerError) -> SharedBlobRecord? {
        try StateView(store: store).get(SharedBlobRecord.self, Keys.shared(id))
    }

    /// The attribute of blob object `id`, if it has one.
    public func attribute(_ id: ObjectID) throws(LedgerError) -> BlobAttributeRecord? {
        try StateView(store: store).get(BlobAttributeRecord.self, Keys.attribute(id))
    }

    /// Every registration of a blob ID.
    public func blobs(withBlobID blobID: BlobID) throws(LedgerError) -> [BlobRecord] {
        let view = StateView(store: store)
        var records: [BlobRecord] = []
        for entry in try view.scan(prefix: Keys.blobIndex(blobID)) {
            if let record = try view.get(BlobRecord.self, Keys.blob(ObjectID(unchecked: Array(entry.key.suffix(32))))) { records.append(record) }
        }
        return records
    }

    public func isInvalid(_ blobID: BlobID) throws(LedgerError) -> Bool {
        try StateView(store: store).get(Marker.self, Keys.invalid(blobID)) != nil
    }

    public func storageResource(_ id: ObjectID) throws(LedgerError) -> StorageResource? {
        try StateView(store: store).get(StorageResource.self, Keys.storage(id))
    }

    /// Storage resources owned by `owner` (not those inside blob registrations).
    public func storageResources(ownedBy owner: Address) throws(LedgerError) -> [StorageResource] {
        try owned(owner, Keys.ownedStorage, StorageResource.self, Keys.storage)
    }

    public func blobs(ownedBy owner: Address) throws(LedgerError) -> [BlobRecord] {
        try owned(owner, Keys.ownedBlob, BlobRecord.self, Keys.blob)
    }

    public func stakes(ownedBy owner: Address) throws(LedgerError) -> [StakeRecord] {
        try owned(owner, Keys.ownedStake, StakeRecord.self, Keys.stake)
    }

    public func pool(_ node: NodeID) throws(LedgerError) -> StoragePool? { try StateView(store: store).get(StoragePool.self, Keys.pool(node)) }

    /// The storage node registered with `key`, if any.
    public func pool(publicKey key: Schnorr.PublicKey) throws(LedgerError) -> StoragePool? {
        let view = StateView(store: store)
        guard let entry = try view.get(NodeIDRecord.self, Keys.poolKey(key)) else { return nil }
        return try view.get(StoragePool.self, Keys.pool(entry.nodeID))
    }

    /// The stake that counts for each storage node in `epoch` (one scan of every stake).
    public func stakeByNode(in epoch: Epoch) throws(LedgerError) -> [NodeID: UInt64] {
        var byNode: [NodeID: UInt64] = [:]
        for entry in try StateView(store: store).scan(prefix: Keys.stakePrefix) {
            let record = try decodeRecord(StakeRecord.self, entry.value)
            if record.counts(in: epoch) { byNode[record.nodeID, default: 0] += record.amount.rawValue }
        }
        return byNode
    }

    public func pools() throws(LedgerError) -> [StoragePool] {
        var pools: [StoragePool] = []
        for entry in try StateView(store: store).scan(prefix: Keys.poolPrefix) { pools.append(try decodeRecord(StoragePool.self, entry.value)) }
        return pools
    }

    /// The committee of `epoch`, if it was ever selected.
    public func committee(_ epoch: Epoch) throws(LedgerError) -> Committee? {
        try StateView(store: store).get(Committee.self, Keys.committee(epoch))
    }

    private func owned<T: BCSDecodable>(
        _ owner: Address, _ kind: UInt8, _ type: T.Type, _ key: (ObjectID) -> [UInt8]
    ) throws(LedgerError) -> [T] {
        let view = StateView(store: store)
        var records: [T] = []
        for entry in try view.scan(prefix: Keys.owned(owner, kind)) {
            if let record = try view.get(T.self, key(ObjectID(unchecked: Array(entry.key.suffix(32))))) { records.append(record) }
        }
        return records
    }

    /// Executes a block on top of the stored state without writing anything: begin-block epoch
    /// logic at `context.timeMs`, then each transaction atomically.
    /// `verified` names transactions (by digest, which covers the signature) whose signature was
    /// already checked, so that it is not checked again.
    public func execute(
        _ context: BlockContext, transactions: [SignedTransaction], evidence: [Evidence] = [],
        verified: @escaping @Sendable ([UInt8]) -> Bool = { _ in false }
    ) throws(LedgerError) -> BlockExecution {
        var executor = try Executor(view: StateView(store: store), context: context)
        executor.isVerified = verified
        var events = try executor.beginBlock()
        // Evidence first: a validator proved to misbehave is slashed before anything else runs.
        for item in evidence { events.append(try executor.applyEvidence(item)) }
        var results: [TransactionResult] = []
        var nonces: [Address: UInt64] = [:]
        for transaction in transactions {
            let result = try executor.apply(transaction, expectedNonces: &nonces)
            results.append(result)
            events += result.events
        }
        executor.view.put(Keys.system, executor.system)
        executor.view.commitTransaction()
        let hash = try executor.view.updating(try stateHash())
        executor.view.putRaw(Keys.stateHash, hash.bytes)
        executor.view.commitTransaction()
        return BlockExecution(context: context, results: results, events: events, batch: executor.view.batch(), system: executor.system,
                              nextValidators: executor.nextValidators, stateHash: hash.digest)
    }

    /// Applies an execution's writes (with any extra operations, such as the block itself) in one
    /// durable batch.
    public func commit(_ execution: BlockExecution, with extra: WriteBatch = WriteBatch()) throws(KVError) {
        var batch = execution.batch
        for operation in extra.operations {
            switch operation {
            case let .put(family, key, value): batch.put(family, key: key, value: value)
            case let .delete(family, key): batch.delete(family, key: key)
            }
        }
        try store.write(batch, durability: .durable)
    }

    /// Checks that a transaction could be admitted now: signature, chain and nonce (for mempools).
    /// Checks what admission needs no execution for: chain, nonce, signature, size, and that the
    /// sender can pay this transaction's fee on top of `pendingFees` (the fees of its transactions
    /// already pending). Returns the fee.
    @discardableResult
    public func admissionCheck(
        _ transaction: SignedTransaction, pendingNonce: UInt64? = nil, pendingFees: FROST = FROST(0), signatureChecked: Bool = false
    ) throws(LedgerError) -> FROST {
        let system = try system()
        let account = try account(transaction.transaction.senderAddress)
        try Executor.checkAdmission(
            transaction, chainID: system.parameters.chainID, expectedNonce: pendingNonce ?? account.nonce, signatureChecked: signatureChecked)
        // An account that cannot pay the fee gets nothing into a block: refused before gossip.
        guard let fee = system.parameters.fees.fee(for: transaction) else {
            throw LedgerError(.invalidArgument, "the transaction's fee overflows")
        }
        let (total, overflow) = fee.rawValue.addingReportingOverflow(pendingFees.rawValue)
        guard !overflow, account.balance.rawValue >= total else {
            let pending = pendingFees.rawValue > 0 ? " (with the fees of its pending transactions)" : ""
            throw LedgerError(.insufficientFunds, "\(transaction.transaction.senderAddress) cannot pay the transaction fee\(pending); fund the account first")
        }
        return fee
    }
}
