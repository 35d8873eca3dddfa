import Metrics
import Logging
import ChainTypes
public import Consensus
import Foundation
import KVStore
import Ledger
public import Synchronization
import WalrusCore
import WalrusCrypto

/// Timing of the validator.
public struct ConsensusTiming: Sendable, Hashable {
    public var timeouts = TimeoutConfig(proposeMs: 1500, prevoteMs: 500, precommitMs: 500, deltaMs: 250)
    /// Pause after a decision before the next height, so a block gathers transactions.
    public var commitDelayMs: UInt64 = 20
    /// How long a proposer waits for transactions before proposing an empty block.
    public var emptyBlockWaitMs: UInt64 = 500
    /// How often own and relayed messages are re-sent (the gossip layer).
    public var gossipIntervalMs: UInt64 = 400
    public var blockTransactionsMax = 5000
    public init() {}
}

/// Time and timers of a validator: the wall clock and tasks in production (`WallClock`), a
/// simulated clock in the driver simulation. Every delayed step of the driver goes through it, so
/// the simulation decides when each runs.
protocol DriverClock: Sendable {
    /// Milliseconds since the Unix epoch.
    var nowMs: UInt64 { get }
    /// Runs `work` after `afterMs` milliseconds.
    func schedule(afterMs: UInt64, _ work: @escaping @Sendable () async -> Void)
}

struct WallClock: DriverClock {
    var nowMs: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    func schedule(afterMs: UInt64, _ work: @escaping @Sendable () async -> Void) {
        Task {
            if afterMs > 0 { try? await Task.sleep(nanoseconds: afterMs * 1_000_000) }
            await work()
        }
    }
}

/// Where the driver sends to the other validators: `P2P` in production, a simulated network in
/// the driver simulation.
protocol PeerLink: AnyObject, Sendable {
    func broadcast(_ message: PeerMessage)
    func send(_ message: PeerMessage, to peer: PeerKey)
    /// Keys of the peers connected now, in order.
    var connectedPeers: [PeerKey] { get }
    /// The peers to keep connections to (validators and candidates, with their addresses).
    func setPeers(_ peers: [(key: PeerKey, address: String)])
}

extension P2P: PeerLink {}

/// Where the signing guard is kept: `GuardFile` in production (synced before any signature
/// leaves), memory that survives simulated crashes in the simulation.
protocol GuardStorage: Sendable {
    var state: SigningGuard { get }
    func store(_ state: SigningGuard) throws(KVError)
}

extension GuardFile: GuardStorage {}

/// Drives the Tendermint core of one validator: records every input in the write-ahead log before
/// the core sees it, stores the signing guard durably before any signature leaves, runs the core's
/// timers, builds and checks blocks, commits decisions, and answers and asks for block sync.
actor ConsensusDriver {
    let chainID: String
    /// Our index in the current height's set; nil while this validator is not in it (a candidate
    /// or a validator that left follows the chain without voting).
    private(set) var ownIndex: UInt16?
    let key: Schnorr.PrivateKey
    /// The genesis set (the first height's, and the peers every validator connects to).
    let genesisValidators: ValidatorSet
    let app: Application
    let store: ChainStore
    let mempool: Mempool
    let timing: ConsensusTiming
    var p2p: (any PeerLink)?
    let clock: any DriverClock
    /// Turns for choosing the peer a sync request goes to (deterministic, unlike a random choice).
    private var syncTurn = 0

    private var core: Tendermint<Block>
    /// The validator set of the current height: stepped once per height (O(n)), stored with each
    /// block, and read back at a restart.
    private var heightSet: ValidatorSet
    private var walSequence: UInt32 = 0
    private var guardState: SigningGuard
    private var outbox: [PeerMessage] = []
    private var running = true
    private var pendingGossip: [[UInt8]] = []
    private var gossipFlushScheduled = false
    let metrics: NodeMetrics

    let guardFile: any GuardStorage
    let misbehaviour: Misbehaviour

    init(chainID: String, key: Schnorr.PrivateKey, validators: ValidatorSet, app: Application, store: ChainStore,
         guardFile: any GuardStorage, mempool: Mempool, timing: ConsensusTiming, metrics: NodeMetrics, misbehaviour: Misbehaviour = .none,
         clock: any DriverClock = WallClock()) {
        self.guardFile = guardFile
        self.clock = clock
        self.misbehaviour = misbehaviour
        self.chainID = chainID
        self.key = key
        genesisValidators = validators
        self.app = app
        self.store = store
        self.mempool = mempool
        self.timing = timing
        self.metrics = metrics
        let height = store.height() + 1
        let current = app.validators(atHeight: height)
        if let stored = store.validatorSet(forHeight: height), stored.validators == current.validators {
            heightSet = stored
        } else if let sets = try? app.ledger.consensusSets(), let entry = sets.entries.last(where: { $0.fromHeight <= height }),
            entry.validators == current.validators, height >= entry.fromHeight
        {
            // No set stored for this height (a new chain, a node started from a snapshot): the
            // set's priorities follow from the height it started at, one step a height (genesis's
            // set starts at height 1, so it is stepped once per height since genesis).
            heightSet = (entry.validators == validators.validators ? validators : ValidatorSet(entry.validators)).advanced(by: height - entry.fromHeight + 1)
        } else {
            heightSet = validators.advanced(by: height)
        }
        ownIndex = heightSet.firstIndex { $0.publicKey == key.publicKey.bytes }.map { UInt16($0) }
        core = ConsensusDriver.makeCore(chainID: chainID, height: height, validators: heightSet, ownIndex: ownIndex, timing: timing, app: app, clock: clock)
        guardState = guardFile.state
        metrics.height.store(height - 1, ordering: .relaxed)
    }

    private static func makeCore(
        chainID: String, height: UInt64, validators: ValidatorSet, ownIndex: UInt16?, timing: ConsensusTiming, app: Application, clock: any DriverClock
    ) -> Tendermint<Block> {
        Tendermint(
            chainID: chainID, height: height, validators: validators, ownIndex: ownIndex, timeouts: timing.timeouts,
            isValid: { block, height in app.isValid(block, height: height) })
    }

    func attach(_ p2p: any PeerLink) {
        self.p2p = p2p
        refreshPeers()
    }

    /// Points the transport at the genesis validators and every candidate the ledger knows that
    /// has not left, at their registered addresses.
    private func refreshPeers() {
        var peers = genesisValidators.validators.map { (key: $0.publicKey, address: $0.address) }
        for record in (try? app.ledger.validators()) ?? [] where !(record.leaving && record.bond == .zero && record.power == 0) {
            if let i = peers.firstIndex(where: { $0.key == record.publicKey }) {
                peers[i].address = record.p2pAddress.isEmpty ? peers[i].address : record.p2pAddress
            } else {
                peers.append((record.publicKey, record.p2pAddress))
            }
        }
        p2p?.setPeers(peers)
    }

    /// A connected peer to ask for blocks, taken in turn.
    private func syncPeer() -> PeerKey? {
        guard let peers = p2p?.connectedPeers, !peers.isEmpty else { return nil }
        syncTurn &+= 1
        return peers[syncTurn % peers.count]
    }

    /// Starts (or, after a restart, resumes) the current height, then gossips periodically.
    func start() {
        let height = core.height
        let recorded = store.readWAL(height: height)
        if recorded.isEmpty {
            input(.start)
        } else {
            // Replay the height: rebuilds locks; re-signed messages come back from the guard unchanged.
            walSequence = UInt32(recorded.count)
            for entry in recorded { perform(core.apply(entry)) }
        }
        scheduleGossip()
    }

    func stop() { running = false }

    var height: UInt64 { core.height }
    var summary: String { core.summary }

    private func input(_ entry: ConsensusInput<Block>) {
        store.appendWAL(height: core.height, sequence: walSequence, entry)
        walSequence += 1
        let actions = core.apply(entry)
        for equivocation in core.takeEquivocations() { noticed(.votes(equivocation.first, equivocation.second)) }
        perform(actions)
    }

    // MARK: - Evidence

    /// Evidence waiting for a block: found here or gossiped by peers, verified, not yet punished.
    private var evidencePool = EvidencePool()
    /// This height's signed proposal heads by round, to notice a proposer signing two.
    private var proposalHeads: [Round: SignedProposalHead] = [:]

    /// Evidence this validator found or received: verified against the accused validator's key,
    /// kept (bounded) for our proposals, and sent to the peers at once. Peers re-send pending
    /// evidence every gossip interval: what the pool holds, or what is against a validator the
    /// ledger jailed already, is dropped before its signatures are checked again.
    private func noticed(_ evidence: Evidence) {
        let index = Int(evidence.validator)
        let set = app.validators(atHeight: evidence.height)
        guard index < set.count, !evidencePool.contains(evidence) else { return }
        if let records = try? app.ledger.validators(), records.contains(where: { $0.publicKey == set[index].publicKey && $0.jailed }) { return }
        guard let key = try? Schnorr.PublicKey(bytes: set[index].publicKey),
            (try? evidence.verify(chainID: chainID, key: key)) != nil,
            evidencePool.add(evidence)
        else { return }
        ConsensusDriver.logger.warning("a validator signed conflicting messages; the evidence goes into the next block", metadata: ["validator": "\(index)", "height": "\(evidence.height)"])
        Counter(label: "walrus_consensus_evidence_total").increment()
        p2p?.broadcast(.evidence([evidence]))
    }

    /// A proposal head from a validly signed proposal: a second one from the same proposer for the
    /// same round with another value is evidence.
    private func recordProposalHead(_ head: SignedProposalHead) {
        if let first = proposalHeads[head.round] {
            if first.proposer == head.proposer, first.valueID != head.valueID { noticed(.proposals(first, head)) }
        } else if proposalHeads.count < 1024 {
            proposalHeads[head.round] = head
        }
    }

    private func perform(_ actions: [ConsensusAction<Block>]) {
        for action in actions {
            switch action {
            case .buildProposal(let height, let round): scheduleProposal(height: height, round: round, waitedMs: 0)
            case .broadcastProposal(var proposal):
                guard let signature = sign(proposal.signBytes(chainID: chainID), proposal.height, proposal.round, .proposal) else { continue }
                proposal.signature = signature
                outbox.append(.proposal(proposal))
                p2p?.broadcast(.proposal(proposal))
                if case .alterBodies = misbehaviour {
                    // A Byzantine test validator: the signed header with another body.
                    let body = proposal.value.transactions.isEmpty ? [[UInt8](repeating: 7, count: 120)] : Array(proposal.value.transactions.dropLast())
                    let altered = Proposal(
                        height: proposal.height, round: proposal.round, value: Block(header: proposal.value.header, transactions: body, evidence: proposal.value.evidence),
                        validRound: proposal.validRound, proposer: proposal.proposer, signature: proposal.signature)
                    p2p?.broadcast(.proposal(altered))
                }
                input(.proposal(proposal))
            case .broadcastVote(var vote):
                vote.timeMs = voteTime(vote)
                let ownIndex = vote.validator
                guard let signature = sign(vote.signBytes(chainID: chainID), vote.height, vote.round, .init(vote.kind)) else { continue }
                vote.signature = signature
                outbox.append(.vote(vote))
                p2p?.broadcast(.vote(vote))
                if case .equivocate = misbehaviour, vote.kind == .prevote {
                    // A Byzantine test validator: a second, conflicting prevote, signed without the guard.
                    var other = Vote(kind: .prevote, height: vote.height, round: vote.round,
                                     valueID: vote.valueID == nil ? ValueID(Blake2b256.hash(vote.signBytes(chainID: chainID))) : nil, validator: ownIndex)
                    other.signature = key.sign(other.signBytes(chainID: chainID)).bytes
                    p2p?.broadcast(.vote(other))
                }
                input(.vote(vote))
            case let .scheduleTimeout(step, height, round, afterMs):
                clock.schedule(afterMs: afterMs) { await self.timeoutFired(step, height: height, round: round) }
            case let .decide(height, block, commit):
                decide(height: height, block: block, commit: commit)
                return  // Actions after a decision belong to the finished height.
            case .requestSync(let height):
                if let peer = syncPeer() { p2p?.send(.syncRequest(fromHeight: height), to: peer) }
            }
        }
    }

    private func scheduleProposal(height: UInt64, round: Round, waitedMs: UInt64) {
        guard height == core.height, round == core.round else { return }
        // With no transactions, wait for the first one (`transactionsArrived` proposes at once) or
        // until it is time for an empty block.
        if mempool.count == 0 && waitedMs < timing.emptyBlockWaitMs {
            awaitingTransactions = (height, round)
            let wait = timing.emptyBlockWaitMs - waitedMs
            clock.schedule(afterMs: wait) { await self.proposeIfAwaiting(height: height, round: round) }
            return
        }
        awaitingTransactions = nil
        guard let ownIndex, let block = app.buildBlock(
            height: height, proposer: ownIndex, mempool: mempool, limit: timing.blockTransactionsMax, evidence: evidencePool.items)
        else {
            return
        }
        input(.proposalValue(block, height: height, round: round))
    }

    /// The proposal this validator holds back until a transaction arrives, if any.
    private var awaitingTransactions: (height: UInt64, round: Round)?

    private func proposeIfAwaiting(height: UInt64, round: Round) {
        guard let awaiting = awaitingTransactions, awaiting.height == height, awaiting.round == round else { return }
        awaitingTransactions = nil
        scheduleProposal(height: height, round: round, waitedMs: timing.emptyBlockWaitMs)
    }

    /// Transactions entered the mempool: a proposal held back for them goes now.
    private func transactionsArrived() {
        guard let awaiting = awaitingTransactions, mempool.count > 0 else { return }
        awaitingTransactions = nil
        scheduleProposal(height: awaiting.height, round: awaiting.round, waitedMs: timing.emptyBlockWaitMs)
    }

    private func timeoutFired(_ step: Step, height: UInt64, round: Round) {
        guard running, height == core.height else { return }
        Counter(label: "walrus_consensus_timeouts_total", dimensions: [("step", "\(step)")]).increment()
        input(.timeout(step, height: height, round: round))
    }

    /// The time to stamp on one of our votes: the time of the same vote signed before, if the
    /// guard holds it (a restarted validator replaying its height re-sends that vote rather than
    /// signing a second one), else this clock's time, and for a precommit of a block, later than
    /// the block's own time, so that the next block's time moves forward.
    private func voteTime(_ vote: Vote) -> UInt64 {
        let unstamped = vote.signBytes(chainID: chainID).dropLast(8)
        if guardState.height == vote.height {
            for signed in guardState.signedAtHeight.keys where signed.count == unstamped.count + 8 && signed.starts(with: unstamped) {
                if let time = Vote.timeFromSignBytes(signed) { return time }
            }
        }
        var time = clock.nowMs
        if case .lieAboutTime = misbehaviour { time &+= 3_600_000 }
        if vote.kind == .precommit, let id = vote.valueID, let block = core.proposedValue(id), block.header.timeMs >= time {
            time = block.header.timeMs &+ 1
        }
        return time
    }

    /// Signs if the guard allows it, storing the guard durably first (which also flushes the WAL).
    private func sign(_ bytes: [UInt8], _ height: UInt64, _ round: Round, _ step: SigningGuard.SignStep) -> [UInt8]? {
        switch guardState.check(height: height, round: round, step: step, signBytes: bytes) {
        case .reuse(let signature): return signature
        case .refuse: return nil
        case .sign:
            let signature = key.sign(bytes).bytes
            var next = guardState
            next.record(height: height, round: round, step: step, signBytes: bytes, signature: signature)
            // The consensus log first (its records are what the guard's state follows from),
            // then the guard: both durable before the signature leaves, or nothing is signed.
            do {
                try store.syncWAL()
                try guardFile.store(next)
            } catch { return nil }
            guardState = next
            return signature
        }
    }

    private func decide(height: UInt64, block: Block, commit: Commit) {
        let current = heightSet
        // A new set from the next height on (an epoch change): fresh priorities, one step;
        // otherwise this set, one step further. Stored with the block.
        let following: @Sendable (BlockExecution) -> ValidatorSet = { execution in
            if let changed = execution.nextValidators { return ValidatorSet(changed).advanced(by: 1) }
            var next = current
            _ = next.step()
            return next
        }
        let execution: BlockExecution
        do { execution = try app.commit(block, commit: commit, nextValidators: following) } catch {
            ConsensusDriver.logger.error("cannot commit the decided block", metadata: ["height": "\(height)", "reason": "\(error.message)"])
            return
        }
        let nextSet = following(execution)
        metrics.recordCommit(height: height, transactions: block.transactions.count, timeMs: block.header.timeMs, round: UInt64(commit.round))
        if !evidencePool.isEmpty || !block.evidence.isEmpty {
            let jailed = Set(((try? app.ledger.validators()) ?? []).filter(\.jailed).map(\.publicKey))
            evidencePool.remove { item in
                let set = app.validators(atHeight: item.height)
                return block.evidence.contains(item) || (Int(item.validator) < set.count && jailed.contains(set[Int(item.validator)].publicKey))
            }
        }
        if execution.nextValidators != nil || height % 10 == 0 { refreshPeers() }
        proposalHeads = [:]
        mempool.removeIncluded(Set(execution.results.map(\.digest)), ledger: app.ledger)
        outbox = []
        let next = height + 1
        seenThisHeight.removeAll()
        let nextIndex = nextSet.firstIndex { $0.publicKey == key.publicKey.bytes }.map { UInt16($0) }
        var advanced = core
        let actions = advanced.advance(to: next, validators: nextSet, ownIndex: .some(nextIndex))
        core = advanced
        heightSet = nextSet
        if (nextIndex == nil) != (ownIndex == nil) {
            let role = nextIndex.map { "validator \($0) of \(nextSet.count)" } ?? "a follower (not in the set)"
            ConsensusDriver.logger.notice("the validator set changed: this node is now \(role)", metadata: ["height": "\(next)"])
        }
        ownIndex = nextIndex
        walSequence = 0
        store.appendWAL(height: next, sequence: walSequence, .start)
        walSequence += 1
        if timing.commitDelayMs == 0 {
            perform(actions)
        } else {
            let delay = timing.commitDelayMs
            clock.schedule(afterMs: delay) { await self.performLater(actions, height: next) }
        }
    }

    private func performLater(_ actions: [ConsensusAction<Block>], height: UInt64) {
        guard core.height == height else { return }
        perform(actions)
    }

    // MARK: - Network input

    /// Rounds ahead of ours whose messages are taken: a signed message for a round further ahead
    /// is dropped, so a Byzantine validator cannot make us keep state for, or compute proposers
    /// of, arbitrarily many rounds (an honest network is never this far ahead: each round's
    /// timeouts grow).
    static let roundWindow: Round = Tendermint<Block>.roundsAheadMax

    /// Whether a message of `round` at our height is within the window.
    private func inWindow(_ height: UInt64, _ round: Round) -> Bool {
        height != core.height || round <= core.round &+ min(ConsensusDriver.roundWindow, Round.max - core.round)
    }

    func receive(from sender: PeerKey, _ message: PeerMessage) {
        guard running else { return }
        switch message {
        case .proposal(let proposal):
            guard proposal.height >= core.height, inWindow(proposal.height, proposal.round) else { return }
            let signBytes = proposal.signBytes(chainID: chainID)
            if proposal.height == core.height, seenThisHeight.contains(signBytes + proposal.signature) { return }
            guard isSigned(proposal.signature, signBytes, by: Int(proposal.proposer)) else { return }
            if proposal.height == core.height {
                seen(signBytes + proposal.signature)
                recordProposalHead(SignedProposalHead(proposal))
                input(.proposal(proposal))
            } else {
                // A later height only tells the core to sync: nothing to replay, so no WAL record.
                perform(core.apply(.proposal(proposal)))
            }
        case .vote(let vote):
            guard vote.height >= core.height, inWindow(vote.height, vote.round) else { return }
            let signBytes = vote.signBytes(chainID: chainID)
            if vote.height == core.height, seenThisHeight.contains(signBytes + vote.signature) { return }
            guard isSigned(vote.signature, signBytes, by: Int(vote.validator)) else { return }
            if vote.height == core.height {
                seen(signBytes + vote.signature)
                input(.vote(vote))
            } else {
                perform(core.apply(.vote(vote)))
            }
        case .syncRequest(let from):
            // At most `syncBlocksMax` blocks and `syncBytesMax` bytes (always at least one block,
            // which is far below a frame): an answer never exceeds what the peer can decode.
            var blocks: [BlockAndCommit] = []
            var bytes = 0
            var h = from
            while blocks.count < PeerMessage.syncBlocksMax, let block = store.block(h), let commit = store.commit(h) {
                let entry = BlockAndCommit(block: block, commit: commit)
                let size = entry.bcsBytes.count
                if !blocks.isEmpty && bytes + size > PeerMessage.syncBytesMax { break }
                blocks.append(entry)
                bytes += size
                h += 1
            }
            if !blocks.isEmpty { p2p?.send(.syncResponse(blocks), to: sender) }
        case .syncResponse(let blocks):
            let before = core.height
            for entry in blocks where entry.block.header.height == core.height {
                // The commit signs the header only: the transactions must be the header's.
                guard entry.block.transactionsMatchHeader, verifiedCommit(entry.commit) else { break }
                perform(core.synced(entry.block, commit: entry.commit))
            }
            core.allowSyncRequest()
            // A node catching up asks the peer that just served it for the next blocks at once,
            // not at the next gossip tick: that would cap catching up at one answer per tick.
            if core.height > before, core.height > blocks.last?.block.header.height ?? 0 {
                p2p?.send(.syncRequest(fromHeight: core.height), to: sender)
            }
        case .evidence(let items):
            for item in items { noticed(item) }
        case .transactions(let encoded):
            for bytes in encoded {
                if let tx = try? SignedTransaction.decode(bcs: bytes) { try? mempool.add(tx, ledger: app.ledger) }
            }
            transactionsArrived()
        }
    }

    /// Signed proposals and votes of the current height already verified and recorded: gossip
    /// sends each again every interval, and a copy needs neither a signature check nor a WAL
    /// record. Forgotten when the height advances (messages for later heights are never skipped).
    private var seenThisHeight: Set<[UInt8]> = []

    private func seen(_ message: [UInt8]) {
        if seenThisHeight.count >= 10_000 { seenThisHeight.removeAll() }
        seenThisHeight.insert(message)
    }

    /// Whether `signature` over `bytes` is by validator `validator` of the current height's set
    /// (messages of later heights are checked against it too: after a set change they fail and
    /// come again by gossip or block sync).
    private func isSigned(_ signature: [UInt8], _ bytes: [UInt8], by validator: Int) -> Bool {
        guard validator < heightSet.count, let key = try? Schnorr.PublicKey(bytes: heightSet[validator].publicKey),
            let signature = try? Schnorr.Signature(bytes: signature)
        else {
            return false
        }
        return key.isValidSignature(signature, for: bytes)
    }

    /// A commit from a peer for the current height: every precommit signed by its validator.
    func verifiedCommit(_ commit: Commit) -> Bool {
        commit.height == core.height && commit.precommits.allSatisfy { isSigned($0.signature, $0.signBytes(chainID: chainID), by: Int($0.validator)) }
    }

    /// A transaction submitted over RPC: into the mempool, and to the other validators with the
    /// next batch (one signed frame carries many transactions).
    func submit(_ tx: SignedTransaction) throws(LedgerError) {
        try mempool.add(tx, ledger: app.ledger)
        transactionsArrived()
        pendingGossip.append(tx.bcsBytes)
        if pendingGossip.count >= 500 { flushGossip() }
        if !gossipFlushScheduled {
            gossipFlushScheduled = true
            clock.schedule(afterMs: 5) { await self.flushGossip() }
        }
    }

    private func flushGossip() {
        gossipFlushScheduled = false
        guard !pendingGossip.isEmpty else { return }
        p2p?.broadcast(.transactions(pendingGossip))
        pendingGossip = []
    }

    /// Every gossip interval: re-sends our messages, pending evidence and the rounds to relay, and
    /// announces our height to a peer so that laggards notice and sync.
    private func scheduleGossip() {
        clock.schedule(afterMs: timing.gossipIntervalMs) { await self.gossipTick() }
    }

    private func gossipTick() {
        guard running else { return }
        defer { scheduleGossip() }
        guard let p2p else { return }
        for message in outbox { p2p.broadcast(message) }
        if !evidencePool.isEmpty { p2p.broadcast(.evidence(Array(evidencePool.items.prefix(Block.evidenceMax)))) }
        let (proposals, votes) = core.gossip()
        for proposal in proposals where proposal.proposer != ownIndex { p2p.broadcast(.proposal(proposal)) }
        for vote in votes where vote.validator != ownIndex { p2p.broadcast(.vote(vote)) }
        core.allowSyncRequest()
        if let peer = syncPeer() { p2p.send(.syncRequest(fromHeight: core.height), to: peer) }
    }
}

extension ConsensusDriver {
    static let logger = Logger(label: "consensus")
}

/// Counters for /metrics and /v1/health.
public final class NodeMetrics: Sendable {
    public let height = Atomic<UInt64>(0)
    public let committedTransactions = Atomic<UInt64>(0)
    public let lastBlockTimeMs = Atomic<UInt64>(0)
    public init() {}

    func recordCommit(height: UInt64, transactions: Int, timeMs: UInt64, round: UInt64 = 0) {
        self.height.store(height, ordering: .relaxed)
        committedTransactions.wrappingAdd(UInt64(transactions), ordering: .relaxed)
        lastBlockTimeMs.store(timeMs, ordering: .relaxed)
        Gauge(label: "walrus_chain_height").record(Int(clamping: height))
        Counter(label: "walrus_chain_blocks_total").increment()
        Counter(label: "walrus_chain_transactions_total").increment(by: transactions)
        // Rounds a height took (1 when the first proposal commits): more means timeouts and
        // failed proposals.
        Counter(label: "walrus_consensus_rounds_total").increment(by: Int(clamping: round &+ 1))
        Gauge(label: "walrus_consensus_last_commit_round").record(Int(clamping: round))
    }
}

/// Verified evidence waiting to be committed: at most `capacity` pieces, each once.
struct EvidencePool {
    private(set) var items: [Evidence] = []
    private var digests: Set<[UInt8]> = []
    static let capacity = 64

    var isEmpty: Bool { items.isEmpty }

    func contains(_ evidence: Evidence) -> Bool { digests.contains(evidence.digest) }

    /// Adds new evidence; false when it is known already or the pool is full.
    mutating func add(_ evidence: Evidence) -> Bool {
        guard items.count < Self.capacity, digests.insert(evidence.digest).inserted else { return false }
        items.append(evidence)
        return true
    }

    mutating func remove(where predicate: (Evidence) -> Bool) {
        for item in items where predicate(item) { digests.remove(item.digest) }
        items.removeAll(where: predicate)
    }
}
