public import WalrusCore

/// The events of PROTOCOL.md §3.11 that apply to this chain, in BCS with the reference's fields.
/// Blob IDs are the 32 bytes (the reference's u256 has the same bytes, read little-endian).
public enum LedgerEvent: Hashable, Sendable, BCSCodable {
    case blobRegistered(epoch: Epoch, blobID: BlobID, size: UInt64, encodingType: UInt8, endEpoch: Epoch, deletable: Bool, objectID: ObjectID)
    case blobCertified(epoch: Epoch, blobID: BlobID, endEpoch: Epoch, deletable: Bool, objectID: ObjectID, isExtension: Bool)
    case blobDeleted(epoch: Epoch, blobID: BlobID, endEpoch: Epoch, objectID: ObjectID, wasCertified: Bool)
    case invalidBlobID(epoch: Epoch, blobID: BlobID)
    case epochChangeStart(epoch: Epoch)
    case epochChangeDone(epoch: Epoch)
    case shardsReceived(epoch: Epoch, shards: [ShardIndex])
    case epochParametersSelected(nextEpoch: Epoch)
    case pricesUpdated(epoch: Epoch, storagePrice: FROST, writePrice: FROST)
    /// A consensus validator (its 32-byte key) proved to have signed conflicting messages at
    /// `misbehaviourHeight`: `amount` of its bond burned, and the validator jailed.
    case validatorSlashed(epoch: Epoch, validator: [UInt8], amount: FROST, misbehaviourHeight: UInt64)
    /// The consensus validator set changes at an epoch change: from `fromHeight` on, the
    /// validators whose hash is `validatorsHash` (`ValidatorSet.hash`) commit blocks.
    case validatorSetChanged(epoch: Epoch, fromHeight: UInt64, validatorsHash: [UInt8], count: UInt16)

    /// The event's type name, as the reference names it.
    public var name: String {
        switch self {
        case .blobRegistered: "BlobRegistered"
        case .blobCertified: "BlobCertified"
        case .blobDeleted: "BlobDeleted"
        case .invalidBlobID: "InvalidBlobID"
        case .epochChangeStart: "EpochChangeStart"
        case .epochChangeDone: "EpochChangeDone"
        case .shardsReceived: "ShardsReceived"
        case .epochParametersSelected: "EpochParametersSelected"
        case .pricesUpdated: "PricesUpdated"
        case .validatorSlashed: "ValidatorSlashed"
        case .validatorSetChanged: "ValidatorSetChanged"
        }
    }

    public func encode(to w: inout BCSWriter) {
        switch self {
        case let .blobRegistered(epoch, blobID, size, encodingType, endEpoch, deletable, objectID):
            w.writeVariant(0); w.write(epoch); w.write(blobID); w.write(size); w.write(encodingType); w.write(endEpoch)
            w.write(deletable); w.write(objectID)
        case let .blobCertified(epoch, blobID, endEpoch, deletable, objectID, isExtension):
            w.writeVariant(1); w.write(epoch); w.write(blobID); w.write(endEpoch); w.write(deletable); w.write(objectID); w.write(isExtension)
        case let .blobDeleted(epoch, blobID, endEpoch, objectID, wasCertified):
            w.writeVariant(2); w.write(epoch); w.write(blobID); w.write(endEpoch); w.write(objectID); w.write(wasCertified)
        case let .invalidBlobID(epoch, blobID):
            w.writeVariant(3); w.write(epoch); w.write(blobID)
        case let .epochChangeStart(epoch):
            w.writeVariant(4); w.write(epoch)
        case let .epochChangeDone(epoch):
            w.writeVariant(5); w.write(epoch)
        case let .shardsReceived(epoch, shards):
            w.writeVariant(6); w.write(epoch); w.writeSequence(shards)
        case let .epochParametersSelected(nextEpoch):
            w.writeVariant(7); w.write(nextEpoch)
        case let .pricesUpdated(epoch, storagePrice, writePrice):
            w.writeVariant(8); w.write(epoch); w.write(storagePrice); w.write(writePrice)
        case let .validatorSlashed(epoch, validator, amount, height):
            w.writeVariant(9); w.write(epoch); w.writeFixed(validator); w.write(amount); w.write(height)
        case let .validatorSetChanged(epoch, fromHeight, hash, count):
            w.writeVariant(10); w.write(epoch); w.write(fromHeight); w.writeFixed(hash); w.write(count)
        }
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        switch try r.readVariant(count: 11) {
        case 0:
            self = .blobRegistered(
                epoch: try r.read(Epoch.self), blobID: try r.read(BlobID.self), size: try r.readU64(), encodingType: try r.readU8(),
                endEpoch: try r.read(Epoch.self), deletable: try r.readBool(), objectID: try r.read(ObjectID.self))
        case 1:
            self = .blobCertified(
                epoch: try r.read(Epoch.self), blobID: try r.read(BlobID.self), endEpoch: try r.read(Epoch.self),
                deletable: try r.readBool(), objectID: try r.read(ObjectID.self), isExtension: try r.readBool())
        case 2:
            self = .blobDeleted(
                epoch: try r.read(Epoch.self), blobID: try r.read(BlobID.self), endEpoch: try r.read(Epoch.self),
                objectID: try r.read(ObjectID.self), wasCertified: try r.readBool())
        case 3: self = .invalidBlobID(epoch: try r.read(Epoch.self), blobID: try r.read(BlobID.self))
        case 4: self = .epochChangeStart(epoch: try r.read(Epoch.self))
        case 5: self = .epochChangeDone(epoch: try r.read(Epoch.self))
        case 6:
            self = .shardsReceived(epoch: try r.read(Epoch.self), shards: try r.readSequence(of: ShardIndex.self, max: Int(Limits.shardCountMax), minElementBytes: 2))
        case 7: self = .epochParametersSelected(nextEpoch: try r.read(Epoch.self))
        case 8: self = .pricesUpdated(epoch: try r.read(Epoch.self), storagePrice: try r.read(FROST.self), writePrice: try r.read(FROST.self))
        case 10:
            self = .validatorSetChanged(epoch: try r.read(Epoch.self), fromHeight: try r.readU64(), validatorsHash: try r.readFixed(32), count: try r.readU16())
        default:
            self = .validatorSlashed(epoch: try r.read(Epoch.self), validator: try r.readFixed(32), amount: try r.read(FROST.self), misbehaviourHeight: try r.readU64())
        }
    }
}
