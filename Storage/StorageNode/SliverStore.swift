public import Logging
public import KVStore
public import RedStuff
public import WalrusCore
public import ChainClient
import Foundation
import Synchronization

/// The storage node's data: blob metadata, primary and secondary slivers keyed by shard then blob
/// ID (so a shard can be handed over in blob-ID order), blob info from the chain, and the event
/// cursor, in RocksDB; slivers of `fileThreshold` bytes or more in files of their own beside it
/// (`FileObjects`: one direct write, no page-cache copy, a hardware checksum), with their length
/// and checksum in the sliver index. Every acknowledged write is durable (fsynced) before it returns.
public final class SliverStore: @unchecked Sendable {
    static let metadata = ColumnFamily("metadata")
    static let primary = ColumnFamily("primary", largeValues: true)
    static let secondary = ColumnFamily("secondary", largeValues: true)
    static let blobInfo = ColumnFamily("blobinfo")
    static let meta = ColumnFamily("meta")
    /// One entry per stored sliver (axis ‖ shard ‖ blob ID), written and deleted in the same batch
    /// as the sliver: answers "is it stored?" without reading megabytes of sliver, and says where
    /// it is (`SliverLocation`).
    static let sliverIndex = ColumnFamily("sliverindex")

    /// Slivers this large or larger go to files; smaller ones stay in RocksDB, where a batch with
    /// group commit beats a file, two syncs and a 4 KiB block each.
    public static let defaultFileThreshold = 64 << 10

    public let kv: any KVStore
    let files: FileObjects
    let fileThreshold: Int
    /// Serializes the collector's check-and-delete with applying chain events, so that a blob
    /// registered again between the collector's check and its delete keeps its new data.
    private let collectLock = NSLock()
    /// Per blob (by stripe): sliver writes share it, a blob's deletion holds it alone, so that a
    /// deletion never removes a file whose index entry a concurrent write is about to commit.
    private let blobLocks = (0..<64).map { _ in ReadWriteLock() }

    /// Where damaged or unreadable slivers are reported (the node's log).
    let logger: Logger

    /// Free bytes each write leaves on its disk at least (0: no check).
    let reserveBytes: UInt64
    let directory: String

    public init(
        directory: String, fileThreshold: Int = SliverStore.defaultFileThreshold, directIO: Bool = true, reserveBytes: UInt64 = 0,
        logger: Logger = Logger(label: "sliver-store")
    ) throws(KVError) {
        self.logger = logger
        self.directory = directory
        self.reserveBytes = reserveBytes
        kv = try RocksDBStore(path: directory, columnFamilies: [Self.metadata, Self.primary, Self.secondary, Self.blobInfo, Self.meta, Self.sliverIndex])
        files = try FileObjects(directory: directory + "/slivers", directIO: directIO)
        self.fileThreshold = fileThreshold
        try buildSliverIndexIfMissing()
        try removeOrphanFiles()
    }

    static let sliverIndexMarker = Array("sliverindex:v1".utf8)

    /// A store written before the sliver index existed gets it once, from its sliver keys.
    private func buildSliverIndexIfMissing() throws(KVError) {
        guard try kv.get(Self.meta, Self.sliverIndexMarker) == nil else { return }
        var batch = WriteBatch()
        for axis in [SliverAxis.primary, .secondary] {
            do {
                try kv.forEach(Self.family(axis), in: KeyRange(lower: [], upper: nil), reverse: false) { entry in
                    batch.put(Self.sliverIndex, key: Self.indexKey(axis, entry.key), value: SliverLocation.inline.bytes)
                    return true
                }
            } catch let error as KVError { throw error } catch { throw KVError(.io, "\(error)") }
        }
        batch.put(Self.meta, key: Self.sliverIndexMarker, value: [])
        try kv.write(batch, durability: .durable)
    }

    /// Removes sliver files that no index entry names: a crash came between a file's write and its
    /// index entry's commit, or between a deletion's commit and the file's removal.
    private func removeOrphanFiles() throws(KVError) {
        try files.forEachName { (name: String) throws(KVError) in
            guard let (axis, shard, blobID) = Self.parseFileName(name) else { return }
            // Only an index that was read and has no entry, or says the sliver is inline, makes an
            // orphan: a failed read stops the open instead of deleting data, and an entry this
            // version cannot parse keeps its file.
            let entry = try kv.get(Self.sliverIndex, Self.indexKey(axis, Self.sliverKey(shard, blobID)))
            guard entry == nil || entry == SliverLocation.inline.bytes else { return }
            try files.remove(name)
        }
    }

    static func indexKey(_ axis: SliverAxis, _ sliverKey: [UInt8]) -> [UInt8] { [axis == .primary ? 0 : 1] + sliverKey }

    public func close() { kv.close() }

    /// Slivers held, both axes: RocksDB's constant-time estimate of the index's entries, or a
    /// count of them (a scan) where the store cannot estimate.
    public func sliverCount() -> Int {
        if let estimate = kv.estimatedEntryCount(Self.sliverIndex) { return estimate }
        var count = 0
        try? kv.forEach(Self.sliverIndex, in: KeyRange(lower: [], upper: nil), reverse: false) { _ in
            count += 1
            return true
        }
        return count
    }

    static func family(_ axis: SliverAxis) -> ColumnFamily { axis == .primary ? primary : secondary }
    static func sliverKey(_ shard: ShardIndex, _ blobID: BlobID) -> [UInt8] { withUnsafeBytes(of: shard.rawValue.bigEndian) { Array($0) } + blobID.bytes }

    /// `primary/0042/<blob ID>`: one directory per axis and shard, so a shard's files sit together.
    static func fileName(_ axis: SliverAxis, _ shard: ShardIndex, _ blobID: BlobID) -> String {
        let number = String(shard.rawValue)
        return "\(axis == .primary ? "primary" : "secondary")/\(String(repeating: "0", count: max(0, 4 - number.count)))\(number)/\(blobID)"
    }

    static func parseFileName(_ name: String) -> (SliverAxis, ShardIndex, BlobID)? {
        let parts = name.split(separator: "/")
        guard parts.count == 3, let shard = UInt16(parts[1]), let blobID = BlobID(String(parts[2])) else { return nil }
        switch parts[0] {
        case "primary": return (.primary, ShardIndex(shard), blobID)
        case "secondary": return (.secondary, ShardIndex(shard), blobID)
        default: return nil
        }
    }

    private func blobLock(_ blobID: BlobID) -> ReadWriteLock { blobLocks[Int(blobID.bytes[0]) % blobLocks.count] }

    private func location(_ axis: SliverAxis, _ key: [UInt8]) -> SliverLocation? {
        (try? kv.get(Self.sliverIndex, Self.indexKey(axis, key))).flatMap { $0 }.flatMap(SliverLocation.init(bytes:))
    }

    public func metadata(_ blobID: BlobID) -> BlobMetadata? {
        (try? kv.get(Self.metadata, blobID.bytes)).flatMap { $0 }.flatMap { try? BlobMetadata.decode(bcs: $0) }
    }

    public func putMetadata(_ blobID: BlobID, _ metadata: BlobMetadata) throws(KVError) {
        let bytes = metadata.bcsBytes
        try withSpace(bytes.count, on: directory) { () throws(KVError) in try kv.put(Self.metadata, blobID.bytes, bytes, durability: .durable) }
    }

    /// A stored sliver's wire bytes; nil when it is not stored, or cannot be read or fails its
    /// checksum (reported to the log: the caller treats it as missing, and fetches or rebuilds it).
    /// A damaged sliver is dropped, so that it counts as missing, and reported to `onDamage`
    /// (the node then rebuilds it by recovery).
    public func sliver(_ axis: SliverAxis, shard: ShardIndex, blobID: BlobID) -> [UInt8]? {
        do { return try storedSliver(axis, shard: shard, blobID: blobID) } catch {
            logger.error("cannot read a sliver", metadata: ["blob_id": "\(blobID)", "shard": "\(shard)", "axis": "\(axis)", "code": "\(error.code.rawValue)", "reason": "\(error.message)"])
            if error.code == .corrupted {
                do {
                    try drop(axis, shard: shard, blobID: blobID)
                    logger.warning("dropped a damaged sliver; it will be recovered", metadata: ["blob_id": "\(blobID)", "shard": "\(shard)", "axis": "\(axis)"])
                    damageHandler.withLock { $0 }?(blobID)
                } catch {
                    logger.error("cannot drop a damaged sliver", metadata: ["blob_id": "\(blobID)", "shard": "\(shard)", "axis": "\(axis)", "reason": "\(error.message)"])
                }
            }
            return nil
        }
    }

    private let damageHandler = Mutex<(@Sendable (BlobID) -> Void)?>(nil)

    /// Called with the blob ID of each damaged sliver found and dropped.
    public func onDamage(_ handler: @escaping @Sendable (BlobID) -> Void) { damageHandler.withLock { $0 = handler } }

    /// Removes one sliver (its index entry, and its value or file).
    func drop(_ axis: SliverAxis, shard: ShardIndex, blobID: BlobID) throws(KVError) {
        try blobLock(blobID).withWriteLock { () throws(KVError) in
            var batch = WriteBatch()
            let file = removal(axis, shard, blobID, into: &batch)
            try kv.write(batch, durability: .durable)
            if let file { try files.remove(file) }
        }
    }

    /// Adds the removal of a stored sliver (its index entry and its value) to `batch`, and returns
    /// the name of its file, which the caller removes after the commit (a crash in between leaves
    /// an orphan that the next open removes). Called with the blob's lock held alone.
    private func removal(_ axis: SliverAxis, _ shard: ShardIndex, _ blobID: BlobID, into batch: inout WriteBatch) -> String? {
        let key = Self.sliverKey(shard, blobID)
        var file: String?
        switch location(axis, key) {
        case nil: return nil
        case .inline: batch.delete(Self.family(axis), key: key)
        case .file: file = Self.fileName(axis, shard, blobID)
        }
        batch.delete(Self.sliverIndex, key: Self.indexKey(axis, key))
        return file
    }

    /// A stored sliver's wire bytes, nil when it is not stored; throws when it cannot be read or
    /// its file fails its checksum.
    public func storedSliver(_ axis: SliverAxis, shard: ShardIndex, blobID: BlobID) throws(KVError) -> [UInt8]? {
        let key = Self.sliverKey(shard, blobID)
        switch location(axis, key) {
        case nil: return nil
        case .inline: return try kv.get(Self.family(axis), key)
        case .file(let record): return try files.read(Self.fileName(axis, shard, blobID), record)
        }
    }

    public func hasSliver(_ axis: SliverAxis, shard: ShardIndex, blobID: BlobID) -> Bool {
        location(axis, Self.sliverKey(shard, blobID)) != nil
    }

    /// Stores a verified sliver's wire bytes and its index entry, durably: a small sliver and its
    /// entry in one batch; a large one in its file first, then the entry that names it.
    /// Stores a sliver's wire bytes durably. `crc32c`, when given, must be the CRC-32C of `bytes`
    /// (computed as they were received); otherwise it is computed here.
    public func putSliver(_ axis: SliverAxis, shard: ShardIndex, blobID: BlobID, bytes: [UInt8], crc32c: UInt32? = nil) throws(KVError) {
        let key = Self.sliverKey(shard, blobID)
        try withSpace(bytes.count, on: bytes.count >= fileThreshold ? files.directory : directory) { () throws(KVError) in
            try blobLock(blobID).withReadLock { () throws(KVError) in
                let previous = location(axis, key)
                var batch = WriteBatch()
                if bytes.count >= fileThreshold {
                    let name = Self.fileName(axis, shard, blobID)
                    let record = try bytes.withUnsafeBytes { raw in Result { () throws(KVError) in try files.write(name, raw, crc32c: crc32c) } }.get()
                    if case .inline = previous { batch.delete(Self.family(axis), key: key) }
                    batch.put(Self.sliverIndex, key: Self.indexKey(axis, key), value: SliverLocation.file(record).bytes)
                    try kv.write(batch, durability: .durable)
                } else {
                    batch.put(Self.family(axis), key: key, value: bytes)
                    batch.put(Self.sliverIndex, key: Self.indexKey(axis, key), value: SliverLocation.inline.bytes)
                    try kv.write(batch, durability: .durable)
                    if case .file = previous { try files.remove(Self.fileName(axis, shard, blobID)) }
                }
            }
        }
    }

    /// Bytes that writes in progress have claimed and not yet written.
    private let claimed = Mutex<UInt64>(0)

    /// Runs `write` if `count` more bytes leave the reserve free on the file system of `path`,
    /// counting the bytes that concurrent writes have claimed and not yet written (without that,
    /// many uploads checked at once would each see the same free space and together overrun the
    /// reserve); refuses it with `.full` otherwise. What the node stores for clients stops
    /// there, and the database keeps room for the chain's events, its log and its compactions
    /// (RocksDB takes no writes at all after one failed on a full disk). Where the free space
    /// cannot be read, the write goes ahead.
    func withSpace<T>(_ count: Int, on path: String, _ write: () throws(KVError) -> T) throws(KVError) -> T {
        guard reserveBytes > 0 else { return try write() }
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return try write() }
        let free = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        let bytes = UInt64(count)
        let granted = claimed.withLock { claimed -> UInt64? in
            guard !free.overflow, free.partialValue >= reserveBytes &+ claimed &+ bytes else { return nil }
            claimed += bytes
            return claimed
        }
        guard granted != nil else {
            let inFlight = claimed.withLock { $0 }
            throw KVError(.full, "cannot store \(count) bytes: the disk is full (\(free.partialValue) bytes free, \(inFlight) being written, \(reserveBytes) kept in reserve, min_free_bytes); free space or add capacity")
        }
        defer { claimed.withLock { $0 -= bytes } }
        return try write()
    }

    public func blobInfo(_ blobID: BlobID) -> BlobInfo? {
        (try? kv.get(Self.blobInfo, blobID.bytes)).flatMap { $0 }.flatMap { try? BlobInfo.decode(bcs: $0) }
    }

    /// Slivers of `axis` in `shard` from `start` on, in blob-ID order (for shard hand-over).
    func slivers(_ axis: SliverAxis, shard: ShardIndex, from start: BlobID, limit: Int) -> [(BlobID, [UInt8])] {
        let prefix = Self.indexKey(axis, withUnsafeBytes(of: shard.rawValue.bigEndian) { Array($0) })
        let range = KeyRange(lower: prefix + start.bytes, upper: KeyRange.prefix(prefix).upper)
        return ((try? kv.entries(Self.sliverIndex, in: range, limit: limit)) ?? []).compactMap { entry in
            let blobID = BlobID(unchecked: Array(entry.key.suffix(32)))
            return sliver(axis, shard: shard, blobID: blobID).map { (blobID, $0) }
        }
    }

    /// One page of a shard hand-over: slivers of `axis` in `shard` from `start` on, in blob-ID
    /// order, of the blobs `eligible` accepts (checked before a sliver is read, so that ineligible
    /// blobs never make a page short), until `countMax` slivers or `bytesMax` bytes (at least one
    /// sliver). An empty page means nothing eligible is left.
    func syncPage(
        _ axis: SliverAxis, shard: ShardIndex, from start: BlobID, countMax: Int, bytesMax: Int, eligible: (BlobID) -> Bool
    ) -> [(BlobID, [UInt8])] {
        let prefix = Self.indexKey(axis, withUnsafeBytes(of: shard.rawValue.bigEndian) { Array($0) })
        var lower = prefix + start.bytes
        let upper = KeyRange.prefix(prefix).upper
        var page: [(BlobID, [UInt8])] = []
        var bytes = 0
        while true {
            let keys = (try? kv.entries(Self.sliverIndex, in: KeyRange(lower: lower, upper: upper), limit: 512)) ?? []
            for entry in keys {
                let blobID = BlobID(unchecked: Array(entry.key.suffix(32)))
                guard eligible(blobID), let sliver = sliver(axis, shard: shard, blobID: blobID) else { continue }
                page.append((blobID, sliver))
                bytes += sliver.count
                if page.count >= countMax || bytes >= bytesMax { return page }
            }
            guard keys.count == 512, let last = keys.last else { return page }
            lower = last.key + [0]  // The next key after the last one seen.
        }
    }

    /// The recovery symbols for `targets` of `axis` from every sliver of the orthogonal axis held in
    /// `shards` (and, when given, of `symbolSize`), each source sliver expanded and its tree built
    /// once. CPU-heavy: callers run it on the recovery pool.
    func recoverySymbols(
        _ blobID: BlobID, for targets: [SliverIndex], axis: SliverAxis, from shards: [ShardIndex], config: EncodingConfig, symbolSize: Int? = nil
    ) -> [RecoverySymbol] {
        var symbols: [RecoverySymbol] = []
        symbols.reserveCapacity(shards.count * targets.count)
        for shard in shards {
            guard let bytes = sliver(axis.orthogonal, shard: shard, blobID: blobID), let held = try? SliverData(bcs: bytes, axis: axis.orthogonal),
                symbolSize.map({ $0 == Int(held.symbolSize) }) ?? true
            else { continue }
            let source = RecoverySymbolSource(sliver: held, config: config)
            for target in targets { symbols.append(source.symbol(for: target)) }
        }
        return symbols
    }

    /// Every blob info, by blob ID.
    func allBlobInfos() -> [(BlobID, BlobInfo)] {
        ((try? kv.entries(Self.blobInfo)) ?? []).compactMap { entry in
            guard entry.key.count == 32, let info = try? BlobInfo.decode(bcs: entry.value) else { return nil }
            return (BlobID(unchecked: entry.key), info)
        }
    }

    /// The marker of a blob whose data the collector removed.
    static func collectedKey(_ blobID: BlobID) -> [UInt8] { Array("collected:".utf8) + blobID.bytes }

    func isCollected(_ blobID: BlobID) -> Bool { (try? kv.get(Self.meta, Self.collectedKey(blobID))).flatMap { $0 } != nil }

    /// Removes a blob's metadata and slivers from every shard, in one durable batch, if its info
    /// (read again under the lock) still says it should go; returns whether it did.
    @discardableResult
    func deleteBlobData(_ blobID: BlobID, shardCount n: UInt16, if shouldGo: (BlobInfo) -> Bool = { _ in true }) throws(KVError) -> Bool {
        collectLock.lock()
        defer { collectLock.unlock() }
        if let info = blobInfo(blobID), !shouldGo(info) { return false }
        return try blobLock(blobID).withWriteLock { () throws(KVError) -> Bool in
            var batch = WriteBatch()
            var fileNames: [String] = []
            batch.delete(Self.metadata, key: blobID.bytes)
            for shard in 0..<n {
                for axis in [SliverAxis.primary, .secondary] {
                    if let file = removal(axis, ShardIndex(shard), blobID, into: &batch) { fileNames.append(file) }
                }
            }
            batch.put(Self.meta, key: Self.collectedKey(blobID), value: [])
            try kv.write(batch, durability: .durable)
            for name in fileNames { try files.remove(name) }
            return true
        }
    }

    /// The cursor of the last applied chain event.
    public func cursor() -> EventCursor? {
        guard let bytes = (try? kv.get(Self.meta, Array("cursor".utf8))).flatMap({ $0 }), bytes.count == 12 else { return nil }
        var reader = BCSReader(bytes)
        guard let h = try? reader.readU64(), let i = try? reader.readU32() else { return nil }
        return EventCursor(height: h, index: i)
    }

    // MARK: Recovery to do

    /// Blobs whose slivers this node may lack and must rebuild, kept until the rebuild is done so
    /// that a restart (or a crash) resumes it: the node does not see the certification event again.
    static let recoveryPrefix = Array("recover:".utf8)
    static func recoveryKey(_ blobID: BlobID) -> [UInt8] { recoveryPrefix + blobID.bytes }

    func markRecovery(_ blobID: BlobID) throws(KVError) {
        try kv.put(Self.meta, Self.recoveryKey(blobID), [], durability: .durable)
    }

    func recoveryDone(_ blobID: BlobID) throws(KVError) {
        try kv.delete(Self.meta, Self.recoveryKey(blobID))
    }

    func pendingRecoveries() -> [BlobID] {
        let prefix = Self.recoveryPrefix
        return ((try? kv.entries(Self.meta, in: .prefix(prefix))) ?? []).compactMap { entry in
            entry.key.count == prefix.count + 32 ? BlobID(unchecked: Array(entry.key.dropFirst(prefix.count))) : nil
        }
    }

    /// Applies blob-info changes and the new cursor in one durable batch: an event is applied
    /// exactly once, whenever the node stops. Blobs in `recover` (newly certified) are marked for
    /// recovery in the same batch.
    func apply(_ infos: [BlobID: BlobInfo], cursor: EventCursor, recover: [BlobID] = []) throws(KVError) {
        collectLock.lock()
        defer { collectLock.unlock() }
        var batch = WriteBatch()
        for id in recover { batch.put(Self.meta, key: Self.recoveryKey(id), value: []) }
        for (id, info) in infos {
            batch.put(Self.blobInfo, key: id.bytes, value: info.bcsBytes)
            // A blob registered again after its data was collected is collected again when it ends.
            if info.isLive && !info.invalid { batch.delete(Self.meta, key: Self.collectedKey(id)) }
        }
        var w = BCSWriter()
        w.write(cursor.height)
        w.write(cursor.index)
        batch.put(Self.meta, key: Array("cursor".utf8), value: w.bytes)
        try kv.write(batch, durability: .durable)
    }
}

/// Where a sliver is, as its index entry says: in its column family (an empty entry, as every entry
/// was before large slivers moved to files), or in its file: `2 ‖ offset u32 ‖ length u64 ‖ CRC-32C
/// u32` (BCS, little-endian).
enum SliverLocation: Equatable {
    case inline
    case file(FileObjectRecord)

    static let fileTag: UInt8 = 2

    init?(bytes: [UInt8]) {
        if bytes.isEmpty {
            self = .inline
            return
        }
        var reader = BCSReader(bytes)
        guard (try? reader.readU8()) == Self.fileTag, let offset = try? reader.readU32(), let length = try? reader.readU64(), let crc = try? reader.readU32(),
            length <= UInt64(Int.max)
        else { return nil }
        self = .file(FileObjectRecord(offset: Int(offset), length: Int(length), crc32c: crc))
    }

    var bytes: [UInt8] {
        switch self {
        case .inline: return []
        case .file(let record):
            var writer = BCSWriter()
            writer.write(Self.fileTag)
            writer.write(UInt32(record.offset))
            writer.write(UInt64(record.length))
            writer.write(record.crc32c)
            return writer.bytes
        }
    }
}
