import Logging
import ChainClient
import ChainTypes
import Foundation
import KVStore
import Ledger
import LightClient
import Synchronization
import WalrusCore
import WalrusCrypto

/// The state snapshots a validator keeps for new nodes: every `interval` blocks, a RocksDB
/// checkpoint of the whole chain store (hard links, taken right after the block commits, so it
/// holds exactly the state after that block) in `directory/<height>`; the newest `kept` stay.
/// Served a page at a time (`/v1/snapshots/{height}/state`).
final class SnapshotStore: Sendable {
    let directory: String
    let interval: UInt64
    let kept: Int
    private let open = Mutex<[UInt64: RocksDBStore]>([:])

    init(directory: String, interval: UInt64, kept: Int) throws(NodeError) {
        self.directory = directory
        self.interval = interval
        self.kept = kept
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw NodeError(.config, "cannot create the snapshot directory \(directory): \(error.localizedDescription)")
        }
        // Half-written checkpoints of a crash are removed; complete ones are served again.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where UInt64(name) == nil {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
        }
    }

    /// Heights of the snapshots on disk, newest first.
    var heights: [UInt64] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap(UInt64.init).sorted(by: >)
    }

    /// After block `height` committed: a checkpoint when the height is due, and the oldest ones
    /// beyond `kept` removed. A failure (a full disk) is logged and skipped: snapshots are a service
    /// to others, never a reason to stop.
    func take(from store: ChainStore, height: UInt64) {
        guard interval > 0, height % interval == 0, let rocks = store.kv as? RocksDBStore else { return }
        let temporary = "\(directory)/\(height).partial"
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            try rocks.checkpoint(to: temporary)
            try FileManager.default.moveItem(atPath: temporary, toPath: "\(directory)/\(height)")
        } catch {
            Logger(label: "snapshots").warning("a snapshot failed; skipped", metadata: ["height": "\(height)", "reason": "\(error)"])
            try? FileManager.default.removeItem(atPath: temporary)
            return
        }
        for old in heights.dropFirst(kept) {
            open.withLock { $0.removeValue(forKey: old) }?.close()
            try? FileManager.default.removeItem(atPath: "\(directory)/\(old)")
        }
    }

    private func store(_ height: UInt64) -> RocksDBStore? {
        if let cached = open.withLock({ $0[height] }) { return cached }
        guard heights.contains(height), let opened = try? RocksDBStore(path: "\(directory)/\(height)", columnFamilies: ChainStore.families) else { return nil }
        return open.withLock { cache in
            if let raced = cache[height] { return raced }
            cache[height] = opened
            return opened
        }
    }

    /// The page of the snapshot at `height` after key `after`: at most `StatePage.bytesMax` bytes
    /// (at least one entry); nil for a snapshot not kept.
    func page(height: UInt64, after: [UInt8]?) -> StatePage? {
        guard let kv = store(height) else { return nil }
        let range = KeyRange(lower: after.map { $0 + [0] } ?? [])
        var entries: [StatePage.Entry] = []
        var bytes = 0
        var more = false
        do {
            try kv.forEach(Ledger.stateFamily, in: range, reverse: false) { entry in
                if entry.key == Ledger.stateHashKey { return true }
                if !entries.isEmpty && (bytes + entry.key.count + entry.value.count > StatePage.bytesMax || entries.count >= StatePage.entriesMax) {
                    more = true
                    return false
                }
                entries.append(StatePage.Entry(key: entry.key, value: entry.value))
                bytes += entry.key.count + entry.value.count
                return true
            }
        } catch { return nil }
        return StatePage(entries: entries, next: more ? entries.last?.key : nil)
    }

    func close() { open.withLock { for store in $0.values { store.close() }; $0 = [:] } }
}

/// Starting a new node from a snapshot instead of block 1.
enum StateSync {
    /// Downloads the newest snapshot that `client` offers into `store` (new: at height 0) and
    /// checks it: the header of its height is verified like a light client from the genesis set
    /// (through every hand-over), and the hash of every downloaded entry must be that header's
    /// state hash. Then the block and its commit become the store's latest, and the node follows
    /// from the next height. Nothing of a snapshot that does not verify is kept.
    static func run(store: ChainStore, genesis: GenesisFile, client: ChainClient, logger: Logger) async throws(NodeError) {
        let heights: [UInt64]
        do { heights = try await client.snapshotHeights() } catch { throw NodeError(.network, "state sync: cannot list snapshots: \(error.message)") }
        guard let height = heights.first else { throw NodeError(.network, "state sync: the RPC offers no snapshot; set snapshot_interval on a validator, or sync from genesis") }
        let genesisSet: ValidatorSet
        do { genesisSet = try genesis.validatorSet() } catch { throw NodeError(.config, error.message) }
        let block: Block, commit: Commit, history: ValidatorHistory
        do {
            history = try await client.validatorHistory(chainID: genesis.chainID, genesisValidators: genesisSet, through: height)
            block = try await client.block(height)
            commit = try await client.commit(height)
            try history.verify(block.header, commit: commit)
        } catch let error as ChainClientError {
            throw NodeError(.invalidBlock, "state sync: the header of snapshot \(height) does not verify: \(error.message)")
        } catch {
            throw NodeError(.invalidBlock, "state sync: the header of snapshot \(height) does not verify: \(error)")
        }
        guard block.transactionsMatchHeader, block.header.height == height else {
            throw NodeError(.invalidBlock, "state sync: block \(height) does not match its header")
        }
        logger.info("state sync: snapshot header verified; downloading the state", metadata: ["height": "\(height)"])
        try store.clearState()
        var hash = LtHash()
        var after: [UInt8]?
        var count = 0
        while true {
            let page: StatePage
            do { page = try await client.statePage(height: height, after: after) } catch {
                try? store.clearState()
                throw NodeError(.network, "state sync: page after \(count) entries: \(error.message)")
            }
            var batch = WriteBatch()
            for entry in page.entries {
                // Keys strictly increasing: no entry twice, none the hash's own.
                guard after.map({ $0.lexicographicallyPrecedes(entry.key) }) ?? true, entry.key != Ledger.stateHashKey else {
                    try? store.clearState()
                    throw NodeError(.invalidBlock, "state sync: the snapshot's entries are out of order; nothing kept")
                }
                batch.put(Ledger.stateFamily, key: entry.key, value: entry.value)
                hash.add(Ledger.stateHashElement(key: entry.key, value: entry.value))
                after = entry.key
                count += 1
            }
            do { try store.kv.write(batch) } catch { throw NodeError(.storage, "state sync: \(error.message)") }
            guard let next = page.next, !page.entries.isEmpty else { break }
            after = next
        }
        guard hash.digest == block.header.stateHash else {
            try? store.clearState()
            throw NodeError(.invalidBlock, "state sync: the downloaded state (\(count) entries) does not hash to the state hash of block \(height); nothing kept. Try another RPC")
        }
        var handOvers: [HandOver] = []
        for entry in history.entries.dropFirst() where entry.fromHeight <= height + 1 {
            handOvers.append(HandOver(height: entry.fromHeight - 1, validators: entry.set.validators))
        }
        try store.recordSnapshotBase(block: block, commit: commit, stateHash: hash, handOvers: handOvers)
        logger.info("state sync: state verified; following the chain", metadata: ["entries": "\(count)", "height": "\(height)"])
    }
}
