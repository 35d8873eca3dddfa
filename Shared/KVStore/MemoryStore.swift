import Synchronization

/// The in-memory twin of `RocksDBStore`, for pure-core tests and simulations. Keys are kept sorted
/// per column family; a batch is applied under one lock, so it is atomic.
public final class MemoryStore: KVStore {
    private struct State {
        var families: [ColumnFamily: SortedTable] = [:]
        var closed = false
    }

    private let state: Mutex<State>
    public let columnFamilies: Set<ColumnFamily>

    public init(columnFamilies: [ColumnFamily] = []) {
        let all = Set(columnFamilies + [.default])
        self.columnFamilies = all
        var initial = State()
        for family in all { initial.families[family] = SortedTable() }
        state = Mutex(initial)
    }

    public func get(_ family: ColumnFamily, _ key: [UInt8]) throws(KVError) -> [UInt8]? {
        try requireFamily(family)
        return try state.withLock { (s) throws(KVError) -> [UInt8]? in
            guard !s.closed else { throw MemoryStore.closedError }
            return s.families[family]!.get(key)
        }
    }



    public func write(_ batch: WriteBatch, durability: Durability) throws(KVError) {
        for operation in batch.operations {
            switch operation {
            case .put(let family, _, _), .delete(let family, _): try requireFamily(family)
            }
        }
        try state.withLock { (s) throws(KVError) in
            guard !s.closed else { throw MemoryStore.closedError }
            for operation in batch.operations {
                switch operation {
                case .put(let family, let key, let value): s.families[family]!.put(key, value)
                case .delete(let family, let key): s.families[family]!.delete(key)
                }
            }
        }
    }

    public func forEach(
        _ family: ColumnFamily, in range: KeyRange, reverse: Bool, _ body: (KVEntry) throws -> Bool
    ) throws {
        try requireFamily(family)
        // Iterate over a snapshot so that `body` may write to the store.
        let snapshot = try state.withLock { (s) throws(KVError) -> [KVEntry] in
            guard !s.closed else { throw MemoryStore.closedError }
            return s.families[family]!.entries(in: range)
        }
        for entry in reverse ? snapshot.reversed() : snapshot {
            guard try body(entry) else { return }
        }
    }

    public func close() { state.withLock { $0.closed = true } }

    private static let closedError = KVError(.closed, "the in-memory store was closed")
}

/// Keys and values sorted by key, with binary search.
private struct SortedTable {
    private var keys: [[UInt8]] = []
    private var values: [[UInt8]] = []

    private func index(of key: [UInt8]) -> (found: Bool, index: Int) {
        var low = 0
        var high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid].lexicographicallyPrecedes(key) { low = mid + 1 } else { high = mid }
        }
        return (low < keys.count && keys[low] == key, low)
    }

    func get(_ key: [UInt8]) -> [UInt8]? {
        let (found, i) = index(of: key)
        return found ? values[i] : nil
    }

    mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        let (found, i) = index(of: key)
        if found {
            values[i] = value
        } else {
            keys.insert(key, at: i)
            values.insert(value, at: i)
        }
    }

    mutating func delete(_ key: [UInt8]) {
        let (found, i) = index(of: key)
        if found {
            keys.remove(at: i)
            values.remove(at: i)
        }
    }

    func entries(in range: KeyRange) -> [KVEntry] {
        var i = index(of: range.lower).index
        var out: [KVEntry] = []
        while i < keys.count, range.contains(keys[i]) {
            out.append(KVEntry(key: keys[i], value: values[i]))
            i += 1
        }
        return out
    }
}
