import ChainTypes
import Ledger
import Testing
import WalrusCore
import WalrusCrypto

/// Transaction fees: charged before the operations, kept when they fail, burned; a sender that
/// cannot pay gets nothing into a block and keeps its nonce.
@Suite struct FeeTests {
    @Test func feesAreChargedBurnedAndKeptOnFailure() throws {
        let h = try Harness(fees: .standard)
        let recipient = Schnorr.PrivateKey.generate().publicKey.address
        let tx = try h.tx(h.alice, [.transfer(to: recipient, amount: FROST(1_000))])
        let fee = try #require(FeeSchedule.standard.fee(bytes: tx.bcsBytes.count, operations: 1))
        let before = try h.balance(h.alice), burnedBefore = try h.system().burned
        #expect(try h.block([tx]).results[0].succeeded)
        #expect(try h.balance(h.alice).rawValue == before.rawValue - 1_000 - fee.rawValue)
        #expect(try h.system().burned.rawValue == burnedBefore.rawValue + fee.rawValue)
        // A failing operation: the fee is kept, the nonce used, nothing else changes.
        let failing = try h.tx(h.alice, [.transfer(to: recipient, amount: FROST(UInt64.max))])
        let failingFee = try #require(FeeSchedule.standard.fee(bytes: failing.bcsBytes.count, operations: 1))
        let nonce = try h.ledger.account(h.alice.publicKey.address).nonce
        let middle = try h.balance(h.alice)
        #expect(try h.block([failing]).results[0].failureCode == "INSUFFICIENT_FUNDS")
        #expect(try h.balance(h.alice).rawValue == middle.rawValue - failingFee.rawValue)
        #expect(try h.ledger.account(h.alice.publicKey.address).nonce == nonce + 1)
    }

    @Test func aSenderThatCannotPayIsRejectedAndKeepsItsNonce() throws {
        let h = try Harness(fees: .standard)
        // Bob has 10 FROST, less than any fee; a stranger has nothing.
        for key in [h.bob, Schnorr.PrivateKey.generate()] {
            let tx = try h.tx(key, [.transfer(to: h.alice.publicKey.address, amount: FROST(1))])
            #expect(throws: LedgerError.self) { try h.ledger.admissionCheck(tx) }
            let result = try h.block([tx]).results[0]
            #expect(result.isRejected && result.failureCode == "INSUFFICIENT_FUNDS")
            #expect(try h.ledger.account(key.publicKey.address).nonce == 0)
        }
        #expect(try h.balance(h.bob) == FROST(10))
    }

    @Test func feesNeverOverflow() {
        let huge = FeeSchedule(baseFrost: UInt64.max, perByteFrost: UInt64.max, perOperationFrost: UInt64.max)
        #expect(huge.fee(bytes: 100, operations: 1) == nil)
        #expect(FeeSchedule.none.fee(bytes: 65_536, operations: 32) == FROST(0))
        #expect(FeeSchedule.standard.fee(bytes: 200, operations: 1) == FROST(12_000))
    }
}
