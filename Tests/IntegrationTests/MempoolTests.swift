import ChainClient
import ChainTypes
import Foundation
import Ledger
import Synchronization
import Testing
@testable import ValidatorNode
import WalrusCore
import WalrusCrypto

/// The mempool's admission against a real ledger (RocksDB, a genesis from walrus-validator): fees
/// counted over a sender's pending transactions, displacement by fee per byte when full, and
/// expiry by age.
@Suite struct MempoolTests {
    /// The code a refused admission carries; nil when admitted.
    static func refusal(_ body: () throws(LedgerError) -> Void) -> LedgerError.Code? {
        do { try body() } catch { return error.code }
        return nil
    }

    final class Fixture {
        let chain: LocalChain
        let genesis: GenesisFile
        let store: ChainStore
        let app: Application
        let wallet: Schnorr.PrivateKey
        var height: UInt64 = 0

        init() throws {
            chain = try LocalChain(validators: 1, storageNodes: 1, shards: 10)
            genesis = try GenesisFile.load(chain.directory.appendingPathComponent("genesis.yaml").path)
            store = try ChainStore(directory: chain.directory.appendingPathComponent("app").path, genesis: genesis)
            app = Application(store: store, chainID: genesis.chainID, validators: try genesis.validatorSet(), mempool: Mempool())
            wallet = try chain.walletKey()
        }

        func tx(_ key: Schnorr.PrivateKey, nonce: UInt64, transfers: Int = 1) -> SignedTransaction {
            let to = Schnorr.PrivateKey.generate().publicKey.address
            return SignedTransaction(
                Transaction(chainID: genesis.chainID, sender: key.publicKey, nonce: nonce, operations: Array(repeating: .transfer(to: to, amount: FROST(1)), count: transfers)),
                signedBy: key)
        }

        func fee(_ tx: SignedTransaction) throws -> UInt64 { try #require(try app.ledger.system().parameters.fees.fee(for: tx)).rawValue }

        /// Commits one block with `transactions` (through the application's own mempool).
        func commit(_ transactions: [SignedTransaction]) throws {
            for tx in transactions { try app.mempool.add(tx, ledger: app.ledger) }
            height += 1
            let block = try #require(app.buildBlock(height: height, proposer: 0, mempool: app.mempool, limit: 100))
            let execution = try app.commit(block, commit: try chain.commit(of: block, timeMs: block.header.timeMs + 1))
            app.mempool.removeIncluded(Set(execution.results.map(\.digest)), ledger: app.ledger)
        }
    }

    /// An account that can pay two fees gets two transactions pending, not a third: the pool
    /// counts the fees of what is already pending.
    @Test func feesOfPendingTransactionsCount() throws {
        let f = try Fixture()
        let poor = Schnorr.PrivateKey.generate()
        let fee = try f.fee(f.tx(poor, nonce: 0))
        try f.commit([SignedTransaction(
            Transaction(chainID: f.genesis.chainID, sender: f.wallet.publicKey, nonce: 0, operations: [.transfer(to: poor.publicKey.address, amount: FROST(fee * 5 / 2 + 2))]),
            signedBy: f.wallet)])
        let pool = Mempool()
        try pool.add(f.tx(poor, nonce: 0), ledger: f.app.ledger)
        try pool.add(f.tx(poor, nonce: 1), ledger: f.app.ledger)
        #expect(Self.refusal { () throws(LedgerError) in try pool.add(f.tx(poor, nonce: 2), ledger: f.app.ledger) } == LedgerError.Code.insufficientFunds)
        #expect(pool.count == 2)
    }

    /// A full pool takes a transaction that pays more per byte by dropping the last pending
    /// transaction of the sender paying least, and refuses one that pays no more.
    @Test func aFullPoolKeepsWhatPaysMostPerByte() throws {
        let f = try Fixture()
        let rich = Schnorr.PrivateKey.generate()
        try f.commit([SignedTransaction(
            Transaction(chainID: f.genesis.chainID, sender: f.wallet.publicKey, nonce: 0, operations: [.transfer(to: rich.publicKey.address, amount: FROST(1_000 * FROST.perWAL))]),
            signedBy: f.wallet)])
        var limits = Mempool.Limits()
        limits.transactionsMax = 3
        let pool = Mempool(limits: limits)
        let walletTxs = (1...3).map { f.tx(f.wallet, nonce: UInt64($0)) }
        for tx in walletTxs { try pool.add(tx, ledger: f.app.ledger) }
        // The same kind of transaction pays the same per byte: refused, retryably.
        #expect(Self.refusal { () throws(LedgerError) in try pool.add(f.tx(rich, nonce: 0), ledger: f.app.ledger) } == LedgerError.Code.mempoolFull)
        // Three transfers in one transaction pay two more operation fees for few more bytes.
        let better = f.tx(rich, nonce: 0, transfers: 3)
        #expect(try f.fee(better) * UInt64(walletTxs[2].bcsBytes.count) > f.fee(walletTxs[2]) * UInt64(better.bcsBytes.count))
        try pool.add(better, ledger: f.app.ledger)
        #expect(pool.count == 3)
        #expect(Set(pool.take(limit: 10).map(\.digest)) == Set([walletTxs[0].digest, walletTxs[1].digest, better.digest]))
        // The displaced sender's next nonce is the displaced one again.
        #expect(Self.refusal { () throws(LedgerError) in try pool.add(walletTxs[2], ledger: f.app.ledger) } == LedgerError.Code.mempoolFull)
    }

    /// Transactions pending longer than the age limit are dropped at the next block, with their
    /// sender's later ones; others stay.
    @Test func oldTransactionsExpire() throws {
        let f = try Fixture()
        let now = Atomic<UInt64>(1_000_000)
        var limits = Mempool.Limits()
        limits.ageMaxMs = 60_000
        let pool = Mempool(limits: limits, clock: { now.load(ordering: .relaxed) })
        let other = Schnorr.PrivateKey.generate()
        try f.commit([SignedTransaction(
            Transaction(chainID: f.genesis.chainID, sender: f.wallet.publicKey, nonce: 0, operations: [.transfer(to: other.publicKey.address, amount: FROST(FROST.perWAL))]),
            signedBy: f.wallet)])
        try pool.add(f.tx(f.wallet, nonce: 1), ledger: f.app.ledger)
        now.store(1_050_000, ordering: .relaxed)
        try pool.add(f.tx(f.wallet, nonce: 2), ledger: f.app.ledger)
        try pool.add(f.tx(other, nonce: 0), ledger: f.app.ledger)
        now.store(1_070_000, ordering: .relaxed)
        pool.removeIncluded([], ledger: f.app.ledger)
        #expect(pool.count == 1)
        #expect(pool.take(limit: 10).first?.transaction.senderAddress == other.publicKey.address)
        // The wallet's nonce 1 is free again.
        try pool.add(f.tx(f.wallet, nonce: 1), ledger: f.app.ledger)
        #expect(pool.count == 2)
    }
}
