public import WalrusCore

/// A column family: a separate ordered key space inside one store.
public struct ColumnFamily: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    /// Values of this family are large (megabytes, like slivers): RocksDB keeps them in blob files
    /// beside the LSM tree, so compactions move only keys, and does not try to compress them.
    /// A layout hint only; two families with the same name are the same family.
    public let largeValues: Bool

    public init(_ name: String, largeValues: Bool = false) {
        precondition(!name.isEmpty, "a column family has a name")
        self.name = name
        self.largeValues = largeValues
    }

    public static func == (a: ColumnFamily, b: ColumnFamily) -> Bool { a.name == b.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
    /// RocksDB's default column family, always present.
    public static let `default` = ColumnFamily("default")
    public var description: String { name }
}

/// A half-open key range `[lower, upper)` in byte-wise order; `upper == nil` means unbounded.
public struct KeyRange: Sendable, Equatable {
    public let lower: [UInt8]
    public let upper: [UInt8]?

    public init(lower: [UInt8] = [], upper: [UInt8]? = nil) {
        self.lower = lower
        self.upper = upper
    }

    /// Every key.
    public static let all = KeyRange()

    /// Every key that starts with `prefix`.
    public static func prefix(_ prefix: [UInt8]) -> KeyRange {
        KeyRange(lower: prefix, upper: successor(ofPrefix: prefix))
    }

    /// Whether `key` lies in the range.
    public func contains(_ key: [UInt8]) -> Bool {
        !key.lexicographicallyPrecedes(lower) && (upper.map { key.lexicographicallyPrecedes($0) } ?? true)
    }

    /// The smallest byte string greater than every string with the prefix, or nil if none is.
    static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }
}

/// One key and its value.
public struct KVEntry: Sendable, Equatable {
    public let key: [UInt8]
    public let value: [UInt8]
    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// Writes applied together: after a crash either all of them are visible or none is.
public struct WriteBatch: Sendable {
    public enum Operation: Sendable, Equatable {
        case put(ColumnFamily, key: [UInt8], value: [UInt8])
        case delete(ColumnFamily, key: [UInt8])
    }

    public private(set) var operations: [Operation] = []
    public init() {}

    public mutating func put(_ family: ColumnFamily, key: [UInt8], value: [UInt8]) {
        operations.append(.put(family, key: key, value: value))
    }

    public mutating func delete(_ family: ColumnFamily, key: [UInt8]) {
        operations.append(.delete(family, key: key))
    }

    public var isEmpty: Bool { operations.isEmpty }
}

/// How a write reaches the disk. `durable` waits for the write-ahead log to be synced (fsync), so
/// an acknowledged write survives a power loss; `buffered` survives a process crash only.
public enum Durability: Sendable {
    case buffered
    case durable
}

/// An ordered key-value store with column families, atomic batches and range iteration.
///
/// Implementations are safe to use from many tasks at once. `RocksDBStore` is the real one;
/// `MemoryStore` is its twin for pure-core tests and simulations, and both pass the same suite.
public protocol KVStore: AnyObject, Sendable {
    /// The column families this store was opened with (always including `default`).
    var columnFamilies: Set<ColumnFamily> { get }

    func get(_ family: ColumnFamily, _ key: [UInt8]) throws(KVError) -> [UInt8]?
    /// Applies every operation of `batch` atomically; an unknown column family fails the whole batch.
    func write(_ batch: WriteBatch, durability: Durability) throws(KVError)

    /// Calls `body` for the entries of `range` in key order (descending when `reverse`), until it
    /// returns false or the range ends.
    func forEach(
        _ family: ColumnFamily, in range: KeyRange, reverse: Bool,
        _ body: (KVEntry) throws -> Bool
    ) throws

    /// About how many entries `family` holds, in constant time (RocksDB's estimate, for
    /// metrics); nil when the store cannot say without a scan.
    func estimatedEntryCount(_ family: ColumnFamily) -> Int?

    /// Releases the store; further calls throw `closed`. Closing twice is allowed.
    func close()
}

extension KVStore {
    public func estimatedEntryCount(_ family: ColumnFamily) -> Int? { nil }

    public func put(_ family: ColumnFamily, _ key: [UInt8], _ value: [UInt8], durability: Durability = .buffered) throws(KVError) {
        var batch = WriteBatch()
        batch.put(family, key: key, value: value)
        try write(batch, durability: durability)
    }

    public func delete(_ family: ColumnFamily, _ key: [UInt8], durability: Durability = .buffered) throws(KVError) {
        var batch = WriteBatch()
        batch.delete(family, key: key)
        try write(batch, durability: durability)
    }

    public func write(_ batch: WriteBatch) throws(KVError) { try write(batch, durability: .buffered) }

    /// Up to `limit` entries of `range`, in key order (descending when `reverse`).
    public func entries(
        _ family: ColumnFamily, in range: KeyRange = .all, limit: Int = .max, reverse: Bool = false
    ) throws(KVError) -> [KVEntry] {
        var result: [KVEntry] = []
        do {
            try forEach(family, in: range, reverse: reverse) { entry in
                result.append(entry)
                return result.count < limit
            }
        } catch let error as KVError {
            throw error
        } catch {
            preconditionFailure("the collecting closure does not throw")
        }
        return result
    }

    func requireFamily(_ family: ColumnFamily) throws(KVError) {
        guard columnFamilies.contains(family) else {
            throw KVError(.unknownColumnFamily, "column family '\(family)' was not opened; open the store with it")
        }
    }
}

/// The error of a key-value store.
public struct KVError: CodedError, Equatable {
    /// A stable error code.
    public struct Code: StableCode {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// Another process (or another handle in this one) has the store open.
        public static let locked = Code("STORE_LOCKED")
        /// The files on disk are damaged.
        public static let corrupted = Code("STORE_CORRUPTED")
        /// An IO call failed.
        public static let io = Code("STORE_IO")
        /// The disk (or the user's quota on it) is full: nothing was written.
        public static let full = Code("STORE_FULL")
        /// The store was closed.
        public static let closed = Code("STORE_CLOSED")
        /// A column family that the store was not opened with.
        public static let unknownColumnFamily = Code("UNKNOWN_COLUMN_FAMILY")
    }

    public let code: Code
    public let message: String

    /// IO failures and a full disk may succeed later (space freed); the others will not.
    public var isRetryable: Bool { code == .io || code == .full }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
