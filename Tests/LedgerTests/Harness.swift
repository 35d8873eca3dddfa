import ChainTypes
import KVStore
import Ledger
import RedStuff
import Testing
import WalrusCore
import WalrusCrypto

/// A ledger on the in-memory store with two users and four staked storage nodes (10 shards:
/// quorum 7, validity 4), executing one block per call.
final class Harness {
    let store = MemoryStore(columnFamilies: [Ledger.stateFamily])
    let ledger: Ledger
    let alice = Schnorr.PrivateKey.generate()
    let bob = Schnorr.PrivateKey.generate()
    /// Storage node keys (sign confirmations) and operator keys (sign transactions), by genesis order.
    let nodeKeys = (0..<4).map { _ in Schnorr.PrivateKey.generate() }
    let operatorKeys = (0..<4).map { _ in Schnorr.PrivateKey.generate() }
    /// Consensus validator keys, each bonding 1,000 WAL.
    let validatorKeys = (0..<4).map { _ in Schnorr.PrivateKey.generate() }
    var height: UInt64 = 0
    var timeMs: UInt64 = 1_000_000
    let chainID = "test-chain"
    static let epochMs: UInt64 = 10_000

    init(stakes: [UInt64] = [100, 100, 100, 100], fees: FeeSchedule = .none, validatorCountMax: Int = 100) throws {
        ledger = Ledger(store: store)
        let wal = FROST.perWAL
        let genesis = LedgerGenesis(
            parameters: ChainParameters(chainID: chainID, shardCount: 10, epochDurationMs: Harness.epochMs, maxEpochsAhead: 5, fees: fees,
                                        validatorCountMax: validatorCountMax),
            timeMs: timeMs,
            balances: [(alice.publicKey.address, FROST(1_000 * wal)), (bob.publicKey.address, FROST(10))]
                + operatorKeys.map { ($0.publicKey.address, FROST(100 * wal)) },
            nodes: (0..<4).map { i in
                LedgerGenesis.Node(
                    name: "node-\(i)", networkAddress: "127.0.0.1:\(9000 + i)", publicKey: nodeKeys[i].publicKey,
                    operatorAddress: operatorKeys[i].publicKey.address, commissionBasisPoints: 1000, storagePrice: FROST(1000 + UInt64(i)),
                    writePrice: FROST(500), capacity: 1 << 40, stake: FROST(stakes[i] * wal))
            },
            validators: validatorKeys.enumerated().map {
                ValidatorRecord(publicKey: $0.element.publicKey.bytes, power: 1, bond: FROST(1_000 * wal), p2pAddress: "127.0.0.1:\(7000 + $0.offset)")
            })
        try Ledger.writeGenesis(genesis, to: store)
    }

    func system() throws -> SystemState { try ledger.system() }

    /// A signed transaction at the sender's next nonce (or `nonce`).
    func tx(_ key: Schnorr.PrivateKey, _ operations: [Operation], nonce: UInt64? = nil, chain: String? = nil) throws -> SignedTransaction {
        let next = try nonce ?? ledger.account(key.publicKey.address).nonce
        return SignedTransaction(Transaction(chainID: chain ?? chainID, sender: key.publicKey, nonce: next, operations: operations), signedBy: key)
    }

    /// Executes and commits one block at `timeMs` (advanced by `afterMs` first).
    @discardableResult
    func block(_ transactions: [SignedTransaction], afterMs: UInt64 = 100) throws -> BlockExecution {
        height += 1
        timeMs += afterMs
        let execution = try ledger.execute(BlockContext(height: height, timeMs: timeMs), transactions: transactions)
        try ledger.commit(execution)
        return execution
    }

    /// Runs one transaction in its own block and returns its result.
    @discardableResult
    func run(_ key: Schnorr.PrivateKey, _ operations: [Operation]) throws -> TransactionResult {
        try block([tx(key, operations)]).results[0]
    }

    func balance(_ key: Schnorr.PrivateKey) throws -> FROST { try ledger.account(key.publicKey.address).balance }

    /// The committee's members in order, with the storage node key of each.
    func members() throws -> [(member: Committee.Member, key: Schnorr.PrivateKey)] {
        try system().committee.members.map { member in
            let pool = try ledger.pool(member.nodeID)!
            return (member, nodeKeys.first { $0.publicKey == pool.publicKey }!)
        }
    }

    /// A certificate over `message` signed by the committee members at `indices`.
    func certificate(_ message: IntentMessage, signers indices: [Int]) throws -> CommitteeCertificate {
        let members = try members()
        return CommitteeCertificate(
            message: message.serialized, signatures: indices.map { ($0, members[$0].key.sign(message.serialized)) }, memberCount: members.count)
    }

    /// Member indices whose shards add up to at least `weight`, largest first.
    func signers(weight: UInt64) throws -> [Int] {
        let members = try members()
        var chosen: [Int] = []
        var total: UInt64 = 0
        for (i, m) in members.enumerated().sorted(by: { $0.element.member.weight > $1.element.member.weight }) where total < weight {
            chosen.append(i)
            total += m.member.weight
        }
        return chosen.sorted()
    }

    /// A real blob's registration arguments at this shard count.
    static func blob(_ text: String) throws -> (blobID: BlobID, rootHash: [UInt8], size: UInt64) {
        let metadata = try BlobEncoder(config: EncodingConfig(shardCount: 10)).computeMetadata(Array(text.utf8))
        return (metadata.blobID, metadata.metadata.rootHash.bytes, UInt64(text.utf8.count))
    }
}

extension TransactionResult {
    var failureCode: String? {
        switch status {
        case .failure(let code, _), .rejected(let code, _): code
        case .success: nil
        }
    }
    var succeeded: Bool { status == .success }
    var isRejected: Bool { if case .rejected = status { true } else { false } }
}

extension BlockExecution {
    /// The object ID a register event in this block names.
    var registeredObjectID: ObjectID? {
        for event in events { if case .blobRegistered(_, _, _, _, _, _, let id) = event { return id } }
        return nil
    }
}
