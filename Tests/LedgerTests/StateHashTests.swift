import ChainTypes
import KVStore
import Ledger
import Testing
import WalrusCore
import WalrusCrypto

/// The state hash each block leaves is the hash of the whole state, recomputed from scratch: what
/// a node that downloads the state at that height computes.
@Suite struct StateHashTests {
    static func recomputed(_ h: Harness) throws -> LtHash {
        var hash = LtHash()
        for entry in try h.store.entries(Ledger.stateFamily) where entry.key != Ledger.stateHashKey {
            hash.add(Ledger.stateHashElement(key: entry.key, value: entry.value))
        }
        return hash
    }

    @Test func theKeptHashIsTheHashOfTheWholeState() throws {
        let h = try Harness()
        #expect(try h.ledger.stateHash() == (try Self.recomputed(h)))
        var digests: Set<[UInt8]> = []
        // Transfers, a reservation, a stake, a withdrawal request and a failing transaction.
        let node = try h.system().committee.members[0].nodeID
        let blocks: [() throws -> [SignedTransaction]] = [
            { [try h.tx(h.alice, [.transfer(to: h.bob.publicKey.address, amount: FROST(5))])] },
            { [try h.tx(h.alice, [.reserveSpace(size: 1 << 20, epochs: 2)])] },
            { [try h.tx(h.alice, [.stake(node: node, amount: FROST(FROST.perWAL))])] },
            { [try h.tx(h.bob, [.transfer(to: h.alice.publicKey.address, amount: FROST(1_000_000))])] },
        ]
        for transactions in blocks {
            let execution = try h.block(try transactions())
            #expect(execution.isValid)
            let kept = try h.ledger.stateHash()
            #expect(try kept == Self.recomputed(h))
            #expect(execution.stateHash == kept.digest)
            digests.insert(execution.stateHash)
        }
        #expect(digests.count == blocks.count, "each block changed the state")
        // An epoch change rewrites much of the state; the hash still follows.
        try h.block([], afterMs: Harness.epochMs / 2)
        try h.block([], afterMs: Harness.epochMs / 2)
        #expect(try h.ledger.stateHash() == (try Self.recomputed(h)))
    }

    @Test func twoLedgersWithTheSameHistoryAgreeAndOneChangeShows() throws {
        let h = try Harness()
        let before = try h.ledger.stateHash()
        try h.block([h.tx(h.alice, [.transfer(to: h.bob.publicKey.address, amount: FROST(1))])])
        #expect(try h.ledger.stateHash() != before)
        // Tampering with one stored value makes the recomputed hash differ from the kept one.
        let entries = try h.store.entries(Ledger.stateFamily).filter { $0.key != Ledger.stateHashKey }
        let victim = try #require(entries.first)
        try h.store.put(Ledger.stateFamily, victim.key, victim.value + [0])
        #expect(try Self.recomputed(h) != (try h.ledger.stateHash()))
    }
}
