import ChainTypes
import Consensus
import WalrusCore
import WalrusCrypto

/// A value for the simulation: identified by who proposed it where, plus a random nonce.
struct SimValue: ConsensusValue {
    let height: Height
    let round: Round
    let proposer: UInt16
    let nonce: UInt64
    var valueID: ValueID {
        var writer = BCSWriter()
        writer.write(height)
        writer.write(round)
        writer.write(proposer)
        writer.write(nonce)
        return ValueID(Blake2b256.hash(writer.bytes))
    }
}

/// The knobs of one simulated run.
struct SimulationConfig {
    var validators = 4
    var seed: UInt64 = 1
    var durationMs: UInt64 = 12_000
    /// After this time no new fault starts and partitions heal; crashed nodes restart.
    var faultsEndMs: UInt64 = 8_000
    var lossPercent: UInt64 = 10
    var delayMinMs: UInt64 = 2
    var delayMaxMs: UInt64 = 80
    var partitionsPerRun = 2
    var crashesPerRun = 2
    /// Index of a validator that equivocates, or nil.
    var byzantine: Int? = nil
    var rebroadcastMs: UInt64 = 200
    var timeouts = TimeoutConfig(proposeMs: 300, prevoteMs: 150, precommitMs: 150, deltaMs: 100)
}

/// A deterministic discrete-event simulation of `n` validators: one seed replays one run.
final class Simulation {
    enum Message {
        case proposal(Proposal<SimValue>)
        case vote(Vote)
        case syncRequest(from: Int, height: Height)
        case syncResponse([(SimValue, Commit)])
    }

    enum Event {
        case deliver(to: Int, Message)
        case timeout(node: Int, incarnation: Int, Step, Height, Round)
        case rebroadcast(node: Int)
        case crash(node: Int)
        case restart(node: Int)
        case partition(groups: [Set<Int>])
        case heal
    }

    /// What survives a crash: the block store, the signing guard and the write-ahead log.
    struct Durable {
        var blocks: [Height: (SimValue, Commit)] = [:]
        var guardState = SigningGuard()
        var wal: [ConsensusInput<SimValue>] = []
    }

    final class Node {
        let index: Int
        var core: Tendermint<SimValue>?
        var durable = Durable()
        var incarnation = 0
        /// Our signed messages of the current height, re-sent periodically (the gossip layer).
        var outbox: [Message] = []
        init(index: Int) { self.index = index }
        var height: Height { core?.height ?? (durable.blocks.keys.max() ?? 0) + 1 }
    }

    let config: SimulationConfig
    let validators: ValidatorSet
    var rng: SeededGenerator
    var now: UInt64 = 0
    var queue = EventQueue()
    var nodes: [Node] = []
    var partition: [Set<Int>]? = nil
    /// The first decision seen at each height, to check agreement.
    var decisions: [Height: ValueID] = [:]
    var violations: [String] = []
    var maxHeightAtFaultsEnd: Height = 0
    let chainID = "sim"

    init(_ config: SimulationConfig) {
        self.config = config
        rng = SeededGenerator(seed: config.seed)
        validators = ValidatorSet((0..<config.validators).map {
            Validator(publicKey: [UInt8](repeating: UInt8($0), count: 32), power: UInt64(1 + $0 % 2), address: "v\($0)")
        })
        nodes = (0..<config.validators).map { Node(index: $0) }
    }

    var honest: [Int] { (0..<config.validators).filter { $0 != config.byzantine } }

    func replayHint() -> String {
        "replay with SimulationConfig(validators: \(config.validators), seed: \(config.seed), byzantine: \(config.byzantine.map(String.init) ?? "nil"))"
    }

    /// Runs to the end; returns the violations found (empty when safe and live).
    func run() -> [String] {
        scheduleFaults()
        for node in nodes { startNode(node) }
        for node in nodes { queue.push(at: UInt64(node.index) * 17 + config.rebroadcastMs, .rebroadcast(node: node.index)) }
        while let (time, event) = queue.pop(), time <= config.durationMs {
            if now < config.faultsEndMs && time >= config.faultsEndMs {
                maxHeightAtFaultsEnd = nodes.map(\.height).max() ?? 0
            }
            now = time
            handle(event)
            if !violations.isEmpty { return violations }
        }
        // Liveness: after the faults end, every honest validator keeps deciding.
        for i in honest where nodes[i].height < maxHeightAtFaultsEnd + 3 {
            violations.append("liveness: validator \(i) is at height \(nodes[i].height), faults ended at height \(maxHeightAtFaultsEnd)")
        }
        return violations
    }

    private func scheduleFaults() {
        let n = config.validators
        for _ in 0..<config.partitionsPerRun {
            let start = UInt64.random(in: 500..<config.faultsEndMs - 1000, using: &rng)
            let length = UInt64.random(in: 300..<2000, using: &rng)
            var groups = [Set<Int>(), Set<Int>()]
            for i in 0..<n { groups[Int.random(in: 0...1, using: &rng)].insert(i) }
            queue.push(at: start, .partition(groups: groups))
            queue.push(at: min(start + length, config.faultsEndMs), .heal)
        }
        let f = (n - 1) / 3
        for _ in 0..<config.crashesPerRun {
            let victim = honest[Int.random(in: 0..<honest.count, using: &rng)]
            let start = UInt64.random(in: 500..<config.faultsEndMs - 1000, using: &rng)
            let down = UInt64.random(in: 100..<1500, using: &rng)
            queue.push(at: start, .crash(node: victim))
            queue.push(at: min(start + down, config.faultsEndMs), .restart(node: victim))
        }
        _ = f
        queue.push(at: config.faultsEndMs, .heal)
    }

    // MARK: - Events

    private func handle(_ event: Event) {
        switch event {
        case .deliver(let to, let message):
            let node = nodes[to]
            guard node.core != nil else { return }
            receive(node, message)
        case .timeout(let i, let incarnation, let step, let height, let round):
            let node = nodes[i]
            guard node.core != nil, node.incarnation == incarnation else { return }
            input(node, .timeout(step, height: height, round: round))
        case .rebroadcast(let i):
            let node = nodes[i]
            if let core = node.core {
                for message in node.outbox { send(from: i, message) }
                // Relay what we saw, as the gossip layer of a real node does.
                let (proposals, votes) = core.gossip()
                for proposal in proposals where Int(proposal.proposer) != i { send(from: i, .proposal(proposal)) }
                for vote in votes where Int(vote.validator) != i { send(from: i, .vote(vote)) }
                // A sync request or its answer may have been lost: allow asking again.
                node.core?.allowSyncRequest()
            }
            queue.push(at: now + config.rebroadcastMs, .rebroadcast(node: i))
        case .crash(let i):
            nodes[i].core = nil
            nodes[i].outbox = []
            nodes[i].incarnation += 1
        case .restart(let i):
            if nodes[i].core == nil { startNode(nodes[i]) }
        case .partition(let groups):
            partition = groups
        case .heal:
            partition = nil
        }
    }

    private func startNode(_ node: Node) {
        let height = (node.durable.blocks.keys.max() ?? 0) + 1
        node.core = Tendermint(
            chainID: chainID, height: height, validators: validatorSet(at: height), ownIndex: UInt16(node.index),
            timeouts: config.timeouts, isValid: { value, height in value.height == height })
        if node.durable.wal.isEmpty {
            input(node, .start)
        } else {
            // Replay the height's inputs: rebuilds locks; our old votes come back with their old
            // signatures, conflicting ones are refused by the guard.
            let wal = node.durable.wal
            node.durable.wal = []
            for recorded in wal { input(node, recorded) }
        }
    }

    private func validatorSet(at height: Height) -> ValidatorSet { validators.advanced(by: height) }

    private func receive(_ node: Node, _ message: Message) {
        switch message {
        case .proposal(let proposal): input(node, .proposal(proposal))
        case .vote(let vote): input(node, .vote(vote))
        case .syncRequest(let from, let height):
            var blocks: [(SimValue, Commit)] = []
            var h = height
            while let block = node.durable.blocks[h], blocks.count < 20 {
                blocks.append(block)
                h += 1
            }
            if !blocks.isEmpty { sendTo(from, from: node.index, .syncResponse(blocks)) }
        case .syncResponse(let blocks):
            for (value, commit) in blocks where node.core?.height == commit.height {
                perform(node, node.core!.synced(value, commit: commit))
            }
            node.core?.allowSyncRequest()
        }
    }

    /// Records an input in the WAL, then hands it to the core.
    private func input(_ node: Node, _ input: ConsensusInput<SimValue>) {
        guard node.core != nil else { return }
        node.durable.wal.append(input)
        perform(node, node.core!.apply(input))
    }

    private func perform(_ node: Node, _ actions: [ConsensusAction<SimValue>]) {
        for action in actions {
            guard let core = node.core else { return }
            switch action {
            case .buildProposal(let height, let round):
                let value = SimValue(height: height, round: round, proposer: UInt16(node.index), nonce: rng.next())
                input(node, .proposalValue(value, height: height, round: round))
            case .broadcastProposal(var proposal):
                let bytes = proposal.signBytes(chainID: chainID)
                guard let signature = sign(node, bytes, height: proposal.height, round: proposal.round, step: .proposal) else { continue }
                proposal.signature = signature
                broadcast(node, .proposal(proposal))
                if node.index == config.byzantine { equivocate(node, proposal) }
            case .broadcastVote(var vote):
                let bytes = vote.signBytes(chainID: chainID)
                guard let signature = sign(node, bytes, height: vote.height, round: vote.round, step: .init(vote.kind)) else { continue }
                vote.signature = signature
                broadcast(node, .vote(vote))
                if node.index == config.byzantine { equivocate(node, vote) }
            case .scheduleTimeout(let step, let height, let round, let after):
                queue.push(at: now + after, .timeout(node: node.index, incarnation: node.incarnation, step, height, round))
            case .decide(let height, let value, let commit):
                decide(node, height: height, value: value, commit: commit, core: core)
            case .requestSync(let height):
                let peer = (node.index + 1 + Int.random(in: 0..<config.validators - 1, using: &rng)) % config.validators
                sendTo(peer, from: node.index, .syncRequest(from: node.index, height: height))
            }
        }
    }

    private func decide(_ node: Node, height: Height, value: SimValue, commit: Commit, core: Tendermint<SimValue>) {
        if !commit.hasQuorum(in: validatorSet(at: height)) {
            violations.append("validator \(node.index) decided height \(height) without a quorum commit; \(replayHint())")
        }
        if let first = decisions[height], first != value.valueID {
            violations.append("agreement: validator \(node.index) decided \(value.valueID) at height \(height), another decided \(first); \(replayHint())")
        }
        decisions[height] = value.valueID
        node.durable.blocks[height] = (value, commit)
        node.durable.wal = []
        node.outbox = []
        var next = core
        let actions = next.advance(to: height + 1, validators: validatorSet(at: height + 1))
        node.core = next
        node.durable.wal = [.start]
        perform(node, actions)
    }

    /// The guard, stored durably before the signature leaves the node (the Byzantine one has none).
    private func sign(_ node: Node, _ bytes: [UInt8], height: Height, round: Round, step: SigningGuard.SignStep) -> [UInt8]? {
        let signature = Blake2b256.hash([UInt8(node.index)] + bytes)
        if node.index == config.byzantine { return signature }
        switch node.durable.guardState.check(height: height, round: round, step: step, signBytes: bytes) {
        case .sign:
            node.durable.guardState.record(height: height, round: round, step: step, signBytes: bytes, signature: signature)
            return signature
        case .reuse(let earlier): return earlier
        case .refuse: return nil
        }
    }

    /// The Byzantine validator also sends conflicting messages to half of its peers.
    private func equivocate(_ node: Node, _ vote: Vote) {
        let other = Vote(kind: vote.kind, height: vote.height, round: vote.round,
                         valueID: vote.valueID == nil ? ValueID(Blake2b256.hash([9])) : nil, validator: vote.validator, signature: [1])
        for peer in 0..<config.validators where peer != node.index && peer % 2 == 0 { sendTo(peer, from: node.index, .vote(other)) }
    }

    private func equivocate(_ node: Node, _ proposal: Proposal<SimValue>) {
        let value = SimValue(height: proposal.height, round: proposal.round, proposer: proposal.proposer, nonce: rng.next())
        let other = Proposal(height: proposal.height, round: proposal.round, value: value, validRound: nil, proposer: proposal.proposer, signature: [1])
        for peer in 0..<config.validators where peer != node.index && peer % 2 == 1 { sendTo(peer, from: node.index, .proposal(other)) }
    }

    // MARK: - Network

    private func broadcast(_ node: Node, _ message: Message) {
        node.outbox.append(message)
        send(from: node.index, message)
        receive(node, message)  // Our own messages count at once.
    }

    private func send(from: Int, _ message: Message) {
        for peer in 0..<config.validators where peer != from { sendTo(peer, from: from, message) }
    }

    private func sendTo(_ peer: Int, from: Int, _ message: Message) {
        if let partition, !partition.contains(where: { $0.contains(from) && $0.contains(peer) }) { return }
        if UInt64.random(in: 0..<100, using: &rng) < config.lossPercent { return }
        let delay = UInt64.random(in: config.delayMinMs...config.delayMaxMs, using: &rng)
        queue.push(at: now + delay, .deliver(to: peer, message))
    }
}

/// A binary heap of events ordered by time, then by insertion: the same seed gives the same order.
struct EventQueue {
    private var heap: [(time: UInt64, seq: UInt64, event: Simulation.Event)] = []
    private var seq: UInt64 = 0

    mutating func push(at time: UInt64, _ event: Simulation.Event) {
        seq += 1
        heap.append((time, seq, event))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(i, parent) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (UInt64, Simulation.Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(l, m) { m = l }
            if r < heap.count && less(r, m) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
        return (top.time, top.event)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].time != heap[b].time ? heap[a].time < heap[b].time : heap[a].seq < heap[b].seq
    }
}
