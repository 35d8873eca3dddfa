import ChainClient
import ChainTypes
import Consensus
import Foundation
import Ledger
import Testing
@testable import ValidatorNode
import WalrusCore
import WalrusCrypto

/// A block's ID is its header's hash, so a Byzantine proposer or a block-sync peer could pair a
/// header that validators accepted with other transactions. The application refuses such a block
/// whether or not the header is in its cache, and will not commit it.
@Suite struct BlockCheckTests {
    @Test func transactionsMustBeTheHeaders() throws {
        let chain = try LocalChain(validators: 1, storageNodes: 1, shards: 10)
        let genesis = try GenesisFile.load(chain.directory.appendingPathComponent("genesis.yaml").path)
        let dir = chain.directory.appendingPathComponent("app-under-test").path
        let store = try ChainStore(directory: dir, genesis: genesis)
        let mempool = Mempool()
        let app = Application(store: store, chainID: genesis.chainID, validators: try genesis.validatorSet(), mempool: mempool)
        let wallet = try chain.walletKey()
        func transfer(_ amount: UInt64, nonce: UInt64) -> SignedTransaction {
            SignedTransaction(
                Transaction(chainID: genesis.chainID, sender: wallet.publicKey, nonce: nonce, operations: [.transfer(to: Schnorr.PrivateKey.generate().publicKey.address, amount: FROST(amount))]),
                signedBy: wallet)
        }
        try mempool.add(transfer(1, nonce: 0), ledger: app.ledger)
        let block = try #require(app.buildBlock(height: 1, proposer: 0, mempool: mempool, limit: 10))
        #expect(block.transactions.count == 1 && block.transactionsMatchHeader)
        #expect(app.isValid(block, height: 1))

        // The same header (cached as valid) with another transaction, or with none.
        let swapped = Block(header: block.header, transactions: [transfer(1_000_000, nonce: 0).bcsBytes])
        let emptied = Block(header: block.header, transactions: [])
        #expect(swapped.valueID == block.valueID)
        #expect(!app.isValid(swapped, height: 1))
        #expect(!app.isValid(emptied, height: 1))
        let commit = try chain.commit(of: block, timeMs: block.header.timeMs + 1)
        #expect(throws: NodeError.self) { try app.commit(swapped, commit: commit) }
        #expect(store.height() == 0)
        // The block as built commits.
        _ = try app.commit(block, commit: commit)
        #expect(store.height() == 1)
        #expect(store.block(1)?.transactions == block.transactions)
    }
}

/// A block's time is the power-weighted median of the precommit times in the previous block's
/// commit, which the block carries: validators check it against that commit, with every precommit
/// signed, and never against their own clocks.
@Suite struct BlockTimeTests {
    @Test func medianIsBoundedByCorrectValidators() {
        let set = ValidatorSet((0..<4).map { Validator(publicKey: [UInt8](repeating: UInt8($0), count: 32), power: 10, address: "v\($0)") })
        func commit(_ times: [UInt64]) -> Commit {
            let id = ValueID([UInt8](repeating: 1, count: 32))
            return Commit(height: 5, round: 0, valueID: id, precommits: times.enumerated().map {
                Vote(kind: .precommit, height: 5, round: 0, valueID: id, validator: UInt16($0.offset), timeMs: $0.element)
            })
        }
        // One faulty validator of four writes any time: the median stays between correct ones.
        #expect(commit([1000, 1001, 1002, UInt64.max]).medianTimeMs(in: set) == 1002)
        #expect(commit([0, 1000, 1001, 1002]).medianTimeMs(in: set) == 1001)
        // A commit of three: the faulty one cannot move it outside the other two either.
        #expect(commit([UInt64.max, 1000, 1002]).medianTimeMs(in: set) == 1002)
        #expect(commit([0, 1000, 1002]).medianTimeMs(in: set) == 1000)
        // Weighted by power.
        let weighted = ValidatorSet([10, 10, 40].enumerated().map { Validator(publicKey: [UInt8](repeating: UInt8($0.offset), count: 32), power: UInt64($0.element), address: "w") })
        #expect(commit([5, 6, 900]).medianTimeMs(in: weighted) == 900)
        // A precommit naming a validator outside the set gives no time.
        let id = ValueID([UInt8](repeating: 1, count: 32))
        #expect(Commit(height: 5, round: 0, valueID: id, precommits: [Vote(kind: .precommit, height: 5, round: 0, valueID: id, validator: 9)]).medianTimeMs(in: set) == nil)
    }

    @Test func blockTimeComesFromTheLastCommit() throws {
        let chain = try LocalChain(validators: 4, storageNodes: 1, shards: 10)
        let genesis = try GenesisFile.load(chain.directory.appendingPathComponent("genesis.yaml").path)
        let store = try ChainStore(directory: chain.directory.appendingPathComponent("app-under-test").path, genesis: genesis)
        let app = Application(store: store, chainID: genesis.chainID, validators: try genesis.validatorSet(), mempool: Mempool())
        let first = try #require(app.buildBlock(height: 1, proposer: 0, mempool: app.mempool, limit: 10))
        #expect(first.lastCommit == nil)
        let start = first.header.timeMs + 10_000
        _ = try app.commit(first, commit: try chain.commit(of: first, timeMs: start))

        let second = try #require(app.buildBlock(height: 2, proposer: 1, mempool: app.mempool, limit: 10))
        #expect(second.header.timeMs == start)
        #expect(app.isValid(second, height: 2))

        // The same block with a last commit whose times say otherwise: the header's time no
        // longer is the median, and a header claiming the new median needs new signatures.
        var early = try #require(second.lastCommit)
        early = Commit(height: 1, round: 0, valueID: early.valueID, precommits: early.precommits.map {
            Vote(kind: .precommit, height: 1, round: 0, valueID: $0.valueID, validator: $0.validator, timeMs: start + 99_000, signature: $0.signature)
        })
        let restamped = Block(header: rebuilt(second.header, lastCommit: early), transactions: second.transactions, lastCommit: early)
        #expect(!app.isValid(restamped, height: 2))
        let retimed = Block(header: rebuilt(second.header, lastCommit: early, timeMs: start + 99_000), transactions: second.transactions, lastCommit: early)
        #expect(!app.isValid(retimed, height: 2))
        // A last commit of two of four validators is no commit.
        let partial = Commit(height: 1, round: 0, valueID: first.valueID, precommits: Array(try #require(second.lastCommit).precommits.prefix(2)))
        #expect(!app.isValid(Block(header: rebuilt(second.header, lastCommit: partial), transactions: [], lastCommit: partial), height: 2))
        // Without a last commit.
        #expect(!app.isValid(Block(header: rebuilt(second.header, lastCommit: nil), transactions: []), height: 2))
    }

    private func rebuilt(_ h: BlockHeader, lastCommit: Commit?, timeMs: UInt64? = nil) -> BlockHeader {
        BlockHeader(
            chainID: h.chainID, height: h.height, timeMs: timeMs ?? h.timeMs, previousHash: h.previousHash, proposer: h.proposer, epoch: h.epoch,
            transactionsRoot: h.transactionsRoot, eventsRoot: h.eventsRoot, resultsHash: h.resultsHash, validatorsHash: h.validatorsHash,
            nextValidatorsHash: h.nextValidatorsHash, committeeHash: h.committeeHash, eventCount: h.eventCount, evidenceHash: h.evidenceHash,
            lastCommitHash: Block.lastCommitHash(lastCommit), stateHash: h.stateHash)
    }
}

/// With `retain_blocks`, blocks older than the last N go (with their commits, events and
/// transaction records) as new ones commit; the state stays whole.
@Suite struct PruningTests {
    @Test func oldBlocksArePrunedAndTheStateKept() throws {
        let chain = try LocalChain(validators: 1, storageNodes: 1, shards: 10)
        let genesis = try GenesisFile.load(chain.directory.appendingPathComponent("genesis.yaml").path)
        let store = try ChainStore(directory: chain.directory.appendingPathComponent("pruned").path, genesis: genesis)
        store.retainBlocks = 5
        let app = Application(store: store, chainID: genesis.chainID, validators: try genesis.validatorSet(), mempool: Mempool())
        let wallet = try chain.walletKey()
        let recipient = Schnorr.PrivateKey.generate().publicKey.address
        var digests: [[UInt8]] = []
        for height in UInt64(1)...12 {
            let tx = SignedTransaction(
                Transaction(chainID: genesis.chainID, sender: wallet.publicKey, nonce: height - 1, operations: [.transfer(to: recipient, amount: FROST(1))]),
                signedBy: wallet)
            try app.mempool.add(tx, ledger: app.ledger)
            digests.append(tx.digest)
            let block = try #require(app.buildBlock(height: height, proposer: 0, mempool: app.mempool, limit: 10))
            let execution = try app.commit(block, commit: try chain.commit(of: block, timeMs: block.header.timeMs + 1))
            app.mempool.removeIncluded(Set(execution.results.map(\.digest)), ledger: app.ledger)
        }
        #expect(store.height() == 12)
        #expect(store.earliestHeight() == 8)
        #expect(store.block(7) == nil && store.commit(7) == nil)
        #expect(store.block(8) != nil && store.commit(8) != nil)
        #expect(store.transaction(digests[0]) == nil)
        #expect(store.transaction(digests[11]) != nil)
        #expect(try app.ledger.account(recipient).balance == FROST(12))
    }
}
