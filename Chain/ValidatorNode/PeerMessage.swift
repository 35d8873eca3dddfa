import ChainTypes
import Consensus
import WalrusCore
import WalrusCrypto

/// What validators send each other.
enum PeerMessage: BCSCodable {
    case proposal(Proposal<Block>)
    case vote(Vote)
    /// Asks for decided blocks from `fromHeight` on.
    case syncRequest(fromHeight: UInt64)
    case syncResponse([BlockAndCommit])
    /// Transactions for the other validators' mempools.
    case transactions([[UInt8]])
    /// Evidence of validators signing conflicting messages, for the others' proposals.
    case evidence([Evidence])

    func encode(to w: inout BCSWriter) {
        switch self {
        case .proposal(let p): w.writeVariant(0); w.write(p)
        case .vote(let v): w.writeVariant(1); w.write(v)
        case .syncRequest(let h): w.writeVariant(2); w.write(h)
        case .syncResponse(let blocks): w.writeVariant(3); w.writeSequence(blocks)
        case .transactions(let txs): w.writeVariant(4); w.writeLength(txs.count); for tx in txs { w.writeBytes(tx) }
        case .evidence(let items): w.writeVariant(5); w.writeSequence(items)
        }
    }

    init(from r: inout BCSReader) throws(CoreError) {
        switch try r.readVariant(count: 6) {
        case 0: self = .proposal(try r.read(Proposal<Block>.self))
        case 1: self = .vote(try r.read(Vote.self))
        case 2: self = .syncRequest(fromHeight: try r.readU64())
        case 3: self = .syncResponse(try r.readSequence(of: BlockAndCommit.self, max: PeerMessage.syncBlocksMax))
        case 5: self = .evidence(try r.readSequence(of: Evidence.self, max: Block.evidenceMax, minElementBytes: 64))
        default:
            let count = try r.readLength(max: Block.transactionsMax)
            var txs: [[UInt8]] = []
            for _ in 0..<count { txs.append(try r.readBytes(max: Block.transactionBytesMax)) }
            self = .transactions(txs)
        }
    }

    static let syncBlocksMax = 20
    /// The most bytes of blocks and commits one sync answer carries (blocks hold up to 8 MiB of
    /// transactions each; the frame limit is 32 MiB).
    static let syncBytesMax = 24 << 20
}

struct BlockAndCommit: BCSCodable {
    let block: Block
    let commit: Commit
    init(block: Block, commit: Commit) {
        self.block = block
        self.commit = commit
    }
    func encode(to w: inout BCSWriter) {
        w.write(block)
        w.write(commit)
    }
    init(from r: inout BCSReader) throws(CoreError) {
        block = try r.read(Block.self)
        commit = try r.read(Commit.self)
    }
}

