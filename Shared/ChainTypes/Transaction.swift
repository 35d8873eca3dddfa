public import WalrusCore
public import WalrusCrypto

/// Where a blob registration gets its storage: an owned resource, or a reservation made in the same
/// transaction (the reference's reserve + register in one PTB).
public enum StorageSource: Hashable, Sendable, BCSCodable {
    case existing(ObjectID)
    case reserve(epochs: UInt32)

    public func encode(to w: inout BCSWriter) {
        switch self {
        case .existing(let id): w.writeVariant(0); w.write(id)
        case .reserve(let epochs): w.writeVariant(1); w.write(epochs)
        }
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        switch try r.readVariant(count: 2) {
        case 0: self = .existing(try r.read(ObjectID.self))
        default: self = .reserve(epochs: try r.readU32())
        }
    }
}

/// One ledger operation.
public enum Operation: Hashable, Sendable, BCSCodable {
    case transfer(to: Address, amount: FROST)
    case reserveSpace(size: UInt64, epochs: UInt32)
    case splitStorageBySize(storage: ObjectID, size: UInt64)
    case splitStorageByEpoch(storage: ObjectID, epoch: Epoch)
    case fuseStorage(first: ObjectID, second: ObjectID)
    case transferStorage(storage: ObjectID, to: Address)
    case registerBlob(storage: StorageSource, blobID: BlobID, rootHash: [UInt8], size: UInt64, encodingType: UInt8, deletable: Bool)
    case certifyBlob(blob: ObjectID, certificate: CommitteeCertificate)
    case extendBlob(blob: ObjectID, epochs: UInt32)
    case deleteBlob(blob: ObjectID)
    case invalidateBlob(certificate: CommitteeCertificate)
    /// Registers the sender as operator of a storage node with key `publicKey`, which signs
    /// `NodeRegistration` to prove it consents; no two nodes share a key. `networkPublicKey` is the
    /// node's 33-byte compressed P-256 key, which its TLS certificate carries and clients pin;
    /// empty for a node that serves plain HTTP.
    case registerNode(name: String, networkAddress: String, publicKey: Schnorr.PublicKey, commissionBasisPoints: UInt16,
                      storagePrice: FROST, writePrice: FROST, capacity: UInt64, proof: Schnorr.Signature, networkPublicKey: [UInt8] = [])
    case stake(node: NodeID, amount: FROST)
    case requestWithdrawal(stake: ObjectID)
    case withdraw(stake: ObjectID)
    case epochSyncDone(node: NodeID, epoch: Epoch)
    /// Registers the sender as operator of a consensus validator candidate with key `publicKey`
    /// (which signs `ValidatorRegistration` to prove it consents), bonding `bond` of the sender's
    /// WAL. Candidates with the most stake (bond and delegations) form the set at epoch changes.
    case registerValidator(publicKey: Schnorr.PublicKey, p2pAddress: String, bond: FROST, proof: Schnorr.Signature)
    /// Delegates `amount` to the validator with key `validator` (a stake, withdrawn as any stake).
    case stakeWithValidator(validator: Schnorr.PublicKey, amount: FROST)
    /// The operator takes its validator out of the set at the next epoch change, which returns
    /// what is left of the bond to the operator.
    case leaveValidatorSet(validator: Schnorr.PublicKey)
    /// The operator changes its node's address, commission or votes (prices and capacity, counted
    /// at the next epoch change and committee selection).
    case updateNode(node: NodeID, update: NodeUpdate)
    /// The owner gives a blob registration to `to` (the publisher's `send_object_to`): the new
    /// owner may extend, delete or transfer it.
    case transferBlob(blob: ObjectID, to: Address)
    /// The owner sets keys of the blob object's attribute (creating it), each replacing the
    /// key's value or appended.
    case setBlobAttribute(blob: ObjectID, pairs: [AttributePair])
    /// The owner removes keys from the attribute (keys it does not hold are refused).
    case removeBlobAttributeFields(blob: ObjectID, keys: [String])
    /// The owner removes the whole attribute.
    case removeBlobAttribute(blob: ObjectID)
    /// The owner makes a permanent blob object shared: it belongs to no one from then on, and
    /// anyone may fund it and extend it from its funds (Walrus's `SharedBlob`); `funds` come
    /// from the sender.
    case shareBlob(blob: ObjectID, funds: FROST)
    /// Anyone adds `amount` of their WAL to a shared blob's funds.
    case fundSharedBlob(shared: ObjectID, amount: FROST)
    /// Anyone extends a shared blob by `epochs`, paid from its funds.
    case extendSharedBlob(shared: ObjectID, epochs: UInt32)

    public func encode(to w: inout BCSWriter) {
        switch self {
        case let .transfer(to, amount): w.writeVariant(0); w.write(to); w.write(amount)
        case let .reserveSpace(size, epochs): w.writeVariant(1); w.write(size); w.write(epochs)
        case let .splitStorageBySize(storage, size): w.writeVariant(2); w.write(storage); w.write(size)
        case let .splitStorageByEpoch(storage, epoch): w.writeVariant(3); w.write(storage); w.write(epoch)
        case let .fuseStorage(first, second): w.writeVariant(4); w.write(first); w.write(second)
        case let .transferStorage(storage, to): w.writeVariant(5); w.write(storage); w.write(to)
        case let .registerBlob(storage, blobID, rootHash, size, encodingType, deletable):
            w.writeVariant(6); w.write(storage); w.write(blobID); w.writeFixed(rootHash); w.write(size); w.write(encodingType)
            w.write(deletable)
        case let .certifyBlob(blob, certificate): w.writeVariant(7); w.write(blob); w.write(certificate)
        case let .extendBlob(blob, epochs): w.writeVariant(8); w.write(blob); w.write(epochs)
        case let .deleteBlob(blob): w.writeVariant(9); w.write(blob)
        case let .invalidateBlob(certificate): w.writeVariant(10); w.write(certificate)
        case let .registerNode(name, networkAddress, publicKey, commission, storagePrice, writePrice, capacity, proof, networkKey):
            w.writeVariant(11); w.writeString(name); w.writeString(networkAddress); w.write(publicKey); w.write(commission)
            w.write(storagePrice); w.write(writePrice); w.write(capacity); w.write(proof); w.writeBytes(networkKey)
        case let .stake(node, amount): w.writeVariant(12); w.write(node); w.write(amount)
        case let .requestWithdrawal(stake): w.writeVariant(13); w.write(stake)
        case let .withdraw(stake): w.writeVariant(14); w.write(stake)
        case let .epochSyncDone(node, epoch): w.writeVariant(15); w.write(node); w.write(epoch)
        case let .registerValidator(key, address, bond, proof): w.writeVariant(16); w.write(key); w.writeString(address); w.write(bond); w.write(proof)
        case let .stakeWithValidator(validator, amount): w.writeVariant(17); w.write(validator); w.write(amount)
        case let .leaveValidatorSet(validator): w.writeVariant(18); w.write(validator)
        case let .updateNode(node, update): w.writeVariant(19); w.write(node); w.write(update)
        case let .transferBlob(blob, to): w.writeVariant(20); w.write(blob); w.write(to)
        case let .setBlobAttribute(blob, pairs): w.writeVariant(21); w.write(blob); w.writeSequence(pairs)
        case let .removeBlobAttributeFields(blob, keys):
            w.writeVariant(22); w.write(blob); w.writeLength(keys.count)
            for key in keys { w.writeString(key) }
        case let .removeBlobAttribute(blob): w.writeVariant(23); w.write(blob)
        case let .shareBlob(blob, funds): w.writeVariant(24); w.write(blob); w.write(funds)
        case let .fundSharedBlob(shared, amount): w.writeVariant(25); w.write(shared); w.write(amount)
        case let .extendSharedBlob(shared, epochs): w.writeVariant(26); w.write(shared); w.write(epochs)
        }
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        switch try r.readVariant(count: 27) {
        case 0: self = .transfer(to: try r.read(Address.self), amount: try r.read(FROST.self))
        case 1: self = .reserveSpace(size: try r.readU64(), epochs: try r.readU32())
        case 2: self = .splitStorageBySize(storage: try r.read(ObjectID.self), size: try r.readU64())
        case 3: self = .splitStorageByEpoch(storage: try r.read(ObjectID.self), epoch: try r.read(Epoch.self))
        case 4: self = .fuseStorage(first: try r.read(ObjectID.self), second: try r.read(ObjectID.self))
        case 5: self = .transferStorage(storage: try r.read(ObjectID.self), to: try r.read(Address.self))
        case 6:
            self = .registerBlob(
                storage: try r.read(StorageSource.self), blobID: try r.read(BlobID.self), rootHash: try r.readFixed(32),
                size: try r.readU64(), encodingType: try r.readU8(), deletable: try r.readBool())
        case 7: self = .certifyBlob(blob: try r.read(ObjectID.self), certificate: try r.read(CommitteeCertificate.self))
        case 8: self = .extendBlob(blob: try r.read(ObjectID.self), epochs: try r.readU32())
        case 9: self = .deleteBlob(blob: try r.read(ObjectID.self))
        case 10: self = .invalidateBlob(certificate: try r.read(CommitteeCertificate.self))
        case 11:
            self = .registerNode(
                name: try r.readString(max: Operation.nodeNameBytesMax), networkAddress: try r.readString(max: Limits.networkAddressBytesMax),
                publicKey: try r.read(Schnorr.PublicKey.self), commissionBasisPoints: try r.readU16(), storagePrice: try r.read(FROST.self),
                writePrice: try r.read(FROST.self), capacity: try r.readU64(), proof: try r.read(Schnorr.Signature.self),
                networkPublicKey: try r.readBytes(max: Operation.networkPublicKeyBytes))
        case 12: self = .stake(node: try r.read(NodeID.self), amount: try r.read(FROST.self))
        case 13: self = .requestWithdrawal(stake: try r.read(ObjectID.self))
        case 14: self = .withdraw(stake: try r.read(ObjectID.self))
        case 15: self = .epochSyncDone(node: try r.read(NodeID.self), epoch: try r.read(Epoch.self))
        case 16:
            self = .registerValidator(
                publicKey: try r.read(Schnorr.PublicKey.self), p2pAddress: try r.readString(max: Limits.networkAddressBytesMax), bond: try r.read(FROST.self),
                proof: try r.read(Schnorr.Signature.self))
        case 17: self = .stakeWithValidator(validator: try r.read(Schnorr.PublicKey.self), amount: try r.read(FROST.self))
        case 18: self = .leaveValidatorSet(validator: try r.read(Schnorr.PublicKey.self))
        case 19: self = .updateNode(node: try r.read(NodeID.self), update: try r.read(NodeUpdate.self))
        case 20: self = .transferBlob(blob: try r.read(ObjectID.self), to: try r.read(Address.self))
        case 21:
            self = .setBlobAttribute(
                blob: try r.read(ObjectID.self), pairs: try r.readSequence(of: AttributePair.self, max: AttributePair.perOperationMax, minElementBytes: 2))
        case 22:
            let blob = try r.read(ObjectID.self)
            let count = try r.readLength(max: AttributePair.perOperationMax, minElementBytes: 1)
            var keys: [String] = []
            for _ in 0..<count { keys.append(try r.readString(max: AttributePair.keyBytesMax)) }
            self = .removeBlobAttributeFields(blob: blob, keys: keys)
        case 23: self = .removeBlobAttribute(blob: try r.read(ObjectID.self))
        case 24: self = .shareBlob(blob: try r.read(ObjectID.self), funds: try r.read(FROST.self))
        case 25: self = .fundSharedBlob(shared: try r.read(ObjectID.self), amount: try r.read(FROST.self))
        default: self = .extendSharedBlob(shared: try r.read(ObjectID.self), epochs: try r.readU32())
        }
    }
}

/// A transaction: operations applied atomically for the account of `publicKey`, at its next nonce,
/// on one chain.
public struct Transaction: Hashable, Sendable, BCSCodable {
    public let chainID: String
    public let sender: Schnorr.PublicKey
    public let nonce: UInt64
    public let operations: [Operation]

    public static let operationsMax = 32

    public init(chainID: String, sender: Schnorr.PublicKey, nonce: UInt64, operations: [Operation]) {
        self.chainID = chainID
        self.sender = sender
        self.nonce = nonce
        self.operations = operations
    }

    public var senderAddress: Address { sender.address }

    /// The signed bytes: the transaction intent header, then the transaction (chain ID included).
    public var intentMessage: IntentMessage { IntentMessage(type: .transaction, epoch: Epoch(0), body: self) }

    public func encode(to w: inout BCSWriter) {
        w.writeString(chainID)
        w.write(sender)
        w.write(nonce)
        w.writeSequence(operations)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        chainID = try r.readString(max: 64)
        sender = try r.read(Schnorr.PublicKey.self)
        nonce = try r.readU64()
        operations = try r.readSequence(of: Operation.self, max: Transaction.operationsMax)
    }
}

/// A transaction with its BIP340 signature.
public struct SignedTransaction: Hashable, Sendable, BCSCodable {
    public let transaction: Transaction
    public let signature: Schnorr.Signature

    public init(transaction: Transaction, signature: Schnorr.Signature) {
        self.transaction = transaction
        self.signature = signature
    }

    /// Signs `transaction` with `key`, which must be its sender's.
    public init(_ transaction: Transaction, signedBy key: Schnorr.PrivateKey) {
        precondition(key.publicKey == transaction.sender, "the sender signs")
        self.init(transaction: transaction, signature: key.sign(transaction.intentMessage))
    }

    /// The transaction's digest: BLAKE2b-256 of its signed bytes and signature.
    public var digest: [UInt8] { Blake2b256.hash(bcsBytes) }

    public var hasValidSignature: Bool {
        transaction.sender.isValidSignature(signature, for: transaction.intentMessage.serialized)
    }

    /// The largest encoded transaction accepted.
    public static let bytesMax = 64 * 1024

    public func encode(to w: inout BCSWriter) {
        w.write(transaction)
        w.write(signature)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        transaction = try r.read(Transaction.self)
        signature = try r.read(Schnorr.Signature.self)
    }
}

/// `Operation` under a name that Foundation's `Operation` does not shadow (the module is also named
/// after its `Ledger` class, so `Ledger.Operation` cannot be written).
public typealias LedgerOperation = Operation

extension Operation {
    /// The longest storage node name, in UTF-8 bytes.
    public static let nodeNameBytesMax = 128
    /// A compressed P-256 point.
    public static let networkPublicKeyBytes = 33
}

/// What a validator key signs to consent to being registered as a candidate by an operator: the
/// chain, the key and the operator's address, so the consent cannot be replayed for another
/// operator or chain.
/// What a storage node's key signs to consent to its registration by `operator` on `chainID`.
public enum NodeRegistration {
    public static func signBytes(chainID: String, publicKey: Schnorr.PublicKey, operator: Address) -> [UInt8] {
        registrationSignBytes("walrus-storage-node-registration", chainID: chainID, publicKey: publicKey, operator: `operator`)
    }
}

/// A key's consent to be registered by `operator` on `chainID`, under a domain that says as what.
func registrationSignBytes(_ domain: String, chainID: String, publicKey: Schnorr.PublicKey, operator: Address) -> [UInt8] {
    var writer = BCSWriter()
    writer.writeString(domain)
    writer.writeString(chainID)
    writer.write(publicKey)
    writer.write(`operator`)
    return writer.bytes
}

/// The changes of an `updateNode` operation; a field left nil keeps its value.
public struct NodeUpdate: Hashable, Sendable, BCSCodable {
    public var networkAddress: String?
    public var commissionBasisPoints: UInt16?
    public var storagePrice: FROST?
    public var writePrice: FROST?
    public var capacity: UInt64?
    /// A new network key (the node's TLS certificate key), for rotation.
    public var networkPublicKey: [UInt8]?

    public init(
        networkAddress: String? = nil, commissionBasisPoints: UInt16? = nil, storagePrice: FROST? = nil, writePrice: FROST? = nil, capacity: UInt64? = nil,
        networkPublicKey: [UInt8]? = nil
    ) {
        self.networkPublicKey = networkPublicKey
        self.networkAddress = networkAddress
        self.commissionBasisPoints = commissionBasisPoints
        self.storagePrice = storagePrice
        self.writePrice = writePrice
        self.capacity = capacity
    }

    public var isEmpty: Bool { networkAddress == nil && commissionBasisPoints == nil && storagePrice == nil && writePrice == nil && capacity == nil && networkPublicKey == nil }

    public func encode(to w: inout BCSWriter) {
        w.write(networkAddress != nil)
        if let networkAddress { w.writeString(networkAddress) }
        w.write(commissionBasisPoints != nil)
        if let commissionBasisPoints { w.write(commissionBasisPoints) }
        w.writeOption(storagePrice)
        w.writeOption(writePrice)
        w.write(capacity != nil)
        if let capacity { w.write(capacity) }
        w.write(networkPublicKey != nil)
        if let networkPublicKey { w.writeBytes(networkPublicKey) }
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        networkAddress = try r.readBool() ? try r.readString(max: Limits.networkAddressBytesMax) : nil
        commissionBasisPoints = try r.readBool() ? try r.readU16() : nil
        storagePrice = try r.readOption(of: FROST.self)
        writePrice = try r.readOption(of: FROST.self)
        capacity = try r.readBool() ? try r.readU64() : nil
        networkPublicKey = try r.readBool() ? try r.readBytes(max: Operation.networkPublicKeyBytes) : nil
    }
}

/// What a validator's key signs to consent to its registration by `operator` on `chainID`.
public enum ValidatorRegistration {
    public static func signBytes(chainID: String, publicKey: Schnorr.PublicKey, operator: Address) -> [UInt8] {
        registrationSignBytes("walrus-validator-registration", chainID: chainID, publicKey: publicKey, operator: `operator`)
    }
}

/// One key and value of a blob object's attribute (Walrus's `BlobAttribute`, a map kept in
/// insertion order). The aggregator serves the allowed keys as response headers.
public struct AttributePair: Hashable, Sendable, BCSCodable {
    public let key: String
    public let value: String

    /// A key (a header name, for the aggregator) is 1 to 256 bytes; a value at most 4 KiB.
    public static let keyBytesMax = 256
    public static let valueBytesMax = 4096
    /// Pairs one operation sets, and pairs a blob object holds.
    public static let perOperationMax = 64
    public static let perBlobMax = 128

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public func encode(to w: inout BCSWriter) {
        w.writeString(key)
        w.writeString(value)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        key = try r.readString(max: Self.keyBytesMax)
        value = try r.readString(max: Self.valueBytesMax)
    }
}
