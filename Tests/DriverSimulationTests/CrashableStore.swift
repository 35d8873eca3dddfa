import KVStore
import Synchronization

/// A key-value store that loses its unsynced writes in a crash, as RocksDB does: a write with
/// `.durable` makes it and every earlier write durable (RocksDB syncs its log, which holds them
/// all); `.buffered` writes live only until `crash()`.
final class CrashableStore: KVStore, @unchecked Sendable {
    let columnFamilies: Set<ColumnFamily>
    private var current: MemoryStore
    /// Every write made durable, in order: a crash rebuilds the store from these.
    private var durableLog: [WriteBatch] = []
    private var pending: [WriteBatch] = []
    private let families: [ColumnFamily]

    init(columnFamilies: [ColumnFamily]) {
        families = columnFamilies
        self.columnFamilies = Set(columnFamilies + [.default])
        current = MemoryStore(columnFamilies: columnFamilies)
    }

    func get(_ family: ColumnFamily, _ key: [UInt8]) throws(KVError) -> [UInt8]? { try current.get(family, key) }

    func write(_ batch: WriteBatch, durability: Durability) throws(KVError) {
        try current.write(batch, durability: durability)
        pending.append(batch)
        if durability == .durable {
            durableLog += pending
            pending = []
        }
    }

    func forEach(_ family: ColumnFamily, in range: KeyRange, reverse: Bool, _ body: (KVEntry) throws -> Bool) throws {
        try current.forEach(family, in: range, reverse: reverse, body)
    }

    func close() {}

    /// A power cut: everything not synced is gone.
    func crash() {
        pending = []
        current = MemoryStore(columnFamilies: families)
        for batch in durableLog { try? current.write(batch, durability: .buffered) }
    }
}
