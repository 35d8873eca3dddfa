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
        let now = UInt64(Date().timeIntervalSince1970 * 1000) + 1000
        let block = try #require(app.buildBlock(height: 1, proposer: 0, nowMs: now, mempool: mempool, limit: 10))
        #expect(block.transactions.count == 1 && block.transactionsMatchHeader)
        #expect(app.isValid(block, height: 1, nowMs: now))

        // The same header (cached as valid) with another transaction, or with none.
        let swapped = Block(header: block.header, transactions: [transfer(1_000_000, nonce: 0).bcsBytes])
        let emptied = Block(header: block.header, transactions: [])
        #expect(swapped.valueID == block.valueID)
        #expect(!app.isValid(swapped, height: 1, nowMs: now))
        #expect(!app.isValid(emptied, height: 1, nowMs: now))
        let commit = Commit(height: 1, round: 0, valueID: block.valueID, precommits: [])
        #expect(throws: NodeError.self) { try app.commit(swapped, commit: commit) }
        #expect(store.height() == 0)
        // The block as built commits.
        _ = try app.commit(block, commit: commit)
        #expect(store.height() == 1)
        #expect(store.block(1)?.transactions == block.transactions)
    }
}
