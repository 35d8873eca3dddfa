import ChainTypes
import Ledger
import PropertyBased
import Testing
import WalrusCore
import WalrusCrypto

/// Property-based tests (swift-property-based): every operation fed random values, half of them
/// from the edges of their type. Whatever the input, nothing traps, a failed operation changes
/// nothing (no fees in these ledgers), and a successful one changes exactly what it says.
@Suite struct LedgerPropertyTests {
    static let edgesU64: [UInt64] = [0, 1, 2, 1 << 20, 1 << 32, 1 << 62, UInt64.max / 2, UInt64.max - 1, UInt64.max]
    static let edgesU32: [UInt32] = [0, 1, 2, 5, 6, 1000, UInt32.max / 2, UInt32.max - 1, UInt32.max]
    /// A value from the edges half the time, from the whole range otherwise.
    static let u64 = zip(Gen.bool(), Gen.element(of: edgesU64), Gen.uint64()).map { $0.0 ? ($0.1 ?? $0.2) : $0.2 }
    static let u32 = zip(Gen.bool(), Gen.element(of: edgesU32), Gen.uint32()).map { $0.0 ? ($0.1 ?? $0.2) : $0.2 }

    /// What a test compares before and after an operation.
    struct Snapshot: Equatable {
        let alice: FROST, bob: FROST
        let storage: [StorageResource]
        let stakes: [StakeRecord]

        init(_ h: Harness) throws {
            alice = try h.balance(h.alice)
            bob = try h.balance(h.bob)
            storage = try h.ledger.storageResources(ownedBy: h.alice.publicKey.address).sorted { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
            stakes = try h.ledger.stakes(ownedBy: h.alice.publicKey.address).sorted { $0.id.bytes.lexicographicallyPrecedes($1.id.bytes) }
        }
    }

    @Test func transfersMoveExactlyTheirAmountOrNothing() async {
        await propertyCheck(count: 200, input: Self.u64) { amount in
            let h = try Harness()
            let before = try Snapshot(h)
            let result = try h.run(h.alice, [.transfer(to: h.bob.publicKey.address, amount: FROST(amount))])
            let after = try Snapshot(h)
            if result.failureCode == nil {
                #expect(after.alice.rawValue == before.alice.rawValue - amount && after.bob.rawValue == before.bob.rawValue + amount)
            } else {
                // Nothing to move (0) or more than the balance.
                #expect((amount == 0 || result.failureCode == "INSUFFICIENT_FUNDS") && after == before, "\(result.failureCode ?? "")")
            }
        }
    }

    @Test func reservationsAreAllOrNothing() async {
        await propertyCheck(count: 200, input: Self.u64, Self.u32) { size, epochs in
            let h = try Harness()
            let before = try Snapshot(h)
            let result = try h.run(h.alice, [.reserveSpace(size: size, epochs: epochs)])
            let after = try Snapshot(h)
            if result.failureCode == nil {
                #expect(after.storage.count == 1 && after.alice < before.alice)
                #expect(after.storage.first.map { $0.size >= size && $0.endEpoch.rawValue == 1 + epochs } == true)
            } else {
                #expect(after == before, "\(result.failureCode ?? "")")
            }
        }
    }

    @Test func splitsPartitionTheResourceOrChangeNothing() async {
        await propertyCheck(count: 200, input: Self.u64, Self.u32, Gen.bool()) { size, epoch, bySize in
            let h = try Harness()
            try #require(try h.run(h.alice, [.reserveSpace(size: 1 << 20, epochs: 3)]).failureCode == nil)
            let before = try Snapshot(h)
            let original = try #require(before.storage.first)
            let operation: Operation = bySize
                ? .splitStorageBySize(storage: original.id, size: size) : .splitStorageByEpoch(storage: original.id, epoch: Epoch(epoch))
            let result = try h.run(h.alice, [operation])
            let after = try Snapshot(h)
            if result.failureCode == nil {
                #expect(after.storage.count == 2 && after.alice == before.alice)
                if bySize {
                    #expect(after.storage.reduce(0) { $0 + $1.size } == original.size)
                    #expect(after.storage.allSatisfy { $0.startEpoch == original.startEpoch && $0.endEpoch == original.endEpoch })
                } else {
                    let sorted = after.storage.sorted { $0.startEpoch < $1.startEpoch }
                    #expect(sorted[0].startEpoch == original.startEpoch && sorted[0].endEpoch == sorted[1].startEpoch && sorted[1].endEpoch == original.endEpoch)
                    #expect(sorted.allSatisfy { $0.size == original.size && $0.startEpoch < $0.endEpoch })
                }
            } else {
                #expect(after == before, "\(result.failureCode ?? "")")
            }
        }
    }

    @Test func stakesTakeExactlyTheirAmountOrNothing() async {
        await propertyCheck(count: 200, input: Self.u64) { amount in
            let h = try Harness()
            let node = try #require(try h.system().committee.members.first?.nodeID)
            let before = try Snapshot(h)
            let result = try h.run(h.alice, [.stake(node: node, amount: FROST(amount))])
            let after = try Snapshot(h)
            if result.failureCode == nil {
                #expect(after.alice.rawValue == before.alice.rawValue - amount && after.stakes.map(\.amount) == [FROST(amount)])
            } else {
                #expect(after == before, "\(result.failureCode ?? "")")
            }
        }
    }

    @Test func extensionsAddTheirEpochsOrChangeNothing() async {
        await propertyCheck(count: 200, input: Self.u32) { epochs in
            let h = try Harness()
            let blob = try Harness.blob("extended")
            try #require(try h.run(h.alice, [.registerBlob(
                storage: .reserve(epochs: 2), blobID: blob.blobID, rootHash: blob.rootHash, size: blob.size, encodingType: 1, deletable: false)]).failureCode == nil)
            let record = try #require(try h.ledger.blobs(withBlobID: blob.blobID).first)
            let before = try Snapshot(h)
            let result = try h.run(h.alice, [.extendBlob(blob: record.id, epochs: epochs)])
            let after = try Snapshot(h)
            let extended = try #require(try h.ledger.blob(record.id))
            if result.failureCode == nil {
                #expect(extended.endEpoch.rawValue == record.endEpoch.rawValue + epochs && after.alice <= before.alice)
            } else {
                #expect(after == before && extended == record, "\(result.failureCode ?? "")")
            }
        }
    }

    /// Evidence made of arbitrary votes (random fields and signatures) never slashes anyone and
    /// never traps: it is refused with INVALID_EVIDENCE.
    @Test func arbitraryEvidenceIsRefused() async {
        let bytes = Gen.uint8().array(of: 64)
        await propertyCheck(count: 200, input: Self.u64, Self.u32, Gen.uint16(), bytes, Gen.bool()) { height, round, validator, signature, nilFirst in
            let h = try Harness()
            let first = Vote(kind: .prevote, height: height, round: round, valueID: nilFirst ? nil : ValueID(Array(signature.prefix(32))), validator: validator, signature: signature)
            let second = Vote(kind: .prevote, height: height, round: round, valueID: ValueID(Array(signature.suffix(32).reversed()) + []), validator: validator, signature: Array(signature.reversed()))
            h.height += 1
            do {
                _ = try h.ledger.execute(BlockContext(height: max(h.height, min(height, UInt64.max - 1)), timeMs: h.timeMs + 1), transactions: [], evidence: [.votes(first, second)])
                Issue.record("arbitrary evidence was accepted")
            } catch let error as LedgerError {
                #expect(error.code == .invalidEvidence || error.code == .duplicate)
            }
            #expect(try h.ledger.validators().allSatisfy { !$0.jailed })
        }
    }
}
