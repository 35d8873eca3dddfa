public import KVStore
public import RedStuff
public import WalrusCore
public import ChainClient
import Foundation

/// The storage node's RocksDB: blob metadata, primary and secondary slivers keyed by shard then
/// blob ID (so a shard can be handed over in blob-ID order), blob info from the chain, and the
/// event cursor. Every acknowledged write is durable (fsynced) before it returns.
public final class SliverStore: @unchecked Sendable {
    static let metadata = ColumnFamily("metadata")
    static let primary = ColumnFamily("primary", largeValues: true)
    static let secondary = ColumnFamily("secondary", largeValues: true)
    static let blobInfo = ColumnFamily("blobinfo")
    static let meta = ColumnFamily("meta")
    /// One empty entry per stored sliver (axis ‖ shard ‖ blob ID), written and deleted in the same
    /// batch as the sliver: answers "is it stored?" without reading megabytes of sliver.
    static let sliverIndex = ColumnFamily("sliverindex")

    public let kv: any KVStore
    /// Serializes the collector's check-and-delete with applying chain events, so that a blob
    /// registered again between the collector's check and its delete keeps its new data.
    private let collectLock = NSLock()

    public init(directory: String) throws(KVError) {
        kv = try RocksDBStore(path: directory, columnFamilies: [Self.metadata, Self.primary, Self.secondary, Self.blobInfo, Self.meta, Self.sliverIndex])
        try buildSliverIndexIfMissing()
    }

    static let sliverIndexMarker = Array("sliverindex:v1".utf8)

    /// A store written before the sliver index existed gets it once, from its sliver keys.
    private func buildSliverIndexIfMissing() throws(KVError) {
        guard try kv.get(Self.meta, Self.sliverIndexMarker) == nil else { return }
        var batch = WriteBatch()
        for axis in [SliverAxis.primary, .secondary] {
            do {
                try kv.forEach(Self.family(axis), in: KeyRange(lower: [], upper: nil), reverse: false) { entry in
                    batch.put(Self.sliverIndex, key: Self.indexKey(axis, entry.key), value: [])
                    return true
                }
            } catch let error as KVError { throw error } catch { throw KVError(.io, "\(error)") }
        }
        batch.put(Self.meta, key: Self.sliverIndexMarker, value: [])
        try kv.write(batch, durability: .durable)
    }

    static func indexKey(_ axis: SliverAxis, _ sliverKey: [UInt8]) -> [UInt8] { [axis == .primary ? 0 : 1] + sliverKey }

    public func close() { kv.close() }

    static func family(_ axis: SliverAxis) -> ColumnFamily { axis == .primary ? primary : secondary }
    static func sliverKey(_ shard: ShardIndex, _ blobID: BlobID) -> [UInt8] { withUnsafeBytes(of: shard.rawValue.bigEndian) { Array($0) } + blobID.bytes }

    public func metadata(_ blobID: BlobID) -> BlobMetadata? {
        (try? kv.get(Self.metadata, blobID.bytes)).flatMap { $0 }.flatMap { try? BlobMetadata.decode(bcs: $0) }
    }

    public func putMetadata(_ blobID: BlobID, _ metadata: BlobMetadata) throws(KVError) {
        try kv.put(Self.metadata, blobID.bytes, metadata.bcsBytes, durability: .durable)
    }

    public func sliver(_ axis: SliverAxis, shard: ShardIndex, blobID: BlobID) -> [UInt8]? {
        (try? kv.get(Self.family(axis), Self.sliverKey(shard, blobID))).flatMap { $0 }
    }

    public func hasSliver(_ axis: SliverAxis, shard: ShardIndex, blobID: BlobID) -> Bool {
        (try? kv.get(Self.sliverIndex, Self.indexKey(axis, Self.sliverKey(shard, blobID)))).flatMap { $0 } != nil
    }

    /// Stores a verified sliver's wire bytes and its index entry, durably, in one batch.
    public func putSliver(_ axis: SliverAxis, shard: ShardIndex, blobID: BlobID, bytes: [UInt8]) throws(KVError) {
        let key = Self.sliverKey(shard, blobID)
        var batch = WriteBatch()
        batch.put(Self.family(axis), key: key, value: bytes)
        batch.put(Self.sliverIndex, key: Self.indexKey(axis, key), value: [])
        try kv.write(batch, durability: .durable)
    }

    public func blobInfo(_ blobID: BlobID) -> BlobInfo? {
        (try? kv.get(Self.blobInfo, blobID.bytes)).flatMap { $0 }.flatMap { try? BlobInfo.decode(bcs: $0) }
    }

    /// Slivers of `axis` in `shard` from `start` on, in blob-ID order (for shard hand-over).
    func slivers(_ axis: SliverAxis, shard: ShardIndex, from start: BlobID, limit: Int) -> [(BlobID, [UInt8])] {
        let prefix = withUnsafeBytes(of: shard.rawValue.bigEndian) { Array($0) }
        let range = KeyRange(lower: prefix + start.bytes, upper: KeyRange.prefix(prefix).upper)
        return ((try? kv.entries(Self.family(axis), in: range, limit: limit)) ?? []).map { (BlobID(unchecked: Array($0.key.suffix(32))), $0.value) }
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
        var batch = WriteBatch()
        batch.delete(Self.metadata, key: blobID.bytes)
        for shard in 0..<n {
            for axis in [SliverAxis.primary, .secondary] {
                let key = Self.sliverKey(ShardIndex(shard), blobID)
                batch.delete(Self.family(axis), key: key)
                batch.delete(Self.sliverIndex, key: Self.indexKey(axis, key))
            }
        }
        batch.put(Self.meta, key: Self.collectedKey(blobID), value: [])
        try kv.write(batch, durability: .durable)
        return true
    }

    /// The cursor of the last applied chain event.
    public func cursor() -> EventCursor? {
        guard let bytes = (try? kv.get(Self.meta, Array("cursor".utf8))).flatMap({ $0 }), bytes.count == 12 else { return nil }
        var reader = BCSReader(bytes)
        guard let h = try? reader.readU64(), let i = try? reader.readU32() else { return nil }
        return EventCursor(height: h, index: i)
    }

    /// Applies blob-info changes and the new cursor in one durable batch: an event is applied
    /// exactly once, whenever the node stops.
    func apply(_ infos: [BlobID: BlobInfo], cursor: EventCursor) throws(KVError) {
        collectLock.lock()
        defer { collectLock.unlock() }
        var batch = WriteBatch()
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
