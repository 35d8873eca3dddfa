import ChainTypes
import KVStore
import RedStuff
import WalrusCore
import WalrusCrypto

/// Executes one block: holds the pending state, the system object and the block context.
struct Executor {
    let view: StateView
    let context: BlockContext
    var system: SystemState
    /// The transaction being applied (its sender), and the events it emitted so far.
    var sender = Address(unchecked: [UInt8](repeating: 0, count: 32))
    var events: [LedgerEvent] = []
    /// The consensus set from the next height on, when this block changes it.
    var nextValidators: [Validator]?
    /// Transactions whose signatures were checked before execution.
    var isVerified: @Sendable ([UInt8]) -> Bool = { _ in false }

    init(view: StateView, context: BlockContext) throws(LedgerError) {
        self.view = view
        self.context = context
        guard let system = try view.get(SystemState.self, Keys.system) else {
            throw LedgerError(.notFound, "the ledger has no genesis state")
        }
        self.system = system
    }

    var epoch: Epoch { system.epoch }
    var parameters: ChainParameters { system.parameters }

    static func checkAdmission(
        _ signed: SignedTransaction, chainID: String, expectedNonce: UInt64, signatureChecked: Bool = false
    ) throws(LedgerError) {
        let tx = signed.transaction
        guard tx.chainID == chainID else {
            throw LedgerError(.wrongChain, "the transaction is for chain '\(tx.chainID)', this is '\(chainID)'")
        }
        guard signatureChecked || signed.hasValidSignature else { throw LedgerError(.badSignature, "the transaction signature does not verify") }
        guard tx.nonce == expectedNonce else {
            throw LedgerError(.badNonce, "nonce \(tx.nonce) is not the account's next nonce \(expectedNonce)")
        }
        guard !tx.operations.isEmpty else { throw LedgerError(.invalidArgument, "the transaction has no operations") }
    }

    /// Applies one transaction: rejected if inadmissible; otherwise its nonce is consumed and its
    /// operations apply all together or not at all.
    mutating func apply(_ signed: SignedTransaction, expectedNonces: inout [Address: UInt64]) throws(LedgerError) -> TransactionResult {
        let tx = signed.transaction
        let encoded = signed.bcsBytes
        let digest = Blake2b256.hash(encoded)  // The digest, from the one encoding the fee needs too.
        sender = tx.senderAddress
        var account = try view.get(Account.self, Keys.account(sender)) ?? Account()
        do {
            try Executor.checkAdmission(
                signed, chainID: parameters.chainID, expectedNonce: expectedNonces[sender] ?? account.nonce, signatureChecked: isVerified(digest))
        } catch {
            return TransactionResult(digest: digest, status: .rejected(code: error.code.rawValue, message: error.message), events: [])
        }
        // The fee, charged before the operations run and kept when they fail; a sender that
        // cannot pay is rejected (its nonce unused, the transaction out of the block).
        guard let fee = parameters.fees.fee(for: signed, encodedCount: encoded.count), account.balance >= fee else {
            return TransactionResult(
                digest: digest, status: .rejected(code: LedgerError.Code.insufficientFunds.rawValue, message: "\(sender) cannot pay the transaction fee"),
                events: [])
        }
        account.balance = FROST(account.balance.rawValue - fee.rawValue)
        system.burned = FROST(system.burned.rawValue &+ fee.rawValue)
        account.nonce += 1
        expectedNonces[sender] = account.nonce
        view.put(Keys.account(sender), account)
        view.commitTransaction()

        let saved = system
        events = []
        do {
            for operation in tx.operations { try perform(operation) }
            view.commitTransaction()
            return TransactionResult(digest: digest, status: .success, events: events)
        } catch {
            view.abortTransaction()
            system = saved
            return TransactionResult(digest: digest, status: .failure(code: error.code.rawValue, message: error.message), events: [])
        }
    }

    private mutating func perform(_ operation: Operation) throws(LedgerError) {
        switch operation {
        case let .transfer(to, amount): try transfer(to: to, amount: amount)
        case let .reserveSpace(size, epochs): _ = try reserve(size: size, epochs: epochs, owner: sender)
        case let .splitStorageBySize(id, size): try splitBySize(id, size: size)
        case let .splitStorageByEpoch(id, at): try splitByEpoch(id, at: at)
        case let .fuseStorage(first, second): try fuse(first, second)
        case let .transferStorage(id, to): try transferStorage(id, to: to)
        case let .registerBlob(source, blobID, rootHash, size, encodingType, deletable):
            try registerBlob(source, blobID: blobID, rootHash: rootHash, size: size, encodingType: encodingType, deletable: deletable)
        case let .certifyBlob(blob, certificate): try certifyBlob(blob, certificate)
        case let .extendBlob(blob, epochs): try extendBlob(blob, epochs: epochs)
        case let .deleteBlob(blob): try deleteBlob(blob)
        case let .invalidateBlob(certificate): try invalidateBlob(certificate)
        case let .registerNode(name, address, key, commission, storagePrice, writePrice, capacity, proof, networkKey):
            try registerNode(name: name, networkAddress: address, publicKey: key, commission: commission,
                             storagePrice: storagePrice, writePrice: writePrice, capacity: capacity, proof: proof, networkPublicKey: networkKey)
        case let .stake(node, amount): try stake(node, amount: amount)
        case let .requestWithdrawal(stake): try requestWithdrawal(stake)
        case let .withdraw(stake): try withdraw(stake)
        case let .epochSyncDone(node, epoch): try epochSyncDone(node, epoch: epoch)
        case let .registerValidator(key, address, bond, proof): try registerValidator(publicKey: key, p2pAddress: address, bond: bond, proof: proof)
        case let .stakeWithValidator(validator, amount): try stakeWithValidator(validator, amount: amount)
        case let .leaveValidatorSet(validator): try leaveValidatorSet(validator)
        case let .updateNode(node, update): try updateNode(node, update)
        case let .transferBlob(blob, to): try transferBlob(blob, to: to)
        case let .setBlobAttribute(blob, pairs): try setBlobAttribute(blob, pairs)
        case let .removeBlobAttributeFields(blob, keys): try removeBlobAttributeFields(blob, keys)
        case let .removeBlobAttribute(blob): try removeBlobAttribute(blob)
        case let .shareBlob(blob, funds): try shareBlob(blob, funds: funds)
        case let .fundSharedBlob(shared, amount): try fundSharedBlob(shared, amount: amount)
        case let .extendSharedBlob(shared, epochs): try extendSharedBlob(shared, epochs: epochs)
        }
    }

    // MARK: - Accounts

    mutating func debit(_ address: Address, _ amount: FROST) throws(LedgerError) {
        var account = try view.get(Account.self, Keys.account(address)) ?? Account()
        guard account.balance >= amount else {
            throw LedgerError(.insufficientFunds, "\(address) has \(account.balance), needs \(amount)")
        }
        account.balance = FROST(account.balance.rawValue - amount.rawValue)
        view.put(Keys.account(address), account)
    }

    mutating func credit(_ address: Address, _ amount: FROST) throws(LedgerError) {
        var account = try view.get(Account.self, Keys.account(address)) ?? Account()
        do { account.balance = try account.balance.adding(amount) } catch { throw LedgerError(error) }
        view.put(Keys.account(address), account)
    }

    private mutating func transfer(to: Address, amount: FROST) throws(LedgerError) {
        guard amount > .zero else { throw LedgerError(.invalidArgument, "a transfer moves a positive amount") }
        try debit(sender, amount)
        try credit(to, amount)
    }

    /// A new object ID: BLAKE2b-256 of the chain ID and a counter, unique and deterministic.
    mutating func newObjectID() -> ObjectID {
        system.objectCounter += 1
        var w = BCSWriter()
        w.writeString("walrus-object")
        w.writeString(parameters.chainID)
        w.write(system.objectCounter)
        return ObjectID(unchecked: Blake2b256.hash(w.bytes))
    }

    func setOwned(_ owner: Address, _ kind: UInt8, _ id: ObjectID) { view.put(Keys.owned(owner, kind, id), Marker()) }
    func clearOwned(_ owner: Address, _ kind: UInt8, _ id: ObjectID) { view.delete(Keys.owned(owner, kind, id)) }

    static func multiply(_ a: FROST, _ b: UInt64) throws(LedgerError) -> FROST {
        do { return try a.multiplied(by: b) } catch { throw LedgerError(.insufficientFunds, error.message) }
    }
}

/// Storage units: prices are per MiB of encoded size.
