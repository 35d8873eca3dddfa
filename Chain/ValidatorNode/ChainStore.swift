public import ChainClient
public import ChainTypes
public import KVStore
public import Ledger
public import LightClient
public import WalrusAPI
public import WalrusCore
import Consensus
import WalrusCrypto

/// The validator's RocksDB: the ledger's state plus blocks, commits, events, a transaction index,
/// the consensus write-ahead log and the signing guard. A decided block and every record it adds
/// are written in one atomic, durable batch.
public final class ChainStore: @unchecked Sendable {
    static let blocks = ColumnFamily("blocks")
    static let commits = ColumnFamily("commits")
    static let events = ColumnFamily("events")
    static let transactions = ColumnFamily("txindex")
    static let meta = ColumnFamily("meta")
    static let wal = ColumnFamily("wal")
    /// Where each blob registration was certified: object ID → height, event index.
    static let certifications = ColumnFamily("certifications")

    public let kv: any KVStore
    public let ledger: Ledger
    /// Advanced after every committed block (long polls wait on it).
    let commitSignal = CommitSignal()

    /// Opens (creating) the store in `directory` for `genesis`; a store made for another genesis is
    /// refused.
    public convenience init(directory: String, genesis: GenesisFile) throws(NodeError) {
        let kv: any KVStore
        do { kv = try RocksDBStore(path: directory, columnFamilies: ChainStore.families) } catch { throw NodeError(.storage, error.message) }
        try self.init(kv: kv, genesis: genesis, name: "the data directory \(directory)")
    }

    /// The column families a chain store holds.
    static let families = [Ledger.stateFamily, blocks, commits, events, transactions, meta, wal, certifications]

    /// A store over `kv` (RocksDB, or the driver simulation's crashable memory) for `genesis`,
    /// written into it the first time; a store made for another genesis is refused.
    init(kv: any KVStore, genesis: GenesisFile, name: String = "the store") throws(NodeError) {
        self.kv = kv
        ledger = Ledger(store: kv)
        let hash = genesis.hash
        do {
            if let stored = try kv.get(Self.meta, Array("genesis".utf8)) {
                guard stored == hash else {
                    throw NodeError(.wrongChain, "\(name) belongs to another genesis; remove it or use the matching genesis file")
                }
                let format = try kv.get(Self.meta, Self.formatKey).flatMap { try? UInt32.decode(bcs: $0) } ?? 1
                guard format == Self.format else {
                    throw NodeError(
                        .config,
                        "\(name) was written by an earlier version (chain data format \(format); this version reads \(Self.format)): remove it and start again, from genesis or with state_sync_rpc (the signing guard, outside it, stays)")
                }
            } else {
                let ledgerGenesis: LedgerGenesis
                do { ledgerGenesis = try genesis.ledgerGenesis() } catch { throw NodeError(.config, error.message) }
                do { try Ledger.writeGenesis(ledgerGenesis, to: kv) } catch {
                    throw NodeError(.config, "genesis: \(error.message)")
                }
                try kv.put(Self.meta, Self.formatKey, Self.format.bcsBytes)
                try kv.put(Self.meta, Array("genesis".utf8), hash, durability: .durable)
            }
        } catch let error as NodeError { throw error } catch let error as KVError { throw NodeError(.storage, error.message) } catch {
            throw NodeError(.storage, "\(error)")
        }
    }

    public func close() { kv.close() }

    /// The layout of the chain data this version writes: 2 since blocks carry their last commit
    /// and a state hash and the ledger keeps validator candidates (a store without the key is 1);
    /// 3 since storage-node registrations carry a key proof and the ledger indexes node keys.
    static let format: UInt32 = 3
    static let formatKey = Array("format".utf8)

    static func heightKey(_ h: UInt64) -> [UInt8] { withUnsafeBytes(of: h.bigEndian) { Array($0) } }

    /// The last committed height (0 before the first block).
    public func height() -> UInt64 {
        guard let bytes = try? kv.get(Self.meta, Array("height".utf8)), let h = try? UInt64.decode(bcs: bytes) else { return 0 }
        return h
    }

    public func block(_ height: UInt64) -> Block? {
        (try? kv.get(Self.blocks, Self.heightKey(height))).flatMap { $0 }.flatMap { try? Block.decode(bcs: $0) }
    }

    public func commit(_ height: UInt64) -> Commit? {
        (try? kv.get(Self.commits, Self.heightKey(height))).flatMap { $0 }.flatMap { try? Commit.decode(bcs: $0) }
    }

    /// Where a transaction was included, and its result.
    public func transaction(_ digest: [UInt8]) -> (height: UInt64, index: UInt32, result: TransactionResult)? {
        guard let bytes = (try? kv.get(Self.transactions, digest)).flatMap({ $0 }) else { return nil }
        var reader = BCSReader(bytes)
        guard let h = try? reader.readU64(), let i = try? reader.readU32(), let result = try? reader.read(TransactionResult.self) else { return nil }
        return (h, i, result)
    }

    /// Events after `cursor` (height, index), at most `limit`.
    public func events(after cursor: (height: UInt64, index: UInt32)?, limit: Int) -> [EventRecord] {
        var lower: [UInt8] = []
        if let cursor {
            lower = Self.heightKey(cursor.height) + withUnsafeBytes(of: cursor.index.bigEndian) { Array($0) }
            lower = KeyRangeSuccessor.after(lower)
        }
        return ((try? kv.entries(Self.events, in: KeyRange(lower: lower), limit: limit)) ?? []).compactMap { try? EventRecord.decode(bcs: $0.value) }
    }

    /// The committee with its members' keys, as headers commit to it. Members' pools exist in the
    /// committed state: a pool joins a committee only at an epoch change after it registered.
    public func commitment(of committee: Committee) -> CommitteeCommitment {
        CommitteeCommitment(
            epoch: committee.epoch,
            members: committee.members.compactMap { member in
                guard let pool = try? ledger.pool(member.nodeID) else { return nil }
                return CommitteeCommitment.Member(nodeID: member.nodeID, publicKey: pool.publicKey, shards: member.shards, networkPublicKey: pool.networkPublicKey)
            })
    }

    /// Where registration `objectID` was certified (not extended): the block height and the event's
    /// index in the block. (The family also indexes registrations and invalidations, under longer keys.)
    public func certification(of objectID: ObjectID) -> (height: UInt64, index: UInt32)? {
        guard let bytes = (try? kv.get(Self.certifications, objectID.bytes)).flatMap({ $0 }) else { return nil }
        var reader = BCSReader(bytes)
        guard let h = try? reader.readU64(), let i = try? reader.readU32() else { return nil }
        return (h, i)
    }

    /// Where blob ID `blobID` was marked invalid: the block height and the event's index.
    public func invalidation(of blobID: BlobID) -> (height: UInt64, index: UInt32)? {
        guard let bytes = (try? kv.get(Self.certifications, Self.invalidationKey(blobID))).flatMap({ $0 }) else { return nil }
        var reader = BCSReader(bytes)
        guard let h = try? reader.readU64(), let i = try? reader.readU32() else { return nil }
        return (h, i)
    }

    /// Where registration `objectID` was made: the block height and the event's index.
    public func registrationEvent(of objectID: ObjectID) -> (height: UInt64, index: UInt32)? {
        guard let bytes = (try? kv.get(Self.certifications, Self.registrationKey(objectID))).flatMap({ $0 }) else { return nil }
        var reader = BCSReader(bytes)
        guard let h = try? reader.readU64(), let i = try? reader.readU32() else { return nil }
        return (h, i)
    }

    /// Invalidations and registrations share the certifications' family under 33-byte keys
    /// (object IDs, the certifications' keys, are 32).
    static func invalidationKey(_ blobID: BlobID) -> [UInt8] { [1] + blobID.bytes }
    static func registrationKey(_ objectID: ObjectID) -> [UInt8] { [2] + objectID.bytes }

    /// The Walrus-style ID of event `index` of block `height`: the digest of the transaction that
    /// emitted it and its position among that transaction's events. Nil for an event of the
    /// block's own epoch logic, or one this node does not hold.
    public func eventID(height: UInt64, index: UInt32) -> EventID? {
        let first = events(after: height > 0 ? (height - 1, UInt32.max) : nil, limit: Int(index) + 1)
        guard first.count == Int(index) + 1, first.allSatisfy({ $0.height == height }), first.last?.index == index else { return nil }
        // The block's events from its start through this one, read once: the last one's ID.
        return eventIDs(of: first).last ?? nil
    }

    /// The Walrus-style IDs of consecutive events (a page of `/v1/events`): the events of each
    /// block before the page's first one are read once, and each transaction's events counted on
    /// from there, so a page costs at most one pass over each of its blocks.
    public func eventIDs(for records: [EventRecord]) -> [EventID?] {
        // The events of the first block before the page's first one; later blocks start at 0.
        guard let first = records.first, first.index > 0 else { return eventIDs(of: records) }
        let before = events(after: first.height > 0 ? (first.height - 1, UInt32.max) : nil, limit: Int(first.index)).filter { $0.height == first.height }
        return Array(eventIDs(of: before + records).dropFirst(before.count))
    }

    /// The IDs of consecutive events, counting each transaction's events per block from the
    /// first of `records` (which must start its block, or start where counting should).
    private func eventIDs(of records: [EventRecord]) -> [EventID?] {
        var counts: [[UInt8]: UInt64] = [:]
        var height = records.first?.height
        return records.map { record -> EventID? in
            if record.height != height {
                height = record.height
                counts = [:]
            }
            guard let digest = record.transaction else { return nil }
            defer { counts[digest, default: 0] += 1 }
            return EventID(transactionDigest: digest, sequence: counts[digest, default: 0])
        }
    }

    /// The events of block `height`, in order.
    public func blockEvents(_ height: UInt64) -> [EventRecord] {
        let all = events(after: height > 0 ? (height - 1, UInt32.max) : nil, limit: Int(UInt16.max))
        return all.filter { $0.height == height }
    }

    /// Notes a certification event in the batch that records its block.
    private func indexCertification(_ event: LedgerEvent, height: UInt64, index: UInt32, in batch: inout WriteBatch) {
        var w = BCSWriter()
        w.write(height)
        w.write(index)
        switch event {
        case let .blobCertified(_, _, _, _, objectID, isExtension) where !isExtension: batch.put(Self.certifications, key: objectID.bytes, value: w.bytes)
        case let .invalidBlobID(_, blobID): batch.put(Self.certifications, key: Self.invalidationKey(blobID), value: w.bytes)
        case let .blobRegistered(_, _, _, _, _, _, objectID): batch.put(Self.certifications, key: Self.registrationKey(objectID), value: w.bytes)
        default: break
        }
    }

    /// The batch that records a decided block next to the ledger's writes.
    /// The validator set (with its proposer priorities) of height `height`, as stored with the
    /// block before it; nil when none was stored for that height.
    func validatorSet(forHeight height: UInt64) -> ValidatorSet? {
        guard let bytes = (try? kv.get(Self.meta, Array("validatorSet".utf8))).flatMap({ $0 }) else { return nil }
        var reader = BCSReader(bytes)
        guard let stored = try? reader.readU64(), stored == height, let set = try? reader.read(ValidatorSet.self) else { return nil }
        return set
    }

    static func handOverKey(_ height: UInt64) -> [UInt8] { Array("handover:".utf8) + heightKey(height) }

    /// The validator set hand-overs at blocks after `height`, oldest first, at most `limit`.
    func handOvers(after height: UInt64, limit: Int) -> [HandOver] {
        let lower = height == .max ? Self.handOverKey(height) + [0] : Self.handOverKey(height + 1)
        let range = KeyRange(lower: lower, upper: Array("handover;".utf8))
        guard let entries = try? kv.entries(Self.meta, in: range, limit: limit) else { return [] }
        return entries.compactMap { try? HandOver.decode(bcs: $0.value) }
    }

    func recordBlock(_ block: Block, commit: Commit, execution: BlockExecution, nextValidators: ValidatorSet?, transactions: [SignedTransaction?]) -> WriteBatch {
        var batch = WriteBatch()
        let h = block.header.height
        if let nextValidators {
            // The next height's set, with the block: a restart resumes proposer rotation from
            // here instead of stepping the genesis set once per height since genesis.
            var writer = BCSWriter()
            writer.write(h + 1)
            writer.write(nextValidators)
            batch.put(Self.meta, key: Array("validatorSet".utf8), value: writer.bytes)
        }
        if let changed = execution.nextValidators {
            // A hand-over: light clients fetch the new set from here and check it against this
            // block's header.
            batch.put(Self.meta, key: Self.handOverKey(h), value: HandOver(height: h, validators: changed).bcsBytes)
        }
        batch.put(Self.blocks, key: Self.heightKey(h), value: block.bcsBytes)
        batch.put(Self.commits, key: Self.heightKey(h), value: commit.bcsBytes)
        batch.put(Self.meta, key: Array("height".utf8), value: h.bcsBytes)
        var index: UInt32 = 0
        // Block-level events first (epoch logic), then each transaction's.
        let transactionEvents = execution.results.reduce(0) { $0 + $1.events.count }
        let blockEvents = execution.events.count - transactionEvents
        for event in execution.events.prefix(blockEvents) {
            let record = EventRecord(height: h, index: index, transaction: nil, event: LedgerEventBytes(bytes: event.bcsBytes))
            batch.put(Self.events, key: Self.heightKey(h) + withUnsafeBytes(of: index.bigEndian) { Array($0) }, value: record.bcsBytes)
            index += 1
        }
        for (i, result) in execution.results.enumerated() {
            var w = BCSWriter()
            w.write(h)
            w.write(UInt32(i))
            w.write(result)
            batch.put(Self.transactions, key: result.digest, value: w.bytes)
            for event in result.events {
                let record = EventRecord(height: h, index: index, transaction: result.digest, event: LedgerEventBytes(bytes: event.bcsBytes))
                batch.put(Self.events, key: Self.heightKey(h) + withUnsafeBytes(of: index.bigEndian) { Array($0) }, value: record.bcsBytes)
                indexCertification(event, height: h, index: index, in: &batch)
                index += 1
            }
        }
        if retainBlocks > 0, h > retainBlocks { prune(h - retainBlocks, in: &batch) }
        // The write-ahead log of the finished height is no longer needed.
        for entry in (try? kv.entries(Self.wal, in: .prefix(Self.heightKey(h)))) ?? [] { batch.delete(Self.wal, key: entry.key) }
        return batch
    }

    // MARK: - State sync and pruning

    /// Removes every entry of the ledger's state (before a snapshot is downloaded into it) and
    /// marks the store as holding no usable state until `recordSnapshotBase`.
    func clearState() throws(NodeError) {
        do {
            var batch = WriteBatch()
            for entry in try kv.entries(Ledger.stateFamily) { batch.delete(Ledger.stateFamily, key: entry.key) }
            batch.put(Self.meta, key: Self.stateSyncPending, value: [1])
            try kv.write(batch, durability: .durable)
        } catch { throw NodeError(.storage, "clearing the state: \(error.message)") }
    }

    static let stateSyncPending = Array("state-sync-pending".utf8)

    /// Whether a state sync started and did not finish: the state is partial.
    var stateSyncInterrupted: Bool { (try? kv.get(Self.meta, Self.stateSyncPending)).flatMap { $0 } != nil }

    /// After a verified snapshot: its block and commit become the latest, durably, with the
    /// state hash and the hand-overs that led to its validator set.
    func recordSnapshotBase(block: Block, commit: Commit, stateHash: LtHash, handOvers: [HandOver]) throws(NodeError) {
        let h = block.header.height
        var batch = WriteBatch()
        batch.put(Ledger.stateFamily, key: Ledger.stateHashKey, value: stateHash.bytes)
        batch.put(Self.blocks, key: Self.heightKey(h), value: block.bcsBytes)
        batch.put(Self.commits, key: Self.heightKey(h), value: commit.bcsBytes)
        for handOver in handOvers { batch.put(Self.meta, key: Self.handOverKey(handOver.height), value: handOver.bcsBytes) }
        batch.put(Self.meta, key: Array("earliest".utf8), value: h.bcsBytes)
        batch.put(Self.meta, key: Array("height".utf8), value: h.bcsBytes)
        batch.delete(Self.meta, key: Self.stateSyncPending)
        do { try kv.write(batch, durability: .durable) } catch { throw NodeError(.storage, "recording the snapshot: \(error.message)") }
    }

    /// The lowest height whose block this store holds (1 unless it started from a snapshot or
    /// pruned older blocks).
    func earliestHeight() -> UInt64 {
        guard let bytes = (try? kv.get(Self.meta, Array("earliest".utf8))).flatMap({ $0 }), let h = try? UInt64.decode(bcs: bytes) else { return 1 }
        return h
    }

    /// Blocks kept (0: all): `recordBlock` deletes the block `retainBlocks` below each new one.
    var retainBlocks: UInt64 = 0
    /// Snapshots for new nodes, when this node keeps them.
    var snapshots: SnapshotStore?

    /// Deletes block `h` with its commit, events and transaction records, in `batch`.
    private func prune(_ h: UInt64, in batch: inout WriteBatch) {
        guard let block = block(h) else { return }
        for tx in block.transactions { batch.delete(Self.transactions, key: Blake2b256.hash(tx)) }
        for entry in (try? kv.entries(Self.events, in: .prefix(Self.heightKey(h)))) ?? [] { batch.delete(Self.events, key: entry.key) }
        batch.delete(Self.blocks, key: Self.heightKey(h))
        batch.delete(Self.commits, key: Self.heightKey(h))
        batch.put(Self.meta, key: Array("earliest".utf8), value: (h + 1).bcsBytes)
    }

    // MARK: - Write-ahead log and signing guard

    /// Appends a consensus input of `height` (buffered: the next durable write flushes it).
    func appendWAL(height: UInt64, sequence: UInt32, _ input: ConsensusInput<Block>) {
        try? kv.put(Self.wal, Self.heightKey(height) + withUnsafeBytes(of: sequence.bigEndian) { Array($0) }, WALRecord(input).bcsBytes)
    }

    func readWAL(height: UInt64) -> [ConsensusInput<Block>] {
        ((try? kv.entries(Self.wal, in: .prefix(Self.heightKey(height)))) ?? []).compactMap { try? WALRecord.decode(bcs: $0.value).input }
    }

    /// The signing guard an earlier version kept in this database, to move into the guard file.
    func legacySigningGuard() -> SigningGuard? {
        guard let bytes = (try? kv.get(Self.meta, Array("guard".utf8))).flatMap({ $0 }), let stored = try? StoredGuard.decode(bcs: bytes) else {
            return nil
        }
        return stored.state
    }

    /// Makes every buffered write (the consensus log) durable: one synced write of a marker.
    func syncWAL() throws(KVError) {
        try kv.put(Self.meta, Array("wal-sync".utf8), [], durability: .durable)
    }
}

/// The smallest key after every key that starts with a given one.
enum KeyRangeSuccessor {
    static func after(_ key: [UInt8]) -> [UInt8] { key + [0x00] }
}
