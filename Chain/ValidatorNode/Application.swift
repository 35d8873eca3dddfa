import ChainTypes
import Consensus
import Ledger
import LightClient
import Synchronization
import WalrusCore
import WalrusCrypto

/// Builds and checks blocks against the ledger: a block is valid when it extends the last committed
/// block, its time moves forward, every transaction is admissible, and re-executing it gives the
/// header's roots. Executions are cached by block ID so that the decided block is not run twice.
final class Application: Sendable {
    let store: ChainStore
    let chainID: String
    /// The genesis set: the set of every height on a chain whose ledger keeps no sets.
    let genesisValidators: ValidatorSet
    private let cache = Mutex<[ValueID: BlockExecution]>([:])
    /// The last committee's hash and its commitment's hash: committees change once an epoch.
    private let commitmentCache = Mutex<(committee: [UInt8], commitment: [UInt8])?>(nil)

    let mempool: Mempool

    init(store: ChainStore, chainID: String, validators: ValidatorSet, mempool: Mempool) {
        self.store = store
        self.chainID = chainID
        genesisValidators = validators
        self.mempool = mempool
    }

    /// The validators that commit block `height` (no priorities: for hashes, powers and keys),
    /// as the committed ledger says: the set changes at the height after an epoch change.
    /// The sets change only when a block commits, so they are read from the store once per
    /// committed height (several checks of every block ask for them), and forgotten at the commit.
    func validators(atHeight height: UInt64) -> ValidatorSet {
        let sets = setsCache.withLock { cached -> ConsensusSets? in
            if cached == nil { cached = try? ledger.consensusSets() }
            return cached
        }
        if let set = sets?.validators(atHeight: height), !set.isEmpty {
            return set == genesisValidators.validators ? genesisValidators : ValidatorSet(set)
        }
        return genesisValidators
    }

    private let setsCache = Mutex<ConsensusSets?>(nil)

    private func execute(_ context: BlockContext, _ transactions: [SignedTransaction], _ evidence: [Evidence]) throws(LedgerError) -> BlockExecution {
        let mempool = self.mempool
        return try ledger.execute(context, transactions: transactions, evidence: evidence, verified: { mempool.isVerified($0) })
    }

    var ledger: Ledger { store.ledger }

    /// Proposes a block at `height` with up to `limit` mempool transactions, the stored commit of
    /// the previous block (whose median precommit time is the block's time), and the pending
    /// `evidence` the ledger would accept (one piece a validator, at most `evidenceMax`).
    func buildBlock(height: UInt64, proposer: UInt16, mempool: Mempool, limit: Int, evidence pending: [Evidence] = []) -> Block? {
        guard let previous = previousHeader(height) else { return nil }
        let lastCommit = height == 1 ? nil : store.commit(height - 1)
        guard let time = blockTime(height: height, previous: previous, lastCommit: lastCommit) else { return nil }
        var evidence: [Evidence] = []
        for item in pending where evidence.count < Block.evidenceMax && !evidence.contains(where: { $0.validator == item.validator }) {
            if (try? ledger.checkEvidence(item, height: height)) != nil { evidence.append(item) }
        }
        var candidates = mempool.take(limit: limit)
        // Keep only what executes as admissible in this order.
        var attempt: BlockExecution?
        for _ in 0..<3 {
            guard let execution = try? execute(BlockContext(height: height, timeMs: time), candidates, evidence) else { return nil }
            if execution.isValid {
                attempt = execution
                break
            }
            candidates = zip(candidates, execution.results).filter { if case .rejected = $0.1.status { false } else { true } }.map(\.0)
        }
        guard let execution = attempt else { return nil }
        let transactions = candidates.map(\.bcsBytes)
        let header = makeHeader(
            height: height, time: time, previous: previous, proposer: proposer, transactions: transactions, evidence: evidence,
            lastCommit: lastCommit, execution: execution)
        let block = Block(header: header, transactions: transactions, evidence: evidence, lastCommit: lastCommit)
        cache.withLock { $0[block.valueID] = execution }
        return block
    }

    /// The time of the block at `height`: one millisecond after genesis for block 1, else the
    /// median precommit time of `lastCommit`, which must be a commit of the previous block by a
    /// quorum of its validators (signatures are checked separately). Nil when it is not, or when
    /// the time would not move forward.
    private func blockTime(height: UInt64, previous: (hash: [UInt8], time: UInt64, eventCount: UInt64), lastCommit: Commit?) -> UInt64? {
        guard height > 1 else { return lastCommit == nil ? previous.time &+ 1 : nil }
        guard let lastCommit, lastCommit.height == height - 1, lastCommit.valueID == ValueID(previous.hash),
            case let set = validators(atHeight: height - 1),
            lastCommit.hasQuorum(in: set), let time = lastCommit.medianTimeMs(in: set), time > previous.time
        else { return nil }
        return time
    }

    private func previousHeader(_ height: UInt64) -> (hash: [UInt8], time: UInt64, eventCount: UInt64)? {
        if height == 1 {
            let genesisTime = (try? ledger.system())?.epochState
            var time: UInt64 = 0
            if case .changeDone(let t)? = genesisTime { time = t }
            return ([UInt8](repeating: 0, count: 32), time, 0)
        }
        guard let block = store.block(height - 1) else { return nil }
        return (block.header.hash, block.header.timeMs, block.header.eventCount)
    }

    private func makeHeader(
        height: UInt64, time: UInt64, previous: (hash: [UInt8], time: UInt64, eventCount: UInt64), proposer: UInt16, transactions: [[UInt8]],
        evidence: [Evidence], lastCommit: Commit?, execution: BlockExecution
    ) -> BlockHeader {
        let (count, overflow) = previous.eventCount.addingReportingOverflow(UInt64(execution.events.count))
        let current = validators(atHeight: height).hash
        return BlockHeader(
            chainID: chainID, height: height, timeMs: time, previousHash: previous.hash, proposer: proposer, epoch: execution.system.epoch,
            transactionsRoot: ChainMerkle.root(transactions), eventsRoot: ChainMerkle.root(execution.events.map(\.bcsBytes)),
            resultsHash: Blake2b256.hash(execution.results.flatMap(\.bcsBytes)), validatorsHash: current,
            nextValidatorsHash: execution.nextValidators.map { ValidatorSet($0).hash } ?? current, committeeHash: commitmentHash(execution.system.committee),
            eventCount: overflow ? UInt64.max : count, evidenceHash: Block.evidenceHash(evidence), lastCommitHash: Block.lastCommitHash(lastCommit),
            stateHash: execution.stateHash)
    }

    /// The hash of the committee with its members' keys, which light clients check certificates with.
    private func commitmentHash(_ committee: Committee) -> [UInt8] {
        let key = committee.hash
        if let cached = commitmentCache.withLock({ $0 }), cached.committee == key { return cached.commitment }
        let hash = store.commitment(of: committee).hash
        commitmentCache.withLock { $0 = (key, hash) }
        return hash
    }

    /// `valid(v)` for consensus. The block's time is the median time of the previous block's commit
    /// it carries, whose every precommit must be signed: no validator's clock decides validity.
    func isValid(_ block: Block, height: UInt64) -> Bool {
        // The cache is keyed by the header's hash: the transactions must be the header's first.
        guard block.transactionsMatchHeader else { return false }
        if cache.withLock({ $0[block.valueID] != nil }) { return true }
        let header = block.header
        guard header.chainID == chainID, header.height == height, let previous = previousHeader(height),
            header.previousHash == previous.hash, blockTime(height: height, previous: previous, lastCommit: block.lastCommit) == header.timeMs,
            block.lastCommit.map(isSigned) ?? true,
            block.transactions.count <= Block.transactionsMax,
            block.transactions.reduce(0, { $0 + $1.count }) <= Block.transactionsBytesMax, block.evidence.count <= Block.evidenceMax
        else { return false }
        var transactions: [SignedTransaction] = []
        for bytes in block.transactions {
            guard let tx = try? SignedTransaction.decode(bcs: bytes) else { return false }
            transactions.append(tx)
        }
        guard let execution = try? execute(BlockContext(height: height, timeMs: header.timeMs), transactions, block.evidence),
            execution.isValid
        else { return false }
        let expected = makeHeader(
            height: height, time: header.timeMs, previous: previous, proposer: header.proposer, transactions: block.transactions,
            evidence: block.evidence, lastCommit: block.lastCommit, execution: execution)
        guard expected == header else { return false }
        cache.withLock { $0[block.valueID] = execution }
        return true
    }

    /// Whether every precommit of `commit` is signed by its validator in the set of its height.
    func isSigned(_ commit: Commit) -> Bool {
        let validators = validators(atHeight: commit.height)
        return commit.precommits.allSatisfy { vote in
            guard Int(vote.validator) < validators.count, let key = try? Schnorr.PublicKey(bytes: validators[Int(vote.validator)].publicKey),
                let signature = try? Schnorr.Signature(bytes: vote.signature)
            else { return false }
            return key.isValidSignature(signature, for: vote.signBytes(chainID: chainID))
        }
    }

    /// Applies a decided block with its commit, atomically and durably.
    /// `nextValidators` gives the set (with priorities) of the next height from the execution; it
    /// is stored with the block.
    func commit(_ block: Block, commit: Commit, nextValidators: ((BlockExecution) -> ValidatorSet)? = nil) throws(NodeError) -> BlockExecution {
        let height = block.header.height
        guard block.transactionsMatchHeader else {
            throw NodeError(.invalidBlock, "block \(height) carries transactions other than its header's; not committed")
        }
        let execution: BlockExecution
        if let cached = cache.withLock({ $0[block.valueID] }) {
            execution = cached
        } else {
            // A block decided without being checked here (taken from block sync with its commit):
            // executing it must give the header's results, or this ledger has diverged from the
            // validators that signed it, and committing would store a state nobody agreed on.
            let transactions = block.transactions.compactMap { try? SignedTransaction.decode(bcs: $0) }
            guard transactions.count == block.transactions.count else {
                throw NodeError(.invalidBlock, "block \(height) holds a transaction that does not decode; not committed")
            }
            do { execution = try execute(BlockContext(height: height, timeMs: block.header.timeMs), transactions, block.evidence) } catch {
                throw NodeError(.storage, "re-executing block \(height): \(error.message)")
            }
            guard let previous = previousHeader(height), block.header.previousHash == previous.hash,
                blockTime(height: height, previous: previous, lastCommit: block.lastCommit) == block.header.timeMs,
                ChainMerkle.root(execution.events.map(\.bcsBytes)) == block.header.eventsRoot,
                Blake2b256.hash(execution.results.flatMap(\.bcsBytes)) == block.header.resultsHash,
                execution.system.epoch == block.header.epoch, execution.stateHash == block.header.stateHash,
                case let current = validators(atHeight: height).hash, block.header.validatorsHash == current,
                block.header.nextValidatorsHash == (execution.nextValidators.map { ValidatorSet($0).hash } ?? current)
            else {
                throw NodeError(.invalidBlock, "executing block \(height) here gives other results than its header commits to: this ledger diverged; not committed")
            }
        }
        let extra = store.recordBlock(block, commit: commit, execution: execution, nextValidators: nextValidators?(execution), transactions: [])
        do { try ledger.commit(execution, with: extra) } catch { throw NodeError(.storage, "committing block \(height): \(error.message)") }
        store.snapshots?.take(from: store, height: height)
        cache.withLock { $0 = [:] }
        setsCache.withLock { $0 = nil }
        store.commitSignal.advance()
        return execution
    }
}
