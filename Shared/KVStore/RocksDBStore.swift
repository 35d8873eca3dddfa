import CRocksDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `KVStore` on RocksDB through its C API.
///
/// Thread safety: RocksDB's handles are safe for concurrent reads and writes. The only unsafe
/// moment is `close`, which frees them; every operation therefore holds a shared lock and `close`
/// takes it exclusively, so no call can run on freed handles.
public final class RocksDBStore: KVStore, @unchecked Sendable {
    public let path: String
    public let columnFamilies: Set<ColumnFamily>

    private let lock = ReadWriteLock()
    /// After a failed write (a full disk, an IO error) RocksDB's write-ahead log is in an error
    /// state until the database is reopened; writing again aborts the process inside Debian's
    /// RocksDB 7.8 (built with assertions), and so does closing it once space is back. The first
    /// such failure is kept here and every later write fails with it; reads go on.
    private var writeFailure: KVError?
    private let failureLock = ReadWriteLock()
    private var db: OpaquePointer?
    private var handles: [ColumnFamily: OpaquePointer] = [:]
    private let options: OpaquePointer
    private let readOptions: OpaquePointer
    private let bufferedWrite: OpaquePointer
    private let durableWrite: OpaquePointer
    /// Options of the families with `largeValues`.
    private let largeValueOptions: OpaquePointer

    /// Opens (creating if missing) the store at `path` with the given column families; families
    /// already on disk are opened too. Throws `locked` when another process holds the store and
    /// `corrupted` when its files are damaged.
    public init(path: String, columnFamilies requested: [ColumnFamily]) throws(KVError) {
        self.path = path
        options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_create_missing_column_families(options, 1)
        rocksdb_options_set_paranoid_checks(options, 1)
        rocksdb_options_increase_parallelism(options, 2)
        // RocksDB's own text log (LOG in the store's directory) takes fatal messages only. On a
        // full disk, RocksDB reports a failed write in that log; once a write to the log itself
        // has failed, the next message aborts the process inside Debian's RocksDB 7.8 (an
        // assertion in its file writer). Every error reaches us as a status, and the process
        // reports it in its own log.
        rocksdb_options_set_info_log_level(options, RocksDBStore.fatalLogLevel)
        readOptions = rocksdb_readoptions_create()
        bufferedWrite = rocksdb_writeoptions_create()
        durableWrite = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(durableWrite, 1)

        var names = Set(requested + [.default])
        for existing in RocksDBStore.existingFamilies(path: path, options: options) { names.insert(ColumnFamily(existing)) }
        let ordered = names.sorted { $0.name < $1.name }
        columnFamilies = names
        largeValueOptions = RocksDBStore.largeValueOptions(from: options)

        var handleArray = [OpaquePointer?](repeating: nil, count: ordered.count)
        var error: UnsafeMutablePointer<CChar>?
        let cNames = ordered.map { strdup($0.name) }
        defer { cNames.forEach { free($0) } }
        let largeOptions = largeValueOptions
        let familyOptions: [OpaquePointer?] = ordered.map { $0.largeValues ? largeOptions : options }
        let opened = cNames.map { UnsafePointer($0) }.withUnsafeBufferPointer { namePointers in
            familyOptions.withUnsafeBufferPointer { optionPointers in
                rocksdb_open_column_families(
                    options, path, Int32(ordered.count), namePointers.baseAddress, optionPointers.baseAddress,
                    &handleArray, &error)
            }
        }
        // On failure `deinit` still runs (every property is set) and releases the options.
        if let failure = RocksDBStore.takeError(&error, context: "open \(path)") { throw failure }
        db = opened
        for (family, handle) in zip(ordered, handleArray) { handles[family] = handle }
    }

    deinit {
        close()
        releaseOptions()
    }

    /// Values of at least 4 KiB go to blob files of 256 MiB, uncompressed (slivers are erasure-coded
    /// data and do not compress); blob files whose values were deleted are rewritten by compaction.
    private static func largeValueOptions(from base: OpaquePointer) -> OpaquePointer {
        let large = rocksdb_options_create_copy(base)!
        rocksdb_options_set_compression(large, Int32(rocksdb_no_compression))
        rocksdb_options_set_enable_blob_files(large, 1)
        rocksdb_options_set_min_blob_size(large, 4096)
        rocksdb_options_set_blob_file_size(large, 256 << 20)
        rocksdb_options_set_blob_compression_type(large, Int32(rocksdb_no_compression))
        rocksdb_options_set_enable_blob_gc(large, 1)
        return large
    }

    private func releaseOptions() {
        rocksdb_options_destroy(largeValueOptions)
        rocksdb_options_destroy(options)
        rocksdb_readoptions_destroy(readOptions)
        rocksdb_writeoptions_destroy(bufferedWrite)
        rocksdb_writeoptions_destroy(durableWrite)
    }

    private static func existingFamilies(path: String, options: OpaquePointer) -> [String] {
        var count = 0
        var error: UnsafeMutablePointer<CChar>?
        guard let list = rocksdb_list_column_families(options, path, &count, &error) else {
            if let error { rocksdb_free(error) }  // A new store has no families yet.
            return []
        }
        defer { rocksdb_list_column_families_destroy(list, count) }
        return (0..<count).compactMap { list[$0].map { String(cString: $0) } }
    }

    /// `rocksdb::InfoLogLevel::FATAL_LEVEL`.
    static let fatalLogLevel: Int32 = 4

    /// Maps a RocksDB error string to a `KVError` and frees it.
    static func takeError(_ error: inout UnsafeMutablePointer<CChar>?, context: String) -> KVError? {
        guard let raw = error else { return nil }
        let text = String(cString: raw)
        rocksdb_free(raw)
        error = nil
        let lower = text.lowercased()
        if lower.contains("lock") {
            return KVError(.locked, "cannot \(context): the store is in use by another process (\(text)); stop that process or use another data directory")
        }
        if lower.hasPrefix("corruption") || lower.contains("corrupt") {
            return KVError(.corrupted, "cannot \(context): the store's files are damaged (\(text)); restore the directory from a backup or re-sync it")
        }
        if lower.contains("no space") {
            return KVError(.full, "cannot \(context): the disk is full (\(text)); free space and retry")
        }
        return KVError(.io, "cannot \(context): \(text)")
    }

    /// Writes a consistent copy of the whole store to `directory` (which must not exist), as hard
    /// links to the immutable files where possible: cheap, and the copy opens as a store of its own.
    public func checkpoint(to directory: String) throws(KVError) {
        try lock.withReadLock { () throws(KVError) in
            guard let db else { throw KVError(.closed, "the store at \(path) was closed") }
            var error: UnsafeMutablePointer<CChar>?
            guard let checkpoint = rocksdb_checkpoint_object_create(db, &error) else {
                throw RocksDBStore.takeError(&error, context: "checkpoint \(path)") ?? KVError(.io, "cannot checkpoint \(path)")
            }
            defer { rocksdb_checkpoint_object_destroy(checkpoint) }
            rocksdb_checkpoint_create(checkpoint, directory, 0, &error)
            if let failure = RocksDBStore.takeError(&error, context: "checkpoint \(path) to \(directory)") { throw failure }
        }
    }

    private func handle(_ family: ColumnFamily) throws(KVError) -> (OpaquePointer, OpaquePointer) {
        guard let db else { throw KVError(.closed, "the store at \(path) was closed") }
        guard let cf = handles[family] else {
            throw KVError(.unknownColumnFamily, "column family '\(family)' was not opened; open the store with it")
        }
        return (db, cf)
    }

    public func estimatedEntryCount(_ family: ColumnFamily) -> Int? {
        lock.withReadLock { () -> Int? in
            guard let (db, cf) = try? handle(family) else { return nil }
            var count: UInt64 = 0
            return rocksdb_property_int_cf(db, cf, "rocksdb.estimate-num-keys", &count) == 0 ? Int(clamping: count) : nil
        }
    }

    public func get(_ family: ColumnFamily, _ key: [UInt8]) throws(KVError) -> [UInt8]? {
        try lock.withReadLock { () throws(KVError) -> [UInt8]? in
            let (db, cf) = try handle(family)
            var error: UnsafeMutablePointer<CChar>?
            // A pinned read hands out RocksDB's own buffer: the value is copied once, into the array.
            let pinned = key.withUnsafeBufferPointer { k in
                k.withMemoryRebound(to: CChar.self) {
                    rocksdb_get_pinned_cf(db, readOptions, cf, $0.baseAddress, key.count, &error)
                }
            }
            if let failure = RocksDBStore.takeError(&error, context: "read from \(path)") { throw failure }
            guard let pinned else { return nil }
            defer { rocksdb_pinnableslice_destroy(pinned) }
            var length = 0
            guard let value = rocksdb_pinnableslice_value(pinned, &length) else { return [] }
            return [UInt8](UnsafeRawBufferPointer(start: value, count: length))
        }
    }



    public func write(_ batch: WriteBatch, durability: Durability) throws(KVError) {
        try lock.withReadLock { () throws(KVError) in
            guard let db else { throw KVError(.closed, "the store at \(path) was closed") }
            let native = rocksdb_writebatch_create()
            defer { rocksdb_writebatch_destroy(native) }
            for operation in batch.operations {
                switch operation {
                case .put(let family, let key, let value):
                    let (_, cf) = try handle(family)
                    key.withUnsafeBytes { k in
                        value.withUnsafeBytes { v in
                            rocksdb_writebatch_put_cf(
                                native, cf, k.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
                                v.baseAddress?.assumingMemoryBound(to: CChar.self), value.count)
                        }
                    }
                case .delete(let family, let key):
                    let (_, cf) = try handle(family)
                    key.withUnsafeBytes { k in
                        rocksdb_writebatch_delete_cf(native, cf, k.baseAddress?.assumingMemoryBound(to: CChar.self), key.count)
                    }
                }
            }
            if let stopped = failureLock.withReadLock({ writeFailure }) { throw stopped }
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_write(db, durability == .durable ? durableWrite : bufferedWrite, native, &error)
            if let failure = RocksDBStore.takeError(&error, context: "write to \(path)") {
                if failure.code == .full || failure.code == .io {
                    failureLock.withWriteLock {
                        writeFailure = writeFailure ?? KVError(
                            failure.code, "\(path) takes no more writes after this failure: \(failure.message). Restart the process once it is fixed; nothing acknowledged was lost")
                    }
                }
                throw failure
            }
        }
    }

    public func forEach(
        _ family: ColumnFamily, in range: KeyRange, reverse: Bool, _ body: (KVEntry) throws -> Bool
    ) throws {
        try lock.withReadLock { () throws in
            let (db, cf) = try handle(family)
            guard let iterator = rocksdb_create_iterator_cf(db, readOptions, cf) else {
                throw KVError(.io, "cannot iterate \(path)")
            }
            defer { rocksdb_iter_destroy(iterator) }
            position(iterator, range: range, reverse: reverse)
            while rocksdb_iter_valid(iterator) != 0 {
                let key = RocksDBStore.copy { rocksdb_iter_key(iterator, &$0) }
                guard range.contains(key) else { break }
                let value = RocksDBStore.copy { rocksdb_iter_value(iterator, &$0) }
                guard try body(KVEntry(key: key, value: value)) else { return }
                if reverse { rocksdb_iter_prev(iterator) } else { rocksdb_iter_next(iterator) }
            }
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_iter_get_error(iterator, &error)
            if let failure = RocksDBStore.takeError(&error, context: "iterate \(path)") { throw failure }
        }
    }

    private func position(_ iterator: OpaquePointer, range: KeyRange, reverse: Bool) {
        if !reverse {
            range.lower.withUnsafeBytes { rocksdb_iter_seek(iterator, $0.baseAddress?.assumingMemoryBound(to: CChar.self), range.lower.count) }
            return
        }
        guard let upper = range.upper else {
            rocksdb_iter_seek_to_last(iterator)
            return
        }
        // The last key below the exclusive upper bound.
        upper.withUnsafeBytes { rocksdb_iter_seek_for_prev(iterator, $0.baseAddress?.assumingMemoryBound(to: CChar.self), upper.count) }
        if rocksdb_iter_valid(iterator) != 0, RocksDBStore.copy({ rocksdb_iter_key(iterator, &$0) }) == upper {
            rocksdb_iter_prev(iterator)
        }
    }

    private static func copy(_ fetch: (inout Int) -> UnsafePointer<CChar>?) -> [UInt8] {
        var length = 0
        guard let pointer = fetch(&length) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: length))
    }

    public func close() {
        lock.withWriteLock {
            guard let db else { return }
            for handle in handles.values { rocksdb_column_family_handle_destroy(handle) }
            handles = [:]
            rocksdb_close(db)
            self.db = nil
        }
    }
}

/// A pthread read-write lock: many readers or one writer.
public final class ReadWriteLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    public init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        precondition(pthread_rwlock_init(lock, nil) == 0, "pthread_rwlock_init failed")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    public func withReadLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    public func withWriteLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
