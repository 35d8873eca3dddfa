public import ChainTypes
/// The steps of a round.
public enum Step: UInt8, Comparable, Sendable {
    case propose, prevote, precommit
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Timeouts, growing linearly with the round so that rounds eventually last long enough for a
/// partially synchronous network.
public struct TimeoutConfig: Hashable, Sendable {
    public var proposeMs: UInt64 = 1000
    public var prevoteMs: UInt64 = 500
    public var precommitMs: UInt64 = 500
    /// Added per round to each of the above.
    public var deltaMs: UInt64 = 250

    public init(proposeMs: UInt64 = 1000, prevoteMs: UInt64 = 500, precommitMs: UInt64 = 500, deltaMs: UInt64 = 250) {
        self.proposeMs = proposeMs
        self.prevoteMs = prevoteMs
        self.precommitMs = precommitMs
        self.deltaMs = deltaMs
    }

    public func duration(_ step: Step, round: Round) -> UInt64 {
        let base: UInt64 = switch step {
        case .propose: proposeMs
        case .prevote: prevoteMs
        case .precommit: precommitMs
        }
        return base + UInt64(round) * deltaMs
    }
}

/// What the core asks its shell to do.
public enum ConsensusAction<Value: ConsensusValue>: Sendable, Equatable {
    /// This validator proposes at (height, round): the shell builds a value and hands it back with
    /// `proposalValue`.
    case buildProposal(height: Height, round: Round)
    /// Sign (after durably recording it) and broadcast this proposal, and deliver it to ourselves.
    case broadcastProposal(Proposal<Value>)
    /// Sign (after durably recording it) and broadcast this vote, and deliver it to ourselves.
    case broadcastVote(Vote)
    /// Call `timeout(step, height, round)` after `afterMs` milliseconds.
    case scheduleTimeout(step: Step, height: Height, round: Round, afterMs: UInt64)
    /// The value is decided at `height`: apply it and store it with the commit.
    case decide(height: Height, value: Value, commit: Commit)
    /// We saw messages of a later height: fetch the blocks we miss (with their commits) from peers.
    case requestSync(fromHeight: Height)
}

/// Evidence of a validator signing two different votes for one height, round and kind.
public struct Equivocation: Hashable, Sendable {
    public let first: Vote
    public let second: Vote
}

/// The Tendermint consensus algorithm for one validator, as a pure state machine (Buchman, Kwon,
/// Milosevic 2018, "The latest gossip on BFT consensus", Algorithm 1): messages, timeouts and
/// built proposals go in; messages to sign and send, timeouts to schedule and decisions come out.
/// Time and randomness are not used. Messages handed in must already have valid signatures.
public struct Tendermint<Value: ConsensusValue>: Sendable {
    public let chainID: String
    /// Our index in the validator set, nil for a non-validating follower; it may change with
    /// the set at each height.
    public private(set) var ownIndex: UInt16?
    public let timeouts: TimeoutConfig
    /// Application validity of a proposed value at a height: `valid(v)` of the paper.
    public let isValid: @Sendable (Value, Height) -> Bool

    public private(set) var height: Height
    public private(set) var round: Round = 0
    public private(set) var step: Step = .propose
    public private(set) var validators: ValidatorSet
    public private(set) var lockedValue: Value?
    public private(set) var lockedRound: Round?
    public private(set) var validValue: Value?
    public private(set) var validRound: Round?
    public private(set) var equivocations: [Equivocation] = []

    /// The equivocations seen since the last call, for the shell to turn into evidence.
    public mutating func takeEquivocations() -> [Equivocation] {
        defer { equivocations = [] }
        return equivocations
    }

    private var proposals: [Round: Proposal<Value>] = [:]
    private var prevotes: [Round: VoteTally] = [:]
    private var precommits: [Round: VoteTally] = [:]
    /// Validators seen sending anything in a round (for the round skip, rule 55).
    private var senders: [Round: Set<UInt16>] = [:]
    private var prevoteTimeoutScheduled: Set<Round> = []
    private var precommitTimeoutScheduled: Set<Round> = []
    private var lockedOrValidUpdated: Set<Round> = []
    private var decided = false
    private var syncRequested: Height = 0
    /// Proposals more rounds ahead than this are ignored: finding their proposer would cost the
    /// schedule up to that round (the shell drops such messages before they get here).
    public static var roundsAheadMax: Round { 1000 }
    /// This height's proposers by round, computed as rounds are reached.
    private var schedule: ProposerSchedule

    /// A validator (or follower) starting at `height` with that height's validator set.
    public init(
        chainID: String, height: Height, validators: ValidatorSet, ownIndex: UInt16?, timeouts: TimeoutConfig = TimeoutConfig(),
        isValid: @escaping @Sendable (Value, Height) -> Bool
    ) {
        self.chainID = chainID
        self.height = height
        self.validators = validators
        schedule = ProposerSchedule(validators)
        self.ownIndex = ownIndex
        self.timeouts = timeouts
        self.isValid = isValid
    }

    /// A value proposed at this height with ID `id`, if a proposal carried it.
    public func proposedValue(_ id: ValueID) -> Value? {
        for round in proposals.keys.sorted() where proposals[round]?.value.valueID == id { return proposals[round]?.value }
        return nil
    }

    /// Starts round 0 of the current height.
    public mutating func start() -> [ConsensusAction<Value>] {
        var actions: [ConsensusAction<Value>] = []
        startRound(0, &actions)
        return actions
    }

    /// Applies one recorded input: how a restarted validator replays its write-ahead log.
    public mutating func apply(_ input: ConsensusInput<Value>) -> [ConsensusAction<Value>] {
        switch input {
        case .start: start()
        case .proposal(let proposal): receive(proposal)
        case .vote(let vote): receive(vote)
        case .timeout(let step, let height, let round): timeout(step, height: height, round: round)
        case .proposalValue(let value, let height, let round): proposalValue(value, height: height, round: round)
        }
    }

    /// The value the shell built for our proposal at (height, round).
    public mutating func proposalValue(_ value: Value, height: Height, round: Round) -> [ConsensusAction<Value>] {
        guard height == self.height, round == self.round, step == .propose, let me = ownIndex,
            schedule.proposer(round: round) == me, proposals[round] == nil
        else { return [] }
        return [.broadcastProposal(Proposal(height: height, round: round, value: value, validRound: nil, proposer: me))]
    }

    /// A proposal from the network (or our own, looped back).
    public mutating func receive(_ proposal: Proposal<Value>) -> [ConsensusAction<Value>] {
        var actions: [ConsensusAction<Value>] = []
        if proposal.height > height {
            requestSync(&actions)
            return actions
        }
        guard proposal.height == height, !decided, proposal.round <= round || proposal.round - round <= Self.roundsAheadMax,
            proposal.proposer == schedule.proposer(round: proposal.round),
            proposals[proposal.round] == nil
        else { return actions }
        proposals[proposal.round] = proposal
        senders[proposal.round, default: []].insert(proposal.proposer)
        evaluate(&actions)
        return actions
    }

    /// A vote from the network (or our own, looped back).
    public mutating func receive(_ vote: Vote) -> [ConsensusAction<Value>] {
        var actions: [ConsensusAction<Value>] = []
        if vote.height > height {
            requestSync(&actions)
            return actions
        }
        guard vote.height == height, !decided, Int(vote.validator) < validators.count else { return actions }
        let power = validators[Int(vote.validator)].power
        let added: VoteTally.AddResult
        switch vote.kind {
        case .prevote: added = prevotes[vote.round, default: VoteTally()].add(vote, power: power)
        case .precommit: added = precommits[vote.round, default: VoteTally()].add(vote, power: power)
        }
        switch added {
        case .duplicate: return actions
        case .conflict(let first):
            // Kept until the shell takes them (bounded: one validator's conflicts in one height
            // prove the same thing).
            if equivocations.count < 64 { equivocations.append(Equivocation(first: first, second: vote)) }
        case .added: break
        }
        senders[vote.round, default: []].insert(vote.validator)
        evaluate(&actions)
        return actions
    }

    /// A timeout scheduled earlier fired.
    public mutating func timeout(_ step: Step, height: Height, round: Round) -> [ConsensusAction<Value>] {
        var actions: [ConsensusAction<Value>] = []
        guard height == self.height, round == self.round, !decided else { return actions }
        switch step {
        case .propose where self.step == .propose:
            castVote(.prevote, nil, &actions)
            self.step = .prevote
        case .prevote where self.step == .prevote:
            castVote(.precommit, nil, &actions)
            self.step = .precommit
        case .precommit:
            startRound(round + 1, &actions)
            return actions
        default:
            break
        }
        evaluate(&actions)
        return actions
    }

    /// A block fetched from a peer for our current height, with its commit. Decides it when the
    /// commit carries a quorum of this height's validators (signatures checked by the caller).
    public mutating func synced(_ value: Value, commit: Commit) -> [ConsensusAction<Value>] {
        guard commit.height == height, !decided, commit.valueID == value.valueID, commit.hasQuorum(in: validators),
            isValid(value, height)
        else { return [] }
        decided = true
        return [.decide(height: height, value: value, commit: commit)]
    }

    /// Moves to the next height after the shell applied the decision, with that height's
    /// validator set (the ledger may change it at epoch boundaries).
    public mutating func advance(to nextHeight: Height, validators next: ValidatorSet, ownIndex nextIndex: UInt16?? = nil) -> [ConsensusAction<Value>] {
        precondition(nextHeight == height + 1, "heights advance one at a time")
        height = nextHeight
        validators = next
        if let nextIndex { ownIndex = nextIndex }
        schedule = ProposerSchedule(next)
        lockedValue = nil
        lockedRound = nil
        validValue = nil
        validRound = nil
        proposals = [:]
        prevotes = [:]
        precommits = [:]
        senders = [:]
        prevoteTimeoutScheduled = []
        precommitTimeoutScheduled = []
        lockedOrValidUpdated = []
        decided = false
        var actions: [ConsensusAction<Value>] = []
        startRound(0, &actions)
        return actions
    }

    // MARK: - The algorithm

    private mutating func startRound(_ newRound: Round, _ actions: inout [ConsensusAction<Value>]) {
        round = newRound
        step = .propose
        if let me = ownIndex, schedule.proposer(round: newRound) == me {
            if let validValue {
                actions.append(.broadcastProposal(Proposal(height: height, round: newRound, value: validValue, validRound: validRound, proposer: me)))
            } else {
                actions.append(.buildProposal(height: height, round: newRound))
            }
        }
        actions.append(.scheduleTimeout(step: .propose, height: height, round: newRound, afterMs: timeouts.duration(.propose, round: newRound)))
        evaluate(&actions)
    }

    /// Applies every rule whose condition holds, until none does.
    private mutating func evaluate(_ actions: inout [ConsensusAction<Value>]) {
        var progressed = true
        while progressed && !decided {
            progressed = false
            if tryDecide(&actions) { return }
            if trySkipRound(&actions) { progressed = true; continue }
            progressed = tryPrevote(&actions) || tryLockOrValid(&actions) || tryNilPrecommit(&actions)
            scheduleStepTimeouts(&actions)
        }
    }

    /// Rules 22 and 28: prevote on the round's proposal.
    private mutating func tryPrevote(_ actions: inout [ConsensusAction<Value>]) -> Bool {
        guard step == .propose, let proposal = proposals[round] else { return false }
        let value = proposal.value
        if let vr = proposal.validRound {
            // Rule 28: a re-proposal backed by a quorum of prevotes in an earlier round.
            guard vr < round, prevotes[vr]?.power(for: value.valueID) ?? 0 > 0,
                validators.isQuorum(prevotes[vr]!.power(for: value.valueID))
            else { return false }
            let acceptable = isValid(value, height) && (lockedRound.map { $0 <= vr } ?? true || lockedValue?.valueID == value.valueID)
            castVote(.prevote, acceptable ? value.valueID : nil, &actions)
        } else {
            // Rule 22.
            let acceptable = isValid(value, height) && (lockedRound == nil || lockedValue?.valueID == value.valueID)
            castVote(.prevote, acceptable ? value.valueID : nil, &actions)
        }
        step = .prevote
        return true
    }

    /// Rule 36: a quorum of prevotes for the round's valid proposal locks it and precommits.
    private mutating func tryLockOrValid(_ actions: inout [ConsensusAction<Value>]) -> Bool {
        guard step >= .prevote, !lockedOrValidUpdated.contains(round), let proposal = proposals[round],
            let tally = prevotes[round], validators.isQuorum(tally.power(for: proposal.value.valueID)),
            isValid(proposal.value, height)
        else { return false }
        lockedOrValidUpdated.insert(round)
        if step == .prevote {
            lockedValue = proposal.value
            lockedRound = round
            castVote(.precommit, proposal.value.valueID, &actions)
            step = .precommit
        }
        validValue = proposal.value
        validRound = round
        return true
    }

    /// Rule 44: a quorum of nil prevotes precommits nil.
    private mutating func tryNilPrecommit(_ actions: inout [ConsensusAction<Value>]) -> Bool {
        guard step == .prevote, let tally = prevotes[round], validators.isQuorum(tally.power(for: nil)) else { return false }
        castVote(.precommit, nil, &actions)
        step = .precommit
        return true
    }

    /// Rules 34 and 47: timeouts once a quorum of any votes is seen in the round.
    private mutating func scheduleStepTimeouts(_ actions: inout [ConsensusAction<Value>]) {
        if step == .prevote, !prevoteTimeoutScheduled.contains(round), let tally = prevotes[round], validators.isQuorum(tally.totalPower) {
            prevoteTimeoutScheduled.insert(round)
            actions.append(.scheduleTimeout(step: .prevote, height: height, round: round, afterMs: timeouts.duration(.prevote, round: round)))
        }
        if !precommitTimeoutScheduled.contains(round), let tally = precommits[round], validators.isQuorum(tally.totalPower) {
            precommitTimeoutScheduled.insert(round)
            actions.append(.scheduleTimeout(step: .precommit, height: height, round: round, afterMs: timeouts.duration(.precommit, round: round)))
        }
    }

    /// Rule 49: a quorum of precommits for a proposal of any round decides it.
    private mutating func tryDecide(_ actions: inout [ConsensusAction<Value>]) -> Bool {
        // Sorted iteration keeps the core deterministic (dictionary order varies between processes).
        for r in precommits.keys.sorted() {
            let tally = precommits[r]!
            guard let proposal = proposals[r], validators.isQuorum(tally.power(for: proposal.value.valueID)),
                isValid(proposal.value, height)
            else { continue }
            let valueID = proposal.value.valueID
            let votes = tally.votes(for: valueID)
            decided = true
            actions.append(.decide(height: height, value: proposal.value, commit: Commit(height: height, round: r, valueID: valueID, precommits: votes)))
            return true
        }
        return false
    }

    /// Rule 55: messages of a later round from more than a third of the power move us there.
    private mutating func trySkipRound(_ actions: inout [ConsensusAction<Value>]) -> Bool {
        // The latest such round, found in a fixed order so that replays are deterministic.
        for r in senders.keys.sorted(by: >) where r > round {
            let power = senders[r]!.reduce(UInt64(0)) { $0 + validators[Int($1)].power }
            if validators.isValidity(power) {
                startRound(r, &actions)
                return true
            }
        }
        return false
    }

    private mutating func castVote(_ kind: VoteKind, _ valueID: ValueID?, _ actions: inout [ConsensusAction<Value>]) {
        guard let me = ownIndex else { return }
        actions.append(.broadcastVote(Vote(kind: kind, height: height, round: round, valueID: valueID, validator: me)))
    }

    private mutating func requestSync(_ actions: inout [ConsensusAction<Value>]) {
        guard syncRequested < height else { return }
        syncRequested = height
        actions.append(.requestSync(fromHeight: height))
    }

    /// What the shell should relay to its peers (the gossip the algorithm assumes: every message a
    /// correct validator saw eventually reaches every correct validator): the proposals and votes of
    /// the rounds where quorums matter now, the current and previous rounds and the locked and
    /// valid rounds.
    public func gossip() -> (proposals: [Proposal<Value>], votes: [Vote]) {
        var rounds: Set<Round> = [round]
        if round > 0 { rounds.insert(round - 1) }
        if let lockedRound { rounds.insert(lockedRound) }
        if let validRound { rounds.insert(validRound) }
        let ordered = rounds.sorted()
        let relayedProposals = ordered.compactMap { proposals[$0] }
        let relayedVotes = ordered.flatMap { (prevotes[$0]?.allVotes ?? []) + (precommits[$0]?.allVotes ?? []) }
        return (relayedProposals, relayedVotes)
    }

    /// A one-line account of the core's state, for logs and failing simulations.
    public var summary: String {
        let rounds = Set(prevotes.keys).union(precommits.keys).union(proposals.keys).sorted()
        let detail = rounds.map { r in
            let proposal = proposals[r].map { "P:\($0.value.valueID)" } ?? "P:-"
            let pv = (prevotes[r]?.allVotes.map { "\($0.validator):\($0.valueID?.description ?? "nil")" } ?? []).joined(separator: ",")
            let pc = (precommits[r]?.allVotes.map { "\($0.validator):\($0.valueID?.description ?? "nil")" } ?? []).joined(separator: ",")
            return "r\(r){\(proposal) pv[\(pv)] pc[\(pc)]}"
        }.joined(separator: " ")
        return "h\(height) r\(round) \(step) decided:\(decided) locked:\(lockedRound.map(String.init) ?? "-") \(detail)"
    }

    /// Allows another sync request (after the shell's previous one finished without progress).
    public mutating func allowSyncRequest() { syncRequested = 0 }
}

/// The votes of one kind in one round. Each validator counts once toward the round's total, but
/// toward every value it voted for: an equivocator's conflicting votes (kept up to a bound) each
/// count for their value, as the algorithm counts messages. This keeps the network live when an
/// equivocator showed different votes to different validators: once gossip brings both everywhere,
/// every correct validator sees the same tallies.
struct VoteTally: Sendable {
    enum AddResult { case added, duplicate, conflict(Vote) }

    /// Distinct votes kept per validator; further conflicting ones are dropped.
    static let conflictingVotesMax = 3

    private(set) var votes: [UInt16: [Vote]] = [:]
    private(set) var powerByValue: [ValueID?: UInt64] = [:]
    private(set) var totalPower: UInt64 = 0

    mutating func add(_ vote: Vote, power: UInt64) -> AddResult {
        if let existing = votes[vote.validator] {
            if existing.contains(where: { $0.valueID == vote.valueID }) { return .duplicate }
            if existing.count < VoteTally.conflictingVotesMax {
                votes[vote.validator]!.append(vote)
                powerByValue[vote.valueID, default: 0] += power
            }
            return .conflict(existing[0])
        }
        votes[vote.validator] = [vote]
        powerByValue[vote.valueID, default: 0] += power
        totalPower += power
        return .added
    }

    func power(for valueID: ValueID?) -> UInt64 { powerByValue[valueID] ?? 0 }

    /// The votes for `valueID`, one per validator, by validator index.
    func votes(for valueID: ValueID?) -> [Vote] {
        votes.keys.sorted().compactMap { votes[$0]!.first { $0.valueID == valueID } }
    }

    /// Every vote kept, by validator index.
    var allVotes: [Vote] { votes.keys.sorted().flatMap { votes[$0]! } }
}
