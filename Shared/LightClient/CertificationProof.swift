public import ChainTypes
public import WalrusCore

/// What a validator serves to prove that a blob was certified: the committed block that holds the
/// `BlobCertified` event, its commit, the event and the certifying transaction with their Merkle
/// paths, and the storage committee the block commits to. Nothing in it is trusted until
/// `LightClient.verifyInclusion(_:)` has checked it.
public struct CertificationProof: Hashable, Sendable, BCSCodable {
    public let header: BlockHeader
    public let commit: Commit
    public let eventIndex: UInt32
    public let event: [UInt8]
    public let eventPath: [[UInt8]]
    public let transactionIndex: UInt32
    public let transaction: [UInt8]
    public let transactionPath: [[UInt8]]
    public let committee: CommitteeCommitment

    public init(
        header: BlockHeader, commit: Commit, eventIndex: UInt32, event: [UInt8], eventPath: [[UInt8]], transactionIndex: UInt32,
        transaction: [UInt8], transactionPath: [[UInt8]], committee: CommitteeCommitment
    ) {
        self.header = header
        self.commit = commit
        self.eventIndex = eventIndex
        self.event = event
        self.eventPath = eventPath
        self.transactionIndex = transactionIndex
        self.transaction = transaction
        self.transactionPath = transactionPath
        self.committee = committee
    }

    /// Bounds for decoding a proof from an untrusted server.
    public static let itemBytesMax = 64 * 1024
    public static let pathLengthMax = 64

    public func encode(to writer: inout BCSWriter) {
        writer.write(header)
        writer.write(commit)
        writer.write(eventIndex)
        writer.writeBytes(event)
        writer.writeLength(eventPath.count)
        for node in eventPath { writer.writeFixed(node) }
        writer.write(transactionIndex)
        writer.writeBytes(transaction)
        writer.writeLength(transactionPath.count)
        for node in transactionPath { writer.writeFixed(node) }
        writer.write(committee)
    }

    public init(from reader: inout BCSReader) throws(CoreError) {
        header = try reader.read(BlockHeader.self)
        commit = try reader.read(Commit.self)
        eventIndex = try reader.readU32()
        event = try reader.readBytes(max: Self.itemBytesMax)
        eventPath = try Self.readPath(&reader)
        transactionIndex = try reader.readU32()
        transaction = try reader.readBytes(max: Self.itemBytesMax)
        transactionPath = try Self.readPath(&reader)
        committee = try reader.read(CommitteeCommitment.self)
    }

    private static func readPath(_ reader: inout BCSReader) throws(CoreError) -> [[UInt8]] {
        let count = try reader.readLength(max: pathLengthMax, minElementBytes: 32)
        var path: [[UInt8]] = []
        for _ in 0..<count { path.append(try reader.readFixed(32)) }
        return path
    }
}

extension LightClient {
    /// Checks the proof's block by its commit, the event and the transaction by their paths to the
    /// header's roots, and the committee by the header's committee hash. What the event and the
    /// transaction say is for the caller to read (it knows the ledger's types); after this check
    /// their bytes are the chain's.
    public func verifyInclusion(_ proof: CertificationProof) throws(LightClientError) {
        try verify(proof.header, commit: proof.commit)
        try LightClient.verifyInclusion(
            proof.event, index: proof.eventIndex, path: proof.eventPath, root: proof.header.eventsRoot, what: "the certification event")
        try LightClient.verifyInclusion(
            proof.transaction, index: proof.transactionIndex, path: proof.transactionPath, root: proof.header.transactionsRoot,
            what: "the certifying transaction")
        try LightClient.verifyCommittee(proof.committee, in: proof.header)
    }
}
