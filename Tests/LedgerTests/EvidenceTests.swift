import ChainTypes
import Ledger
import Testing
import WalrusCore
import WalrusCrypto

/// Evidence of equivocation: the ledger slashes a validator only for two conflicting messages it
/// validly signed, once, and refuses anything else with a stable code.
@Suite struct EvidenceTests {
    static func vote(_ h: Harness, validator: Int, height: UInt64, value: UInt8?, kind: VoteKind = .prevote, key: Schnorr.PrivateKey? = nil) -> Vote {
        var vote = Vote(kind: kind, height: height, round: 0, valueID: value.map { ValueID([UInt8](repeating: $0, count: 32)) }, validator: UInt16(validator))
        vote.signature = (key ?? h.validatorKeys[validator]).sign(vote.signBytes(chainID: h.chainID)).bytes
        return vote
    }

    static func apply(_ h: Harness, _ evidence: [Evidence]) throws(LedgerError) -> BlockExecution {
        h.height += 1
        h.timeMs += 100
        let execution = try h.ledger.execute(BlockContext(height: h.height, timeMs: h.timeMs), transactions: [], evidence: evidence)
        do { try h.ledger.commit(execution) } catch { throw LedgerError(.notFound, error.message) }
        return execution
    }

    static func code(_ body: () throws(LedgerError) -> Void) -> LedgerError.Code? {
        do { try body() } catch { return error.code }
        return nil
    }

    @Test func conflictingVotesSlashOnce() throws {
        let h = try Harness()
        _ = try Self.apply(h, [])
        let burnedBefore = try h.system().burned
        let evidence = Evidence.votes(Self.vote(h, validator: 2, height: 1, value: 7), Self.vote(h, validator: 2, height: 1, value: nil))
        let execution = try Self.apply(h, [evidence])
        let half = FROST(500 * FROST.perWAL)
        #expect(execution.events.contains(.validatorSlashed(epoch: Epoch(1), validator: h.validatorKeys[2].publicKey.bytes, amount: half, misbehaviourHeight: 1)))
        let records = try h.ledger.validators()
        #expect(records[2].jailed && records[2].bond == half && records[2].slashed == half)
        #expect(records.enumerated().filter { $0.offset != 2 }.allSatisfy { !$0.element.jailed && $0.element.bond == FROST(1_000 * FROST.perWAL) })
        #expect(try h.system().burned == FROST(burnedBefore.rawValue + half.rawValue))
        // The same misbehaviour again (or other evidence against the jailed validator): refused.
        let again = Evidence.votes(Self.vote(h, validator: 2, height: 2, value: 1), Self.vote(h, validator: 2, height: 2, value: 2))
        #expect(Self.code { () throws(LedgerError) in _ = try Self.apply(h, [again]) } == .duplicate)
        #expect(Self.code { () throws(LedgerError) in try h.ledger.checkEvidence(again, height: h.height + 1) } == .duplicate)
    }

    @Test func evidenceThatProvesNothingIsRefused() throws {
        let h = try Harness()
        for _ in 0..<3 { _ = try Self.apply(h, []) }
        let a = Self.vote(h, validator: 1, height: 2, value: 7)
        let cases: [(String, Evidence)] = [
            ("the same vote twice", .duplicateVote(a, a)),
            ("different kinds", .votes(a, Self.vote(h, validator: 1, height: 2, value: 8, kind: .precommit))),
            ("different heights", .votes(a, Self.vote(h, validator: 1, height: 3, value: 8))),
            ("different validators", .votes(a, Self.vote(h, validator: 0, height: 2, value: 8))),
            ("signed by another key", .votes(a, Self.vote(h, validator: 1, height: 2, value: 8, key: h.validatorKeys[0]))),
            ("from the future", .votes(Self.vote(h, validator: 1, height: 90, value: 1), Self.vote(h, validator: 1, height: 90, value: 2))),
            ("an unknown validator", .votes(Self.vote(h, validator: 9, height: 2, value: 1, key: h.validatorKeys[0]), Self.vote(h, validator: 9, height: 2, value: 2, key: h.validatorKeys[0]))),
        ]
        for (what, evidence) in cases {
            #expect(Self.code { () throws(LedgerError) in _ = try Self.apply(h, [evidence]) } == .invalidEvidence, "\(what)")
        }
        // Not in canonical order: the same pair reversed.
        guard case let .duplicateVote(first, second) = Evidence.votes(a, Self.vote(h, validator: 1, height: 2, value: 8)) else { return }
        #expect(Self.code { () throws(LedgerError) in _ = try Self.apply(h, [.duplicateVote(second, first)]) } == .invalidEvidence)
        // Nothing was slashed, and the canonical pair still is accepted.
        #expect(try h.ledger.validators().allSatisfy { !$0.jailed })
        _ = try Self.apply(h, [.duplicateVote(first, second)])
        #expect(try h.ledger.validators()[1].jailed)
    }

    @Test func conflictingProposalsSlash() throws {
        let h = try Harness()
        _ = try Self.apply(h, [])
        func head(_ value: UInt8) -> SignedProposalHead {
            let unsigned = SignedProposalHead(height: 1, round: 3, valueID: ValueID([UInt8](repeating: value, count: 32)), validRound: nil, proposer: 0, signature: [])
            return SignedProposalHead(
                height: 1, round: 3, valueID: unsigned.valueID, validRound: nil, proposer: 0,
                signature: h.validatorKeys[0].sign(unsigned.signBytes(chainID: h.chainID)).bytes)
        }
        let evidence = Evidence.proposals(head(1), head(2))
        #expect(try Evidence.decode(bcs: evidence.bcsBytes) == evidence)
        _ = try Self.apply(h, [evidence])
        #expect(try h.ledger.validators()[0].jailed)
    }
}
