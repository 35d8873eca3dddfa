import ChainTypes
import Ledger
import Testing
import WalrusCore
import WalrusCrypto

/// The consensus set follows stake: candidates register with a bond and their key's consent,
/// stakers delegate, and at each epoch change the candidates with the most stake (neither jailed
/// nor leaving) become the set, from the next height on.
@Suite struct ValidatorSetTests {
    static let wal = FROST.perWAL

    /// Runs blocks until the next epoch starts; returns the block that started it.
    @discardableResult
    static func toNextEpoch(_ h: Harness) throws -> BlockExecution {
        let epoch = try h.system().epoch
        // The storage committee finishes the last epoch change first.
        if case .changeSync = try h.system().epochState {
            for (member, _) in try h.members() {
                let pool = try #require(try h.ledger.pool(member.nodeID))
                let operatorKey = try #require(h.operatorKeys.first { $0.publicKey.address == pool.operatorAddress })
                try h.block([h.tx(operatorKey, [.epochSyncDone(node: member.nodeID, epoch: epoch)])])
                if case .changeDone = try h.system().epochState { break }
            }
        }
        for _ in 0..<4 {
            let execution = try h.block([], afterMs: Harness.epochMs / 2)
            if try h.system().epoch > epoch { return execution }
        }
        throw LedgerError(.notFound, "no epoch change: \(try h.system().epochState)")
    }

    static func register(_ h: Harness, _ key: Schnorr.PrivateKey, by owner: Schnorr.PrivateKey, bond: UInt64, port: Int = 7100) throws -> TransactionResult {
        let proof = key.sign(ValidatorRegistration.signBytes(chainID: h.chainID, publicKey: key.publicKey, operator: owner.publicKey.address))
        return try h.run(owner, [.registerValidator(publicKey: key.publicKey, p2pAddress: "127.0.0.1:\(port)", bond: FROST(bond * wal), proof: proof)])
    }

    @Test func aCandidateWithStakeJoinsAtTheEpochChange() throws {
        let h = try Harness()
        let candidate = Schnorr.PrivateKey.generate()
        let aliceBefore = try h.balance(h.alice)
        #expect(try Self.register(h, candidate, by: h.alice, bond: 300).succeeded)
        #expect(try h.balance(h.alice) == FROST(aliceBefore.rawValue - 300 * Self.wal))
        #expect(try h.run(h.bob, [.stakeWithValidator(validator: candidate.publicKey, amount: FROST(11))]).failureCode == LedgerError.Code.insufficientFunds.rawValue)
        #expect(try h.run(h.alice, [.stakeWithValidator(validator: candidate.publicKey, amount: FROST(1_200 * Self.wal))]).failureCode == LedgerError.Code.insufficientFunds.rawValue)
        #expect(try h.run(h.alice, [.stakeWithValidator(validator: candidate.publicKey, amount: FROST(600 * Self.wal))]).succeeded)
        #expect(try h.ledger.validatorStakes(ownedBy: h.alice.publicKey.address).count == 1)
        // Nothing changes before the epoch does.
        #expect(try h.ledger.consensusSets().entries.count == 1)

        let change = try Self.toNextEpoch(h)
        let set = try #require(change.nextValidators)
        #expect(set.count == 5)
        #expect(set[0].publicKey == h.validatorKeys.map(\.publicKey.bytes).sorted { $0.lexicographicallyPrecedes($1) }[0])
        #expect(set.allSatisfy { $0.power == 1_000 || $0.publicKey == candidate.publicKey.bytes })
        #expect(set.first { $0.publicKey == candidate.publicKey.bytes }?.power == 900)
        #expect(set.last?.publicKey == candidate.publicKey.bytes, "the least stake comes last")
        #expect(change.events.contains(.validatorSetChanged(epoch: Epoch(2), fromHeight: h.height + 1, validatorsHash: ValidatorSet(set).hash, count: 5)))
        let sets = try h.ledger.consensusSets()
        #expect(sets.validators(atHeight: h.height)?.count == 4)
        #expect(sets.validators(atHeight: h.height + 1) == set)
        // An epoch change with the same stakes keeps the set: no hand-over.
        #expect(try Self.toNextEpoch(h).nextValidators == nil)
    }

    @Test func registrationNeedsTheKeysConsentAndABond() throws {
        let h = try Harness()
        let candidate = Schnorr.PrivateKey.generate()
        // Consent signed for another operator.
        let forBob = candidate.sign(ValidatorRegistration.signBytes(chainID: h.chainID, publicKey: candidate.publicKey, operator: h.bob.publicKey.address))
        #expect(try h.run(h.alice, [.registerValidator(publicKey: candidate.publicKey, p2pAddress: "127.0.0.1:1", bond: FROST(Self.wal), proof: forBob)]).failureCode == LedgerError.Code.badSignature.rawValue)
        #expect(try Self.register(h, candidate, by: h.alice, bond: 0).failureCode == LedgerError.Code.invalidArgument.rawValue)
        #expect(try Self.register(h, candidate, by: h.bob, bond: 1).failureCode == LedgerError.Code.insufficientFunds.rawValue)
        #expect(try Self.register(h, h.validatorKeys[0], by: h.alice, bond: 1).failureCode == LedgerError.Code.duplicate.rawValue)
        let badAddress = candidate.sign(ValidatorRegistration.signBytes(chainID: h.chainID, publicKey: candidate.publicKey, operator: h.alice.publicKey.address))
        #expect(try h.run(h.alice, [.registerValidator(publicKey: candidate.publicKey, p2pAddress: "not an address", bond: FROST(Self.wal), proof: badAddress)]).failureCode == LedgerError.Code.invalidArgument.rawValue)
        #expect(try h.ledger.validators().count == 4)
    }

    @Test func theSetIsCappedAndJailedOrLeavingValidatorsDropOut() throws {
        let h = try Harness(validatorCountMax: 3)
        // Validator 1 equivocates; alice had delegated 100 WAL to it.
        #expect(try h.run(h.alice, [.stakeWithValidator(validator: h.validatorKeys[1].publicKey, amount: FROST(100 * Self.wal))]).succeeded)
        func vote(_ value: UInt8?) -> Vote {
            var vote = Vote(kind: .prevote, height: h.height, round: 0, valueID: value.map { ValueID([UInt8](repeating: $0, count: 32)) }, validator: 1)
            vote.signature = h.validatorKeys[1].sign(vote.signBytes(chainID: h.chainID)).bytes
            return vote
        }
        h.height += 1
        h.timeMs += 100
        let slashing = try h.ledger.execute(BlockContext(height: h.height, timeMs: h.timeMs), transactions: [], evidence: [.votes(vote(1), vote(nil))])
        try h.ledger.commit(slashing)
        #expect(slashing.events.contains(.validatorSlashed(epoch: Epoch(1), validator: h.validatorKeys[1].publicKey.bytes, amount: FROST(550 * Self.wal), misbehaviourHeight: h.height)))
        #expect(try h.ledger.validatorStakes(ownedBy: h.alice.publicKey.address)[0].amount == FROST(50 * Self.wal))
        // The operator of validator 3 (its own key's address) leaves; its bond comes back at the change.
        let operator3 = h.validatorKeys[3]
        #expect(try h.run(h.alice, [.transfer(to: operator3.publicKey.address, amount: FROST(Self.wal))]).succeeded)
        #expect(try h.run(h.alice, [.leaveValidatorSet(validator: operator3.publicKey)]).failureCode == "NOT_OWNER")
        #expect(try h.run(operator3, [.leaveValidatorSet(validator: operator3.publicKey)]).succeeded)
        let before = try h.balance(operator3)

        let set = try #require(try Self.toNextEpoch(h).nextValidators)
        #expect(Set(set.map(\.publicKey)) == Set([0, 2].map { h.validatorKeys[$0].publicKey.bytes }))
        #expect(try h.balance(operator3) == FROST(before.rawValue + 1_000 * Self.wal))
        let records = try h.ledger.validators()
        #expect(records[1].jailed && records[1].power == 0 && records[3].leaving && records[3].bond == .zero)
        // Evidence of a height the old set committed still names its validator (the sets are kept).
        h.height += 1
        let old = try h.ledger.execute(BlockContext(height: h.height, timeMs: h.timeMs + 1), transactions: [], evidence: [
            .votes(
                { var v = Vote(kind: .precommit, height: 2, round: 0, valueID: nil, validator: 0); v.signature = h.validatorKeys[0].sign(v.signBytes(chainID: h.chainID)).bytes; return v }(),
                { var v = Vote(kind: .precommit, height: 2, round: 0, valueID: ValueID([UInt8](repeating: 3, count: 32)), validator: 0); v.signature = h.validatorKeys[0].sign(v.signBytes(chainID: h.chainID)).bytes; return v }()),
        ])
        #expect(old.events.contains { if case .validatorSlashed(_, let key, _, 2) = $0 { key == h.validatorKeys[0].publicKey.bytes } else { false } })
    }

    @Test func aSetOfThreeFromFiveCandidates() throws {
        let h = try Harness(validatorCountMax: 3)
        let rich = Schnorr.PrivateKey.generate()
        #expect(try Self.register(h, rich, by: h.alice, bond: 900).succeeded)
        #expect(try h.run(h.alice, [.stakeWithValidator(validator: rich.publicKey, amount: FROST(50 * Self.wal))]).succeeded)
        let set = try #require(try Self.toNextEpoch(h).nextValidators)
        // Four genesis validators of 1,000 and one candidate of 950: the top three are genesis ones.
        #expect(set.count == 3 && set.allSatisfy { $0.power == 1_000 })
        #expect(!set.contains { $0.publicKey == rich.publicKey.bytes })
    }
}
