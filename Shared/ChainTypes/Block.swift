public import WalrusCore
import WalrusCrypto

/// A block header: what validators commit to and what light clients check.
public struct BlockHeader: Hashable, Sendable, BCSCodable {
    public let chainID: String
    public let height: Height
    /// Block time in milliseconds since the Unix epoch; strictly increasing. From height 2 it is
    /// the power-weighted median of the times in the block's last commit (`Commit.medianTimeMs`),
    /// never one validator's clock; block 1 is one millisecond after genesis.
    public let timeMs: UInt64
    public let previousHash: [UInt8]
    public let proposer: UInt16
    /// The storage epoch after executing this block.
    public let epoch: Epoch
    /// Merkle root over the transactions' BCS bytes.
    public let transactionsRoot: [UInt8]
    /// Merkle root over the BCS bytes of the block's events, in order.
    public let eventsRoot: [UInt8]
    /// BLAKE2b-256 of the transactions' results.
    public let resultsHash: [UInt8]
    public let validatorsHash: [UInt8]
    public let nextValidatorsHash: [UInt8]
    /// BLAKE2b-256 of the storage committee after executing this block.
    public let committeeHash: [UInt8]
    /// Events of blocks 1 to this one, in total: with the events root, a follower that knows the
    /// count before a block detects events an RPC left out, even of whole blocks.
    public let eventCount: UInt64
    /// BLAKE2b-256 of the block's evidence list (`Block.evidenceHash`).
    public let evidenceHash: [UInt8]
    /// BLAKE2b-256 of the commit of the previous block the block carries (`Block.lastCommitHash`).
    public let lastCommitHash: [UInt8]
    /// BLAKE2b-256 of the ledger's state hash after this block (an `LtHash` of every state entry):
    /// a node that downloads the state checks it against a verified header.
    public let stateHash: [UInt8]

    public init(
        chainID: String, height: Height, timeMs: UInt64, previousHash: [UInt8], proposer: UInt16, epoch: Epoch,
        transactionsRoot: [UInt8], eventsRoot: [UInt8], resultsHash: [UInt8], validatorsHash: [UInt8],
        nextValidatorsHash: [UInt8], committeeHash: [UInt8], eventCount: UInt64 = 0, evidenceHash: [UInt8] = Block.evidenceHash([]),
        lastCommitHash: [UInt8] = Block.lastCommitHash(nil), stateHash: [UInt8] = [UInt8](repeating: 0, count: 32)
    ) {
        self.stateHash = stateHash
        self.eventCount = eventCount
        self.lastCommitHash = lastCommitHash
        self.evidenceHash = evidenceHash
        self.chainID = chainID
        self.height = height
        self.timeMs = timeMs
        self.previousHash = previousHash
        self.proposer = proposer
        self.epoch = epoch
        self.transactionsRoot = transactionsRoot
        self.eventsRoot = eventsRoot
        self.resultsHash = resultsHash
        self.validatorsHash = validatorsHash
        self.nextValidatorsHash = nextValidatorsHash
        self.committeeHash = committeeHash
    }

    /// The block's hash (and consensus value ID): BLAKE2b-256 of the header.
    public var hash: [UInt8] { Blake2b256.hash(bcsBytes) }

    public func encode(to w: inout BCSWriter) {
        w.writeString(chainID)
        w.write(height)
        w.write(timeMs)
        w.writeFixed(previousHash)
        w.write(proposer)
        w.write(epoch)
        w.writeFixed(transactionsRoot)
        w.writeFixed(eventsRoot)
        w.writeFixed(resultsHash)
        w.writeFixed(validatorsHash)
        w.writeFixed(nextValidatorsHash)
        w.writeFixed(committeeHash)
        w.write(eventCount)
        w.writeFixed(evidenceHash)
        w.writeFixed(lastCommitHash)
        w.writeFixed(stateHash)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        chainID = try r.readString(max: 64)
        height = try r.readU64()
        timeMs = try r.readU64()
        previousHash = try r.readFixed(32)
        proposer = try r.readU16()
        epoch = try r.read(Epoch.self)
        transactionsRoot = try r.readFixed(32)
        eventsRoot = try r.readFixed(32)
        resultsHash = try r.readFixed(32)
        validatorsHash = try r.readFixed(32)
        nextValidatorsHash = try r.readFixed(32)
        committeeHash = try r.readFixed(32)
        eventCount = try r.readU64()
        evidenceHash = try r.readFixed(32)
        lastCommitHash = try r.readFixed(32)
        stateHash = try r.readFixed(32)
    }
}

/// A block: its header, its transactions as signed BCS bytes (the ledger decodes them), evidence
/// of validators' misbehaviour for the ledger to punish, and the commit of the previous block
/// (none in block 1), whose precommit times give the block its time.
public struct Block: ConsensusValue, BCSCodable {
    public let header: BlockHeader
    public let transactions: [[UInt8]]
    public let evidence: [Evidence]
    public let lastCommit: Commit?

    public init(header: BlockHeader, transactions: [[UInt8]], evidence: [Evidence] = [], lastCommit: Commit? = nil) {
        self.header = header
        self.transactions = transactions
        self.evidence = evidence
        self.lastCommit = lastCommit
    }

    public var valueID: ValueID { ValueID(header.hash) }

    /// Whether the transactions and evidence are the ones the header commits to. A block's ID
    /// (what votes and commits sign) is its header's hash only, so a peer could pair a signed
    /// header with another body: every block taken from the network is checked with this before
    /// it is cached, voted on, executed or stored.
    public var transactionsMatchHeader: Bool {
        ChainMerkle.root(transactions) == header.transactionsRoot && Block.evidenceHash(evidence) == header.evidenceHash
            && Block.lastCommitHash(lastCommit) == header.lastCommitHash
    }

    /// What a header commits to for its last commit: BLAKE2b-256 of the BCS option.
    public static func lastCommitHash(_ commit: Commit?) -> [UInt8] {
        var writer = BCSWriter()
        writer.writeOption(commit)
        return Blake2b256.hash(writer.bytes)
    }

    /// The most precommits a block's last commit holds (the most validators a set has).
    public static let lastCommitVotesMax = 1024

    /// What a header commits to for `evidence`: BLAKE2b-256 of its BCS encoding.
    public static func evidenceHash(_ evidence: [Evidence]) -> [UInt8] {
        var writer = BCSWriter()
        writer.writeSequence(evidence)
        return Blake2b256.hash(writer.bytes)
    }

    /// The most evidence one block carries.
    public static let evidenceMax = 16

    /// Limits of one block.
    public static let transactionsMax = 10_000
    public static let transactionBytesMax = 64 * 1024
    /// The most bytes of transactions one block carries: proposals, sync answers and commits of
    /// a block stay well below the 32 MiB peer frame, so no block is too large to gossip.
    public static let transactionsBytesMax = 8 << 20

    public func encode(to w: inout BCSWriter) {
        w.write(header)
        w.writeLength(transactions.count)
        for tx in transactions { w.writeBytes(tx) }
        w.writeSequence(evidence)
        w.writeOption(lastCommit)
    }

    public init(from r: inout BCSReader) throws(CoreError) {
        header = try r.read(BlockHeader.self)
        let count = try r.readLength(max: Block.transactionsMax)
        var transactions: [[UInt8]] = []
        transactions.reserveCapacity(count)
        for _ in 0..<count { transactions.append(try r.readBytes(max: Block.transactionBytesMax)) }
        self.transactions = transactions
        evidence = try r.readSequence(of: Evidence.self, max: Block.evidenceMax, minElementBytes: 64)
        lastCommit = try r.readOption(of: Commit.self)
        if let lastCommit, lastCommit.precommits.count > Block.lastCommitVotesMax {
            throw CoreError(.malformedBCS, "a last commit has at most \(Block.lastCommitVotesMax) precommits")
        }
    }
}

/// Merkle roots for headers: leaves are BLAKE2b-256(0x00 ‖ item), inner nodes BLAKE2b-256(0x01 ‖ l ‖ r),
/// odd levels padded with 32 zero bytes (the same tree as Walrus's metadata).
public enum ChainMerkle {
    public static func root(_ items: [[UInt8]]) -> [UInt8] {
        var level = items.map { Blake2b256.hash([0x00] + $0) }
        guard !level.isEmpty else { return [UInt8](repeating: 0, count: 32) }
        while level.count > 1 {
            if level.count % 2 == 1 { level.append([UInt8](repeating: 0, count: 32)) }
            level = stride(from: 0, to: level.count, by: 2).map { Blake2b256.hash([0x01] + level[$0] + level[$0 + 1]) }
        }
        return level[0]
    }

    /// The sibling path of item `index` (for event inclusion proofs).
    public static func proof(_ items: [[UInt8]], index: Int) -> [[UInt8]] {
        var level = items.map { Blake2b256.hash([0x00] + $0) }
        var path: [[UInt8]] = []
        var i = index
        while level.count > 1 {
            if level.count % 2 == 1 { level.append([UInt8](repeating: 0, count: 32)) }
            path.append(level[i ^ 1])
            level = stride(from: 0, to: level.count, by: 2).map { Blake2b256.hash([0x01] + level[$0] + level[$0 + 1]) }
            i /= 2
        }
        return path
    }

    /// Whether `item` is at `index` under `root` with sibling path `path`.
    public static func verify(item: [UInt8], index: Int, path: [[UInt8]], root: [UInt8]) -> Bool {
        var current = Blake2b256.hash([0x00] + item)
        var i = index
        for sibling in path {
            current = i & 1 == 0 ? Blake2b256.hash([0x01] + current + sibling) : Blake2b256.hash([0x01] + sibling + current)
            i >>= 1
        }
        return i == 0 && current == root
    }
}
