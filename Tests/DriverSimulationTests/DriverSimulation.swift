import ChainClient
import ChainTypes
import Consensus
import Foundation
import KVStore
import Ledger
@_spi(Byzantine) @testable import ValidatorNode
import WalrusCore
import WalrusCrypto

/// The real validator (ConsensusDriver, Application, Mempool, Ledger, ChainStore) run by a seeded
/// discrete-event world: a simulated clock (with a skew per validator), a network that delays,
/// drops, duplicates and partitions, disks that lose unsynced writes when a validator crashes, and
/// Byzantine validators (equivocating, or sending signed headers with altered bodies, and floods of
/// far-future messages). Every message crosses the network in its wire encoding. The world checks
/// agreement, validity, equal ledger states and that no honest validator signs two different
/// messages for one height, round and step.
final class DriverWorld: @unchecked Sendable {
    struct Faults: CustomStringConvertible {
        var lossRate = 0.0
        var duplicateRate = 0.0
        var delayMaxMs: UInt64 = 20
        var skewMs: [Int64] = []
        /// (node, crash at, restart after).
        var crash: (node: Int, atMs: UInt64, downMs: UInt64)?
        /// (node, from, to): the node is cut off from the others.
        var partition: (node: Int, fromMs: UInt64, toMs: UInt64)?
        var byzantine: (node: Int, misbehaviour: Misbehaviour)?
        var flood = false

        var description: String {
            let byz = byzantine.map { "node \($0.node) \($0.misbehaviour)" } ?? "none"
            return "loss \(String(format: "%.2f", lossRate)), duplicates \(String(format: "%.2f", duplicateRate)), delay ≤ \(delayMaxMs) ms, skew \(skewMs) ms, "
                + "crash \(crash.map { "node \($0.node) at \($0.atMs) ms for \($0.downMs) ms" } ?? "none"), "
                + "partition \(partition.map { "node \($0.node) \($0.fromMs)–\($0.toMs) ms" } ?? "none"), Byzantine \(byz), flood \(flood)"
        }
    }

    struct Event {
        let time: UInt64
        let sequence: UInt64
        let action: @Sendable () async -> Void
    }

    final class Node: @unchecked Sendable {
        let index: Int
        let key: Schnorr.PrivateKey
        let kv = CrashableStore(columnFamilies: ChainStore.families)
        let guardStore = MemoryGuard()
        var store: ChainStore?
        var driver: ConsensusDriver?
        var alive = false
        var incarnation = 0
        var misbehaviour: Misbehaviour = .none

        init(index: Int, key: Schnorr.PrivateKey) {
            self.index = index
            self.key = key
        }
    }

    let seed: UInt64
    var rng: SeededGenerator
    let faults: Faults
    let genesis: GenesisFile
    let validators: ValidatorSet
    let nodes: [Node]
    let senders: [Schnorr.PrivateKey]
    private(set) var now: UInt64
    private var queue: [Event] = []
    private var sequence: UInt64 = 0
    let startMs: UInt64
    static let chainID = "walrus-sim"

    // What the invariants need.
    private var decided: [UInt64: [UInt8]] = [:]
    private var stateDigests: [UInt64: [UInt8]] = [:]
    private var lastSeenHeight: [Int: UInt64] = [:]
    private var signed: [String: [UInt8]] = [:]
    private(set) var violations: [String] = []
    private(set) var messagesSent = 0

    init(seed: UInt64, forcing byzantine: Misbehaviour? = nil) throws {
        self.seed = seed
        rng = SeededGenerator(seed: seed)
        func key(_ tag: UInt64) throws -> Schnorr.PrivateKey {
            var g = SeededGenerator(seed: tag &* 0x9E37_79B9_7F4A_7C15 &+ 1)
            return try Schnorr.PrivateKey(secretBytes: (0..<32).map { _ in UInt8.random(in: 1...255, using: &g) })
        }
        let validatorKeys = try (0..<4).map { try key(UInt64(100 + $0)) }
        senders = try (0..<3).map { try key(UInt64(200 + $0)) }
        let nodeKeys = try (0..<4).map { try key(UInt64(300 + $0)) }
        let operators = try (0..<4).map { try key(UInt64(400 + $0)) }
        startMs = 1_800_000_000_000
        now = startMs + 1_000
        genesis = GenesisFile(
            chainID: Self.chainID, genesisTimeMs: startMs, shardCount: 10, epochDurationMs: 4_000, maxEpochsAhead: 10,
            validators: validatorKeys.enumerated().map { i, k in
                .init(name: "v\(i)", publicKey: Hex.encode(k.publicKey.bytes), power: 1, p2pAddress: "127.0.0.1:\(1 + i)", rpcAddress: "127.0.0.1:\(100 + i)", bondFrost: 1_000 * FROST.perWAL)
            },
            balances: senders.map { .init(address: $0.publicKey.address.description, amountFrost: 1_000_000 * FROST.perWAL) }
                + operators.map { .init(address: $0.publicKey.address.description, amountFrost: 1_000 * FROST.perWAL) },
            storageNodes: (0..<4).map { i in
                .init(
                    name: "n\(i)", networkAddress: "127.0.0.1:\(200 + i)", publicKey: Hex.encode(nodeKeys[i].publicKey.bytes),
                    operatorAddress: operators[i].publicKey.address.description, commissionBps: 100, storagePriceFrost: 100, writePriceFrost: 10,
                    capacityBytes: 1 << 40, stakeFrost: 1_000 * FROST.perWAL)
            })
        validators = try genesis.validatorSet()
        nodes = validatorKeys.enumerated().map { Node(index: $0.offset, key: $0.element) }

        // The faults of this seed.
        var f = Faults()
        var r = rng
        f.lossRate = Double.random(in: 0...0.15, using: &r)
        f.duplicateRate = Double.random(in: 0...0.1, using: &r)
        f.delayMaxMs = UInt64.random(in: 5...300, using: &r)
        f.skewMs = (0..<4).map { _ in Int64.random(in: -3_000...3_000, using: &r) }
        if Double.random(in: 0..<1, using: &r) < 0.35 {
            f.byzantine = (3, [Misbehaviour.equivocate, .alterBodies, .lieAboutTime][Int.random(in: 0..<3, using: &r)])
            f.flood = Bool.random(using: &r)
        }
        let honest = f.byzantine == nil ? 4 : 3
        if Double.random(in: 0..<1, using: &r) < 0.6 {
            f.crash = (Int.random(in: 0..<honest, using: &r), UInt64.random(in: 1_000...5_000, using: &r), UInt64.random(in: 200...2_000, using: &r))
        }
        if Double.random(in: 0..<1, using: &r) < 0.4 {
            let from = UInt64.random(in: 1_000...5_000, using: &r)
            f.partition = (Int.random(in: 0..<honest, using: &r), from, from + UInt64.random(in: 500...2_000, using: &r))
        }
        if let forced = byzantine { f.byzantine = (3, forced) }
        rng = r
        faults = f
        if let byzantine = f.byzantine { nodes[byzantine.node].misbehaviour = byzantine.misbehaviour }
    }

    // MARK: The event queue

    func schedule(atMs time: UInt64, _ action: @escaping @Sendable () async -> Void) {
        sequence += 1
        let event = Event(time: max(time, now), sequence: sequence, action: action)
        // A binary heap would do; the queue stays short (hundreds), so insertion keeps it sorted.
        var low = 0, high = queue.count
        while low < high {
            let mid = (low + high) / 2
            if (queue[mid].time, queue[mid].sequence) < (event.time, event.sequence) { low = mid + 1 } else { high = mid }
        }
        queue.insert(event, at: low)
    }

    /// Runs events until `endMs` (relative to genesis), checking the invariants after each.
    func run(untilMs endMs: UInt64) async {
        let end = startMs + endMs
        while let first = queue.first, first.time <= end {
            queue.removeFirst()
            now = first.time
            await first.action()
            await observe()
        }
        now = max(now, end)
    }

    // MARK: Validators

    func start(_ node: Node) async throws {
        let store = try ChainStore(kv: node.kv, genesis: genesis)
        let mempool = Mempool()
        let app = Application(store: store, chainID: Self.chainID, validators: validators, mempool: mempool)
        let clock = SimClock(world: self, node: node.index, incarnation: node.incarnation)
        let driver = ConsensusDriver(
            chainID: Self.chainID, key: node.key, validators: validators, app: app, store: store,
            guardFile: node.guardStore, mempool: mempool, timing: ConsensusTiming(), metrics: NodeMetrics(), misbehaviour: node.misbehaviour, clock: clock)
        await driver.attach(SimLink(world: self, node: node.index))
        node.store = store
        node.driver = driver
        node.alive = true
        await driver.start()
    }

    func crash(_ node: Node) async {
        node.alive = false
        node.incarnation += 1
        await node.driver?.stop()
        node.driver = nil
        node.store = nil
        node.kv.crash()
    }

    /// The furthest ahead a correct validator's clock runs.
    var honestSkewMax: Int64 { nodes.indices.filter { nodes[$0].misbehaviour == .none }.map(skew(of:)).max() ?? 0 }

    func skew(of node: Int) -> Int64 { faults.skewMs.indices.contains(node) ? faults.skewMs[node] : 0 }

    func isCut(_ a: Int, _ b: Int) -> Bool {
        guard let p = faults.partition, now >= startMs + p.fromMs, now < startMs + p.toMs else { return false }
        return (a == p.node) != (b == p.node)
    }

    // MARK: The network

    func deliver(_ message: PeerMessage, from sender: Int, to receiver: Int) {
        guard sender != receiver, !isCut(sender, receiver) else { return }
        messagesSent += 1
        if Double.random(in: 0..<1, using: &rng) < faults.lossRate { return }
        let bytes = message.bcsBytes
        let copies = Double.random(in: 0..<1, using: &rng) < faults.duplicateRate ? 2 : 1
        for _ in 0..<copies {
            let delay = UInt64.random(in: 1...faults.delayMaxMs, using: &rng)
            schedule(atMs: now + delay) { [self] in
                let node = nodes[receiver]
                guard node.alive, let driver = node.driver, let decoded = try? PeerMessage.decode(bcs: bytes) else { return }
                await driver.receive(from: nodes[sender].key.publicKey.bytes, decoded)
            }
        }
    }

    /// Also check the Byzantine validator's messages (to show the check can fail).
    var checksByzantine = false

    /// What a validator sends, for the no-double-sign check (honest validators only).
    func sent(_ message: PeerMessage, by node: Int) {
        guard nodes[node].misbehaviour == .none || checksByzantine else { return }
        // Indices name validators in the set of the message's height, which changes at epoch
        // changes: a message is this node's when its index is this node's key in that set.
        let own = nodes[node].key.publicKey.bytes
        let sets = try? nodes[node].store?.ledger.consensusSets()
        func isOwn(_ index: UInt16, _ height: UInt64) -> Bool {
            guard let set = sets?.validators(atHeight: height) else { return false }
            return Int(index) < set.count && set[Int(index)].publicKey == own
        }
        switch message {
        case .vote(let vote) where isOwn(vote.validator, vote.height):
            record("\(node)/\(vote.height)/\(vote.round)/\(vote.kind.rawValue)", vote.signBytes(chainID: Self.chainID))
        case .proposal(let proposal) where isOwn(proposal.proposer, proposal.height):
            record("\(node)/\(proposal.height)/\(proposal.round)/p", proposal.signBytes(chainID: Self.chainID))
        default: break
        }
    }

    private func record(_ position: String, _ bytes: [UInt8]) {
        if let earlier = signed[position] {
            if earlier != bytes { violations.append("double sign at \(position)") }
        } else {
            signed[position] = bytes
        }
    }

    // MARK: Invariants

    /// After each event: every newly committed block agrees with what others committed at that
    /// height, carries the body its header commits to, and leaves the same ledger state.
    private func observe() async {
        for node in nodes where node.alive {
            guard let store = node.store else { continue }
            let height = store.height()
            let last = lastSeenHeight[node.index] ?? 0
            guard height > last else { continue }
            for h in (last + 1)...height {
                guard let block = store.block(h) else {
                    violations.append("node \(node.index) has height \(height) but no block \(h)")
                    continue
                }
                if !block.transactionsMatchHeader { violations.append("node \(node.index) committed block \(h) with a body its header does not commit to") }
                if block.header.height != h { violations.append("node \(node.index) stored block \(block.header.height) at height \(h)") }
                // Block time: later than the block before, and never ahead of every correct
                // validator's clock, except by the millisecond a block must move past the one
                // before it (a lying validator cannot pull it forward).
                let before = h == 1 ? startMs : store.block(h - 1)?.header.timeMs ?? 0
                if block.header.timeMs <= before { violations.append("block \(h)'s time does not move forward") }
                let bound = max(UInt64(Int64(now) + honestSkewMax), before + 1)
                if block.header.timeMs > bound {
                    violations.append("block \(h)'s time \(block.header.timeMs) is ahead of every correct clock (\(bound))")
                }
                let hash = block.header.hash
                if let agreed = decided[h] {
                    if agreed != hash { violations.append("disagreement at height \(h): node \(node.index) committed another block") }
                } else {
                    decided[h] = hash
                }
            }
            if let digest = try? stateDigest(store) {
                if let agreed = stateDigests[height] {
                    if agreed != digest { violations.append("node \(node.index) has another ledger state at height \(height)") }
                } else {
                    stateDigests[height] = digest
                }
            }
            lastSeenHeight[node.index] = height
        }
    }

    private func stateDigest(_ store: ChainStore) throws -> [UInt8] {
        var bytes = try store.ledger.system().bcsBytes
        for key in senders { bytes += try store.ledger.account(key.publicKey.address).bcsBytes }
        for record in try store.ledger.validators() { bytes += record.bcsBytes }
        return Blake2b256.hash(bytes)
    }

    /// The highest height every live validator reached.
    var commonHeight: UInt64 { nodes.filter(\.alive).compactMap { $0.store?.height() }.min() ?? 0 }
    var maxHeight: UInt64 { decided.keys.max() ?? 0 }

    /// Transfers between the funded senders: each sends its next nonce to a random live
    /// validator whenever the last one committed (or got lost).
    func submitTransfers() async {
        for (i, key) in senders.enumerated() {
            let live = nodes.filter { $0.alive && $0.misbehaviour == .none }
            guard !live.isEmpty else { return }
            let target = live[Int.random(in: 0..<live.count, using: &rng)]
            guard let store = target.store, let driver = target.driver, let nonce = try? store.ledger.account(key.publicKey.address).nonce else { continue }
            let tx = SignedTransaction(
                Transaction(chainID: Self.chainID, sender: key.publicKey, nonce: nonce, operations: [.transfer(to: senders[(i + 1) % senders.count].publicKey.address, amount: FROST(1))]),
                signedBy: key)
            try? await driver.submit(tx)
        }
    }

    /// A Byzantine flood: votes and proposals for rounds and heights far ahead, signed by the
    /// Byzantine validator, to every other validator.
    func flood(from node: Int) {
        let key = nodes[node].key
        let height = (nodes[node].store?.height() ?? 0) + 1
        // Its index in the current set (sets change at epoch changes).
        let set = (try? nodes[node].store?.ledger.consensusSets())??.validators(atHeight: height) ?? []
        let index = set.firstIndex { $0.publicKey == key.publicKey.bytes } ?? node
        for i in 0..<20 {
            var vote = Vote(kind: .prevote, height: height, round: Round(5_000 + i * 1_000_000), valueID: nil, validator: UInt16(index))
            vote.signature = key.sign(vote.signBytes(chainID: Self.chainID)).bytes
            for peer in 0..<nodes.count where peer != node { deliver(.vote(vote), from: node, to: peer) }
        }
        var far = Vote(kind: .precommit, height: height + 1_000, round: 0, valueID: nil, validator: UInt16(index))
        far.signature = key.sign(far.signBytes(chainID: Self.chainID)).bytes
        for peer in 0..<nodes.count where peer != node { deliver(.vote(far), from: node, to: peer) }
    }

    /// One whole run: faults for the first 7 s, then 5 s without any, after which every honest
    /// validator must have committed two blocks past where the chain was when the faults ended.
    func simulate() async throws -> (heights: UInt64, messages: Int) {
        for node in nodes { try await start(node) }
        for t in stride(from: UInt64(300), to: 12_000, by: 250) { schedule(atMs: startMs + t) { [self] in await submitTransfers() } }
        if let crash = faults.crash {
            let node = nodes[crash.node]
            schedule(atMs: startMs + crash.atMs) { [self] in await self.crash(node) }
            schedule(atMs: startMs + crash.atMs + crash.downMs) { [self] in
                do { try await start(node) } catch { violations.append("node \(node.index) could not restart: \(error)") }
            }
        }
        if faults.flood, let byzantine = faults.byzantine {
            for t in stride(from: UInt64(500), to: 7_000, by: 700) { schedule(atMs: startMs + t) { [self] in flood(from: byzantine.node) } }
        }
        await run(untilMs: 7_000)
        let reached = maxHeight
        await run(untilMs: 12_000)
        let honest = nodes.filter { $0.misbehaviour == .none }
        for node in honest {
            let height = node.store?.height() ?? 0
            if !node.alive || height < reached + 2 {
                violations.append("node \(node.index) reached height \(height) 5 s after the faults ended (the chain was at \(reached) then)")
            }
        }
        for node in nodes { await node.driver?.stop() }
        return (maxHeight, messagesSent)
    }
}

/// The simulated clock of one validator incarnation: the world's time plus the validator's skew;
/// timers of an incarnation that crashed never fire.
final class SimClock: DriverClock, @unchecked Sendable {
    unowned let world: DriverWorld
    let node: Int
    let incarnation: Int

    init(world: DriverWorld, node: Int, incarnation: Int) {
        self.world = world
        self.node = node
        self.incarnation = incarnation
    }

    var nowMs: UInt64 { UInt64(Int64(world.now) + world.skew(of: node)) }

    func schedule(afterMs: UInt64, _ work: @escaping @Sendable () async -> Void) {
        let world = self.world, node = self.node, incarnation = self.incarnation
        world.schedule(atMs: world.now + afterMs) {
            guard world.nodes[node].incarnation == incarnation, world.nodes[node].alive else { return }
            await work()
        }
    }
}

/// The simulated network as one validator sees it.
final class SimLink: PeerLink, @unchecked Sendable {
    unowned let world: DriverWorld
    let node: Int

    init(world: DriverWorld, node: Int) {
        self.world = world
        self.node = node
    }

    func broadcast(_ message: PeerMessage) {
        world.sent(message, by: node)
        for peer in 0..<world.nodes.count where peer != node { world.deliver(message, from: node, to: peer) }
    }

    func send(_ message: PeerMessage, to peer: PeerKey) {
        guard let index = world.nodes.firstIndex(where: { $0.key.publicKey.bytes == peer }) else { return }
        world.sent(message, by: node)
        world.deliver(message, from: node, to: index)
    }

    var connectedPeers: [PeerKey] {
        (0..<world.nodes.count).filter { $0 != node && world.nodes[$0].alive && !world.isCut(node, $0) }.map { world.nodes[$0].key.publicKey.bytes }
    }

    /// The simulated network connects every validator to every other.
    func setPeers(_ peers: [(key: PeerKey, address: String)]) {}
}

/// A signing guard in memory that survives crashes (the real one is synced before any signature
/// leaves).
final class MemoryGuard: GuardStorage, @unchecked Sendable {
    private(set) var state = SigningGuard()
    func store(_ next: SigningGuard) throws(KVError) { state = next }
}
