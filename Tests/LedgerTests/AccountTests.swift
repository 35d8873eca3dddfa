import ChainTypes
import Ledger
import Testing
import WalrusCore
import WalrusCrypto

@Suite struct AccountTests {
    @Test func genesisFormsTheFirstCommittee() throws {
        let h = try Harness()
        let system = try h.system()
        #expect(system.epoch == Epoch(1))
        #expect(system.committee.shardCount == 10)
        #expect(system.committee.members.map(\.weight).sorted() == [2, 2, 3, 3])
        // Shards are handed out sequentially by node ID.
        #expect(system.committee.members.flatMap(\.shards).map(\.rawValue) == Array(0..<10))
        // Prices: the lowest vote a quorum of weight voted at most; every vote was 1000...1003.
        #expect((1000...1003).contains(system.storagePrice.rawValue))
        #expect(system.writePrice == FROST(500))
    }

    @Test func transfersMoveBalancesAndConsumeNonces() throws {
        let h = try Harness()
        let before = try h.balance(h.alice)
        let result = try h.run(h.alice, [.transfer(to: h.bob.publicKey.address, amount: FROST(25))])
        #expect(result.succeeded)
        #expect(try h.balance(h.alice) == FROST(before.rawValue - 25))
        #expect(try h.balance(h.bob) == FROST(35))
        #expect(try h.ledger.account(h.alice.publicKey.address).nonce == 1)
    }

    @Test func aFailedTransactionChangesNothingButTheNonce() throws {
        let h = try Harness()
        let result = try h.run(h.bob, [.transfer(to: h.alice.publicKey.address, amount: FROST(5)), .transfer(to: h.alice.publicKey.address, amount: FROST(50))])
        #expect(result.failureCode == "INSUFFICIENT_FUNDS")
        #expect(try h.balance(h.bob) == FROST(10))
        #expect(try h.ledger.account(h.bob.publicKey.address).nonce == 1)
    }

    @Test func replayedNoncesBadSignaturesAndOtherChainsAreRejected() throws {
        let h = try Harness()
        let first = try h.tx(h.alice, [.transfer(to: h.bob.publicKey.address, amount: FROST(1))])
        #expect(try h.block([first]).results[0].succeeded)
        // The same transaction again: its nonce is spent.
        let replay = try h.block([first]).results[0]
        #expect(replay.isRejected && replay.failureCode == "BAD_NONCE")
        // A signature by another key.
        let tx = Transaction(chainID: h.chainID, sender: h.alice.publicKey, nonce: 1, operations: [.transfer(to: h.bob.publicKey.address, amount: FROST(1))])
        let forged = SignedTransaction(transaction: tx, signature: h.bob.sign(tx.intentMessage))
        let bad = try h.block([forged]).results[0]
        #expect(bad.isRejected && bad.failureCode == "BAD_SIGNATURE")
        let otherChain = try h.block([h.tx(h.alice, [.transfer(to: h.bob.publicKey.address, amount: FROST(1))], chain: "other")]).results[0]
        #expect(otherChain.failureCode == "WRONG_CHAIN")
        #expect(try h.balance(h.bob) == FROST(11))
        // Two transactions of one sender in one block need consecutive nonces.
        let a = try h.tx(h.alice, [.transfer(to: h.bob.publicKey.address, amount: FROST(1))], nonce: 1)
        let b = try h.tx(h.alice, [.transfer(to: h.bob.publicKey.address, amount: FROST(1))], nonce: 2)
        let execution = try h.block([a, b])
        #expect(execution.results.allSatisfy(\.succeeded) && execution.isValid)
        #expect(!(try h.block([b])).isValid)
    }

    @Test func executionIsDeterministic() throws {
        let h1 = try Harness(), h2 = try Harness()
        // Same keys are needed for the same state: compare a fresh harness with itself instead.
        let txs = try [h1.tx(h1.alice, [.transfer(to: h1.bob.publicKey.address, amount: FROST(3))])]
        let a = try h1.ledger.execute(BlockContext(height: 1, timeMs: 1_000_100), transactions: txs)
        let b = try h1.ledger.execute(BlockContext(height: 1, timeMs: 1_000_100), transactions: txs)
        #expect(a.batch.operations == b.batch.operations && a.events == b.events && a.results == b.results)
        _ = h2
    }
}
