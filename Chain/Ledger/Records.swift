public import ChainTypes
public import WalrusCore
public import WalrusCrypto

/// A reservation of `size` encoded bytes for the epochs `[startEpoch, endEpoch)`.
public struct StorageResource: Hashable, Sendable, BCSCodable {
    public let id: ObjectID
    public var owner: Address
    public var startEpoch: Epoch
    public var endEpoch: Epoch
    public var size: UInt64

    public init(id: ObjectID, owner: Address, startEpoch: Epoch, endEpoch: Epoch, size: UInt64) {
        self.id = id
        self.owner = owner
        self.startEpoch = startEpoch
        self.endEpoch = endEpoch
        self.size = size
    }

    public func encode(to writer: inout BCSWriter) {
        writer.write(id)
        writer.write(owner)
        writer.write(startEpoch)
        writer.write(endEpoch)
        writer.write(size)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        id = try reader.read(ObjectID.self)
        owner = try reader.read(Address.self)
        startEpoch = try reader.read(Epoch.self)
        endEpoch = try reader.read(Epoch.self)
        size = try reader.readU64()
    }
}

/// A blob registration (the reference's `Blob` object), holding its storage.
public struct BlobRecord: Hashable, Sendable, BCSCodable {
    public let id: ObjectID
    public var owner: Address
    public let registeredEpoch: Epoch
    public let blobID: BlobID
    public let size: UInt64
    public let encodingType: UInt8
    public var certifiedEpoch: Epoch?
    public var storage: StorageResource
    public let deletable: Bool

    public init(
        id: ObjectID, owner: Address, registeredEpoch: Epoch, blobID: BlobID, size: UInt64, encodingType: UInt8,
        certifiedEpoch: Epoch?, storage: StorageResource, deletable: Bool
    ) {
        self.id = id
        self.owner = owner
        self.registeredEpoch = registeredEpoch
        self.blobID = blobID
        self.size = size
        self.encodingType = encodingType
        self.certifiedEpoch = certifiedEpoch
        self.storage = storage
        self.deletable = deletable
    }

    public var endEpoch: Epoch { storage.endEpoch }

    public func encode(to writer: inout BCSWriter) {
        writer.write(id)
        writer.write(owner)
        writer.write(registeredEpoch)
        writer.write(blobID)
        writer.write(size)
        writer.write(encodingType)
        writer.writeOption(certifiedEpoch)
        writer.write(storage)
        writer.write(deletable)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        id = try reader.read(ObjectID.self)
        owner = try reader.read(Address.self)
        registeredEpoch = try reader.read(Epoch.self)
        blobID = try reader.read(BlobID.self)
        size = try reader.readU64()
        encodingType = try reader.readU8()
        certifiedEpoch = try reader.readOption(of: Epoch.self)
        storage = try reader.read(StorageResource.self)
        deletable = try reader.readBool()
    }
}

/// A storage node's staking pool: its identity, network address and key, the operator account,
/// commission and parameter votes.
public struct StoragePool: Hashable, Sendable, BCSCodable {
    public let nodeID: NodeID
    public var name: String
    public var networkAddress: String
    public var publicKey: Schnorr.PublicKey
    public let operatorAddress: Address
    public var commissionBasisPoints: UInt16
    public var storagePriceVote: FROST
    public var writePriceVote: FROST
    public var capacityVote: UInt64
    /// The compressed P-256 key of the node's TLS certificate; empty: the node serves plain HTTP.
    public var networkPublicKey: [UInt8]

    public init(
        nodeID: NodeID, name: String, networkAddress: String, publicKey: Schnorr.PublicKey, operatorAddress: Address,
        commissionBasisPoints: UInt16, storagePriceVote: FROST, writePriceVote: FROST, capacityVote: UInt64, networkPublicKey: [UInt8] = []
    ) {
        self.networkPublicKey = networkPublicKey
        self.nodeID = nodeID
        self.name = name
        self.networkAddress = networkAddress
        self.publicKey = publicKey
        self.operatorAddress = operatorAddress
        self.commissionBasisPoints = commissionBasisPoints
        self.storagePriceVote = storagePriceVote
        self.writePriceVote = writePriceVote
        self.capacityVote = capacityVote
    }

    public static let nameBytesMax = Operation.nodeNameBytesMax

    public func encode(to writer: inout BCSWriter) {
        writer.write(nodeID)
        writer.writeString(name)
        writer.writeString(networkAddress)
        writer.write(publicKey)
        writer.write(operatorAddress)
        writer.write(commissionBasisPoints)
        writer.write(storagePriceVote)
        writer.write(writePriceVote)
        writer.write(capacityVote)
        writer.writeBytes(networkPublicKey)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        nodeID = try reader.read(NodeID.self)
        name = try reader.readString(max: StoragePool.nameBytesMax)
        networkAddress = try reader.readString(max: Limits.networkAddressBytesMax)
        publicKey = try reader.read(Schnorr.PublicKey.self)
        operatorAddress = try reader.read(Address.self)
        commissionBasisPoints = try reader.readU16()
        storagePriceVote = try reader.read(FROST.self)
        writePriceVote = try reader.read(FROST.self)
        capacityVote = try reader.readU64()
        networkPublicKey = try reader.readBytes(max: Operation.networkPublicKeyBytes)
    }
}

/// Staked WAL: counts for committees from `activationEpoch` until `withdrawEpoch`.
public struct StakeRecord: Hashable, Sendable, BCSCodable {
    public let id: ObjectID
    public let owner: Address
    public let nodeID: NodeID
    public var amount: FROST
    public let activationEpoch: Epoch
    public var withdrawEpoch: Epoch?

    public init(id: ObjectID, owner: Address, nodeID: NodeID, amount: FROST, activationEpoch: Epoch, withdrawEpoch: Epoch?) {
        self.id = id
        self.owner = owner
        self.nodeID = nodeID
        self.amount = amount
        self.activationEpoch = activationEpoch
        self.withdrawEpoch = withdrawEpoch
    }

    /// Whether the stake counts for the committee of `epoch`.
    public func counts(in epoch: Epoch) -> Bool {
        activationEpoch <= epoch && (withdrawEpoch.map { epoch < $0 } ?? true)
    }

    public func encode(to writer: inout BCSWriter) {
        writer.write(id)
        writer.write(owner)
        writer.write(nodeID)
        writer.write(amount)
        writer.write(activationEpoch)
        writer.writeOption(withdrawEpoch)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        id = try reader.read(ObjectID.self)
        owner = try reader.read(Address.self)
        nodeID = try reader.read(NodeID.self)
        amount = try reader.read(FROST.self)
        activationEpoch = try reader.read(Epoch.self)
        withdrawEpoch = try reader.readOption(of: Epoch.self)
    }
}

/// A storage committee: members sorted by node ID, each with its shards.
public struct Committee: Hashable, Sendable, BCSCodable {
    public struct Member: Hashable, Sendable, BCSCodable {
        public let nodeID: NodeID
        public let shards: [ShardIndex]
        public init(nodeID: NodeID, shards: [ShardIndex]) {
            self.nodeID = nodeID
            self.shards = shards
        }
        public var weight: UInt64 { UInt64(shards.count) }
        public func encode(to writer: inout BCSWriter) {
            writer.write(nodeID)
            writer.writeSequence(shards)
        }
        public init(from reader: inout BCSReader) throws(CoreError) {
            nodeID = try reader.read(NodeID.self)
            shards = try reader.readSequence(of: ShardIndex.self, max: Int(Limits.shardCountMax), minElementBytes: 2)
        }
    }

    public let epoch: Epoch
    public let members: [Member]

    public init(epoch: Epoch, members: [Member]) {
        self.epoch = epoch
        self.members = members.sorted { $0.nodeID < $1.nodeID }
    }

    public var shardCount: UInt64 { members.reduce(0) { $0 + $1.weight } }

    public func member(_ nodeID: NodeID) -> Member? { members.first { $0.nodeID == nodeID } }

    public func index(of nodeID: NodeID) -> Int? { members.firstIndex { $0.nodeID == nodeID } }

    /// A hash headers commit to.
    public var hash: [UInt8] { Blake2b256.hash(bcsBytes) }

    public func encode(to writer: inout BCSWriter) {
        writer.write(epoch)
        writer.writeSequence(members)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        epoch = try reader.read(Epoch.self)
        members = try reader.readSequence(of: Member.self, max: 4096, minElementBytes: 33)
    }
}

/// The epoch state machine (PROTOCOL.md §4.2); times are block times in milliseconds.
public enum EpochState: Hashable, Sendable, BCSCodable {
    /// Nodes of the new committee are syncing shards; `weight` of them reported done.
    case changeSync(weight: UInt64, reported: [NodeID])
    /// The epoch change finished at `timeMs`.
    case changeDone(timeMs: UInt64)
    /// The next committee was selected; the epoch started at `timeMs`.
    case nextParamsSelected(timeMs: UInt64)

    public func encode(to writer: inout BCSWriter) {
        switch self {
        case .changeSync(let weight, let reported):
            writer.writeVariant(0)
            writer.write(weight)
            writer.writeSequence(reported)
        case .changeDone(let t):
            writer.writeVariant(1)
            writer.write(t)
        case .nextParamsSelected(let t):
            writer.writeVariant(2)
            writer.write(t)
        }
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        switch try reader.readVariant(count: 3) {
        case 0: self = .changeSync(weight: try reader.readU64(), reported: try reader.readSequence(of: NodeID.self, max: 4096, minElementBytes: 32))
        case 1: self = .changeDone(timeMs: try reader.readU64())
        default: self = .nextParamsSelected(timeMs: try reader.readU64())
        }
    }
}

/// What one future epoch has been sold: used capacity and the rewards paid into it.
public struct AccountingEntry: Hashable, Sendable, BCSCodable {
    public var usedCapacity: UInt64
    public var rewards: FROST

    public init(usedCapacity: UInt64 = 0, rewards: FROST = .zero) {
        self.usedCapacity = usedCapacity
        self.rewards = rewards
    }

    public func encode(to writer: inout BCSWriter) {
        writer.write(usedCapacity)
        writer.write(rewards)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        usedCapacity = try reader.readU64()
        rewards = try reader.read(FROST.self)
    }
}

/// The system object: epoch, committees, prices, capacity and the future-accounting ring.
public struct SystemState: Hashable, Sendable, BCSCodable {
    public let parameters: ChainParameters
    public var epoch: Epoch
    public var epochState: EpochState
    public var committee: Committee
    public var nextCommittee: Committee?
    public var storagePrice: FROST
    public var writePrice: FROST
    public var totalCapacity: UInt64
    public var nextCapacity: UInt64?
    /// One entry per epoch from the current one on (missing entries are empty).
    public var accounting: [Epoch: AccountingEntry]
    /// Rounding dust carried into the next distribution.
    public var rewardDust: FROST
    /// WAL burned at epoch changes.
    public var burned: FROST
    /// Counts created objects, for deterministic object IDs.
    public var objectCounter: UInt64

    public init(
        parameters: ChainParameters, epoch: Epoch, epochState: EpochState, committee: Committee, storagePrice: FROST,
        writePrice: FROST, totalCapacity: UInt64
    ) {
        self.parameters = parameters
        self.epoch = epoch
        self.epochState = epochState
        self.committee = committee
        self.storagePrice = storagePrice
        self.writePrice = writePrice
        self.totalCapacity = totalCapacity
        accounting = [:]
        rewardDust = .zero
        burned = .zero
        objectCounter = 0
    }

    public func encode(to writer: inout BCSWriter) {
        writer.write(parameters)
        writer.write(epoch)
        writer.write(epochState)
        writer.write(committee)
        writer.writeOption(nextCommittee)
        writer.write(storagePrice)
        writer.write(writePrice)
        writer.write(totalCapacity)
        writer.writeOption(nextCapacity)
        let epochs = accounting.keys.sorted()
        writer.writeLength(epochs.count)
        for e in epochs {
            writer.write(e)
            writer.write(accounting[e]!)
        }
        writer.write(rewardDust)
        writer.write(burned)
        writer.write(objectCounter)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        parameters = try reader.read(ChainParameters.self)
        epoch = try reader.read(Epoch.self)
        epochState = try reader.read(EpochState.self)
        committee = try reader.read(Committee.self)
        nextCommittee = try reader.readOption(of: Committee.self)
        storagePrice = try reader.read(FROST.self)
        writePrice = try reader.read(FROST.self)
        totalCapacity = try reader.readU64()
        nextCapacity = try reader.readOption(of: UInt64.self)
        let count = try reader.readLength(max: Int(Limits.epochsAheadMax) + 2, minElementBytes: 20)
        var accounting: [Epoch: AccountingEntry] = [:]
        for _ in 0..<count { accounting[try reader.read(Epoch.self)] = try reader.read(AccountingEntry.self) }
        self.accounting = accounting
        rewardDust = try reader.read(FROST.self)
        burned = try reader.read(FROST.self)
        objectCounter = try reader.readU64()
    }
}

/// A blob object's attribute: key-value pairs in insertion order (Walrus's `BlobAttribute`).
public struct BlobAttributeRecord: Hashable, Sendable, BCSCodable {
    public var pairs: [AttributePair]

    public init(pairs: [AttributePair]) { self.pairs = pairs }

    public func encode(to writer: inout BCSWriter) { writer.writeSequence(pairs) }

    public init(from reader: inout BCSReader) throws(CoreError) {
        pairs = try reader.readSequence(of: AttributePair.self, max: AttributePair.perBlobMax, minElementBytes: 2)
    }
}

/// A shared blob (Walrus's `SharedBlob`): a permanent blob object that belongs to no one, with WAL
/// anyone may add and that pays its extensions. The wrapped blob's owner is the shared object's
/// ID read as an address, which no key controls.
public struct SharedBlobRecord: Hashable, Sendable, BCSCodable {
    public let id: ObjectID
    public let blob: ObjectID
    public var funds: FROST

    public init(id: ObjectID, blob: ObjectID, funds: FROST) {
        self.id = id
        self.blob = blob
        self.funds = funds
    }

    /// The owner a shared blob's wrapped blob object has.
    public static func owner(of shared: ObjectID) -> Address { Address(unchecked: shared.bytes) }

    public func encode(to writer: inout BCSWriter) {
        writer.write(id)
        writer.write(blob)
        writer.write(funds)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        id = try reader.read(ObjectID.self)
        blob = try reader.read(ObjectID.self)
        funds = try reader.read(FROST.self)
    }
}
