public import WalrusCore
import WalrusCrypto

/// The Merkle roots of one sliver pair: over the expanded row of its primary sliver and the
/// expanded column of its secondary sliver.
public struct SliverPairMetadata: Hashable, Sendable, BCSCodable {
    public let primaryHash: MerkleNode
    public let secondaryHash: MerkleNode

    public init(primaryHash: MerkleNode, secondaryHash: MerkleNode) {
        self.primaryHash = primaryHash
        self.secondaryHash = secondaryHash
    }

    public func hash(_ axis: SliverAxis) -> MerkleNode { axis == .primary ? primaryHash : secondaryHash }

    /// The 64-byte pair leaf: primary hash ‖ secondary hash.
    var leafBytes: [UInt8] { primaryHash.bytes + secondaryHash.bytes }

    public func encode(to writer: inout BCSWriter) {
        writer.write(primaryHash)
        writer.write(secondaryHash)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        primaryHash = try reader.read(MerkleNode.self)
        secondaryHash = try reader.read(MerkleNode.self)
    }
}

/// `BlobMetadata::V1`: what a blob ID commits to (PROTOCOL.md §2.3).
public struct BlobMetadata: Hashable, Sendable, BCSCodable {
    public let encodingType: UInt8
    public let unencodedLength: UInt64
    /// One entry per sliver pair, indexed by pair index; `n` entries.
    public let hashes: [SliverPairMetadata]

    public init(encodingType: UInt8 = Limits.encodingTypeRS2, unencodedLength: UInt64, hashes: [SliverPairMetadata]) {
        self.encodingType = encodingType
        self.unencodedLength = unencodedLength
        self.hashes = hashes
    }

    /// The shard count the metadata was made for.
    public var shardCount: Int { hashes.count }

    /// The Merkle root over the pair leaves.
    public var rootHash: MerkleNode {
        var leaves: [UInt8] = []
        leaves.reserveCapacity(32 * hashes.count)
        for pair in hashes { leaves += Merkle.leafHash(pair.leafBytes) }
        return Merkle.root(leafHashes: leaves)
    }

    /// The blob ID: BLAKE2b-256(encoding type ‖ length u64 LE ‖ root hash).
    public var blobID: BlobID { BlobMetadata.blobID(encodingType: encodingType, unencodedLength: unencodedLength, rootHash: rootHash) }

    /// The blob ID derivation of PROTOCOL.md §2.4 (the chain recomputes it at registration).
    public static func blobID(encodingType: UInt8, unencodedLength: UInt64, rootHash: MerkleNode) -> BlobID {
        var writer = BCSWriter(capacity: 41)
        writer.write(encodingType)
        writer.write(unencodedLength)
        writer.writeFixed(rootHash.bytes)
        return BlobID(unchecked: Blake2b256.hash(writer.bytes))
    }

    /// Checks the metadata for a committee of `shardCount` shards and the claimed blob ID
    /// (PROTOCOL.md §2.3): hash count, length limit, encoding type, blob ID recomputation.
    public func verify(against blobID: BlobID, shardCount: UInt16) throws(RedStuffError) {
        guard encodingType == Limits.encodingTypeRS2 else {
            throw RedStuffError(.unsupportedEncodingType, "encoding type \(encodingType) is not RS2 (\(Limits.encodingTypeRS2))")
        }
        guard hashes.count == Int(shardCount) else {
            throw RedStuffError(.invalidMetadata, "the metadata has \(hashes.count) sliver-pair hashes; the committee has \(shardCount) shards")
        }
        let config = try EncodingConfig(shardCount: shardCount)
        guard unencodedLength <= config.maxBlobSize else {
            throw RedStuffError(.invalidMetadata, "unencoded length \(unencodedLength) exceeds the maximum blob size \(config.maxBlobSize)")
        }
        let recomputed = self.blobID
        guard recomputed == blobID else {
            throw RedStuffError(.invalidMetadata, "the metadata gives blob ID \(recomputed), not \(blobID)")
        }
    }

    /// The largest shard count accepted when decoding metadata.
    public static let hashCountMax = Int(Limits.shardCountMax)

    public func encode(to writer: inout BCSWriter) {
        writer.writeVariant(0)  // BlobMetadata::V1
        writer.write(encodingType)
        writer.write(unencodedLength)
        writer.writeSequence(hashes)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        _ = try reader.readVariant(count: 1)
        let encodingType = try reader.readU8()
        guard encodingType == Limits.encodingTypeRS2 else {
            throw CoreError(.unsupportedEncoding, "encoding type \(encodingType) is not supported (only RS2 = 1)")
        }
        self.encodingType = encodingType
        unencodedLength = try reader.readU64()
        hashes = try reader.readSequence(of: SliverPairMetadata.self, max: BlobMetadata.hashCountMax, minElementBytes: 2)
    }
}

/// Metadata with its blob ID, as `GET /metadata` returns it: blob ID ‖ BlobMetadata.
public struct BlobMetadataWithID: Hashable, Sendable, BCSCodable {
    public let blobID: BlobID
    public let metadata: BlobMetadata

    public init(blobID: BlobID, metadata: BlobMetadata) {
        self.blobID = blobID
        self.metadata = metadata
    }

    public func encode(to writer: inout BCSWriter) {
        writer.write(blobID)
        writer.write(metadata)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        blobID = try reader.read(BlobID.self)
        metadata = try reader.read(BlobMetadata.self)
    }
}
