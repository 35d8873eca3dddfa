import ChainTypes
import Consensus
import Testing
import WalrusCore
import WalrusCrypto

private func validators(_ powers: [UInt64]) -> ValidatorSet {
    ValidatorSet(powers.enumerated().map { Validator(publicKey: [UInt8](repeating: UInt8($0.offset), count: 32), power: $0.element, address: "v\($0.offset)") })
}

@Suite struct SigningGuardTests {
    @Test func neverSignsTwoDifferentMessagesAtOnePosition() {
        var guardState = SigningGuard()
        #expect(guardState.check(height: 5, round: 0, step: .prevote, signBytes: [1]) == .sign)
        guardState.record(height: 5, round: 0, step: .prevote, signBytes: [1], signature: [0xa1])
        // The same bytes again (a restart re-sending): the old signature.
        #expect(guardState.check(height: 5, round: 0, step: .prevote, signBytes: [1]) == .reuse([0xa1]))
        // Different bytes at the same position: refused.
        guard case .refuse = guardState.check(height: 5, round: 0, step: .prevote, signBytes: [2]) else { Issue.record("conflict signed"); return }
        // Moving forward is allowed; going back is not, except to re-send what was signed.
        #expect(guardState.check(height: 5, round: 0, step: .precommit, signBytes: [3]) == .sign)
        guardState.record(height: 5, round: 0, step: .precommit, signBytes: [3], signature: [0xa3])
        #expect(guardState.check(height: 5, round: 0, step: .prevote, signBytes: [1]) == .reuse([0xa1]))
        guard case .refuse = guardState.check(height: 5, round: 0, step: .prevote, signBytes: [9]) else { Issue.record("regression signed"); return }
        guard case .refuse = guardState.check(height: 4, round: 9, step: .precommit, signBytes: [9]) else { Issue.record("old height signed"); return }
        #expect(guardState.check(height: 5, round: 1, step: .proposal, signBytes: [4]) == .sign)
        #expect(guardState.check(height: 6, round: 0, step: .prevote, signBytes: [1]) == .sign)
        guardState.record(height: 6, round: 0, step: .prevote, signBytes: [5], signature: [0xa5])
        // A new height forgets the old height's messages.
        guard case .refuse = guardState.check(height: 5, round: 0, step: .prevote, signBytes: [1]) else { Issue.record("old height reused"); return }
    }
}

@Suite struct ValidatorSetTests {
    @Test func proposersRotateInProportionToPower() {
        let set = validators([1, 2, 3, 4])
        var counts = [Int](repeating: 0, count: 4)
        for height in 1...1000 as ClosedRange<UInt64> {
            counts[Int(set.advanced(by: height).proposer(round: 0))] += 1
        }
        #expect(counts == [100, 200, 300, 400])
        // Later rounds move on to other proposers.
        let atHeight = set.advanced(by: 7)
        #expect(Set((0..<10).map { atHeight.proposer(round: $0) }).count == 4)
    }

    @Test func quorumAndValidityAreStrictThirds() throws {
        let set = validators([1, 1, 1, 1])
        #expect(!set.isQuorum(2) && set.isQuorum(3))
        #expect(!set.isValidity(1) && set.isValidity(2))
        #expect(try ValidatorSet.decode(bcs: set.bcsBytes) == set)
    }

    @Test func commitsNeedAQuorumOfDistinctMatchingPrecommits() throws {
        let set = validators([1, 1, 1, 1])
        let id = ValueID([UInt8](repeating: 7, count: 32))
        func precommit(_ v: UInt16, _ value: ValueID? = nil, round: Round = 0) -> Vote {
            Vote(kind: .precommit, height: 3, round: round, valueID: value ?? id, validator: v)
        }
        #expect(Commit(height: 3, round: 0, valueID: id, precommits: [precommit(0), precommit(1), precommit(2)]).hasQuorum(in: set))
        #expect(!Commit(height: 3, round: 0, valueID: id, precommits: [precommit(0), precommit(1)]).hasQuorum(in: set))
        #expect(!Commit(height: 3, round: 0, valueID: id, precommits: [precommit(0), precommit(1), precommit(1)]).hasQuorum(in: set))
        #expect(!Commit(height: 3, round: 0, valueID: id, precommits: [precommit(0), precommit(1), precommit(2, round: 1)]).hasQuorum(in: set))
        #expect(!Commit(height: 3, round: 0, valueID: id, precommits: [precommit(0), precommit(1), precommit(9)]).hasQuorum(in: set))
        let commit = Commit(height: 3, round: 0, valueID: id, precommits: [precommit(2), precommit(0), precommit(1)])
        #expect(try Commit.decode(bcs: commit.bcsBytes) == commit)
    }
}

/// Transcripts: the core's answers to hand-written message sequences.
@Suite struct TranscriptTests {
    struct V: ConsensusValue {
        let n: UInt8
        var valueID: ValueID { ValueID([UInt8](repeating: n, count: 32)) }
    }

    let set = validators([1, 1, 1, 1])

    func core(_ me: UInt16) -> Tendermint<V> {
        Tendermint(chainID: "t", height: 1, validators: set, ownIndex: me, isValid: { _, _ in true })
    }

    func prevote(_ v: UInt16, _ value: V?, round: Round = 0) -> Vote {
        Vote(kind: .prevote, height: 1, round: round, valueID: value?.valueID, validator: v)
    }

    func precommit(_ v: UInt16, _ value: V?, round: Round = 0) -> Vote {
        Vote(kind: .precommit, height: 1, round: round, valueID: value?.valueID, validator: v)
    }

    @Test func happyPathDecidesWithACommit() {
        let proposer = set.proposer(round: 0)
        let me: UInt16 = (proposer + 1) % 4
        var c = core(me)
        _ = c.start()
        let a = V(n: 1)
        let afterProposal = c.receive(Proposal(height: 1, round: 0, value: a, validRound: nil, proposer: proposer))
        #expect(afterProposal.contains(.broadcastVote(prevote(me, a))))
        var actions: [ConsensusAction<V>] = []
        for v in (0..<4).map(UInt16.init) where v != me { actions += c.receive(prevote(v, a)) }
        _ = c.receive(prevote(me, a))
        #expect(c.lockedRound == 0 && c.lockedValue == a)
        for v in (0..<4).map(UInt16.init) { actions += c.receive(precommit(v, a)) }
        guard case .decide(let height, let value, let commit)? = actions.last else { Issue.record("no decision: \(actions)"); return }
        #expect(height == 1 && value == a && commit.hasQuorum(in: set))
    }

    /// Locked on `a` in round 0, a validator prevotes nil for a fresh proposal of `b` in round 1,
    /// and for `b` only once it sees a polka for `b` in a round after its lock (rule 28).
    @Test func aLockedValidatorOnlyUnlocksOnALaterPolka() {
        let p0 = set.proposer(round: 0), p1 = set.proposer(round: 1), p2 = set.proposer(round: 2)
        let me = (0..<4).map(UInt16.init).first { $0 != p0 && $0 != p1 && $0 != p2 } ?? 3
        var c = core(me)
        _ = c.start()
        let a = V(n: 1), b = V(n: 2)
        _ = c.receive(Proposal(height: 1, round: 0, value: a, validRound: nil, proposer: p0))
        for v in (0..<4).map(UInt16.init) { _ = c.receive(prevote(v, a)) }
        #expect(c.lockedValue == a)
        // Round 1: a fresh proposal of b; we are locked on a, so we prevote nil.
        _ = c.timeout(.precommit, height: 1, round: 0)
        #expect(c.round == 1)
        let fresh = c.receive(Proposal(height: 1, round: 1, value: b, validRound: nil, proposer: p1))
        #expect(fresh.contains(.broadcastVote(prevote(me, nil, round: 1))))
        // Others prevote b in round 1 (a polka after our lock); round 2 re-proposes b with vr = 1.
        for v in (0..<4).map(UInt16.init) where v != me { _ = c.receive(prevote(v, b, round: 1)) }
        _ = c.timeout(.prevote, height: 1, round: 1)
        _ = c.timeout(.precommit, height: 1, round: 1)
        #expect(c.round == 2)
        let reproposal = c.receive(Proposal(height: 1, round: 2, value: b, validRound: 1, proposer: p2))
        #expect(reproposal.contains(.broadcastVote(prevote(me, b, round: 2))))
    }

    @Test func messagesFromAQuorumOfALaterRoundMoveUsThere() {
        var c = core(0)
        _ = c.start()
        _ = c.receive(prevote(1, nil, round: 5))
        #expect(c.round == 0)
        _ = c.receive(prevote(2, nil, round: 5))
        #expect(c.round == 5)
    }

    @Test func equivocationIsRecorded() {
        var c = core(0)
        _ = c.start()
        _ = c.receive(prevote(1, V(n: 1)))
        _ = c.receive(prevote(1, V(n: 2)))
        #expect(c.equivocations.count == 1)
    }
}

/// The proposer schedule gives, round by round in O(n) each, what stepping the set from scratch
/// gives, and a set stepped once per height equals the genesis set stepped `height` times.
@Suite struct ProposerScheduleTests {
    @Test func scheduleMatchesTheDefinition() {
        let set = ValidatorSet((0..<7).map { i in Validator(publicKey: [UInt8](repeating: UInt8(i), count: 32), power: UInt64(1 + i * i), address: "127.0.0.1:\(1000 + i)") })
        var incremental = set
        for height in 0..<50 {
            #expect(incremental == set.advanced(by: UInt64(height)))
            var schedule = ProposerSchedule(incremental)
            // Asked out of order and twice, as the core does.
            for round: Round in [3, 0, 7, 3, 12, 1] { #expect(schedule.proposer(round: round) == incremental.proposer(round: round)) }
            _ = incremental.step()
        }
    }

    @Test func decodingRefusesPowersThatOverflow() {
        var writer = BCSWriter()
        let huge = [Validator(publicKey: [UInt8](repeating: 1, count: 32), power: UInt64.max, address: "a:1"), Validator(publicKey: [UInt8](repeating: 2, count: 32), power: 2, address: "b:2")]
        writer.writeSequence(huge)
        writer.writeLength(2)
        writer.write(UInt64(0))
        writer.write(UInt64(0))
        #expect(throws: CoreError.self) { try ValidatorSet.decode(bcs: writer.bytes) }
    }
}
