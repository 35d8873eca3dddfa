public import WalrusCore
public import WalrusCrypto

/// The storage committee of an epoch as block headers commit to it: members in committee order
/// (sorted by node ID), each with the key its confirmations are signed with and its shards. Its hash
/// is a header's `committeeHash`, so a light client that trusts the header trusts the keys.
public struct CommitteeCommitment: Hashable, Sendable, BCSCodable {
    public struct Member: Hashable, Sendable, BCSCodable {
        public let nodeID: NodeID
        public let publicKey: Schnorr.PublicKey
        public let shards: [ShardIndex]
        /// The member's network key (its TLS certificate's, which clients pin); empty for none.
        /// Committed so that a client pins the key the validators signed, not one an RPC made up.
        public let networkPublicKey: [UInt8]

        public init(nodeID: NodeID, publicKey: Schnorr.PublicKey, shards: [ShardIndex], networkPublicKey: [UInt8] = []) {
            self.networkPublicKey = networkPublicKey
            self.nodeID = nodeID
            self.publicKey = publicKey
            self.shards = shards
        }

        public var weight: UInt64 { UInt64(shards.count) }

        public func encode(to writer: inout BCSWriter) {
            writer.write(nodeID)
            writer.write(publicKey)
            writer.writeSequence(shards)
            writer.writeBytes(networkPublicKey)
        }

        public init(from reader: inout BCSReader) throws(CoreError) {
            nodeID = try reader.read(NodeID.self)
            publicKey = try reader.read(Schnorr.PublicKey.self)
            shards = try reader.readSequence(of: ShardIndex.self, max: Int(Limits.shardCountMax), minElementBytes: 2)
            networkPublicKey = try reader.readBytes(max: 33)
        }
    }

    public let epoch: Epoch
    public let members: [Member]

    public init(epoch: Epoch, members: [Member]) {
        self.epoch = epoch
        self.members = members
    }

    /// The number of shards, the total weight.
    public var shardCount: UInt64 { members.reduce(0) { $0 + $1.weight } }

    /// What certificates are checked against: each member's key and weight, in committee order.
    public var signers: [CertificateSigner] { members.map { CertificateSigner(publicKey: $0.publicKey, weight: $0.weight) } }

    /// BLAKE2b-256 of the BCS form: the header's committee hash.
    public var hash: [UInt8] { Blake2b256.hash(bcsBytes) }

    public static let membersMax = 4096

    public func encode(to writer: inout BCSWriter) {
        writer.write(epoch)
        writer.writeSequence(members)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        epoch = try reader.read(Epoch.self)
        members = try reader.readSequence(of: Member.self, max: CommitteeCommitment.membersMax, minElementBytes: 66)
    }
}
